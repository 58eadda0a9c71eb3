"""`flask complaints remind`, `anonymise` and `remove-orphan-photos` (run daily)."""

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


@complaints_cli.command("remove-orphan-photos")
@click.option("--older-than", default=3600, show_default=True, help="Only files older than this many seconds.")
def remove_orphan_photos(older_than: int) -> None:
    """Delete uploaded files that no complaint photo names (left by a crash mid-upload)."""
    from .uploads import remove_orphans

    click.echo(f"{remove_orphans(older_than)} orphan photo file(s) removed.")
