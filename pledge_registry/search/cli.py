"""`flask search rebuild`: index every shop again (after a bulk load, or to check)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

search_cli = AppGroup("search", help="The directory's search index.")


@search_cli.command("rebuild")
@click.option("--quiet", is_flag=True, help="No progress bar (for cron).")
def rebuild(quiet: bool) -> None:
    """Rebuild the search index from the merchant table, in one transaction."""
    from . import index

    started = time.perf_counter()
    if quiet:
        listed = index.rebuild()
    else:
        with click.progressbar(length=index.indexed_count(), label="Indexing shops", show_pos=True) as bar:
            listed = index.rebuild(bar.update)
    click.echo(f"{listed} shops indexed in {time.perf_counter() - started:.1f} s.")
