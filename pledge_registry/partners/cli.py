"""`flask partners ...`: partner systems of the intake API and their keys (admins only run these)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

partners_cli = AppGroup("partners", help="Partner systems of the complaint intake API and their API keys.")

_MESSAGES = {
    "code": "the code must be 2-31 lower-case letters, digits or '-', starting with a letter or digit",
    "name": "give the partner a name of at most 100 characters",
    "duplicate": "a partner with this code exists",
    "no_partner": "no partner with this code",
    "no_key": "no key with this prefix",
}


def _refused(err: Exception) -> click.ClickException:
    return click.ClickException(_MESSAGES.get(getattr(err, "code", ""), str(err)))


def _show_once(issued: object) -> None:
    click.echo(f"Key for {issued.partner.code} (prefix {issued.prefix}); it is shown this once, "  # type: ignore[attr-defined]
               "and only its hash is kept:")
    click.echo(issued.key)  # type: ignore[attr-defined]


@partners_cli.command("add")
@click.argument("code")
@click.argument("name")
def add(code: str, name: str) -> None:
    """Add a partner system (CODE: a short name such as hotline-12345)."""
    from .services import PartnerError, add_partner

    try:
        partner = add_partner(code, name)
    except PartnerError as err:
        raise _refused(err) from err
    click.echo(f"Partner {partner.code} added (id {partner.id}). "
               f"Issue its key with: flask partners issue-key {partner.code}")


@partners_cli.command("issue-key")
@click.argument("code")
def issue(code: str) -> None:
    """Issue a new key for the partner, keeping its other keys (to switch over without a gap)."""
    from .services import PartnerError, find_partner, issue_key

    try:
        _show_once(issue_key(find_partner(code)))
    except PartnerError as err:
        raise _refused(err) from err


@partners_cli.command("rotate-key")
@click.argument("code")
def rotate(code: str) -> None:
    """Issue a new key and revoke every older key of the partner at once."""
    from .services import PartnerError, find_partner, rotate_key

    try:
        _show_once(rotate_key(find_partner(code)))
    except PartnerError as err:
        raise _refused(err) from err


@partners_cli.command("revoke-key")
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Revoke one key, named by its prefix (see `flask partners list`)."""
    from .services import PartnerError, revoke_key

    try:
        key = revoke_key(prefix)
    except PartnerError as err:
        raise _refused(err) from err
    click.echo(f"Key {key.prefix} of {key.partner.code} is revoked.")


@partners_cli.command("list")
def list_partners() -> None:
    """Partners and their keys' prefixes (never the keys: only their hashes are kept)."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Partner

    for partner in db.session.scalars(select(Partner).order_by(Partner.code)):
        state = "active" if partner.active else "off"
        click.echo(f"{partner.code}\t{partner.name}\t{state}")
        for key in partner.keys:
            revoked = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
            click.echo(f"  {key.prefix}\tissued {key.created_at:%Y-%m-%d %H:%M}\t{revoked}")
