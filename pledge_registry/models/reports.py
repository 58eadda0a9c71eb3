"""The archive of analysis reports (研判报告): who made which report of which period, and its files."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow

if TYPE_CHECKING:
    from .accounts import User

REPORT_PERIOD_KINDS = ("month", "quarter")
REPORT_LANGUAGES = ("zh", "en")
REPORT_FILE_KINDS = ("pdf", "xlsx")


class AnalysisReport(Base):
    """One made report: a period, a language, who made it and when. Every build is kept (a
    report of the same month made again after late corrections does not replace the one
    already sent round); the files are in AnalysisReportFile, so listing never loads them."""

    __tablename__ = "analysis_report"
    __table_args__ = (
        CheckConstraint(sql_in("period_kind", REPORT_PERIOD_KINDS), name="period_kind"),
        CheckConstraint(sql_in("language", REPORT_LANGUAGES), name="language"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("alert_count >= 0 AND pdf_size > 0 AND workbook_size > 0", name="sizes"),
        Index("ix_analysis_report_made_at", "made_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)          # inclusive
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(200))
    alert_count: Mapped[int]
    pdf_size: Mapped[int]
    workbook_size: Mapped[int]
    # None: made on the command line without --by (flask report build).
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    made_by: Mapped[User | None] = relationship()


class AnalysisReportFile(Base):
    """A report's PDF or workbook, stored in the database so that backups and every app
    server have it (a report is a few hundred kB; the bureau makes about 60 a year)."""

    __tablename__ = "analysis_report_file"
    __table_args__ = (CheckConstraint(sql_in("kind", REPORT_FILE_KINDS), name="kind"),)

    report_id: Mapped[int] = mapped_column(ForeignKey("analysis_report.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(4), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
