"""Display labels of the registry's stored codes: industries and registration states."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from ..labels import label

CATEGORY_LABELS = {
    "food": _l("Food and catering"),
    "clothing": _l("Clothing and shoes"),
    "property": _l("Property services"),
    "vehicles": _l("Vehicles"),
    "appliances": _l("Home appliances"),
    "ebikes": _l("Electric bicycles"),
    "furniture": _l("Furniture and home decoration"),
    "beauty": _l("Beauty and personal care"),
    "education": _l("Education and training"),
    "prepaid": _l("Prepaid-card services"),
    "telecoms": _l("Telecoms"),
    "other": _l("Other"),
}

MERCHANT_STATUS_LABELS = {
    "pending": _l("Waiting for review"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    # Its own words: a complaint's "Closed" is 已办结, a shop's is 已歇业.
    "closed": _l("Shop closed"),
}


# The notes the registry writes itself on a shop's timeline (services.py, bulk.py), stored
# as these fixed codes and shown in the reader's language; any other note is a person's own
# words, shown as written.
IMPORTED = "imported"
RESUBMITTED = "corrected and resubmitted"
MERCHANT_NOTES = {
    IMPORTED: _l("Registered from an imported file."),
    RESUBMITTED: _l("Corrected and sent for review again."),
}


TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "merchant_note": lambda note: label(MERCHANT_NOTES, note),
    "category_label": lambda c: label(CATEGORY_LABELS, c),
    "merchant_status_label": lambda c: label(MERCHANT_STATUS_LABELS, c),
}
