"""Make an analysis report and keep it: gather its content, draw the PDF and the workbook,
and archive both with who made them and when, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import force_locale
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from ..domain import DomainError
from ..extensions import db
from ..localtime import local_today
from ..models import REPORT_LANGUAGES, AnalysisReport, AnalysisReportFile, User
from . import content
from .pdf_render import render_pdf
from .period import ReportPeriod
from .workbook import render_workbook

MIME_TYPES = {"pdf": "application/pdf",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ReportError(DomainError):
    """A refusal of this feature's rules."""


def build(period: ReportPeriod, language: str, made_by: User | None, now: datetime | None = None) -> AnalysisReport:
    """Make the report of `period` in `language` and archive it (committed)."""
    if language not in REPORT_LANGUAGES:
        raise ReportError("language", field="language")
    made_at = now or datetime.now(UTC)
    if period.start > local_today(made_at):  # a period that has not begun has nothing to report
        raise ReportError("future", field="period")
    with force_locale(language):
        report = content.gather(period, language, made_by, made_at)
    pdf = render_pdf(report, made_at)
    workbook = render_workbook(report, made_at)
    row = AnalysisReport(period_kind=period.kind, period_start=period.start, period_end=period.end,
                         language=language, title=report.title[:200], alert_count=len(report.alerts),
                         pdf_size=len(pdf), workbook_size=len(workbook), made_by=made_by, made_at=made_at)
    db.session.add(row)
    db.session.flush()
    db.session.add_all([AnalysisReportFile(report_id=row.id, kind="pdf", content=pdf),
                        AnalysisReportFile(report_id=row.id, kind="xlsx", content=workbook)])
    db.session.commit()
    return row


def archive_query() -> Select[tuple[AnalysisReport]]:
    """Every archived report (newest first when paged by made_at), without its files."""
    return select(AnalysisReport).options(joinedload(AnalysisReport.made_by))


def report_file(report_id: int, kind: str) -> tuple[AnalysisReport, bytes] | None:
    report = db.session.get(AnalysisReport, report_id)
    stored = db.session.get(AnalysisReportFile, (report_id, kind)) if report is not None else None
    return (report, stored.content) if report is not None and stored is not None else None


def file_name(report: AnalysisReport, kind: str) -> str:
    period = ReportPeriod.of(report.period_kind, report.period_start)
    return f"analysis-report-{period.code}-{report.language}-{report.id}.{kind}"
