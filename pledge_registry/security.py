"""Sessions, access control, security headers and the security event log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, abort, g, request, session
from flask_login import AnonymousUserMixin, current_user, logout_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from .extensions import db, login_manager
from .models import Role

log = logging.getLogger("pledge_registry.security")

F = TypeVar("F", bound=Callable[..., Any])

CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def security_event(event: str, **fields: Any) -> None:
    """Log a security event: what, who, from where, when (UTC). Never secrets or phones."""
    who = current_user.get_id().split(":")[0] if current_user and current_user.is_authenticated else "-"
    parts = " ".join(f"{k}={v}" for k, v in sorted(fields.items()))
    log.warning(
        "security event=%s user=%s ip=%s at=%s %s",
        event, who, request.remote_addr if request else "-",
        datetime.now(UTC).isoformat(timespec="seconds"), parts,
    )


def roles_required(*roles: str, access: str | None = None) -> Callable[[F], F]:
    """Deny unless signed in with one of `roles`: anonymous visitors go to the login page,
    any other role gets 403 (logged). The view is marked with `access` (default: the roles
    joined by "+"), which the access tests read."""
    allowed = frozenset(roles)
    mark = access or "+".join(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                security_event("denied", endpoint=request.endpoint)
                abort(403)
            return view(*args, **kwargs)

        wrapped.access = mark  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


# The four kinds of signed-in user, each one decorator built from roles_required.
staff_required = roles_required(Role.STAFF, Role.ADMIN, access="staff")
staff_required.__doc__ = "Deny unless signed in as staff or admin (merchants get 403)."
admin_required = roles_required(Role.ADMIN, access="admin")
# Bureau staff and supervision-station officers: both handle complaints.
officer_required = roles_required(Role.STAFF, Role.ADMIN, Role.STATION, access="officer")
# The merchant portal: officers of any kind use the staff screens, and get 403 here.
merchant_required = roles_required(Role.MERCHANT, access="merchant")


def own_shop_or_404(merchant_id: int) -> Any:
    """The signed-in merchant's shop `merchant_id`; 404 when it is missing or another
    account's (never 403: no hint that the id exists). The rule is the registry's."""
    from .registry.services import get_own_shop

    merchant = get_own_shop(current_user, merchant_id)
    if merchant is None:
        abort(404)
    return merchant


def public(view: F) -> F:
    """Mark a view as open to anonymous users; every other view requires a login."""
    view.access = "public"  # type: ignore[attr-defined]
    return view


def no_store(view: F) -> F:
    """Mark a public view whose answer must not be cached (tracking pages)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.no_store = True
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# How long the cache in front of the app (the sample nginx) may keep a page marked
# micro_cached. The bound that the README states, FRESHNESS_SECONDS, adds three seconds to it:
# nginx counts the 1 s in whole seconds of its clock (a page kept at 12:00:00.9 is served
# until 12:00:01.999), and while one scan fetches an expired page the others get the copy
# nginx holds, which it drops once nobody scanned it for 1-2 s (`inactive=2s`, also counted
# in whole seconds; 1s would drop a page scanned all the time at each turn of the second).
MICRO_CACHE_SECONDS = 1
FRESHNESS_SECONDS = MICRO_CACHE_SECONDS + 3


def micro_cached(view: F) -> F:
    """Mark a public view whose anonymous answer is the same for every visitor with the same
    URL and language, so the proxy may keep it for MICRO_CACHE_SECONDS (see `_headers`)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        g.micro_cached = True
        return view(*args, **kwargs)

    wrapped.micro_cached = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]


class Anonymous(AnonymousUserMixin):
    is_staff = False
    is_officer = False
    is_admin = False
    is_station = False


def _load_user(user_id: str) -> Any:
    from .models import User

    uid, _, token = user_id.partition(":")
    if not uid.isdigit() or not token:
        return None
    user = db.session.get(User, int(uid))
    if user is None or user.session_token != token or user.disabled:
        return None
    return user


def _deny_by_default() -> Any:
    """Every endpoint needs a login unless its view is marked public (or partner)."""
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = _view_function(request.endpoint)
    # "partner": the API's key-authenticated views, which refuse any request without a
    # live key themselves (api/auth.partner_required); a session cookie does not count there.
    if getattr(view, "access", None) in ("public", "partner"):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _view_function(endpoint: str) -> Any:
    from flask import current_app

    return current_app.view_functions.get(endpoint)


def _staff_session_timeouts() -> Any:
    """Staff and station sessions end after 30 idle minutes or 12 hours in all."""
    if not current_user.is_authenticated or not current_user.is_officer:
        return None
    from flask import current_app

    now = datetime.now(UTC).timestamp()
    started = session.get("login_at", 0)
    seen = session.get("seen_at", started)
    idle = current_app.config["STAFF_IDLE_TIMEOUT"].total_seconds()
    absolute = current_app.config["STAFF_ABSOLUTE_TIMEOUT"].total_seconds()
    if now - seen > idle or now - started > absolute:
        security_event("session_timeout")
        logout_user()
        session.clear()
        return login_manager.unauthorized()
    session["seen_at"] = now
    return None


def _headers(response: Response) -> Response:
    from flask import current_app

    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if current_app.config["HSTS"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    signed_in = current_user.is_authenticated if current_user else False
    if signed_in or g.get("no_store"):
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("X-Accel-Expires", None)
        return response
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-cache"
    if _proxy_may_keep(response):
        # Only the proxy reads X-Accel-Expires (nginx drops it before the phone sees it):
        # phones still ask again at every scan, the proxy answers them for a second.
        # Before Cache-Control: nginx before 1.23 reads the headers in order, and a no-cache
        # seen first would make it ignore the X-Accel-Expires that follows.
        cache_control = response.headers.pop("Cache-Control")
        response.headers["X-Accel-Expires"] = str(MICRO_CACHE_SECONDS)
        response.headers["Cache-Control"] = cache_control
    return response


def _proxy_may_keep(response: Response) -> bool:
    """Whether this anonymous answer may be shared by the proxy: only from a micro_cached
    view, only a page or a "no such badge", never one that sets a cookie (a language switch,
    a session that just began) or that a view marked private."""
    if not g.get("micro_cached") or response.status_code not in (200, 404):
        return False
    if "Set-Cookie" in response.headers or session.modified:
        return False
    cache_control = response.headers.get("Cache-Control", "")
    return "private" not in cache_control and "no-store" not in cache_control


def init_app(app: Flask) -> None:
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    login_manager.user_loader(_load_user)
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.login_message = None
    app.before_request(_deny_by_default)
    app.before_request(_staff_session_timeouts)
    app.after_request(_headers)

    @app.errorhandler(CSRFError)
    def _csrf_error(err: CSRFError) -> Any:
        from .errors import csrf_failure

        security_event("csrf_failure", endpoint=request.endpoint, reason=err.description)
        return csrf_failure(err)
