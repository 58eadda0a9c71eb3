"""`flask nominations ...`: yearly expiry of titles and the review of named units' standing."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

nominations_cli = AppGroup("nominations", help="Safe-consumption units: title expiry and standing review.")


@nominations_cli.command("expire")
def expire() -> None:
    """Mark titles past their expiry date as expired (run daily); renewed titles are kept."""
    from .services import expire_titles

    click.echo(f"{expire_titles()} title(s) expired.")


@nominations_cli.command("review-standing")
def review_standing() -> None:
    """Flag named units that fall below their level's rules for delisting, with the reason (run daily)."""
    from .labels import delisting_reasons
    from .services import review_standing as run

    review = run()
    for nomination in review.flagged:
        # The command speaks English (its other lines are English too), whatever the default.
        with force_locale("en"):
            reasons = " ".join(delisting_reasons(nomination.delisting_reasons))
        click.echo(f"flagged: nomination {nomination.id} (merchant {nomination.merchant_id}, "
                   f"{nomination.level}): {reasons}")
    for nomination in review.cleared:
        click.echo(f"cleared: nomination {nomination.id} (merchant {nomination.merchant_id})")
    click.echo(f"{review.checked} named unit(s) checked, {len(review.flagged)} newly flagged, "
               f"{len(review.cleared)} cleared.")
