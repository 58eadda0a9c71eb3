"""URLs in and out: ids in URLs stay within the database's integer range, text in URLs
holds no control character, and every absolute URL the app writes is built from the
BASE_URL setting.

A request's Host (or X-Forwarded-Host) header is whatever the client sent: an absolute URL
built from it (url_for(..., _external=True), request.host_url) would put a forged host into
cached public pages, JSON bodies and text messages. BASE_URL is the one public address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from werkzeug.routing import IntegerConverter, UnicodeConverter

# The largest id PostgreSQL's INTEGER (and so every primary key here) holds.
MAX_ID = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` that matches only values a database integer column can hold: anything
    larger is no record's id, so the URL does not match (404) instead of reaching the
    database (where it overflows: 500)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = None, signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max,
                         signed=signed)


class PrintableTextConverter(UnicodeConverter):
    """`<name>` (and `<string:name>`) that matches no control character: no badge code,
    tracking code, token or file name holds one, so such a URL does not match (404) instead
    of reaching the database (PostgreSQL refuses a NUL in text: 500)."""

    def __init__(self, map: Any, minlength: int = 1, maxlength: int | None = None,
                 length: int | None = None) -> None:
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        times = f"{{{int(length)}}}" if length is not None else \
            f"{{{int(minlength)},{'' if maxlength is None else int(maxlength)}}}"
        self.regex = r"[^/\x00-\x1f\x7f-\x9f]" + times


def init_app(app: Flask) -> None:
    """Replace the default int and text converters; must run before any route is added."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = PrintableTextConverter


def absolute_url(endpoint: str, **values: Any) -> str:
    """The public absolute URL of an endpoint, on BASE_URL whatever the request's host said.
    Works outside a request too (CLI jobs writing messages)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def safe_next(target: str | None) -> str | None:
    """A `next=` target only if it stays on this site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None
