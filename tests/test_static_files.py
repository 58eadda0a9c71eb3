"""Static files are named by their content version, so that phones may keep them a year: a
changed file gets a new URL, and every template names static files that way."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from pledge_registry.static_files import content_version, static_url

ROOT = Path(__file__).resolve().parents[1]


def test_the_stylesheets_url_carries_the_digest_of_its_bytes(app) -> None:
    digest = hashlib.sha256((ROOT / "static" / "css" / "app.css").read_bytes()).hexdigest()[:12]
    with app.test_request_context("/"):
        assert static_url("css/app.css") == f"/static/css/app.css?v={digest}"
    with app.test_client() as client:  # the app itself serves the versioned URL (development)
        assert client.get(f"/static/css/app.css?v={digest}").data == (ROOT / "static" / "css" / "app.css").read_bytes()


def test_the_url_changes_when_the_file_changes(app, tmp_path: Path) -> None:
    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "site.css"
    sheet.write_text("body{color:#111}")
    app.static_folder = str(tmp_path)
    with app.test_request_context("/"):
        before = static_url("css/site.css")
        sheet.write_text("body{color:#222}")
        assert static_url("css/site.css") == before  # read once per process: no disk read per page
        content_version.cache_clear()  # what the restart of a deployment does
        after = static_url("css/site.css")
        assert after != before and re.fullmatch(r"/static/css/site\.css\?v=[0-9a-f]{12}", after)
        sheet.write_text("body{color:#111}")
        content_version.cache_clear()
        assert static_url("css/site.css") == before  # the same bytes, the same URL


def test_a_missing_file_has_no_version_and_a_path_outside_is_refused(app) -> None:
    with app.test_request_context("/"):
        assert static_url("css/none.css") == "/static/css/none.css"
        with pytest.raises(ValueError):
            static_url("../wsgi.py")


def test_every_template_names_static_files_by_their_version() -> None:
    unversioned = [str(p.relative_to(ROOT)) for p in (ROOT / "templates").rglob("*.html")
                   if re.search(r"url_for\(\s*['\"]static['\"]|[\"']/static/", p.read_text(encoding="utf-8"))]
    assert unversioned == []
    assert "static_url('css/app.css')" in (ROOT / "templates" / "base.html").read_text(encoding="utf-8")
