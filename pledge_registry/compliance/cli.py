"""`flask compliance ...`: import inspections and penalties, open suspension proposals."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

compliance_cli = AppGroup("compliance", help="Inspections, penalties and pledge-breach proposals.")


def _import(kind: str, file: str, partial: bool, recorded_by: str | None) -> None:
    from ..cli import recorded_officer
    from . import importer
    from .services import ComplianceError

    officer = recorded_officer(recorded_by)
    result, rows = importer.prepare(kind, file, Path(file).read_bytes())
    with click.progressbar(length=len(rows), label=f"Checking {len(rows)} {kind} row(s)") as bar:
        importer.check(result, rows, progress=bar.update)
    for error in result.errors:
        where = f"row {error.row}" if error.row else "file"
        column = f" [{importer.column_label(error.column)}]" if error.column else ""
        value = f" {error.value!r}" if error.value else ""
        click.echo(f"{where}{column}{value}: {importer.describe(error)}", err=True)
    try:
        loaded = importer.load(result, officer, partial=partial)
    except ComplianceError as err:
        raise click.ClickException(
            "rows were recorded by someone else meanwhile; nothing was imported") from err
    click.echo(f"{result.rows} row(s) read, {result.valid} valid, {result.error_rows} with errors; "
               f"{loaded} imported.")
    if result.errors and not loaded:
        hint = "" if partial else " (use --partial to load the valid rows)"
        raise click.ClickException(f"nothing was imported{hint}")


_partial = click.option("--partial", is_flag=True, help="Load the valid rows even if other rows have errors.")
_recorded_by = click.option("--recorded-by", metavar="LOGIN", default=None,
                            help="Staff login recorded as the officer who entered the rows.")


@compliance_cli.command("import-inspections")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_partial
@_recorded_by
def import_inspections(file: str, partial: bool, recorded_by: str | None) -> None:
    """Import spot checks (抽查) from an .xlsx or .csv file; all rows or none unless --partial."""
    _import("inspections", file, partial, recorded_by)


@compliance_cli.command("import-penalties")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@_partial
@_recorded_by
def import_penalties(file: str, partial: bool, recorded_by: str | None) -> None:
    """Import administrative penalties (行政处罚) from an .xlsx or .csv file; all or none unless --partial."""
    _import("penalties", file, partial, recorded_by)


@compliance_cli.command("propose-suspensions")
def propose_suspensions() -> None:
    """Open proposals to suspend pledges breached twice or more in 12 months (run daily)."""
    from .services import propose_suspensions as run

    created = run()
    click.echo(f"{len(created)} new suspension proposal(s).")
