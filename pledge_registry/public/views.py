from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE
from sqlalchemy import select

from ..display import ELDER_COOKIE, MAX_NEXT, elder_from_environ
from ..extensions import db
from ..forms import query_page
from ..i18n import select_locale
from ..models import CATEGORIES, CommercialArea, Merchant, Town
from ..pledges.standing import shop_standing
from ..pledges.terms import terms_of
from ..scan_reports import edge
from ..scan_reports.pages import unknown_badge_page
from ..scan_reports.recorder import record as record_scan
from ..scan_reports.rules import SUSPICIOUS_STATES
from ..search.directory import query_from_request, search_directory
from ..security import micro_cached, public
from ..urls import absolute_url, safe_next
from . import bp
from .scan import PageCache, cached_render, load_merchant, page_valid_until, version_of

PER_PAGE = 20


def _cache() -> PageCache:
    """This app's scan-page cache (one per app, so tests never share one)."""
    cache = current_app.extensions.get("scan_cache")
    if cache is None:
        cache = current_app.extensions["scan_cache"] = PageCache(current_app.config["SCAN_CACHE_SIZE"])
    return cache


@bp.route("/")
@public
@micro_cached
def home():
    return render_template("public/home.html")


@bp.route("/elder")
@public
def elder():
    """Turn the elder-friendly mode on (?on=1) or off, and go back to the page (?next=)."""
    back = request.args.get("next", "")
    target = (safe_next(back) if len(back) <= MAX_NEXT and back.isprintable() else None) \
        or url_for("public.home")
    response = redirect(target)
    if request.args.get("on") == "1":
        response.set_cookie(ELDER_COOKIE, "1", max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    else:
        response.delete_cookie(ELDER_COOKIE, samesite="Lax", httponly=True,
                               secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.route("/healthz")
@public
def healthz():
    """Liveness for the load balancer, and the trivial baseline of the benchmarks."""
    return Response("ok", mimetype="text/plain")


def _scan_response(code: str, fmt: str) -> Response:
    found = version_of(code)
    if found is None:
        if fmt == "json":
            return jsonify({"error": {"status": 404, "message": "not a registered badge"}}), 404  # type: ignore[return-value]
        return Response(unknown_badge_page(code), status=404, headers=_suspicious(code, "unknown", None))
    merchant_id, version = found
    now = datetime.now(UTC)
    # The kept copy is one per language and, for the page, per display mode: never another's.
    key = (code, version, _scan_language(), fmt == "html" and elder_from_environ(request.environ), fmt)

    def render(shared: bool = True) -> tuple[bytes, datetime, str]:
        merchant = load_merchant(merchant_id)
        standing = shop_standing(merchant, now)
        if fmt == "json":
            body = current_app.json.dumps(_scan_facts(merchant, standing, now)).encode()
        else:
            terms = {p.id: terms_of(p) for _, p, _ in standing.pledges}
            # The shared copy is every anonymous visitor's: no one's header or messages in it.
            body = render_template("public/scan.html", merchant=merchant, standing=standing,
                                   terms=terms, generated_at=now, public_shell=shared,
                                   keep_query={}).encode()  # no visitor's query in a kept page
        return body, page_valid_until(standing, now), standing.state

    mimetype = "application/json" if fmt == "json" else "text/html"
    if fmt != "json" and _signed_in():
        # A signed-in visitor's page carries their own header (menu, sign-out token): never
        # the shared copy, and never kept.
        body, _, state = render(shared=False)
        if state in SUSPICIOUS_STATES:  # never kept, so counted here even when the edge counts
            _count_here(code, state, merchant_id)
        return Response(body, mimetype=mimetype)
    page = cached_render(_cache(), key, now, render, mimetype)
    to_edge: tuple[tuple[str, str], ...] = ()
    if page.state in SUSPICIOUS_STATES and fmt != "json":  # a valid badge's scan writes nothing
        to_edge = _suspicious(code, page.state, merchant_id)
    # The header is parsed only when a phone sends one (most first scans do not).
    if request.environ.get("HTTP_IF_NONE_MATCH") and request.if_none_match.contains(page.etag):
        return Response(status=304, headers=[*(h for h in page.headers if h[0] in _NOT_MODIFIED_HEADERS),
                                             *to_edge])
    return Response(page.body, headers=[*page.headers, *to_edge] if to_edge else page.headers)


_NOT_MODIFIED_HEADERS = frozenset({"ETag", "Cache-Control", "Vary"})


def _suspicious(code: str, state: str, merchant_id: int | None) -> tuple[tuple[str, str], ...]:
    """Count this scan of a forged or stale badge: here, or, through the nginx that logs them
    (SCAN_COUNT_AT_EDGE), at the edge, which the answer's headers returned here tell what to
    log; the page may then be kept like any other (scan_reports/edge.py)."""
    if edge.counted_at_edge(current_app.config, request.environ):
        return edge.response_headers(state, merchant_id)
    _count_here(code, state, merchant_id)
    return ()


def _count_here(code: str, state: str, merchant_id: int | None) -> None:
    """Keep this scan (scan_reports), and let no proxy answer the next one in the app's
    place: each scan of a forged or stale badge reaches the app and is counted."""
    g.micro_cached = False
    record_scan(code, state, merchant_id)


def _signed_in() -> bool:
    """Whether this scan comes from a signed-in user. Most scans carry no session or
    remember cookie at all, and then the user is not loaded."""
    cookies = request.environ.get("HTTP_COOKIE", "")
    config = current_app.config
    remember = config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE)
    if config["SESSION_COOKIE_NAME"] not in cookies and remember not in cookies:
        return False
    return bool(current_user.is_authenticated)


def _scan_language() -> str:
    """The language the page would render in, without building a Babel Locale on a cache
    hit, nor parsing a query string or cookies that cannot choose one."""
    environ = request.environ
    if not environ.get("QUERY_STRING") and "lang=" not in environ.get("HTTP_COOKIE", ""):
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return select_locale()


def _scan_facts(merchant: Merchant, standing, now: datetime) -> dict:
    from ..compliance.services import current_reply
    from ..ratings.services import current_rating

    rating = current_rating(merchant.id)
    reply = current_reply(merchant.id)
    return {
        "badge_code": merchant.badge_code,
        "shop_name": merchant.shop_name,
        "legal_name": merchant.legal_name,
        "credit_code": merchant.credit_code,
        "address": merchant.address,
        "town": merchant.town.name,
        "commercial_area": merchant.area.name if merchant.area else None,
        "category": merchant.category,
        "opening_hours": merchant.opening_hours,
        "state": standing.state,
        "pledges": [
            {
                "kind": kind,
                "state": state,
                "template_version": pledge.template.version,
                "activated_at": pledge.activated_at.isoformat() if pledge.activated_at else None,
                "expires_at": pledge.expires_at.isoformat() if pledge.expires_at else None,
                "return_days": pledge.return_days,
                "refund_method": pledge.refund_method,
                "refund_days": pledge.refund_days,
                "conditions": pledge.conditions or None,
                "excluded_goods": pledge.excluded_goods or [],
            }
            for kind, pledge, state in standing.pledges
        ],
        "rating": {"grade": rating.grade, "score": rating.score, "model_version": rating.model_version,
                   "explained": absolute_url("ratings.breakdown", code=merchant.badge_code)}
        if rating else None,
        # The merchant's own words beside its rating, as the page shows them.
        "reply": {"text": reply.text, "published_at": reply.created_at.isoformat(timespec="seconds")}
        if reply else None,
        "generated_at": now.isoformat(timespec="seconds"),
        "page": absolute_url("public.scan", code=merchant.badge_code),
    }


@bp.route("/m/<code>")
@public
@micro_cached
def scan(code: str):
    """The page behind every printed badge: permanent, whatever else is redesigned."""
    return _scan_response(code, "html")


@bp.route("/m/<code>.json")
@public
@micro_cached
def scan_json(code: str):
    return _scan_response(code, "json")


@bp.route("/merchants")
@public
@micro_cached
def directory():
    query = query_from_request()
    page = search_directory(query, page=query_page(), per_page=PER_PAGE)
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order)))
    areas = list(db.session.scalars(select(CommercialArea).order_by(CommercialArea.town_id, CommercialArea.sort_order)))
    now = datetime.now(UTC)
    rows = [(m, shop_standing(m, now)) for m in page.items]
    args = {k: v for k, v in {"q": query.text, "town": query.town_id, "area": query.area_id,
                              "category": query.category, "pledge": query.pledge_kind}.items() if v}
    return render_template("public/directory.html", page=page, rows=rows, towns=towns, areas=areas,
                           args=args, categories=CATEGORIES)
