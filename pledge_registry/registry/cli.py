"""`flask merchants import`: a town office's pledged merchants from an .xlsx or CSV file."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

merchants_cli = AppGroup("merchants", help="The business registry in bulk.")


@merchants_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--town", "town_name", required=True, help="The town the shops belong to (e.g. 沙溪镇).")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--recorded-by", metavar="LOGIN", default=None, help="Staff login recorded as the importing officer.")
@click.option("--invite", is_flag=True,
              help="Send each new owner a sign-in link by SMS (else only rows whose file asks for one).")
def import_merchants(file: str, town_name: str, dry_run: bool, recorded_by: str | None, invite: bool) -> None:
    """Register a town's shops from a file; all rows or none, each shop once (credit code + address)."""
    from ..cli import recorded_officer
    from ..extensions import db
    from ..models import Town
    from . import bulk

    town = db.session.scalar(select(Town).where(Town.name == town_name))
    if town is None:
        raise click.ClickException(f"no town named {town_name!r}")
    officer = recorded_officer(recorded_by)
    result, rows = bulk.prepare(town, file, Path(file).read_bytes())
    with click.progressbar(length=len(rows), label=f"Checking {len(rows)} row(s)") as bar:
        bulk.check(result, rows, progress=bar.update)
    created = 0
    if not dry_run and not result.errors and result.new:
        with click.progressbar(length=len(result.new), label=f"Registering {len(result.new)} shop(s)") as bar:
            created = bulk.load(result, officer, progress=bar.update, invite_all=invite)
    elif not result.errors:  # a dry run, or nothing new: recorded all the same
        bulk.record(result, officer, dry_run=dry_run)
        db.session.commit()
    for error in result.errors:
        where = f"row {error.row}" if error.row else "file"
        column = f" [{bulk.column_label(error.column)}]" if error.column else ""
        value = f" {error.value!r}" if error.value else ""
        click.echo(f"{where}{column}{value}: {bulk.describe(error)}", err=True)
    click.echo(f"{result.rows} row(s) read: {len(result.new)} new, {len(result.existing)} already registered, "
               f"{result.error_rows} with errors; {created} registered, {result.owners_created} owner account(s) "
               f"created, {result.invited} sign-in link(s) sent{' (dry run: nothing written)' if dry_run else ''}.")
    if result.errors:
        raise click.ClickException("nothing was imported: correct the rows above")
