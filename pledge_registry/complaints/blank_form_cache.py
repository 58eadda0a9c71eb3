"""The blank complaint form, rendered once per worker and filled in for each request.

Its widgets are most of the complaint page's cost (~10 ms on these machines) and, blank,
they differ only by language, by today's date (the purchase date's max) and by the
retention period in the privacy notice. So each app keeps one render for each of those
(`FormKey`), with this request's own values (CSRF token, a fresh idempotency key, the
shop's address for the form's action) cut out, and fills them in again for every
request; no form object is built at all when the render is kept.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import current_app, render_template, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import Row

from ..i18n import select_locale
from ..localtime import local_today
from . import uploads
from .forms import ComplaintForm, new_idempotency_key

EXTENSION_KEY = "blank_complaint_forms"  # app.extensions[EXTENSION_KEY]: FormKey -> render
MAX_KEPT = 16  # then yesterday's forms, or those of a changed retention period, are dropped
# Where the render holds each request's own values. NUL never occurs in a rendered page.
KEY, CSRF, ACTION = "\x00key\x00", "\x00csrf\x00", "\x00action\x00"


class FormKey(NamedTuple):
    """What a blank form's render depends on."""

    locale: str
    day: str  # today's local date, ISO: the purchase date's max
    retention_days: int


def blank_form_html(merchant: Row[Any], retention_days: int) -> Markup:
    """The empty complaint form, as _complaint_form.html renders it, for this request.

    `merchant` is a row of filing.COMPLAIN_PAGE_MERCHANT."""
    key = FormKey(select_locale(), local_today().isoformat(), retention_days)
    own = {KEY: new_idempotency_key(), ACTION: url_for("complaints.complain", code=merchant.badge_code)}
    kept: dict[FormKey, str] = current_app.extensions.setdefault(EXTENSION_KEY, {})
    html = kept.get(key)
    if html is None:
        html = _render_with_placeholders(key, merchant, own)
        if len(kept) >= MAX_KEPT:
            kept.clear()
        kept[key] = html
    elif current_app.config.get("WTF_CSRF_ENABLED", True):
        own[CSRF] = generate_csrf()  # what the form's field would carry: one per request
    for placeholder, value in own.items():
        html = html.replace(placeholder, escape(value))
    return Markup(html)


def _render_with_placeholders(key: FormKey, merchant: Row[Any], own: dict[str, str]) -> str:
    """Render the blank form with this request's values, then put placeholders in their
    place; adds the CSRF token the form carried to `own`."""
    form = ComplaintForm(formdata=None)
    form.idempotency_key.data = own[KEY]
    form.purchased_on.render_kw = {"max": key.day}
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        own[CSRF] = form.csrf_token.current_token
    html = render_template("complaints/shopper/_complaint_form.html", form=form, merchant=merchant,
                           retention_days=key.retention_days, max_photos=uploads.MAX_PHOTOS,
                           photos_dropped=False)
    for placeholder, value in own.items():
        if html.count(value) != 1 or placeholder in html:
            raise RuntimeError(f"the complaint form must hold {placeholder!r}'s value exactly once")
        html = html.replace(value, placeholder)
    return html
