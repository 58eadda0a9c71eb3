"""The published quarter as a CSV file: the period and the rules first, then one row per merchant."""

from __future__ import annotations

from flask_babel import gettext as _

from .. import spreadsheets
from ..extensions import db
from ..i18n import select_locale
from ..models import ComplaintPublication, PublicationEntry, Town
from .rules import PublicationRules, share
from .services import published_entries_query


def _percent(value: object) -> str:
    return "" if value is None else f"{value}%"


def publication_csv(publication: ComplaintPublication, towns: dict[int, Town]) -> bytes:
    """Nothing personal: the shop's registered identity and the figures, and its statement."""
    rules = PublicationRules.from_dict(publication.rules)
    english = select_locale() == "en"
    preamble = [
        [_("Complaint publication"), publication.label],
        [_("Period"), publication.period_start.isoformat(), publication.last_day.isoformat()],
        [_("Rules"), _("Merchants with at least %(n)d accepted complaints received in the quarter.",
                       n=rules.min_accepted)],
        [_("Counting"), _("Complaints received in the quarter (reports and consultations are not counted). "
                          "Share resolved = resolved by agreement / accepted. "
                          "Mediation success rate = resolved by agreement / mediations ended.")],
        [_("Published"), publication.published_at.date().isoformat() if publication.published_at else ""],
        [],
    ]
    header = [_("Shop"), _("Legal name"), _("Credit code"), _("Town"), _("Complaints received"),
              _("Accepted"), _("Share resolved"), _("Mediation success rate"), _("Merchant's statement")]
    rows = []
    for entry in db.session.scalars(published_entries_query(publication).order_by(PublicationEntry.id)):
        town = towns.get(entry.town_id)
        rows.append([entry.shop_name, entry.legal_name, entry.credit_code,
                     (town.name_en if english else town.name) if town else "",
                     entry.received, entry.accepted, _percent(share(entry.resolved, entry.accepted)),
                     _percent(share(entry.resolved, entry.mediation_ended)), entry.statement])
    return spreadsheets.write_csv(header, rows, preamble=preamble)
