"""Display labels of the accounts' roles."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from ..labels import label

ROLE_LABELS = {
    "merchant": _l("merchant"),
    "staff": _l("bureau staff"),
    "admin": _l("administrator"),
    "station": _l("station officer"),
}

TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "role_label": lambda c: label(ROLE_LABELS, c),
}
