"""How a public page is shown: the elder-friendly mode and a language switch that keeps
the visitor's place.

Both work without JavaScript. The elder mode (长辈模式: large type, large controls,
stronger contrast, the state and the complaint button first) is a cookie set by a plain
link to /elder, which sends the visitor back to the page it came from. The language is
chosen by ``?lang=`` on the same page with its own query (i18n.py keeps it in a cookie);
on a page whose form holds what the visitor typed, the switch is a submit button of that
form (``SWITCH_FIELD``): the view renders the form again, in the other language, with
everything kept and nothing recorded.

Every page kept for many visitors (the scan page's cache, the proxy's micro-cache) varies
by both cookies: see public/views.py and deploy/nginx/pledge-proxy.conf.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from flask import Flask, current_app, g, request

ELDER_COOKIE = "elder"      # "1" when on; nginx's cache key names it too ($cookie_elder)
SWITCH_FIELD = "switch_lang"  # a form's language button: re-render, keep the input, record nothing
MAX_NEXT = 2000             # a longer `next=` is not a page of this site


def elder_mode() -> bool:
    """Whether this request's pages are shown in the elder-friendly mode."""
    if "elder_mode" not in g:
        g.elder_mode = bool(request) and request.cookies.get(ELDER_COOKIE) == "1"
    return g.elder_mode


def elder_from_environ(environ: Mapping[str, str]) -> bool:
    """elder_mode() for the scan page's cache key, without parsing cookies when the header
    cannot carry the elder cookie (most scans)."""
    if f"{ELDER_COOKIE}=" not in environ.get("HTTP_COOKIE", ""):
        return False
    return elder_mode()


def language_switch_requested() -> bool:
    """Whether this POST is a form's language button rather than a submission."""
    return request.method == "POST" and request.form.get(SWITCH_FIELD) in current_app.config["LANGUAGES"]


def here(keep: Mapping[str, str] | None = None, **changes: str) -> str:
    """This page's path with its query (or `keep`) and `changes` applied: a local URL."""
    args = dict(request.args.items(multi=False)) if keep is None else dict(keep)
    args.update(changes)
    query = urlencode(args)
    return request.path + ("?" + query if query else "")


def language_url(lang: str, keep: Mapping[str, str] | None = None) -> str:
    """The same page, with its query, in another language."""
    return here(keep, lang=lang)


def elder_url(on: bool, keep: Mapping[str, str] | None = None) -> str:
    """The link that turns the elder mode on or off and comes back to this page."""
    from flask import url_for

    args = {k: v for k, v in (request.args.items() if keep is None else keep.items()) if k != "lang"}
    back = request.path + ("?" + urlencode(args) if args else "")
    return url_for("public.elder", on="1" if on else "0", next=back)


def init_app(app: Flask) -> None:
    @app.context_processor
    def _display() -> dict[str, object]:
        return {"elder_mode": elder_mode, "language_url": language_url, "elder_url": elder_url,
                "SWITCH_FIELD": SWITCH_FIELD}
