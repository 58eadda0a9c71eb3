"""Pledges: versioned templates an admin edits, and the pledges merchants sign from them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, attributes, mapped_column, relationship

from ..database import Base, UTCDateTime, sql_in, utcnow
from ..public_page import PublicPage
from .events import TransitionEvent

if TYPE_CHECKING:
    from .registry import Merchant


class PledgeKind(StrEnum):
    GENUINE = "genuine"   # genuine goods
    RETURNS = "returns"   # offline no-reason returns


class PledgeStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACTIVE = "active"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"   # replaced by its renewal or a changed version
    WITHDRAWN = "withdrawn"     # the merchant took back a draft or submission


# Statuses a shopper is told about: the pledge's standing on the scan page.
STANDING_STATUSES = (
    PledgeStatus.ACTIVE, PledgeStatus.SUSPENDED, PledgeStatus.REVOKED, PledgeStatus.EXPIRED,
)
PENDING_STATUSES = (PledgeStatus.DRAFT, PledgeStatus.SUBMITTED)

REFUND_METHODS = ("original", "cash", "transfer")
MIN_RETURN_DAYS = 7
# Never two of these per shop and kind (partial unique indexes below).
_ONE_STANDING_PER_KIND = (PledgeStatus.ACTIVE, PledgeStatus.SUSPENDED)


class PledgeTemplate(Base):
    """The wording of a pledge. Never edited in place: an edit adds the next version."""

    __tablename__ = "pledge_template"
    __table_args__ = (
        UniqueConstraint("kind", "version"),
        CheckConstraint(sql_in("kind", PledgeKind), name="kind"),
        CheckConstraint("version >= 1", name="version"),
    )
    # Shown as the terms of every pledge signed on it (a template is never edited in place,
    # but if a row were corrected, every page showing it would change).
    __public_page__ = PublicPage({"version", "title_zh", "body_zh", "title_en", "body_en"},
                                 merchants=lambda template: _signed_on(template.id))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    title_zh: Mapped[str] = mapped_column(String(100))
    body_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(150))
    body_en: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def _town_of_shop(context: Any) -> int | None:
    """The town of the pledge's shop, when an INSERT leaves it out (ORM and bulk inserts alike)."""
    from .registry import Merchant

    merchant_id = context.get_current_parameters()["merchant_id"]
    return context.connection.scalar(select(Merchant.town_id).where(Merchant.id == merchant_id))


class Pledge(Base):
    """A pledge signed by one shop, with the template version and terms it was signed with."""

    __tablename__ = "pledge"
    __table_args__ = (
        CheckConstraint(sql_in("status", PledgeStatus), name="status"),
        CheckConstraint(sql_in("kind", PledgeKind), name="kind"),
        CheckConstraint(
            f"kind <> 'returns' OR (return_days >= {MIN_RETURN_DAYS} AND return_days <= 365"
            " AND refund_days >= 0 AND refund_days <= 30 AND refund_method IS NOT NULL)",
            name="return_terms",
        ),
        # One standing pledge of each kind per shop, and one in preparation.
        Index(
            "uq_pledge_standing", "merchant_id", "kind", unique=True,
            sqlite_where=text(sql_in("status", _ONE_STANDING_PER_KIND)),
            postgresql_where=text(sql_in("status", _ONE_STANDING_PER_KIND)),
        ),
        Index(
            "uq_pledge_pending", "merchant_id", "kind", unique=True,
            sqlite_where=text(sql_in("status", PENDING_STATUSES)),
            postgresql_where=text(sql_in("status", PENDING_STATUSES)),
        ),
        Index("ix_pledge_status", "status"),
        # The shop's town, copied so the review queue filters by town within one index. The
        # pair is a foreign key to the shop's own (id, town_id): a pledge cannot disagree with
        # its shop, and a shop that moves town carries its pledges with it (ON UPDATE CASCADE).
        ForeignKeyConstraint(["merchant_id", "town_id"], ["merchant.id", "merchant.town_id"],
                             name="fk_pledge_merchant_town", onupdate="CASCADE"),
    )
    __public_page__ = PublicPage(
        {"merchant_id", "kind", "template_id", "status", "status_note", "activated_at", "expires_at",
         "return_days", "conditions", "excluded_goods", "refund_method", "refund_days"},
        merchant="merchant_id",
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    town_id: Mapped[int] = mapped_column(default=_town_of_shop)
    kind: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[int] = mapped_column(ForeignKey("pledge_template.id"))
    status: Mapped[str] = mapped_column(String(16), default=PledgeStatus.DRAFT)
    # Terms of a returns pledge (NULL for genuine goods).
    return_days: Mapped[int | None]
    conditions: Mapped[str] = mapped_column(String(1000), default="")
    excluded_goods: Mapped[list[str]] = mapped_column(JSON, default=list)
    refund_method: Mapped[str | None] = mapped_column(String(16))
    refund_days: Mapped[int | None]
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id"))
    signed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_note: Mapped[str] = mapped_column(String(500), default="")

    merchant: Mapped[Merchant] = relationship(back_populates="pledges", foreign_keys=[merchant_id])
    template: Mapped[PledgeTemplate] = relationship(lazy="joined")
    events: Mapped[list[PledgeEvent]] = relationship(order_by="PledgeEvent.id", lazy="select")

    def standing(self, now: datetime) -> str:
        """The status a shopper should see now: an active pledge past its term has expired."""
        if self.status == PledgeStatus.ACTIVE and self.expires_at and self.expires_at <= now:
            return PledgeStatus.EXPIRED
        return self.status


def _signed_on(template_id: int) -> ColumnElement[bool]:
    """The merchants with a pledge signed on this template."""
    from .registry import Merchant

    return Merchant.id.in_(select(Pledge.merchant_id).where(Pledge.template_id == template_id))


# When a pledge began waiting for review: the staff queue's order, served by this index.
SUBMITTED_AT = func.coalesce(Pledge.submitted_at, Pledge.created_at)
Index("ix_pledge_status_submitted", Pledge.status, SUBMITTED_AT, Pledge.id)
Index("ix_pledge_status_kind_submitted", Pledge.status, Pledge.kind, SUBMITTED_AT, Pledge.id)
Index("ix_pledge_status_town_submitted", Pledge.status, Pledge.town_id, SUBMITTED_AT, Pledge.id)
Index("ix_pledge_status_town_kind_submitted", Pledge.status, Pledge.town_id, Pledge.kind, SUBMITTED_AT, Pledge.id)


TERM_COLUMNS = (
    "kind", "template_id", "return_days", "conditions", "excluded_goods",
    "refund_method", "refund_days", "merchant_id", "signed_by_id",
)


def terms_are_frozen_once_submitted(_mapper: object, _connection: object, target: Pledge) -> None:
    """A signed pledge never changes: a change of terms is a new version (a new row)."""
    state = attributes.instance_state(target)
    status_hist = state.attrs.status.history
    was_draft = (status_hist.deleted and status_hist.deleted[0] == PledgeStatus.DRAFT) or (
        not status_hist.has_changes() and target.status == PledgeStatus.DRAFT
    )
    if was_draft:
        return
    changed = [c for c in TERM_COLUMNS if state.attrs[c].history.has_changes()]
    if changed:
        raise ValueError(f"pledge {target.id} is signed; its terms cannot change: {changed}")


def listen() -> None:
    """Refuse any in-place change of a signed pledge's terms (create_app registers this)."""
    if not event.contains(Pledge, "before_update", terms_are_frozen_once_submitted):
        event.listen(Pledge, "before_update", terms_are_frozen_once_submitted)


class PledgeEvent(TransitionEvent, Base):
    """A pledge transition: who, when, from, to, why."""

    __tablename__ = "pledge_event"

    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
