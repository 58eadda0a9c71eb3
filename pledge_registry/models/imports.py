"""One row per import of a file: which importer, into which town, by whom, what it counted.

Written by `pledge_registry.imports.record_run` in the transaction of the load it describes,
so a run that rolled back leaves no row. Staff list them at /staff/imports.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base, UTCDateTime, sql_in, utcnow
from .complaints import Channel

FILENAME_LENGTH = 120  # a file name is kept to this many characters
CHANNEL_PREFIX = "channel:"
IMPORT_KINDS = ("merchants", "inspections", "penalties", *(CHANNEL_PREFIX + c for c in Channel))


class ImportRun(Base):
    """A file read by one of the importers, loaded or (from the command line) a dry run."""

    __tablename__ = "import_run"
    __table_args__ = (
        CheckConstraint(sql_in("kind", IMPORT_KINDS), name="kind"),
        CheckConstraint("rows_read >= 0 AND created >= 0 AND skipped >= 0 AND errors >= 0", name="counts"),
        Index("ix_import_run_time", "created_at", "id"),
        Index("ix_import_run_town_time", "town_id", "created_at", "id"),
        Index("ix_import_run_kind_time", "kind", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(24))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("town.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(String(FILENAME_LENGTH), default="")
    rows_read: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)   # rows already present
    errors: Mapped[int] = mapped_column(default=0)    # rows with errors
    dry_run: Mapped[bool] = mapped_column(default=False)
