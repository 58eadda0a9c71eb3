"""Error pages and the one JSON error envelope."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

from .extensions import limiter

log = logging.getLogger("pledge_registry.errors")


def wants_json() -> bool:
    return request.path.endswith(".json") or request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, message: str, error_id: str | None = None,
                   fields: dict[str, Any] | None = None) -> Any:
    if wants_json():
        body: dict[str, Any] = {"error": {"status": status, "message": message}}
        if error_id:
            body["error"]["id"] = error_id
        if fields:
            body["error"]["fields"] = fields
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message, error_id=error_id), status


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Please check what you entered."),
        401: _("A valid API key is required."),
        403: _("You do not have access to this page."),
        404: _("Page not found."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        422: _("Some values in the request are not valid."),
        429: _("Too many attempts. Please wait a few minutes and try again."),
        500: _("Something went wrong on our side. The error has been recorded."),
    }


def handle_http(err: HTTPException) -> Any:
    status = err.code or 500
    if status == 500:
        return handle_500(err)
    response = make_response(error_response(status, _messages().get(status, err.name), fields=_field_errors(err)))
    if status == 429:
        response.headers["Retry-After"] = str(_retry_after_seconds())
    return response


def _field_errors(err: HTTPException) -> dict[str, Any] | None:
    """The API's validation messages, field by field (webargs puts them in `data`, by the
    part of the request they were in: query, form, json)."""
    messages = (getattr(err, "data", None) or {}).get("messages")
    if not isinstance(messages, dict):
        return None
    merged: dict[str, Any] = {}
    for part in messages.values():
        if isinstance(part, dict):
            merged.update(part)
    return merged or None


def _retry_after_seconds() -> int:
    """Seconds until the breached limit's window lets the next request through (60 when
    the counter store cannot say: the refusal stands, only the hint is rougher)."""
    try:
        breached = limiter.current_limit
        reset_at = breached.reset_at if breached is not None else None
    except Exception:  # the counter store went away after refusing: still a 429, not a 500
        log.warning("rate-limit storage unreachable while answering a 429", exc_info=True)
        reset_at = None
    return 60 if reset_at is None else max(1, int(reset_at - time.time()))


def handle_500(err: Exception) -> Any:
    error_id = secrets.token_hex(6)
    original = getattr(err, "original_exception", None) or err
    log.error("error_id=%s path=%s", error_id, request.path, exc_info=original)
    try:
        from .extensions import db

        db.session.rollback()
    except Exception:  # the database itself may be what failed; the log above has it
        log.exception("error_id=%s rollback failed", error_id)
    return error_response(500, _messages()[500], error_id)


def csrf_failure(err: Exception) -> Any:
    """Re-render the form with the user's input kept.

    The view runs again with g.csrf_failed set: every form (forms.BaseForm) then fails
    validation with a "page expired" message, so nothing is changed, and the page comes
    back with what the user typed and a fresh token.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or wants_json() or not request.form:
        return error_response(400, _("This page has expired. Please go back, reload it and try again."))
    g.csrf_failed = True
    try:
        result = current_app.ensure_sync(view)(**(request.view_args or {}))
    except HTTPException as err:  # e.g. the record is not this user's: 404 as usual
        return handle_http(err)
    response = current_app.make_response(result)
    if response.status_code < 400:
        # A view that does not re-render on a failed form must not look successful.
        return error_response(400, _("This page has expired. Please go back, reload it and try again."))
    return response


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_500)
    app.register_error_handler(Exception, handle_500)
