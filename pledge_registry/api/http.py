"""How every API answer behaves: conditional requests, CORS for reads, per-client rate
limits. The error envelope is errors.py's (every /api/ answer is JSON there).

- Conditional requests: every 200 read carries a strong ETag of its body, and Last-Modified
  when the view knows when its data last changed; If-None-Match / If-Modified-Since answer
  304 (werkzeug's make_conditional).
- CORS: any origin may read (GET, HEAD and their preflight); nothing grants a browser on
  another site the right to write.
- Rate limits: per client, a partner by its key, anyone else by address, counted in the
  limiter's storage (Redis when several workers run: gunicorn.conf.py refuses memory://).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_limiter.util import get_remote_address

from ..extensions import limiter
from .auth import authenticated_partner

READS = ("GET", "HEAD")
API_PATH = "/api/"
CONDITIONAL_HEADERS = {
    "ETag": {"description": "A strong validator of the body; send it back in If-None-Match.",
             "schema": {"type": "string"}},
    "Last-Modified": {"description": "When the data last changed, where known.", "schema": {"type": "string"}},
}
CONDITIONAL_PARAMETERS = [
    {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
     "description": "An ETag from an earlier answer: 304 while it still holds."},
    {"in": "header", "name": "If-Modified-Since", "required": False, "schema": {"type": "string"},
     "description": "An HTTP date: 304 when nothing changed since (when the answer has a Last-Modified)."},
]
EXPOSED = "ETag, Last-Modified, Retry-After, Link"


def last_modified(moment: datetime | None) -> None:
    """What the view knows of when its data last changed (the Last-Modified header)."""
    g.api_last_modified = moment


def client_key() -> str:
    """Whom a rate limit counts: the partner whose key the request carries (api/auth.py
    checks it once per request), else the client's address (behind PROXY_COUNT proxies)."""
    partner = authenticated_partner()
    return f"partner:{partner.id}" if partner is not None else f"ip:{get_remote_address()}"


def _conditional(response: Response) -> Response:
    if request.method not in READS or response.status_code != 200 or response.direct_passthrough:
        return response
    moment = g.pop("api_last_modified", None)
    if moment is not None:
        response.last_modified = moment
    response.add_etag()
    response.make_conditional(request)  # in place: 304 and no body when the client's copy holds
    return response


def _cors(response: Response) -> Response:
    """Any origin may read the API (no credentials: nothing here reads a cookie)."""
    if not request.path.startswith(API_PATH) or request.method not in (*READS, "OPTIONS"):
        return response
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = EXPOSED
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since, Accept-Language"
        response.headers["Access-Control-Max-Age"] = "86400"
    vary = response.headers.get("Vary", "")
    if "Origin" not in vary:
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
    return response


def init_blueprint(bp: Any) -> None:
    """Conditional answers and the per-client limits on one of the API's blueprints."""
    bp.after_request(_conditional)
    # Shared across the blueprint's routes: a client's budget, not one per endpoint.
    limiter.shared_limit(lambda: current_app.config["API_READ_LIMIT"], scope="api-reads",
                         key_func=client_key, methods=list(READS))(bp)
    limiter.shared_limit(lambda: current_app.config["API_WRITE_LIMIT"], scope="api-writes",
                         key_func=client_key, methods=["POST"])(bp)


def init_app(app: Flask) -> None:
    app.after_request(_cors)
