"""Versioned URLs of the static files, so that a phone may keep them for a year.

``static_url('css/app.css')`` is ``/static/css/app.css?v=<12 hex digits of the file's
SHA-256>``. The digest is read once per process (a deployment restarts the app servers,
which then name the new file by its new digest), so a changed file always has a new URL and
an unchanged one keeps its URL across releases. The sample nginx serves a URL carrying
``v=`` with ``Cache-Control: max-age=31536000, immutable`` and any other with ``no-cache``
(deploy/nginx.conf); every template names static files through this function.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

from flask import Flask, current_app, url_for

VERSION_ARG = "v"   # the query argument nginx's long caching looks for ($arg_v); static_url's v=
DIGEST_CHARS = 12   # 48 bits: enough to tell one release of a file from another


@lru_cache(maxsize=256)
def content_version(path: str) -> str | None:
    """The first DIGEST_CHARS hex digits of the SHA-256 of the file at `path` (None if absent)."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()[:DIGEST_CHARS]
    except OSError:
        return None


def static_url(filename: str) -> str:
    """The URL of static file `filename`, carrying its content version."""
    folder = current_app.static_folder or ""
    path = os.path.realpath(os.path.join(folder, filename))
    if not path.startswith(os.path.realpath(folder) + os.sep):
        raise ValueError(f"{filename!r} is not inside the static folder")
    version = content_version(path)
    if version is None:  # a missing file still gets its (404) URL, never a stale version
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=version)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["static_url"] = static_url
