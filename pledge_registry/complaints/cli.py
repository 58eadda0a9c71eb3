"""`flask complaints remind` and `flask complaints anonymise` (run both daily)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

complaints_cli = AppGroup("complaints", help="Daily complaint housekeeping.")


@complaints_cli.command("remind")
def remind() -> None:
    """Queue reminders for deadlines due within reminder_hours_before (once per deadline)."""
    from .jobs import send_reminders

    report = send_reminders()
    click.echo(f"Reminders queued: {report.merchant} to merchants, {report.officer} to officers.")
    if report.unassigned:
        click.echo(f"{report.unassigned} deadline(s) near on cases without an assigned officer.", err=True)


@complaints_cli.command("anonymise")
def anonymise() -> None:
    """Anonymise closed complaints older than retention_days (phone, name, texts, photos)."""
    from .jobs import anonymise_closed

    click.echo(f"{anonymise_closed()} closed complaint(s) anonymised.")
