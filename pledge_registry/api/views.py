"""The public reads of /api/v1/ (thin: validated arguments → api.services → schema)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from ..security import public
from ..urls import absolute_url
from . import PREFIX, api, opendata, services, v1
from . import schemas as s
from .http import CONDITIONAL_HEADERS, CONDITIONAL_PARAMETERS, last_modified

# The document and its browsable page are not API operations: a plain blueprint, outside
# the document and the API's rate limits.
docs_bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)
DOCS_ASSETS = frozenset({"swagger-ui-bundle.js", "swagger-ui.css"})


def _read(schema: Any, summary: str, tag: str, not_found: bool = False) -> Any:
    """The documentation every read shares: its answer, 304, the conditional headers, and
    the error envelope for everything else (flask-smorest adds the 422 of its arguments)."""

    def decorate(view: Any) -> Any:
        view = v1.alt_response(304, description="Not modified: the ETag (or the date) still holds.")(view)
        if not_found:
            view = v1.alt_response(404, schema=s.ErrorSchema, description="No such public record.")(view)
        view = v1.alt_response(429, schema=s.ErrorSchema, description="Rate limit reached; see Retry-After.",
                               headers={"Retry-After": {"schema": {"type": "string"}}})(view)
        view = v1.response(200, schema, headers=CONDITIONAL_HEADERS)(view)
        return v1.doc(summary=summary, tags=[tag])(view)

    return decorate


def _route(rule: str) -> Any:
    """A read's route, with the conditional request headers it takes documented."""
    return v1.route(rule, parameters=CONDITIONAL_PARAMETERS)


def _answer(found: services.Found) -> dict[str, Any]:
    last_modified(found.last_modified)
    return found.body


@_route("/merchants")
@public
@v1.arguments(s.MerchantSearchArgs, location="query", as_kwargs=False)
@_read(s.MerchantPage, "Search the pledged merchants (the directory's search)", "Merchants")
def merchants(args: dict[str, Any]) -> Any:
    """Listed shops matching the text and filters, newest (or oldest) first, counted up to a cap."""
    return _answer(services.search(args))


def _merchant_or_404(merchant_id: int) -> Any:
    merchant = services.shown_merchant(merchant_id)
    if merchant is None:
        abort(404)
    return merchant


@_route("/merchants/<int:merchant_id>")
@public
@_read(s.MerchantDetail, "One merchant: pledges and terms, current rating by factor, reply, titles",
       "Merchants", not_found=True)
def merchant(merchant_id: int) -> Any:
    return _answer(services.detail(_merchant_or_404(merchant_id)))


@_route("/merchants/<int:merchant_id>/ratings")
@public
@v1.arguments(s.PageArgs, location="query", as_kwargs=False)
@_read(s.RatingHistoryPage, "A merchant's rating history, newest first", "Merchants", not_found=True)
def merchant_ratings(args: dict[str, Any], merchant_id: int) -> Any:
    return _answer(services.rating_history(_merchant_or_404(merchant_id), args["page"], args["per_page"]))


@_route("/units")
@public
@v1.arguments(s.UnitArgs, location="query", as_kwargs=False)
@_read(s.UnitList, "Named units holding a title today (demonstration units first)", "Units")
def units(args: dict[str, Any]) -> Any:
    return _answer(services.units(args.get("level"), args.get("town")))


@_route("/towns")
@public
@_read(s.TownList, "Towns and districts", "Reference lists")
def towns() -> Any:
    return _answer(services.towns())


@_route("/areas")
@public
@v1.arguments(s.AreaArgs, location="query", as_kwargs=False)
@_read(s.AreaList, "Commercial areas (malls and streets), optionally of one town", "Reference lists")
def areas(args: dict[str, Any]) -> Any:
    return _answer(services.areas(args.get("town")))


@_route("/categories")
@public
@_read(s.CodedList, "Industry categories", "Reference lists")
def categories() -> Any:
    return _answer(services.categories())


@_route("/problem-types")
@public
@_read(s.CodedList, "Complaint problem types", "Reference lists")
def problem_types() -> Any:
    return _answer(services.problem_types())


@_route("/complaints/statistics")
@public
@v1.arguments(s.StatisticsArgs, location="query", as_kwargs=False)
@_read(s.Statistics, "Complaint statistics for a period, by one dimension (small counts suppressed)",
       "Statistics")
def complaint_statistics(args: dict[str, Any]) -> Any:
    """Counts, on-time shares, satisfaction and amounts recovered; no personal data."""
    return _answer(services.statistics(args["period"], args["dimension"], args["request_type"],
                                       current_app.config["API_MIN_CELL_COUNT"]))


@_route("/open-data")
@public
@_read(s.OpenData, "The daily open-data files: licence, schema, size and SHA-256 of each", "Open data")
def open_data() -> Any:
    manifest = opendata.read_manifest(Path(current_app.config["OPEN_DATA_FOLDER"]))
    config = current_app.config
    body: dict[str, Any] = {"licence": config["OPEN_DATA_LICENCE"], "licence_url": config["OPEN_DATA_LICENCE_URL"],
                            "schema_url": absolute_url("api_docs.docs") + "#/Open%20data",
                            "generated_at": None, "records": None, "files": [],
                            "columns": [{"name": n, "type": t, "description": d} for n, t, d in opendata.SCHEMA]}
    if manifest is not None:
        body.update(generated_at=datetime.fromisoformat(manifest["generated_at"]), records=manifest["records"],
                    readme_url=absolute_url("api_docs.open_data_file", name=opendata.README),
                    files=[{**f, "url": absolute_url("api_docs.open_data_file", name=f["name"])}
                           for f in manifest["files"]])
        last_modified(body["generated_at"])
    return body


# --- the document and its page -----------------------------------------------------------

@docs_bp.route("/openapi.json")
@public
def openapi_document() -> Any:
    """The OpenAPI 3.1 document, generated from the schemas that validate the requests."""
    response = current_app.json.response(api.spec.to_dict())
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@docs_bp.route("/docs")
@public
def docs() -> Any:
    """The browsable documentation (Swagger UI, served from its pinned package: no CDN)."""
    return render_template("api/docs.html")


@docs_bp.route("/docs/assets/<name>")
@public
def docs_asset(name: str) -> Response:
    if name not in DOCS_ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=24 * 3600)


@docs_bp.route("/open-data/<name>")
@public
def open_data_file(name: str) -> Response:
    """One of today's files (or SHA256SUMS, or README.txt), as the manifest lists them."""
    folder = Path(current_app.config["OPEN_DATA_FOLDER"])
    manifest = opendata.read_manifest(folder)
    listed = {f["name"] for f in manifest["files"]} | {opendata.SUMS, opendata.README} if manifest else set()
    if name not in listed:
        abort(404)
    response = send_from_directory(folder, name, max_age=3600, conditional=True)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
