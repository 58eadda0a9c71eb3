"""`flask ratings recompute`: rate every merchant again (nightly, or after the model changed)."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

ratings_cli = AppGroup("ratings", help="Safe-consumption ratings.")


@ratings_cli.command("recompute")
@click.option("--chunk-size", type=click.IntRange(min=100), default=None,
              help="Merchant ids per transaction (default 50,000).")
@click.option("--quiet", is_flag=True, help="No progress bar (for cron).")
def recompute(chunk_size: int | None, quiet: bool) -> None:
    """Recompute every merchant's rating; only changed ratings get a new history row."""
    from . import services

    options: dict[str, Any] = {"chunk_size": chunk_size} if chunk_size else {}
    if quiet:
        result = services.recompute_all(**options)
    else:
        with click.progressbar(length=services.rated_count(), label="Rating merchants",
                               show_pos=True) as bar:
            result = services.recompute_all(bar.update, **options)
    click.echo(f"{result.rated} merchants rated, {result.changed} ratings changed "
               f"(model {services.current_config().version}) in {result.seconds:.1f} s.")
