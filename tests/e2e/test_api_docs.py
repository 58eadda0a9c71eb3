"""The API's documentation page (/api/v1/docs: Swagger UI served by the app, no CDN)
renders under the app's own Content-Security-Policy: no violation reported, no script
error, every operation of the OpenAPI document listed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import DESK, browser_page

pytestmark = pytest.mark.e2e

# Recorded in the page before any of its own scripts run: every CSP violation it reports.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_the_api_docs_render_under_the_csp(browser: Any, live_app: Any) -> None:
    base = live_app.config["BASE_URL"]
    with live_app.test_client() as client:
        document = client.get("/api/v1/openapi.json").get_json()
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    assert len(operations) >= 10
    with browser_page(browser, **DESK) as page:
        console: list[str] = []
        errors: list[str] = []
        outside: list[str] = []
        # (the browser's own favicon request answers 404: not the page's doing)
        page.on("console", lambda m: None if "favicon" in (m.location or {}).get("url", "")
                else console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith(base) or r.url.startswith("data:")
                else outside.append(r.url))
        page.add_init_script(RECORD_VIOLATIONS)
        response = page.goto(f"{base}/api/v1/docs")
        assert response is not None and response.status == 200
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src", 1)[-1].split(";")[0]
        page.wait_for_selector(".opblock", state="attached")
        page.wait_for_function(f"document.querySelectorAll('.opblock').length >= {len(operations)}")
        listed = page.eval_on_selector_all(
            ".opblock", "els => els.map(e => [e.querySelector('.opblock-summary-method').textContent.trim(),"
                        " e.querySelector('.opblock-summary-path').getAttribute('data-path')])")
        assert {(method, path) for method, path in listed} >= operations
        assert page.get_by_text("Pledge registry open API").count() >= 1
        violations = page.evaluate("window.__csp")
        assert violations == [], violations
        assert not [c for c in console if "Content Security Policy" in c or c.startswith("error")], console
        assert errors == [] and outside == [], (errors, outside)
        # The recorder does catch one: an inline script the policy refuses.
        page.evaluate("() => { const s = document.createElement('script'); s.textContent = '1';"
                      " document.body.appendChild(s); }")
        page.wait_for_function("window.__csp.length > 0")
