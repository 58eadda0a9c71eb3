"""`flask scans alert` (every few minutes) and `flask scans purge` (daily)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

scans_cli = AppGroup("scans", help="Scans of forged and stale badges: alerts and retention.")


@scans_cli.command("alert")
def alert() -> None:
    """Raise alerts for codes scanned over their threshold; message the town's officers."""
    from .services import raise_alerts

    run = raise_alerts()
    click.echo(f"{run.raised} scan alert(s) raised, {run.notified} message(s) queued.")


@scans_cli.command("purge")
def purge() -> None:
    """Delete suspicious scans, sticker reports and alerts older than the retention (30 days at most)."""
    from .services import purge as purge_old

    click.echo(f"{purge_old()} scan record(s) older than the retention period deleted.")
