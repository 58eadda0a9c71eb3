"""axe-core in the browser tests: found where `.ci/run` installs it from the npm registry
(`npm install --prefix .ci/node axe-core@<version>`, the version pinned there), injected
into the page, run, and its findings returned.

Without it the tests that need it skip, saying how to install it; they never pass silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).resolve().parents[2] / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
# The WCAG 2.1 A and AA rules: what every public page must pass in both modes.
AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")


def require_axe() -> Path:
    if not AXE_JS.is_file():
        pytest.skip(f"axe-core is not installed at {AXE_JS}: run .ci/run, or "
                    "npm install --prefix .ci/node axe-core@<the version .ci/run pins>")
    return AXE_JS


def run_axe(page: Any, run_only: dict[str, Any]) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (its context must bypass the CSP, which
    otherwise refuses the injected script)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(require_axe()))
    return page.evaluate(
        "async (runOnly) => (await axe.run(document, {runOnly, resultTypes: ['violations']})).violations",
        run_only)


def summary(violations: list[dict[str, Any]]) -> list[str]:
    """One line per violation: its rule, impact and first offending element."""
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target'] if v['nodes'] else ''} "
            f"{v['nodes'][0].get('failureSummary', '')[:200] if v['nodes'] else ''}" for v in violations]
