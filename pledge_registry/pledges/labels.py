"""Display labels of pledges: kinds, states, the badge's standing, refund methods, exclusions."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..labels import label

PLEDGE_KIND_LABELS = {
    "genuine": _l("Genuine goods pledge"),
    "returns": _l("Offline no-reason returns pledge"),
}

PLEDGE_STATUS_LABELS = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted, waiting for review"),
    "active": _l("Valid"),
    "rejected": _l("Rejected"),
    "suspended": _l("Suspended"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
    "superseded": _l("Replaced by a newer version"),
    "withdrawn": _l("Withdrawn"),
}

# The badge's overall state as a shopper reads it on the scan page.
STANDING_LABELS = {
    "valid": _l("Valid"),
    "suspended": _l("Suspended"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
    "pending": _l("Not yet in force"),
    "closed": _l("Shop closed"),
    "unknown": _l("Not a registered badge"),
}

REFUND_METHOD_LABELS = {
    "original": _l("to the original payment method"),
    "cash": _l("in cash"),
    "transfer": _l("by bank transfer"),
}

# The usual exclusions from no-reason returns; merchants add their own.
STANDARD_EXCLUSIONS = {
    "custom": _l("Custom-made goods"),
    "fresh": _l("Fresh and perishable food"),
    "media": _l("Opened audio, video and software"),
    "hygiene": _l("Personal-hygiene items"),
    "consumed": _l("Goods whose value was used up"),
}


# The notes the pledge rules write themselves on a pledge's timeline (services.py), stored
# as these fixed codes and shown in the reader's language; any other note is a person's own
# words, shown as written.
TERM_ENDED = "term ended"
SUPERSEDED_BY = "superseded by pledge "   # + the id of the pledge that took its place


def superseded_by(pledge_id: int) -> str:
    return f"{SUPERSEDED_BY}{pledge_id}"


def pledge_note(note: str | None) -> str:
    """A pledge event's (or the pledge's last) note, in the reader's language."""
    if not note:
        return ""
    if note == TERM_ENDED:
        return _("The term of the pledge ended.")
    successor = note.removeprefix(SUPERSEDED_BY)
    if successor != note and successor.isdigit():
        return _("Superseded by pledge #%(id)s.", id=int(successor))
    return note


TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "pledge_note": pledge_note,
    "pledge_kind_label": lambda c: label(PLEDGE_KIND_LABELS, c),
    "pledge_status_label": lambda c: label(PLEDGE_STATUS_LABELS, c),
    "standing_label": lambda c: label(STANDING_LABELS, c),
    "refund_method_label": lambda c: label(REFUND_METHOD_LABELS, c),
    "exclusion_label": lambda c: label(STANDARD_EXCLUSIONS, c),
}
