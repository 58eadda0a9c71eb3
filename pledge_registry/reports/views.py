"""Staff pages of the analysis reports: the archive (paged, newest first) with the button
that makes one, and the downloads. Aggregates only: a report names no shopper."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import paging, refusals
from ..i18n import select_locale
from ..localtime import local_today
from ..models import AnalysisReport
from ..refusals import bad_input
from ..security import staff_required
from . import bp, services
from .forms import BuildReportForm
from .labels import period_label
from .period import ReportPeriod

REFUSALS: refusals.Table = {
    "language": bad_input(_l("Reports are made in Chinese or English.")),
    "future": bad_input(_l("That period has not begun yet."), field="period"),
}


def _archive(form: BuildReportForm, status: int = 200):
    page = paging.keyset_page(services.archive_query(), AnalysisReport.made_at, AnalysisReport.id,
                              descending=True)
    return render_template("reports/archive.html", form=form, page=page, period_of=_period_of), status


def _period_of(report: AnalysisReport) -> str:
    return period_label(ReportPeriod.of(report.period_kind, report.period_start))


@bp.route("")
@staff_required
def archive():
    form = BuildReportForm(formdata=None)
    form.set_choices(local_today())
    return _archive(form)


@bp.route("", methods=["POST"])
@staff_required
def build():
    form = BuildReportForm()
    form.set_choices(local_today())
    if not form.validate_on_submit():
        return _archive(form, 400)
    period = ReportPeriod.parse(form.period.data)
    try:
        report = services.build(period, select_locale(), current_user)
    except services.ReportError as err:
        return _archive(form, refusals.refuse(err, form, REFUSALS, "report_refused"))
    flash(_("The report of %(period)s is made and archived.", period=period_label(period)), "success")
    return redirect(url_for("reports.archive", _anchor=f"report-{report.id}"))


@bp.route("/<int:report_id>.pdf")
@staff_required
def pdf(report_id: int):
    return _download(report_id, "pdf")


@bp.route("/<int:report_id>.xlsx")
@staff_required
def workbook(report_id: int):
    return _download(report_id, "xlsx")


def _download(report_id: int, kind: str) -> Response:
    found = services.report_file(report_id, kind)
    if found is None:
        abort(404)
    report, content = found
    return Response(content, mimetype=services.MIME_TYPES[kind], headers={
        "Content-Disposition": f'attachment; filename="{services.file_name(report, kind)}"'})
