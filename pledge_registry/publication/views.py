"""Complaint publication: the public pages and CSV, the staff steps, the merchant's statement.

Staff draft a quarter, tell the merchants, decide each entry and publish; the merchant adds
a statement from its portal. The public pages show published quarters only, with their
period and rules, and nothing about any shopper.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from .. import paging, refusals
from ..extensions import db
from ..forms import EmptyForm
from ..localtime import local_today
from ..models import ComplaintPublication, PublicationEntry, PublicationStatus, Town
from ..refusals import bad_input, conflict
from ..security import admin_required, merchant_required, micro_cached, public, security_event, staff_required
from . import bp, export, services
from .forms import DraftForm, EntryDecisionForm, RulesForm, StatementForm
from .rules import PublicationRules, last_ended_quarter, share

REFUSALS: refusals.Table = {
    "bad_quarter": bad_input(_l("Choose a quarter of a year between 2000 and 2100."), field="quarter"),
    "quarter_open": bad_input(_l("This quarter has not ended yet."), field="quarter"),
    "exists": conflict(_l("This quarter already has a publication."), field="quarter"),
    "not_draft": conflict(_l("The merchants have already been told."), field=None),
    "not_in_notice": conflict(_l("This publication is not waiting for decisions (draft or already published).")),
    "notice_running": conflict(_l("Merchants may still add statements: publish after the notice period.")),
    "undecided": conflict(_l("Decide every entry (approve or withhold) before publishing.")),
    "reason_required": bad_input(_l("Give the reason for withholding."), field="reason"),
    "statement_closed": conflict(_l("Statements can be added only while the merchants are being told.")),
    "statement_long": bad_input(_l("The statement is too long."), field="statement"),
    "statement_control": bad_input(_l("Remove the control characters from this field."), field="statement"),
}
PER_PAGE = 50


def _shares(entry: PublicationEntry) -> dict[str, Any]:
    return {"resolved": share(entry.resolved, entry.accepted),
            "mediation": share(entry.resolved, entry.mediation_ended)}


def _towns() -> dict[int, Town]:
    return {t.id: t for t in db.session.scalars(select(Town))}


# --- public --------------------------------------------------------------------------------

@bp.route("/complaint-publication")
@public
@micro_cached
def public_index():
    return render_template("publication/public_index.html", publications=services.published_list())


def _published_or_404(year: int, quarter: int) -> ComplaintPublication:
    publication = services.published(year, quarter) if 1 <= quarter <= 4 else None
    if publication is None:
        abort(404)
    return publication


@bp.route("/complaint-publication/<int:year>/<int:quarter>")
@public
@micro_cached
def public_quarter(year: int, quarter: int):
    publication = _published_or_404(year, quarter)
    page = paging.keyset_page(services.published_entries_query(publication), PublicationEntry.id,
                              PublicationEntry.id, per_page=PER_PAGE)
    return render_template("publication/public_quarter.html", publication=publication, page=page,
                           shares=_shares, towns=_towns(), rules=PublicationRules.from_dict(publication.rules))


@bp.route("/complaint-publication/<int:year>/<int:quarter>.csv")
@public
@micro_cached
def public_csv(year: int, quarter: int):
    publication = _published_or_404(year, quarter)
    body = export.publication_csv(publication, _towns())
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="complaint-publication-{publication.label}.csv"'})


# --- staff ---------------------------------------------------------------------------------

def _index_page(form: DraftForm | None = None, status: int = 200) -> Any:
    if form is None:
        year, quarter = last_ended_quarter(local_today())
        form = DraftForm(formdata=None, year=year, quarter=str(quarter))
    publications = list(db.session.scalars(select(ComplaintPublication).order_by(
        ComplaintPublication.year.desc(), ComplaintPublication.quarter.desc())))
    return render_template("publication/staff_index.html", form=form, publications=publications,
                           rules=services.current_rules()), status


@bp.route("/staff/publications", methods=["GET", "POST"])
@staff_required
def staff_index():
    if request.method == "GET":
        return _index_page()
    form = DraftForm()
    if not form.validate_on_submit():
        return _index_page(form, 400)
    try:
        publication = services.draft(current_user, form.year.data, int(form.quarter.data))
    except services.PublicationError as err:
        return _index_page(form, refusals.refuse(err, form, REFUSALS, "publication_refused"))
    security_event("publication_drafted", publication=publication.id, entries=len(publication.entries))
    flash(_("Drafted: %(count)d merchants meet the rules.", count=len(publication.entries)), "success")
    return redirect(url_for("publication.staff_detail", publication_id=publication.id))


@bp.route("/staff/publications/rules", methods=["GET", "POST"])
@admin_required
def rules():
    current = services.current_rules()
    form = RulesForm(obj=current)
    if form.validate_on_submit():
        try:
            value = PublicationRules.from_dict({"min_accepted": form.min_accepted.data,
                                                "notice_workdays": form.notice_workdays.data})
        except ValueError:
            form.form_errors.append(_("These rules are out of range."))
        else:
            services.save_rules(value, current_user)
            security_event("publication_rules_changed", **value.as_dict())
            flash(_("Rules saved. They apply to publications drafted from now on."), "success")
            return redirect(url_for("publication.staff_index"))
    status = 200 if request.method == "GET" else 400
    return render_template("publication/rules.html", form=form), status


def _detail_page(publication: ComplaintPublication, failed: tuple[int, EntryDecisionForm] | None = None,
                 status: int = 200, action_form: EmptyForm | None = None) -> Any:
    page = paging.keyset_page(select(PublicationEntry).where(PublicationEntry.publication_id == publication.id),
                              PublicationEntry.id, PublicationEntry.id, per_page=PER_PAGE)
    forms = {e.id: EntryDecisionForm(formdata=None, prefix=f"e{e.id}") for e in page.items}
    if failed is not None and failed[0] in forms:
        forms[failed[0]] = failed[1]
    return render_template("publication/staff_detail.html", publication=publication, page=page, forms=forms,
                           shares=_shares, towns=_towns(), undecided=services.undecided_count(publication),
                           rules=PublicationRules.from_dict(publication.rules),
                           action_form=action_form or EmptyForm(formdata=None)), status


@bp.route("/staff/publications/<int:publication_id>")
@staff_required
def staff_detail(publication_id: int):
    return _detail_page(db.get_or_404(ComplaintPublication, publication_id))


@bp.route("/staff/publications/<int:publication_id>/notify", methods=["POST"])
@staff_required
def notify(publication_id: int):
    publication = db.get_or_404(ComplaintPublication, publication_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return _detail_page(publication, status=400, action_form=form)
    try:
        told = services.notify(current_user, publication)
    except services.PublicationError as err:
        return _detail_page(publication, status=refusals.refuse(err, form, REFUSALS, "publication_refused"),
                            action_form=form)
    security_event("publication_notified", publication=publication.id, merchants=told)
    flash(_("%(count)d merchants are told. They can add a statement until %(day)s.", count=told,
            day=publication.notice_ends_on.isoformat() if publication.notice_ends_on else ""), "success")
    return redirect(url_for("publication.staff_detail", publication_id=publication.id))


@bp.route("/staff/publications/<int:publication_id>/publish", methods=["POST"])
@staff_required
def publish(publication_id: int):
    publication = db.get_or_404(ComplaintPublication, publication_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return _detail_page(publication, status=400, action_form=form)
    try:
        services.publish(current_user, publication)
    except services.PublicationError as err:
        return _detail_page(publication, status=refusals.refuse(err, form, REFUSALS, "publication_refused"),
                            action_form=form)
    security_event("publication_published", publication=publication.id)
    flash(_("Published."), "success")
    return redirect(url_for("publication.staff_detail", publication_id=publication.id))


@bp.route("/staff/publication-entries/<int:entry_id>/decision", methods=["POST"])
@staff_required
def decide(entry_id: int):
    entry = db.get_or_404(PublicationEntry, entry_id)
    form = EntryDecisionForm(prefix=f"e{entry.id}")
    if not form.validate_on_submit():
        return _detail_page(entry.publication, (entry.id, form), 400)
    try:
        services.decide(current_user, entry, form.approved, form.reason.data or "")
    except services.PublicationError as err:
        status = refusals.refuse(err, form, REFUSALS, "publication_entry_refused")
        return _detail_page(entry.publication, (entry.id, form), status)
    security_event("publication_entry_decided", entry=entry.id, status=entry.status)
    return redirect(url_for("publication.staff_detail", publication_id=entry.publication_id) + f"#entry-{entry.id}")


# --- the merchant --------------------------------------------------------------------------

@bp.route("/portal/publication-entries/<int:entry_id>/statement", methods=["GET", "POST"])
@merchant_required
def statement(entry_id: int):
    entry = services.entry_of_owner(current_user, entry_id)
    if entry is None:
        abort(404)
    form = StatementForm(obj=entry) if request.method == "GET" else StatementForm()
    status = 200 if request.method == "GET" else 400
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.set_statement(current_user, entry, form.statement.data or "")
        except services.PublicationError as err:
            status = refusals.refuse(err, form, REFUSALS, "publication_statement_refused")
        else:
            flash(_("Your statement is saved. It is published with the figures once the bureau approves."),
                  "success")
            return redirect(url_for("registry.dashboard"))
    return render_template("publication/statement.html", form=form, entry=entry, shares=_shares(entry),
                           open=entry.publication.status == PublicationStatus.NOTICE), status
