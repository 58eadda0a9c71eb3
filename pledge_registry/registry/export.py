"""The registry as staff export it: the directory's shops and filters, to CSV or Excel.

The contact person and mobile are personal data: written in full only for those allowed to
see them (admins, and a town's officer for the shops of that town); masked for other staff.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import spreadsheets
from ..complaints.workflow import mask_name, mask_phone
from ..extensions import db
from ..models import Merchant, User
from ..search.directory import DirectoryQuery, matching_ids
from .labels import CATEGORY_LABELS, MERCHANT_STATUS_LABELS

MAX_EXPORT_ROWS = 100_000


def sees_contacts(user: User, merchant: Merchant) -> bool:
    return user.is_admin or (user.is_staff and user.town_id is not None and user.town_id == merchant.town_id)


def _ids(query: DirectoryQuery) -> list[int]:
    stmt = matching_ids(query)
    return list(db.session.scalars(stmt.limit(MAX_EXPORT_ROWS))) if stmt is not None else []


def _rows(user: User, ids: list[int], english: bool) -> Iterator[list[Any]]:
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        shops = {m.id: m for m in db.session.scalars(
            select(Merchant).where(Merchant.id.in_(chunk)).options(selectinload(Merchant.town),
                                                                   selectinload(Merchant.area)))}
        for merchant_id in chunk:
            m = shops[merchant_id]
            full = sees_contacts(user, m)
            yield [m.badge_code, m.credit_code, m.legal_name, m.shop_name, m.address,
                   m.town.name_en if english else m.town.name,
                   (m.area.name_en if english else m.area.name) if m.area else "",
                   str(CATEGORY_LABELS.get(m.category, m.category)),
                   str(MERCHANT_STATUS_LABELS.get(m.status, m.status)), m.opening_hours,
                   m.contact_name if full else mask_name(m.contact_name),
                   m.contact_phone if full else mask_phone(m.contact_phone)]


def export(user: User, query: DirectoryQuery, fmt: str, english: bool) -> tuple[bytes, int]:
    """The file's bytes and how many shops it lists."""
    header = [_("Badge code"), _("Credit code"), _("Legal name"), _("Shop"), _("Shop address"), _("Town"),
              _("Commercial area"), _("Category"), _("Status"), _("Opening hours"), _("Contact person"),
              _("Contact mobile")]
    ids = _ids(query)
    rows = _rows(user, ids, english)
    if fmt == "xlsx":
        return spreadsheets.write_xlsx(header, rows, title=_("Registry")), len(ids)
    return spreadsheets.write_csv(header, rows), len(ids)
