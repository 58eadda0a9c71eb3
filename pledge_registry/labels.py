"""Display labels for the codes stored in the database, translated on use."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
    "closed": _l("Closed"),
}

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


def label(table: dict[str, object], code: str | None) -> str:
    """The translated label for a stored code; the code itself if it has none."""
    if code is None:
        return ""
    return str(table.get(code, code))


def register(app) -> None:  # type: ignore[no-untyped-def]
    """Make the label look-ups available to every template."""
    app.jinja_env.globals.update(
        category_label=lambda c: label(CATEGORY_LABELS, c),
        merchant_status_label=lambda c: label(MERCHANT_STATUS_LABELS, c),
        pledge_kind_label=lambda c: label(PLEDGE_KIND_LABELS, c),
        pledge_status_label=lambda c: label(PLEDGE_STATUS_LABELS, c),
        standing_label=lambda c: label(STANDING_LABELS, c),
        refund_method_label=lambda c: label(REFUND_METHOD_LABELS, c),
        exclusion_label=lambda c: label(STANDARD_EXCLUSIONS, c),
    )
