"""`flask api ...`: the OpenAPI document's committed snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

api_cli = AppGroup("api", help="The public API's OpenAPI document.")

SNAPSHOT = Path(__file__).resolve().parents[2] / "tests" / "snapshots" / "openapi-v1.json"


def current_document() -> dict:
    from . import api

    return api.spec.to_dict()


def dumps(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@api_cli.command("snapshot")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path), default=SNAPSHOT, show_default=True)
def snapshot(path: Path) -> None:
    """Write the current document as the committed snapshot; refused when it is not the old
    one plus additions (v1 never breaks: a breaking change is a v2)."""
    from .compat import breaking_changes

    document = current_document()
    if path.exists():
        problems = breaking_changes(json.loads(path.read_text(encoding="utf-8")), document)
        if problems:
            for problem in problems:
                click.echo(problem, err=True)
            raise click.ClickException("the document breaks v1; the snapshot is left as it is")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(document), encoding="utf-8")
    click.echo(f"wrote {path}")
