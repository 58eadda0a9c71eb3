"""Who a key-authenticated request comes from: the partner whose key it carries.

The key travels in the X-API-Key header, or, for a POST, in the `api_key` form field that
Open311 clients send. Never in a query string: URLs end up in proxies' and servers' logs.
Nothing here logs a key; a refusal names the key's public prefix at most.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, request
from flask_babel import gettext as _

from ..errors import error_response
from ..models import Partner
from ..partners.services import authenticate, key_prefix
from ..security import security_event

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "X-API-Key"
FORM_FIELD = "api_key"
_UNSET = object()


def presented_key() -> str | None:
    key = request.headers.get(HEADER)
    if key is None and request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        key = request.form.get(FORM_FIELD)
    return key.strip() if key else None


def authenticated_partner() -> Partner | None:
    """The partner of this request's key (checked once per request), or None."""
    found = g.get("api_partner", _UNSET)
    if found is _UNSET:
        key = presented_key()
        found = authenticate(key) if key else None
        g.api_partner = found
    return found


def partner_required(view: F) -> F:
    """Deny unless the request carries a live partner key: 401, whatever cookies it has
    (a signed-in session never stands in for a key). Marks the view "partner" for the
    deny-by-default check, which leaves key-authenticated views to this decorator."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if FORM_FIELD in request.args:
            return error_response(400, _("Send the API key in the X-API-Key header, never in the URL."))
        if authenticated_partner() is None:
            key = presented_key()
            security_event("api_key_refused", endpoint=request.endpoint,
                           prefix=(key_prefix(key) if key else None) or "-")
            abort(401)
        return view(*args, **kwargs)

    wrapped.access = "partner"  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]
