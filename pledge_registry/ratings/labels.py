"""Display labels of ratings: grades, the model's factors and what caused a new rating."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from ..labels import label

GRADE_LABELS = {
    "A": _l("Excellent"),
    "B": _l("Good"),
    "C": _l("Fair"),
    "D": _l("Poor"),
    "NR": _l("Not yet rated"),
}

FACTOR_LABELS = {
    "pledges": _l("Pledges"),
    "complaint_volume": _l("Complaints"),
    "on_time": _l("Answers on time"),
    "resolution": _l("Complaints resolved"),
    "satisfaction": _l("Shoppers' satisfaction"),
    "inspections": _l("Inspections"),
    "penalties": _l("Penalties"),
}

CAUSE_LABELS = {
    "recompute": _l("Nightly recomputation"),
    "complaint_closed": _l("A complaint was closed"),
    "complaint_change": _l("A complaint was answered or surveyed"),
    "pledge_change": _l("A pledge changed"),
    "compliance_change": _l("An inspection or a penalty was recorded"),
    "model_change": _l("The rating model changed"),
}


def grade_label(grade: str | None) -> str:
    """A grade's label; no grade reads as "not yet rated"."""
    return label(GRADE_LABELS, grade or "NR")


TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {"grade_label": grade_label}
