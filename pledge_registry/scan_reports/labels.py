"""Display labels of scan reports: what a scanned code stood for, and the kinds of alert."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import lazy_gettext as _l

from ..labels import label

SCAN_STATE_LABELS = {
    "unknown": _l("Unknown code"),
    "suspended": _l("Suspended"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
    "closed": _l("Shop closed"),
}

SCAN_ALERT_LABELS = {
    "unknown_repeated": _l("An unknown code keeps being scanned"),
    "revoked_scanned": _l("A revoked badge is still being scanned"),
}

TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "scan_state_label": lambda c: label(SCAN_STATE_LABELS, c),
    "scan_alert_label": lambda c: label(SCAN_ALERT_LABELS, c),
}
