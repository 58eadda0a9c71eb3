"""`flask api ...`: the OpenAPI document's committed snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

api_cli = AppGroup("api", help="The public API's OpenAPI document and the daily open-data files.")

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


@api_cli.command("open-data")
def open_data() -> None:
    """Write today's open-data files (CSV and JSON Lines, gzipped, with checksums) into
    OPEN_DATA_FOLDER; run daily by cron."""
    from flask import current_app

    from .opendata import export

    config = current_app.config
    manifest = export(Path(config["OPEN_DATA_FOLDER"]), config["BASE_URL"], config["OPEN_DATA_LICENCE"],
                      config["OPEN_DATA_LICENCE_URL"])
    click.echo(f"{manifest['records']} merchants: " + ", ".join(f["name"] for f in manifest["files"]))
