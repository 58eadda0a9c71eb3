"""Command-line tasks: `flask users create`, `flask demo load`, `flask pledges expire`."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import func, select

from .extensions import db
from .models import User

users_cli = AppGroup("users", help="Manage staff and admin accounts.")
demo_cli = AppGroup("demo", help="Demo data for a city.")
pledges_cli = AppGroup("pledges", help="Pledge housekeeping.")


@users_cli.command("create")
@click.option("--login", required=True, help="Mobile number or e-mail address used to sign in.")
@click.option("--name", "display_name", required=True, help="Name shown to colleagues.")
@click.option("--role", type=click.Choice(["staff", "admin", "station"]), default="staff", show_default=True)
@click.option("--town", "town_name", default=None, help="Make a staff member the officer of this town (e.g. 沙溪镇).")
@click.option("--station", "station_name", default=None,
              help="For --role station: the supervision station (its name, as on the stations page).")
@click.option("--password", envvar="NEW_USER_PASSWORD", default=None,
              help="Password (at least 12 characters); read from NEW_USER_PASSWORD, or prompted.")
def create_user(login: str, display_name: str, role: str, town_name: str | None, station_name: str | None,
                password: str | None) -> None:
    """Create a staff, admin or supervision-station account (never possible through the public sign-up)."""
    from .auth import services
    from .models import Role, SupervisionStation, Town

    station = None
    if (role == "station") != (station_name is not None):
        raise click.ClickException("--station NAME goes with --role station, and only with it")
    if station_name is not None:
        station = db.session.scalar(select(SupervisionStation).where(SupervisionStation.name == station_name))
        if station is None:
            raise click.ClickException(f"no supervision station named {station_name!r}")
        if not station.active:
            raise click.ClickException(f"the station {station_name!r} is inactive")
    if town_name is not None and role == "station":
        raise click.ClickException("a station officer has a station, not a town")
    town = None
    if town_name is not None:
        town = db.session.scalar(select(Town).where(Town.name == town_name))
        if town is None:
            raise click.ClickException(f"no town named {town_name!r}")
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = services.create_user(login, password, display_name, role=Role(role),
                                    station_id=station.id if station else None)
    except services.AccountError as err:
        messages = {"taken": "an account with this login already exists",
                    "password_short": f"the password needs at least {services.MIN_PASSWORD_LENGTH} characters",
                    "login_format": "the login must be an 11-digit mobile number or an e-mail address",
                    "password_long": "the password is too long",
                    "station": "a station account needs its station"}
        raise click.ClickException(messages.get(err.code, err.code)) from err
    if town is not None:
        user.town_id = town.id
        db.session.commit()
    click.echo(f"Created {role} account {user.login_name} (id {user.id}).")


@demo_cli.command("load")
@click.option("--merchants", type=int, default=None, help="How many merchants (default DEMO_MERCHANTS, 200).")
@click.option("--seed", type=int, default=2023, show_default=True,
              help="Seed of the year of activity: the same seed gives the same counts.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has merchants.")
def load_demo(merchants: int | None, seed: int, if_empty: bool) -> None:
    """Load the demo city: towns, pledge templates, merchants, the demo logins and a year of
    activity (cases, handling, inspections, penalties, ratings, nominations, an appeal)."""
    from flask import current_app

    from . import demo
    from .demo_activity import loader, people
    from .models import Merchant
    from .stations import demo as station_demo

    had_merchants = bool(db.session.scalar(select(func.count()).select_from(Merchant)))
    if if_empty and had_merchants:
        click.echo("Demo data already loaded.")
        _print_demo_logins()
        return
    demo.ensure_places()
    demo.ensure_templates()
    count = merchants if merchants is not None else current_app.config["DEMO_MERCHANTS"]
    demo.load_merchants(count)
    cast = people.ensure_people()
    logins = cast.new_logins
    report = loader.load_year(cast.people, seed, merchant_login=cast.merchant)  # rates every merchant at the end
    logins += station_demo.load()  # the supervision stations, a station login and its cases
    from .scan_reports.demo import load_suspicious_scans

    load_suspicious_scans()  # the suspicious-scans page shows scans, reports and alerts
    from .search.index import rebuild

    rebuild()  # the bulk load bypasses the session, and so the index's listener
    from .analysis import tally

    tally.rebuild(db.session())  # the complaint tallies too: the year's cases were bulk-inserted
    db.session.commit()
    from .partners.demo import demo_partner

    logins += demo_partner()  # the intake API's demo partner and its key
    from .registry.demo import import_invited_owner

    import_invited_owner()  # a shop imported for a town, its owner's sign-in link on the messages page
    # Demo only: the generated logins are kept in the instance folder so that every later
    # `scripts/run` can print them again. Never done for real accounts.
    if logins:  # a new database replaces the older logins; accounts added to an old one join them
        logins_file = current_app.config["DEMO_LOGINS_FILE"]
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if had_merchants else os.O_TRUNC)
        with open(os.open(logins_file, flags, 0o600), "w") as fh:
            fh.writelines(line + "\n" for line in logins)
    from .analysis import alert_demo

    alert_demo.load()  # the daily spike scan over the demo's last weeks: the planted rise is an open alert
    from .reports.demo import load_reports

    load_reports()  # last month's analysis report, once the demo's cases are in
    from .publication import demo as publication_demo

    publication_demo.load()  # the last ended quarter's complaint publication, with statements
    from .complaints import demo as channel_demo

    channel_demo.load()  # requests entered from other channels, a 12315 number, a 12345 export to import
    click.echo(f"Loaded {count} demo merchants and a year of activity: {report.cases} cases, "
               f"{report.inspections} inspections, {report.penalties} penalties, "
               f"{report.nominations} nominations, {report.appeals} appeal(s).")
    _print_demo_logins()


@demo_cli.command("logins")
def print_demo_logins() -> None:
    """Print the demo logins made by `flask demo load`."""
    _print_demo_logins()


def _print_demo_logins() -> None:
    from flask import current_app

    logins_file = current_app.config["DEMO_LOGINS_FILE"]
    if not os.path.exists(logins_file):
        click.echo("No demo logins: run `flask demo load` first.")
        return
    click.echo("Demo logins (development only):")
    with open(logins_file, encoding="utf-8") as fh:
        for line in fh:
            click.echo("  " + line.rstrip())


@pledges_cli.command("expire")
def expire_pledges() -> None:
    """Mark pledges past their one-year term as expired (run daily)."""
    from .pledges.services import expire_due

    click.echo(f"{expire_due()} pledge(s) expired.")


def recorded_officer(login: str | None) -> User | None:
    """The staff account an import names as its recording officer (`--recorded-by`), if any."""
    if not login:
        return None
    from .auth import services as auth_services

    officer = auth_services.find_by_login(login)
    if officer is None or not officer.is_staff:
        raise click.ClickException(f"no staff account with the login {login}")
    return officer


def register(app: Flask) -> None:
    from .analysis.cli import stats_cli
    from .api.cli import api_cli
    from .backup import backup_cli
    from .complaints.cli import complaints_cli
    from .compliance.cli import compliance_cli
    from .nominations.cli import nominations_cli
    from .outbox.cli import outbox_cli
    from .partners.cli import partners_cli
    from .ratings.cli import ratings_cli
    from .registry.cli import merchants_cli
    from .reports.cli import report_cli
    from .scan_reports.cli import scans_cli
    from .search.cli import search_cli

    for group in (users_cli, demo_cli, pledges_cli, outbox_cli, complaints_cli, ratings_cli,
                  compliance_cli, nominations_cli, backup_cli, search_cli, report_cli,
                  merchants_cli, scans_cli, stats_cli,
                  partners_cli, api_cli):
        app.cli.add_command(group)
