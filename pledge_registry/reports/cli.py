"""`flask report build`: make and archive the analysis report of a month or a quarter."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..models import REPORT_LANGUAGES, User
from .period import PeriodError, ReportPeriod

report_cli = AppGroup("report", help="Analysis reports (研判报告).")


@report_cli.command("build")
@click.option("--month", default=None, help="The month, e.g. 2026-11.")
@click.option("--quarter", default=None, help="The quarter, e.g. 2026Q4.")
@click.option("--lang", "language", type=click.Choice(REPORT_LANGUAGES), default="zh", show_default=True,
              help="The report's language.")
@click.option("--by", "login", default=None, help="Record this staff login as its maker (default: the command line).")
def build_report(month: str | None, quarter: str | None, language: str, login: str | None) -> None:
    """Make the report of a month or a quarter, archive it and print where to download it."""
    from ..auth.services import find_by_login
    from . import services

    if (month is None) == (quarter is None):
        raise click.UsageError("give exactly one of --month 2026-11 or --quarter 2026Q4")
    try:
        period = ReportPeriod.parse(month or quarter or "")
        if period.kind != ("month" if month else "quarter"):
            raise PeriodError(f"{month or quarter} is not a {'month' if month else 'quarter'}")
    except PeriodError as err:
        raise click.BadParameter(str(err)) from err
    maker: User | None = None
    if login is not None:
        maker = find_by_login(login)
        if maker is None or not maker.is_staff:
            raise click.ClickException(f"no staff account with the login {login!r}")
    try:
        report = services.build(period, language, maker)
    except services.ReportError as err:
        messages = {"future": f"{period.code} has not begun yet: nothing to report"}
        raise click.ClickException(messages.get(err.code, err.code)) from err
    click.echo(f"Report {period.code} ({language}) archived as #{report.id}: "
               f"PDF {report.pdf_size / 1000:.0f} kB, workbook {report.workbook_size / 1000:.0f} kB, "
               f"{report.alert_count} alert(s).")
