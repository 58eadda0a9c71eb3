"""`flask scans alert` (every few minutes), `flask scans purge` (daily) and `flask scans
import-edge-log` (every minute, when nginx counts the scans: SCAN_COUNT_AT_EDGE)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

scans_cli = AppGroup("scans", help="Scans of forged and stale badges: alerts, retention and the scans nginx logged.")


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


@scans_cli.command("import-edge-log")
@click.argument("log", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--rotated", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where logrotate moves the log (default: LOG.1); the end of the generation before a "
                   "rotation is read from there.")
@click.option("--max-seconds", type=click.FloatRange(min=0), default=50.0, show_default=True,
              help="Stop after the batch that ends past this (a backlog is imported over several runs).")
def import_edge_log(log: Path, rotated: Path | None, max_seconds: float) -> None:
    """Count the suspicious scans nginx logged (SCAN_COUNT_AT_EDGE): the lines added to LOG since
    the last run become suspicious scans. Every minute, and after logrotate has rotated LOG."""
    from .edge_import import import_log

    try:
        run = import_log(log.absolute(), rotated.absolute() if rotated else None, max_seconds=max_seconds)
    except OSError as err:  # unreadable (permissions): the job fails, loudly, and the cursor stays
        raise click.ClickException(f"cannot read {err.filename}: {err.strerror}") from None
    where = (f"next from byte {run.cursor.offset} of inode {run.cursor.inode}" if run.cursor.inode is not None
             else "no log there yet")
    click.echo(f"{run.imported} suspicious scan(s) imported from {log}; {run.unreadable} unreadable and "
               f"{run.malformed} malformed line(s) skipped{' (see the warnings)' if run.skipped else ''}; {where}.")
