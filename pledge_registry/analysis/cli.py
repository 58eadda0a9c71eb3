"""Analysis commands: rebuild the complaint tallies, scan for spikes (daily)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..extensions import db
from . import tally

stats_cli = AppGroup("stats", help="Complaint tallies and spike alerts (研判).")


@stats_cli.command("rebuild")
def rebuild() -> None:
    """Count every complaint again into the tallies (after a bulk load or a rule change)."""
    rows = tally.rebuild(db.session())
    db.session.commit()
    click.echo(f"Complaint tallies rebuilt: {rows} row(s).")


@stats_cli.command("alerts")
def alerts_job() -> None:
    """Find this week's spikes in every town (daily; safe to run again): raise or extend the
    alerts and message the towns' officers through the outbox."""
    from . import alerts

    run = alerts.detect()
    click.echo(f"Spike alerts: {run.keys} key(s) read, {run.raised} raised, {run.extended} extended, "
               f"{run.notified} message(s) queued.")
