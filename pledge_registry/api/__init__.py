"""The public API, /api/v1/: the registry's open reads, and the partners' complaint intake
(Open311 GeoReport v2). Requests are validated by the marshmallow schemas in schemas.py and
the OpenAPI 3.1 document is generated from those same schemas by flask-smorest (apispec),
so what is documented is what is checked.

`v1` only ever adds: tests/test_api_contract.py compares the document with a committed
snapshot (`flask api snapshot` refuses to write one that removes or changes anything).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api, Blueprint

from . import http
from .schemas import ErrorSchema

API_TITLE = "Pledge registry open API"
API_VERSION = "v1"
PREFIX = "/api/v1"
DESCRIPTION = (
    "Open data of the pledged merchants: search, each merchant's pledges, rating and titles, named units, "
    "reference lists and aggregated complaint statistics (no personal data; small counts suppressed). "
    "Reads need no key, answer ETag and Last-Modified for conditional requests and allow any origin (CORS). "
    "Every error is one JSON envelope: {\"error\": {\"status\", \"message\", \"fields\"?}}. "
    "Clients are rate-limited; a 429 carries Retry-After. The daily bulk files are listed at /api/v1/open-data."
)


class RegistryApi(Api):
    """flask-smorest's Api, with the app's own error handlers (errors.py: one JSON envelope
    for every /api/ answer) instead of its own, and the spec served by our views."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """The app's handlers already answer every error under /api/ in the envelope."""


api = RegistryApi()
v1 = Blueprint("api_v1", __name__, url_prefix=PREFIX,
               description="The registry's public reads: merchants, ratings, units, reference lists, statistics.")
open311 = Blueprint("open311", __name__, url_prefix=PREFIX + "/open311",
                    description="Open311 GeoReport v2 intake for partner systems (API key required to write).")
# Once, at import: a blueprint cannot take hooks after its first registration.
http.init_blueprint(v1)
http.init_blueprint(open311)


def config() -> dict[str, Any]:
    """flask-smorest's settings: OpenAPI 3.1, and no documentation blueprint of its own
    (views.openapi_document and views.docs serve them, marked public)."""
    return {
        "API_TITLE": API_TITLE,
        "API_VERSION": API_VERSION,
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": None,
    }


def init_app(app: Flask) -> None:
    """Bind the API and register its blueprints (called by create_app)."""
    from . import open311_views, views  # noqa: F401  (the routes)

    for key, value in config().items():
        app.config.setdefault(key, value)
    api.init_app(app, spec_kwargs={"info": {"description": DESCRIPTION}})
    api.spec.components.security_scheme("api_key", {"type": "apiKey", "in": "header", "name": "X-API-Key"})
    http.init_app(app)
    api.register_blueprint(v1)
    api.register_blueprint(open311)
