"""Display labels of nominations: the levels of title, the states of an application, and the
reasons of a delisting flag and the application's own notes on the timeline, worded from
their stored keys and values in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..labels import label
from .rules import RULE_KEYS

# English words only: an English page never mixes in Chinese (the zh catalogue names them).
LEVEL_LABELS = {"participant": _l("Participating unit"),
                "demonstration": _l("Demonstration unit")}
STATUS_LABELS = {
    "submitted": _l("Waiting for the town officer"),
    "town_approved": _l("Recommended by the town; waiting for the city"),
    "approved": _l("Named"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"),
    "delisted": _l("Delisted"), "expired": _l("Title expired"),
}


def reason_text(rule: str, values: Mapping[str, Any]) -> str:
    """One reason of a delisting flag: a failed rule and its values (rules.flag_reasons)."""
    if rule == "registration":
        return _("The shop's registration is no longer approved.")
    if rule == "grade":
        if values.get("grade") is None:
            return _("Not rated: a rating of at least %(required)s is needed.", required=values.get("required"))
        return _("Rated %(grade)s, below the %(required)s needed.",
                 grade=values["grade"], required=values.get("required"))
    if rule == "pledges":
        return ngettext("%(num)d pledge in force long enough, of the %(required)d needed.",
                        "%(num)d pledges in force long enough, of the %(required)d needed.",
                        values.get("long_enough", 0), required=values.get("required", 0))
    if rule == "penalty":
        return _("An administrative penalty was decided on %(date)s.", date=values.get("last"))
    if rule == "complaints":
        return ngettext("%(num)d complaint past its completion deadline.",
                        "%(num)d complaints past their completion deadline.", values.get("overdue", 0))
    return rule


def delisting_reasons(reasons: Mapping[str, Mapping[str, Any]] | None) -> list[str]:
    """A delisting flag's reasons, one sentence each, in the order of the rules."""
    reasons = reasons or {}
    order = [k for k in RULE_KEYS if k in reasons] + sorted(k for k in reasons if k not in RULE_KEYS)
    return [reason_text(k, reasons[k]) for k in order]


def system_note(note: Mapping[str, Any] | None) -> str:
    """What the application itself recorded of a step (NominationEvent.system_note); a
    flag's reasons are listed apart, by delisting_reasons(note["reasons"])."""
    if not note:
        return ""
    kind = note.get("kind")
    if kind == "flagged":
        return _("Flagged for delisting")
    if kind == "cleared":
        return _("Meets the rules again: the delisting flag is cleared")
    if kind == "renewed":
        return _("Title renewed until %(date)s", date=note.get("until"))
    return str(kind or "")


TEMPLATE_GLOBALS: dict[str, Callable[..., str | list[str]]] = {
    "nomination_level_label": lambda c: label(LEVEL_LABELS, c),
    "nomination_status_label": lambda c: label(STATUS_LABELS, c),
    "delisting_reasons": delisting_reasons,
    "nomination_system_note": system_note,
}
