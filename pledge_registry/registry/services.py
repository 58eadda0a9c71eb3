"""Registry rules: registering a shop, editing it, and staff review of registrations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import uscc
from ..domain import DomainError, commit_or_refuse
from ..extensions import db
from ..models import (
    LIVE_MERCHANT_STATUSES,
    CommercialArea,
    Merchant,
    MerchantEvent,
    MerchantStatus,
    Town,
    User,
    address_key,
)
from . import labels


class RegistryError(DomainError):
    """A registry rule refused the request; `code` says which."""


@dataclass(frozen=True)
class ShopDetails:
    credit_code: str
    legal_name: str
    shop_name: str
    address: str
    town_id: int
    area_id: int | None
    category: str
    contact_name: str
    contact_phone: str
    opening_hours: str


# Fields a merchant may change on an approved shop without a new review.
FREELY_EDITABLE = ("contact_name", "contact_phone", "opening_hours")


def _check_place(town_id: int, area_id: int | None) -> None:
    if db.session.get(Town, town_id) is None:
        raise RegistryError("unknown_town")
    if area_id is not None:
        area = db.session.get(CommercialArea, area_id)
        if area is None or area.town_id != town_id:
            raise RegistryError("area_not_in_town")


def _check_duplicate(code: str, key: str, exclude_id: int | None = None) -> None:
    query = select(Merchant.id).where(
        Merchant.credit_code == code,
        Merchant.address_key == key,
        Merchant.status.in_(LIVE_MERCHANT_STATUSES),
    )
    if exclude_id is not None:
        query = query.where(Merchant.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise RegistryError("duplicate")


def register_shop(owner: User, details: ShopDetails) -> Merchant:
    """Register a shop for review. Raises RegistryError('duplicate') for a live code+address."""
    code = uscc.validate(details.credit_code)
    _check_place(details.town_id, details.area_id)
    key = address_key(details.address)
    _check_duplicate(code, key)
    merchant = Merchant(
        owner_id=owner.id, credit_code=code, legal_name=details.legal_name.strip(),
        shop_name=details.shop_name.strip(), address=details.address.strip(), address_key=key,
        town_id=details.town_id, area_id=details.area_id, category=details.category,
        contact_name=details.contact_name.strip(), contact_phone=details.contact_phone,
        opening_hours=details.opening_hours.strip(), status=MerchantStatus.PENDING,
    )
    db.session.add(merchant)
    try:
        db.session.flush()
        db.session.add(MerchantEvent(merchant_id=merchant.id, from_status=None,
                                     to_status=MerchantStatus.PENDING, actor_id=owner.id))
        db.session.commit()
    except IntegrityError as err:  # a concurrent registration of the same shop won the race
        db.session.rollback()
        raise RegistryError("duplicate") from err
    return merchant


def update_shop(actor: User, merchant: Merchant, details: ShopDetails) -> Merchant:
    """Change a shop's details. An approved shop may change only its contact details and
    opening hours; a rejected one is corrected and goes back to review."""
    if merchant.owner_id != actor.id:
        raise RegistryError("not_owner")
    if merchant.status == MerchantStatus.CLOSED:
        raise RegistryError("closed")
    if merchant.status == MerchantStatus.APPROVED:
        for name in FREELY_EDITABLE:
            setattr(merchant, name, getattr(details, name).strip())
        db.session.commit()
        return merchant
    code = uscc.validate(details.credit_code)
    _check_place(details.town_id, details.area_id)
    key = address_key(details.address)
    _check_duplicate(code, key, exclude_id=merchant.id)
    previous = merchant.status
    merchant.credit_code = code
    merchant.legal_name = details.legal_name.strip()
    merchant.shop_name = details.shop_name.strip()
    merchant.address = details.address.strip()
    merchant.address_key = key
    merchant.town_id = details.town_id
    merchant.area_id = details.area_id
    merchant.category = details.category
    merchant.contact_name = details.contact_name.strip()
    merchant.contact_phone = details.contact_phone
    merchant.opening_hours = details.opening_hours.strip()
    merchant.status = MerchantStatus.PENDING
    if previous != MerchantStatus.PENDING:
        db.session.add(MerchantEvent(merchant_id=merchant.id, from_status=previous,
                                     to_status=MerchantStatus.PENDING, actor_id=actor.id,
                                     note=labels.RESUBMITTED))
    commit_or_refuse(RegistryError("duplicate"))
    return merchant


def review_shop(reviewer: User, merchant: Merchant, approve: bool, note: str) -> Merchant:
    """Staff decision on a registration. Nobody reviews their own shop; a refusal needs a reason."""
    if not reviewer.is_staff:
        raise RegistryError("not_staff")
    if merchant.owner_id == reviewer.id:
        raise RegistryError("own_submission")
    if merchant.status != MerchantStatus.PENDING:
        raise RegistryError("not_pending")
    if not approve and not note.strip():
        raise RegistryError("reason_required")
    new_status = MerchantStatus.APPROVED if approve else MerchantStatus.REJECTED
    db.session.add(MerchantEvent(merchant_id=merchant.id, from_status=merchant.status,
                                 to_status=new_status, actor_id=reviewer.id, note=note.strip()))
    merchant.status = new_status
    merchant.review_note = note.strip()
    merchant.reviewed_by_id = reviewer.id
    merchant.reviewed_at = datetime.now(UTC)
    db.session.commit()
    return merchant


def close_shop(actor: User, merchant: Merchant, note: str) -> Merchant:
    """The owner (or staff) records that the shop closed: its badge then says so."""
    if merchant.owner_id != actor.id and not actor.is_staff:
        raise RegistryError("not_owner")
    if merchant.status == MerchantStatus.CLOSED:
        raise RegistryError("closed")
    db.session.add(MerchantEvent(merchant_id=merchant.id, from_status=merchant.status,
                                 to_status=MerchantStatus.CLOSED, actor_id=actor.id, note=note.strip()))
    merchant.status = MerchantStatus.CLOSED
    db.session.commit()
    return merchant


def shops_of(owner: User) -> list[Merchant]:
    return list(db.session.scalars(
        select(Merchant).where(Merchant.owner_id == owner.id).order_by(Merchant.id)
    ))


def get_own_shop(owner: User, merchant_id: int) -> Merchant | None:
    """The shop if this user owns it; None otherwise (the view answers 404: no IDOR)."""
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is None or merchant.owner_id != owner.id:
        return None
    return merchant


def place_choices(lang: str) -> tuple[list[tuple[int, str]], list[tuple[int, str, str]]]:
    """Towns as (id, name), and areas as (id, name, its town's name) town by town, for the
    shop form."""
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id)))
    name = (lambda t: t.name_en) if lang == "en" else (lambda t: t.name)
    return [(t.id, name(t)) for t in towns], [(a.id, name(a), name(t)) for t in towns for a in t.areas]
