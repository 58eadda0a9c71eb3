"""Analysis (研判): complaint counts kept per period and dimension, and spike alerts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, Float, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow
from .events import TransitionEvent

if TYPE_CHECKING:
    from .accounts import User
    from .registry import Town

GRAINS = ("day", "month")
# Every town at once: the scope of the rows that count a jurisdiction-wide cut.
ALL_TOWNS = 0


class ComplaintTally(Base):
    """Counts of the requests received in one period (a local day or month), in one scope
    (a town, or ALL_TOWNS), for one value of one dimension ("all" has the key "").

    Kept by analysis/tally.py in the transaction that changes a complaint, and rebuilt by
    `flask stats rebuild`. Every measure counts the requests *received* in the period, as
    they stand now: a case accepted in March of a February complaint counts in February.
    """

    __tablename__ = "complaint_tally"
    __table_args__ = (
        UniqueConstraint("grain", "dimension", "request_type", "scope_town_id", "period", "key",
                         name="uq_complaint_tally_key"),
        CheckConstraint(sql_in("grain", GRAINS), name="grain"),
        # No CHECK that counts stay >= 0: SQLite checks the row an upsert would insert before it
        # finds the conflict, and a subtraction's row is negative until it lands on the stored one.
        # A key's own series (a merchant's weeks, an alert's evidence) without the period first.
        Index("ix_complaint_tally_series", "grain", "dimension", "key", "period"),
        # One period's rows by size: the keys with the most requests in a month or a day, and
        # those above a threshold, without reading the period's other rows (trends._ranked_walk),
        # in one scope, and for a key nested in towns (a merchant) in every town at once.
        Index("ix_complaint_tally_ranked", "grain", "dimension", "request_type", "scope_town_id", "period",
              "received"),
        Index("ix_complaint_tally_ranked_any_town", "grain", "dimension", "request_type", "period", "received"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(8))
    period: Mapped[date] = mapped_column(Date)              # the day, or the month's first day
    request_type: Mapped[str] = mapped_column(String(16))
    scope_town_id: Mapped[int]                             # a town's id, or ALL_TOWNS (no FK)
    dimension: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(40))           # "" for none (no area, no station)
    received: Mapped[int] = mapped_column(default=0)
    # Accepted, or rejected with a reason, by the acceptance deadline the case was given.
    accepted_on_time: Mapped[int] = mapped_column(default=0)
    accepted_late: Mapped[int] = mapped_column(default=0)
    # Closed (not withdrawn) by the completion deadline the case was given.
    finished_on_time: Mapped[int] = mapped_column(default=0)
    finished_late: Mapped[int] = mapped_column(default=0)
    closed: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    surveys_answered: Mapped[int] = mapped_column(default=0)
    surveys_satisfied: Mapped[int] = mapped_column(default=0)
    amount_recovered_cents: Mapped[int] = mapped_column(BigInteger, default=0)


# The deadlines an open case can be past: acceptance while it waits for a decision, and
# completion while it is open at all.
DEADLINES = ("acceptance", "completion")


class OpenCaseTally(Base):
    """Open cases counted by the local day of one of their deadlines, per dimension key, day
    of receipt and scope (as in ComplaintTally), so that the cases past a deadline at a
    moment are the rows due before that moment's local day plus a live count of the few
    cases due on the day itself (trends._late_cases): no page walks the open cases.

    Kept by analysis/tally.py in the same transaction as every change to a complaint; a
    row a transaction brings to zero (its cases closed) is deleted in that transaction.
    """

    __tablename__ = "open_case_tally"
    __table_args__ = (
        UniqueConstraint("dimension", "request_type", "deadline", "scope_town_id", "due_on", "received_on", "key",
                         name="uq_open_case_tally_key"),
        CheckConstraint(sql_in("deadline", DEADLINES), name="deadline"),
        # The rows of a few keys of a dimension (the merchants a page shows), whatever their
        # scope, read from the index alone (every column the late counts read is in it).
        Index("ix_open_case_tally_key", "dimension", "request_type", "key", "due_on", "received_on", "deadline",
              "scope_town_id", "cases"),
        # The rows that went back to zero, found without a scan (a literal 0 in the query).
        Index("ix_open_case_tally_spent", "id", sqlite_where=text("cases = 0"), postgresql_where=text("cases = 0")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16))
    request_type: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[str] = mapped_column(String(16))
    scope_town_id: Mapped[int]                             # a town's id, or ALL_TOWNS (no FK)
    due_on: Mapped[date] = mapped_column(Date)              # the deadline's local day
    received_on: Mapped[date] = mapped_column(Date)         # the local day of receipt
    key: Mapped[str] = mapped_column(String(40))
    cases: Mapped[int] = mapped_column(default=0)


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


class SpikeAlert(Base):
    """A category, problem type, area or merchant of one town that drew more complaints in a
    week than its trailing baseline allows (analysis/spike_rule.py), with its evidence.

    One alert per episode: while the following weeks stay high the same alert is extended
    (`last_week`), never repeated."""

    __tablename__ = "spike_alert"
    __table_args__ = (
        UniqueConstraint("town_id", "dimension", "key", "week_start", name="uq_spike_alert_episode"),
        CheckConstraint(sql_in("status", AlertStatus), name="status"),
        CheckConstraint("observed >= 0 AND baseline_mean >= 0", name="counts"),
        Index("ix_spike_alert_status_created", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    dimension: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(40))
    week_start: Mapped[date] = mapped_column(Date)          # the Monday of the first high week
    last_week: Mapped[date] = mapped_column(Date)           # ... and of the last one so far
    observed: Mapped[int]
    baseline_mean: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    # The weekly counts the rule saw, oldest first, ending with the high week, and the rule.
    series: Mapped[list[int]] = mapped_column(JSON)
    rule: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.OPEN)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    town: Mapped[Town] = relationship()
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])


class SpikeAlertEvent(TransitionEvent, Base):
    """An alert raised (from None) or acknowledged: who, when, why."""

    __tablename__ = "spike_alert_event"

    alert_id: Mapped[int] = mapped_column(ForeignKey("spike_alert.id"), index=True)
