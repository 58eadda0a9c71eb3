"""`flask complaints remind`, `anonymise` and `remove-orphan-photos` (run daily), and
`import-channel` (a channel's export, when one comes in)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

complaints_cli = AppGroup("complaints", help="Daily complaint housekeeping; other channels' exports.")


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


@complaints_cli.command("import-channel")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--channel", required=True, help="The channel the file comes from: 12315, 12345, phone, letter, "
              "walk_in, referral or station_desk.")
@click.option("--mapping", "mapping_name", default=None, metavar="NAME",
              help="The column mapping to read the file with (default: the channel's own).")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--recorded-by", metavar="LOGIN", default=None, help="Staff login recorded as the entering officer.")
def import_channel(file: str, channel: str, mapping_name: str | None, dry_run: bool, recorded_by: str | None) -> None:
    """File a channel's exported requests (.xlsx or CSV); all rows or none, each reference once."""
    from ..cli import recorded_officer
    from . import channel_import, intake

    if channel not in intake.STAFF_CHANNELS:
        raise click.ClickException(f"unknown channel {channel!r}: one of {', '.join(intake.STAFF_CHANNELS)}")
    name = mapping_name or channel
    value = channel_import.mapping(name)
    if value is None:
        raise click.ClickException(f"no mapping named {name!r} (an admin adds one at /staff/complaints/settings/"
                                   "channel-mappings)")
    officer = recorded_officer(recorded_by)
    result, rows = channel_import.prepare(channel, value, file, Path(file).read_bytes())
    with click.progressbar(length=len(rows), label=f"Checking {len(rows)} row(s)") as bar:
        channel_import.check(result, rows, recorded_by=officer, progress=bar.update)
    if not dry_run and not result.errors and result.new:
        with click.progressbar(length=len(result.new), label=f"Filing {len(result.new)} request(s)") as bar:
            channel_import.load(result, progress=bar.update, officer=officer)
    elif not result.errors:  # a dry run, or nothing new: recorded all the same
        from ..extensions import db

        channel_import.record(result, officer, dry_run=dry_run)
        db.session.commit()
    for error in result.errors:
        where = f"row {error.row}" if error.row else "file"
        column = f" [{channel_import.column_label(error.column)}]" if error.column else ""
        shown = f" {error.value!r}" if error.value else ""
        click.echo(f"{where}{column}{shown}: {channel_import.describe(error)}", err=True)
    for number, case_id in sorted(result.existing):
        click.echo(f"row {number}: already filed as case #{case_id}")
    click.echo(f"{result.rows} row(s) read: {len(result.new)} new, {len(result.existing)} already filed, "
               f"{result.error_rows} with errors; {len(result.created)} filed"
               f"{' (dry run: nothing written)' if dry_run else ''}.")
    if result.errors:
        raise click.ClickException("nothing was imported: correct the rows above")
