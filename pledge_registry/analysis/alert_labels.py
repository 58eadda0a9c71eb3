"""The words of the spike alerts' codes: statuses and the cuts they watch."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from ..labels import label

STATUS_LABELS = {
    "open": _l("Open"),
    "acknowledged": _l("Acknowledged"),
}

DIMENSION_LABELS = {
    "category": _l("Industry"),
    "problem_type": _l("Problem type"),
    "area": _l("Commercial area"),
    "merchant": _l("Shop"),
}


def _subject(alert: object) -> str:
    from .alerts import subject

    return subject(alert)  # type: ignore[arg-type]


TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "spike_alert_status_label": lambda c: label(STATUS_LABELS, c),
    "spike_alert_dimension_label": lambda c: label(DIMENSION_LABELS, c),
    "spike_alert_subject": _subject,
}
