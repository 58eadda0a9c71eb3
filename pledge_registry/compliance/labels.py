"""Display labels of compliance records: the states of an appeal."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from ..labels import label

APPEAL_STATUS_LABELS = {"open": _l("Open: waiting for a decision"), "upheld": _l("Upheld"),
                 "dismissed": _l("Dismissed")}


TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "appeal_status_text": lambda c: label(APPEAL_STATUS_LABELS, c),
}
