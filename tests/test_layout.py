"""Imports run one way: views import services, never another feature's views, and the pure
modules import no Flask (directly or through another module of the package)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pledge_registry"
PURE = ("uscc", "workdays", "ratings.model", "localtime", "badges.render", "pdf", "reports.period", "reports.model",
        "reports.pdf_render", "reports.workbook", "nominations.rules",
        "search.text", "complaints.legal_rules", "demo_activity.schedule",
        "scan_reports.rules", "scan_reports.edge", "analysis.spike_rule", "analysis.charts", "publication.rules")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, as absolute names (`from . import x` counts as `pkg.x`)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_only_blueprint_packages_import_views() -> None:
    wrong = {}
    for name, path in MODULES.items():
        if path.name == "__init__.py":
            continue  # a blueprint's package imports its views to register the routes
        views = {m for m in _imports(path) if m in MODULES and m.rpartition(".")[2].endswith("views")}
        if views:
            wrong[name] = sorted(views)
    assert wrong == {}


@pytest.mark.parametrize("pure", PURE)
def test_pure_modules_import_no_flask(pure: str) -> None:
    seen, todo = set(), [f"pledge_registry.{pure}"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for imported in _imports(MODULES[name]):
            top = imported.split(".")[0]
            assert top != "flask" and not top.startswith("flask_"), f"{name} imports {imported}"
            if imported in MODULES:
                todo.append(imported)
    assert f"pledge_registry.{pure}" in seen
