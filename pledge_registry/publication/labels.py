"""Display labels of complaint publication: the states of a publication and of its entries."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from ..labels import label

STATUS_LABELS = {"draft": _l("Draft: merchants not told yet"),
                 "notice": _l("Merchants told: statements and decisions"),
                 "published": _l("Published")}
ENTRY_LABELS = {"pending": _l("Waiting for a decision"), "approved": _l("Approved"),
                "withheld": _l("Withheld")}

TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "publication_status_label": lambda c: label(STATUS_LABELS, c),
    "entry_status_label": lambda c: label(ENTRY_LABELS, c),
}
