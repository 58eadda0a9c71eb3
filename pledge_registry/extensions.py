"""Flask extensions, created unbound; create_app() calls init_app() on each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from .database import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The public API's blueprints: the only ones whose reads are counted (per client, api/http.py).
READ_LIMITED_BLUEPRINTS = frozenset({"api_v1", "open311"})


@limiter.request_filter
def _reads_are_not_limited() -> bool:
    """Every rate limit of the pages is on a POST (sign-in, filing, tracking look-up); a
    page read is never counted. Without this filter Flask-Limiter still resolves the limits
    of every GET (~4% of a page like the complaint confirmation). create_app refuses a limit
    that would count reads (check_limits_count_writes_only), so none is skipped here. The
    public API is the exception: its clients are programs, limited per client on reads too."""
    return request.method in READ_ONLY_METHODS and request.blueprint not in READ_LIMITED_BLUEPRINTS


def check_limits_count_writes_only(groups: Mapping[str, Iterable[Any]] | None = None) -> None:
    """Refuse, at start-up, a rate limit that applies to GET/HEAD/OPTIONS (see above): a
    route's, a blueprint's, the default or the application-wide limits; but the public
    API's blueprints' (READ_LIMITED_BLUEPRINTS)."""
    if groups is None:
        manager = limiter.limit_manager
        try:  # Flask-Limiter keeps them privately; if that changes, fail rather than skip limits
            groups = {"the default limits": manager._default_limits,
                      "the application limits": manager._application_limits,
                      **{f"blueprint {name}": limits for name, limits in manager._blueprint_limits.items()},
                      **manager._decorated_limits}
        except AttributeError as err:
            raise RuntimeError("cannot list Flask-Limiter's limits to check them") from err
    for route, limits in groups.items():
        if route.removeprefix("blueprint ") in READ_LIMITED_BLUEPRINTS:
            continue
        for limit in limits:
            methods = {m.upper() for m in (limit.methods or ())}
            if not methods or methods & READ_ONLY_METHODS:
                raise RuntimeError(f"the rate limit on {route} counts reads: give it methods=['POST']")
