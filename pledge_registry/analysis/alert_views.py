"""Staff pages of the spike alerts: the list (open first), an alert with its evidence, and
the acknowledgement. Thin: the rules are in alerts.py. Aggregates only: no shopper is named."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from .. import paging, refusals
from ..extensions import db
from ..forms import query_int
from ..models import AlertStatus, SpikeAlert, Town
from ..refusals import bad_input, conflict, forbidden
from ..security import staff_required
from ..urls import MAX_ID
from . import alerts, alerts_bp, dashboard
from .alert_forms import AcknowledgeForm

REFUSALS: refusals.Table = {
    "other_town": forbidden(_l("Only the officers of the alert's town, or city-wide staff, acknowledge it.")),
    "not_open": conflict(_l("This alert has already been acknowledged.")),
    "note_required": bad_input(_l("Say what is done about it."), field="note"),
}


def _filter() -> alerts.AlertFilter:
    status = request.args.get("status", "")
    dimension = request.args.get("dimension", "")
    return alerts.AlertFilter(status=status if status in tuple(AlertStatus) else "",
                              town_id=query_int("town", None, 1, MAX_ID),
                              dimension=dimension if dimension in alerts.DIMENSIONS else "")


@alerts_bp.route("")
@staff_required
def index():
    """Open alerts first, then acknowledged ones, each newest first and paged on its own."""
    f = _filter()
    shown = [f.status] if f.status else [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
    pages = {status: paging.keyset_page(alerts.alerts_query(f, status), SpikeAlert.created_at, SpikeAlert.id,
                                        descending=True, prefix=status[0])
             for status in shown}
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id)))
    return render_template("analysis/alerts.html", pages=pages, f=f, filters=f.args(), towns=towns,
                           dimensions=alerts.DIMENSIONS, statuses=tuple(AlertStatus))


def _page(alert: SpikeAlert, form: AcknowledgeForm, status: int = 200):
    rows = alerts.evidence(alert)
    return render_template("analysis/alert.html", alert=alert, form=form, rows=rows,
                           chart=Markup(dashboard.evidence_svg(rows)),
                           rule=alerts.rule_in_words(), p_value=alerts.p_value_text(alert.p_value),
                           events=alerts.history(alert), may_acknowledge=alerts.may_acknowledge(current_user, alert),
                           town_name=alerts.town_label(db.session.get(Town, alert.town_id))), status


@alerts_bp.route("/<int:alert_id>")
@staff_required
def show(alert_id: int):
    return _page(db.get_or_404(SpikeAlert, alert_id), AcknowledgeForm())


@alerts_bp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@staff_required
def acknowledge(alert_id: int):
    alert = db.get_or_404(SpikeAlert, alert_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _page(alert, form, 400)
    try:
        alerts.acknowledge(alert, current_user, form.note.data or "")
    except alerts.AlertError as err:
        status = refusals.refuse(err, form, REFUSALS, "spike_alert_refused", alert_id=alert_id)
        return _page(db.get_or_404(SpikeAlert, alert_id), form, status)
    flash(_("Alert acknowledged."), "success")
    return redirect(url_for(".show", alert_id=alert_id))


