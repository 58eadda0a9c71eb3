"""Complaint settings: deadlines (admins), the holiday table (staff), supervision stations (admins).

Every page here is a staff complaints page, so it shows the calendar banner too
(officer_views' context processor on staff_bp).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from .. import paging, refusals
from ..extensions import db
from ..forms import EmptyForm, query_int
from ..localtime import local_today
from ..models import CommercialArea, Holiday, SupervisionStation, Town
from ..refusals import bad_input, conflict
from ..security import admin_required, security_event, staff_required
from ..urls import MAX_ID
from . import deadlines, legal_rules, settings, staff_bp
from .handling_forms import DeadlinesForm, HolidayForm, StationForm

REFUSALS: refusals.Table = {
    "holiday_exists": conflict(_l("This date is already in the table: remove it first to change it."), field="day"),
    "station_taken": conflict(_l("Another station has this name or this commercial area.")),
    "station_targets": bad_input(_l("The finishing target cannot be shorter than the acceptance target."),
                                 field="completion_days"),
}


# --- deadlines (admins) --------------------------------------------------------------------------

@staff_bp.route("/settings/deadlines", methods=["GET", "POST"])
@admin_required
def deadline_settings():
    current = deadlines.current_deadlines(fresh=True)  # what is stored, not this process's copy
    form = DeadlinesForm(obj=current)
    if form.validate_on_submit():
        try:
            value = deadlines.Deadlines.from_dict({name: getattr(form, name).data
                                                   for name in deadlines.Deadlines.__dataclass_fields__})
        except ValueError:
            form.form_errors.append(_("These deadlines are out of range."))
            return _deadlines_page(form, current, 400)
        deadlines.save_deadlines(value, current_user.id)
        security_event("deadlines_changed", **vars(value))
        flash(_("Deadlines saved. They apply to cases filed or forwarded from now on."), "success")
        return redirect(url_for("staff_complaints.deadline_settings"))
    return _deadlines_page(form, current, 200 if request.method == "GET" else 400)


def _deadlines_page(form: DeadlinesForm, current: deadlines.Deadlines, status: int) -> Any:
    """The settings form, below the legal limits of each rule set beside the bureau's targets."""
    today = deadlines.calendar().local_date(datetime.now(UTC))
    return render_template("complaints/staff/deadlines.html", form=form, current=current,
                           rule_sets=list(reversed(legal_rules.RULE_SETS)), in_force=legal_rules.rules_for(today),
                           steps=list(legal_rules.Step)), status


# --- the holiday table (staff) -------------------------------------------------------------------

def _holidays_page(year: int, form: HolidayForm | None = None, status: int = 200) -> Any:
    rows = list(db.session.scalars(
        select(Holiday).where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
        .order_by(Holiday.day)))
    years = sorted({d.year for d in db.session.scalars(select(Holiday.day))} | {year})
    return render_template("complaints/staff/holidays.html", rows=rows, year=year, years=years,
                           form=form or HolidayForm(formdata=None),
                           delete_form=EmptyForm(formdata=None)), status


def _year_arg() -> int:
    today = local_today()
    return query_int("year", None, 2000, 2100) or today.year + (1 if today.month >= 11 else 0)


@staff_bp.route("/holidays", methods=["GET", "POST"])
@staff_required
def holidays():
    year = _year_arg()
    if request.method == "GET":
        return _holidays_page(year)
    form = HolidayForm()
    if not form.validate_on_submit():
        return _holidays_page(year, form, 400)
    day = form.day.data
    try:
        row = settings.add_holiday(current_user, day, form.is_workday.data == "1", form.name.data or "")
    except settings.SettingsError as err:
        return _holidays_page(day.year, form, refusals.refuse(err, form, REFUSALS, "holiday_refused"))
    security_event("holiday_added", day=day.isoformat(), workday=int(row.is_workday))
    flash(_("%(day)s added to the calendar.", day=day.isoformat()), "success")
    return redirect(url_for("staff_complaints.holidays", year=day.year))


@staff_bp.route("/holidays/<int:holiday_id>/delete", methods=["POST"])
@staff_required
def delete_holiday(holiday_id: int):
    row = db.get_or_404(Holiday, holiday_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return _holidays_page(row.day.year, status=400)
    day = row.day
    settings.remove_holiday(row)
    security_event("holiday_removed", day=day.isoformat())
    flash(_("%(day)s removed from the calendar.", day=day.isoformat()), "success")
    return redirect(url_for("staff_complaints.holidays", year=day.year))


# --- supervision stations (admins) ---------------------------------------------------------------

def _area_choices() -> list[SelectChoice]:
    areas = db.session.scalars(
        select(CommercialArea).order_by(CommercialArea.town_id, CommercialArea.sort_order))
    english = _is_en()
    return [SelectChoice(0, _("No commercial area"))] + [
        SelectChoice(a.id, f"{a.town.name_en} / {a.name_en}" if english else f"{a.town.name} / {a.name}")
        for a in areas]


def _is_en() -> bool:
    from ..i18n import select_locale

    return select_locale() == "en"


def _stations_page(form: StationForm | None = None, status: int = 200) -> Any:
    form = form or StationForm(formdata=None)
    form.area_id.choices = _area_choices()
    query = select(SupervisionStation)
    town_id = query_int("town", None, 1, MAX_ID)
    active = request.args.get("active", "")
    active = active if active in ("1", "0") else ""
    if town_id:
        query = query.join(CommercialArea, CommercialArea.id == SupervisionStation.area_id) \
            .where(CommercialArea.town_id == town_id)
    if active:
        query = query.where(SupervisionStation.active.is_(active == "1"))
    page = paging.keyset_page(query, SupervisionStation.id, SupervisionStation.id,
                              options=(selectinload(SupervisionStation.area),))
    filters = {k: v for k, v in {"town": town_id, "active": active}.items() if v}
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id)))
    return render_template("complaints/staff/stations.html", stations=page.items, page=page, form=form,
                           filters=filters, towns=towns), status


def _save_station(form: StationForm, station: SupervisionStation) -> int | None:
    """Save the form into the station; the refusal's status if it was refused (on the form)."""
    try:
        settings.save_station(station, form.name.data, form.area_id.data or None, form.active.data == "1",
                              form.acceptance_days.data, form.completion_days.data)
    except settings.SettingsError as err:
        return refusals.refuse(err, form, REFUSALS, "station_refused", station_id=station.id or "-")
    return None


@staff_bp.route("/stations", methods=["GET", "POST"])
@admin_required
def stations():
    if request.method == "GET":
        return _stations_page()
    form = StationForm()
    form.area_id.choices = _area_choices()
    if not form.validate_on_submit():
        return _stations_page(form, 400)
    station = SupervisionStation()
    refused = _save_station(form, station)
    if refused:
        return _stations_page(form, refused)
    security_event("station_created", station_id=station.id)
    flash(_("Station saved."), "success")
    return redirect(url_for("staff_complaints.stations"))


@staff_bp.route("/stations/<int:station_id>", methods=["GET", "POST"])
@admin_required
def edit_station(station_id: int):
    station = db.get_or_404(SupervisionStation, station_id)
    if request.method == "GET":
        form = StationForm(formdata=None, name=station.name, area_id=station.area_id or 0,
                           active="1" if station.active else "0", acceptance_days=station.acceptance_days,
                           completion_days=station.completion_days)
    else:
        form = StationForm()
    form.area_id.choices = _area_choices()
    if request.method == "GET":
        return render_template("complaints/staff/station_form.html", form=form, station=station)
    status = 400
    if form.validate_on_submit():
        status = _save_station(form, station) or 0
        if not status:
            security_event("station_changed", station_id=station.id)
            flash(_("Station saved."), "success")
            return redirect(url_for("staff_complaints.stations"))
    return render_template("complaints/staff/station_form.html", form=form, station=station), status
