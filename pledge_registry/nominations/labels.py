"""Display labels of nominations: the levels of title and the states of an application."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from ..labels import label

# English words only: an English page never mixes in Chinese (the zh catalogue names them).
LEVEL_LABELS = {"participant": _l("Participating unit"),
                "demonstration": _l("Demonstration unit")}
STATUS_LABELS = {
    "submitted": _l("Waiting for the town officer"),
    "town_approved": _l("Recommended by the town; waiting for the city"),
    "approved": _l("Named"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"),
    "delisted": _l("Delisted"), "expired": _l("Title expired"),
}


TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "nomination_level_label": lambda c: label(LEVEL_LABELS, c),
    "nomination_status_label": lambda c: label(STATUS_LABELS, c),
}
