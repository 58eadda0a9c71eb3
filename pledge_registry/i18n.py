"""Language choice: Chinese by default, English on request (?lang=en, or a form's language
button, display.SWITCH_FIELD), kept in a cookie."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

LANG_COOKIE = "lang"


def select_locale() -> str:
    if "locale" in g:
        return g.locale
    languages = current_app.config["LANGUAGES"]
    chosen = _requested() if request else None
    if chosen not in languages:
        chosen = request.cookies.get(LANG_COOKIE) if request else None
    g.locale = chosen if chosen in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
    return g.locale


def _requested() -> str | None:
    """The language this request asks for: ?lang=, or a form's language button."""
    from .display import SWITCH_FIELD

    if "requested_lang" in g:
        return g.requested_lang
    chosen = request.args.get("lang")
    if chosen is None and request.method == "POST" and request.mimetype in _FORM_TYPES:
        try:
            chosen = request.form.get(SWITCH_FIELD)
        except HTTPException:  # a body too large: its own error page says so, in the default
            chosen = None
    g.requested_lang = chosen
    return chosen


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def _remember_choice(response: Response) -> Response:
    chosen = _requested()
    if chosen is not None and chosen in current_app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
        )
    return response


def init_app(app: Flask) -> None:
    from flask_babel import format_date, format_datetime

    app.after_request(_remember_choice)
    app.jinja_env.filters["datetime"] = lambda v: format_datetime(v, "yyyy-MM-dd HH:mm") if v else ""
    app.jinja_env.filters["date"] = lambda v: format_date(v, "yyyy-MM-dd") if v else ""

    @app.context_processor
    def _lang() -> dict[str, object]:
        return {"current_lang": select_locale, "LANGUAGES": app.config["LANGUAGES"]}
