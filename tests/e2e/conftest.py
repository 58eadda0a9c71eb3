"""Browser tests: Playwright driving Debian's chromium on a phone viewport, against the
app served by a real HTTP server in a thread (SQLite, migrated with Alembic).

They skip, saying why, when /usr/bin/chromium or a CJK font is missing (`.ci/run`
installs `chromium` and `fonts-noto-cjk`); they never fail for that reason.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from pledge_registry import create_app
from pledge_registry.extensions import db
from tests.e2e.helpers import DESK, PHONE, browser_page
from tests.helpers import base_config, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def _why_no_browser() -> str | None:
    if not Path(CHROMIUM).exists():
        return "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    if shutil.which("fc-list") is None:
        return "browser tests need fontconfig and a CJK font (apt-get install fonts-noto-cjk)"
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout
    if "CJK" not in fonts:
        return "browser tests need a CJK font (apt-get install fonts-noto-cjk)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright package (scripts/setup --dev)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _why_no_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def live_app(sqlite_template: Path, tmp_path: Path) -> Iterator[Any]:
    """The app on a real HTTP server at app.config['BASE_URL'], with its own database."""
    from pledge_registry import demo

    path = tmp_path / "e2e.sqlite3"
    shutil.copy(sqlite_template, path)
    port = free_port()
    app = create_app({**base_config(f"sqlite:///{path}", tmp_path), "TESTING": False,
                      "BASE_URL": f"http://127.0.0.1:{port}", "WTF_CSRF_SSL_STRICT": False})
    with app.app_context():
        demo.ensure_places()
        demo.ensure_templates()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A shopper's or a merchant's phone."""
    with browser_page(browser, **PHONE, accept_downloads=True) as page:
        yield page


@pytest.fixture
def desk(browser: Any) -> Iterator[Any]:
    """A staff member's desktop browser."""
    with browser_page(browser, **DESK) as page:
        yield page
