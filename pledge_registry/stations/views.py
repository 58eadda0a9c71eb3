"""Station accounts (admins) and every station's service levels (bureau staff)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import refusals
from ..auth import services as auth_services
from ..extensions import db
from ..forms import EmptyForm
from ..localtime import local_today
from ..models import SupervisionStation, User
from ..refusals import bad_input, conflict
from ..security import admin_required, security_event, staff_required
from . import bp, services
from .forms import PeriodForm, StationAccountForm

REFUSALS: refusals.Table = {
    "login_format": bad_input(_l("Enter a mainland mobile number (11 digits) or an e-mail address."),
                              field="login"),
    "password_short": bad_input(_l("Use at least %(n)d characters.", n=auth_services.MIN_PASSWORD_LENGTH),
                                field="password"),
    "password_long": bad_input(_l("That password is too long."), field="password"),
    "taken": conflict(_l("An account with this login already exists."), field="login"),
    "station_inactive": conflict(_l("This station is inactive: activate it before adding accounts.")),
    "not_station_account": conflict(_l("This is not a station account.")),
    "station": bad_input(_l("A station account needs its station.")),
    "period": bad_input(_l("Choose a period of at most a year, its end after its start.")),
}
DEFAULT_PERIOD_DAYS = 90


def _accounts_page(station: SupervisionStation, form: StationAccountForm | None = None, status: int = 200) -> Any:
    return render_template("stations/accounts.html", station=station, accounts=services.accounts_of(station),
                           form=form or StationAccountForm(formdata=None),
                           toggle_form=EmptyForm(formdata=None)), status


@bp.route("/<int:station_id>/accounts", methods=["GET", "POST"])
@admin_required
def accounts(station_id: int):
    station = db.get_or_404(SupervisionStation, station_id)
    if request.method == "GET":
        return _accounts_page(station)
    form = StationAccountForm()
    if not form.validate_on_submit():
        return _accounts_page(station, form, 400)
    try:
        user = services.create_account(station, form.login.data, form.display_name.data, form.password.data)
    except (services.StationError, auth_services.AccountError) as err:
        return _accounts_page(station, form, refusals.refuse(err, form, REFUSALS, "station_account_refused",
                                                             station_id=station.id))
    security_event("station_account_created", station_id=station.id, user_id=user.id)
    flash(_("Account created for %(name)s. Give them the password in person.", name=user.display_name), "success")
    return redirect(url_for("stations.accounts", station_id=station.id))


@bp.route("/<int:station_id>/accounts/<int:user_id>/toggle", methods=["POST"])
@admin_required
def toggle_account(station_id: int, user_id: int):
    station = db.get_or_404(SupervisionStation, station_id)
    user = db.get_or_404(User, user_id)
    if user.station_id != station.id:
        abort(404)
    form = EmptyForm()
    if not form.validate_on_submit():
        return _accounts_page(station, status=400)
    try:
        services.set_disabled(user, not user.disabled)
    except services.StationError as err:
        return _accounts_page(station, status=refusals.refuse(err, form, REFUSALS, "station_account_refused"))
    security_event("station_account_disabled" if user.disabled else "station_account_enabled", user_id=user.id)
    flash(_("Account switched off.") if user.disabled else _("Account switched on."), "success")
    return redirect(url_for("stations.accounts", station_id=station.id))


@bp.route("/service-levels")
@staff_required
def service_levels():
    form = PeriodForm(request.args)
    today = local_today()
    if request.args and not form.validate():
        return render_template("stations/service_levels.html", form=form, rows=None), 400
    start = form.start.data or today - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    end = form.end.data or today
    try:
        rows = services.service_levels(start, end, channel=form.channel.data or None)
    except services.StationError as err:
        status = refusals.refuse(err, form, REFUSALS, "service_levels_refused")
        return render_template("stations/service_levels.html", form=form, rows=None), status
    accounts = services.stations_with_accounts(r.station for r in rows if r.station is not None)
    return render_template("stations/service_levels.html", form=form, rows=rows, start=start, end=end,
                           accounts=accounts, percent=_percent)


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{share * 100:.1f}%"
