"""Open311 GeoReport v2 under /api/v1/open311/: the services list (open to all), and a
partner's requests: POST one, GET one by id or its list (partner key required; a partner
sees only its own).

The POST is exempt from CSRF on purpose: it is authenticated by the partner's key alone
(api/auth.partner_required), which a browser on another site does not have and a session
cookie cannot replace, so there is no ambient credential for a forged request to ride on.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort
from flask_babel import gettext as _

from ..complaints.workflow import WorkflowError
from ..errors import error_response
from ..extensions import csrf
from ..security import public, security_event
from . import open311 as bp
from . import schemas as s
from .auth import authenticated_partner, partner_required
from .intake import file, own_request, own_requests, request_view, services

_ERRORS = {401: "A live partner API key is required (X-API-Key header, or api_key in the POST form).",
           404: "No request of this partner has this id.",
           429: "Rate limit reached; see Retry-After."}


def _errors(*statuses: int) -> Any:
    """Document the error answers of a partner's operation (all in the envelope)."""

    def decorate(view: Any) -> Any:
        for status in statuses:
            view = bp.alt_response(status, schema=s.ErrorSchema, description=_ERRORS[status])(view)
        return view

    return decorate


@bp.route("/services.json")
@public
@bp.doc(summary="The services: our problem types, each filing a complaint", tags=["Open311"])
@bp.alt_response(429, schema=s.ErrorSchema, description=_ERRORS[429])
@bp.response(200, s.Service(many=True))
def service_list() -> Any:
    return services()


def _refusal(err: WorkflowError) -> Response:
    """A workflow refusal of a partner's request, in the envelope (422: the request is wrong)."""
    field = err.field or {"consent_required": "attribute[consent]", "purchased_in_future": "attribute[purchased_on]",
                          "no_merchant": "address_id", "wants": "attribute[wants][]"}.get(err.code, err.code)
    message = {"no_merchant": "No listed merchant has this badge code.",
               "purchased_in_future": "The purchase date is in the future."}.get(err.code, "Not accepted.")
    return error_response(422, _("Some values in the request are not valid."), fields={field: [message]})


@bp.route("/requests.json", methods=["POST"])
@csrf.exempt
@partner_required
@bp.doc(summary="File a request (a complaint) for a partner", tags=["Open311"],
        security=[{"api_key": []}])
@bp.arguments(s.ServiceRequestForm, location="form", as_kwargs=False)
@bp.alt_response(200, schema=s.ServiceRequestCreated(many=True),
                 description="Filed before under this partner_request_id: the same request again.")
@bp.response(201, s.ServiceRequestCreated(many=True))
@_errors(401, 429)
def create_request(form: dict[str, Any]) -> Any:
    partner = authenticated_partner()
    assert partner is not None  # partner_required
    try:
        complaint, created = file(partner, form)
    except WorkflowError as err:
        return _refusal(err)
    security_event("partner_request", partner=partner.code, complaint=complaint.id, created=created)
    body = [{"service_request_id": complaint.tracking_code, "partner_request_id": form["partner_request_id"],
             "service_notice": "Received; see expected_datetime for the acceptance deadline.",
             "account_id": None}]
    return body, 201 if created else 200



@bp.route("/requests.json")
@partner_required
@bp.doc(summary="This partner's requests, newest first", tags=["Open311"], security=[{"api_key": []}])
@bp.arguments(s.RequestListArgs, location="query", as_kwargs=False)
@bp.response(200, s.ServiceRequest(many=True))
@_errors(401, 429)
def request_list(args: dict[str, Any]) -> Any:
    partner = authenticated_partner()
    assert partner is not None
    return [request_view(partner, c) for c in own_requests(partner, args)]



@bp.route("/requests/<service_request_id>.json")
@partner_required
@bp.doc(summary="One of this partner's requests", tags=["Open311"], security=[{"api_key": []}])
@bp.response(200, s.ServiceRequest(many=True))
@_errors(401, 404, 429)
def request_one(service_request_id: str) -> Any:
    partner = authenticated_partner()
    assert partner is not None
    found = own_request(partner, service_request_id[:40])
    if found is None:
        abort(404)
    return [request_view(partner, found)]

