"""Compliance screens.

Staff: record an inspection or a penalty on a shop, import them from a file, remove an
abusive reply, decide appeals, decide proposals to suspend a pledge. Merchants: publish a
reply beside their rating, appeal a rating. Views are thin: the rules are in services.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import paging, refusals
from ..extensions import db
from ..forms import BaseForm
from ..models import (
    AppealStatus,
    Inspection,
    Merchant,
    Penalty,
    Pledge,
    ProposalStatus,
    RatingAppeal,
    RatingReply,
    SuspensionProposal,
    User,
)
from ..money import yuan_to_cents
from ..refusals import bad_input, conflict, forbidden
from ..security import merchant_required, own_shop_or_404, security_event, staff_required
from . import bp, importer, services
from .forms import (
    AppealDecisionForm,
    AppealForm,
    ImportForm,
    InspectionForm,
    PenaltyForm,
    ProposalDecisionForm,
    RemoveReplyForm,
    ReplyForm,
)
from .services import ComplianceError, InspectionData, PenaltyData

REFUSALS: refusals.Table = {
    "not_staff": forbidden(_l("Only bureau staff can do this.")),
    "not_owner": forbidden(_l("This shop belongs to another account.")),
    "own_finding": forbidden(_l("You recorded the finding appealed against: another officer must decide.")),
    "own_submission": forbidden(_l("You cannot decide on your own shop.")),
    "future_date": bad_input(_l("This date is in the future."), field="date"),
    "result": bad_input(_l("Choose passed or failed."), field="result"),
    "subject_required": bad_input(_l("Say what was checked."), field="subject"),
    "findings_required": bad_input(_l("A failed inspection needs its findings."), field="findings"),
    "case_number_required": bad_input(_l("Give the case number."), field="case_number"),
    "reason_required": bad_input(_l("Give a reason: the merchant sees it."), field="reason"),
    "amount": bad_input(_l("The amount is out of range."), field="amount"),
    "reply_required": bad_input(_l("Write your reply."), field="text"),
    "reply_too_long": bad_input(_l("A reply has at most 300 characters."), field="text"),
    "grounds_required": bad_input(_l("Give the grounds of your appeal."), field="grounds"),
    "one_finding": bad_input(_l("Choose one finding at most."), field="finding"),
    "unknown_finding": bad_input(_l("Choose a finding from the list."), field="finding"),
    "duplicate_inspection": conflict(_l("This inspection is already recorded (same shop, date and subject)."),
                                     field="subject"),
    "duplicate_case": conflict(_l("This case number is already recorded."), field="case_number"),
    "already_removed": conflict(_l("This reply has already been removed.")),
    "no_rating": conflict(_l("This shop has no rating yet: there is nothing to appeal.")),
    "appeal_too_late": conflict(_l("The 21 days to appeal this rating have passed.")),
    "appeal_open": conflict(_l("You already have an open appeal: wait for its decision.")),
    "appeal_decided": conflict(_l("This appeal has already been decided.")),
    "proposal_decided": conflict(_l("This proposal has already been decided.")),
    "illegal_transition": conflict(_l("The pledge is no longer active: it cannot be suspended.")),
    "conflict": conflict(_l("Some rows were recorded by someone else meanwhile: nothing was imported. "
                            "Check the file again.")),
}


def _refuse(err: ComplianceError, form: BaseForm, default_field: Any = None, *,
            fields: dict[str, Any] | None = None, **log_fields: Any) -> int:
    return refusals.refuse(err, form, REFUSALS, "compliance_refused", fields=fields,
                           default_field=default_field, **log_fields)


def _people(ids: set[int | None]) -> dict[int, User]:
    ids = {i for i in ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


@bp.app_template_global()
def rating_reply(merchant: Merchant) -> RatingReply | None:
    """The merchant's public reply, for the rating block of the scan page."""
    return services.current_reply(merchant.id)


# --- staff: a shop's compliance file ------------------------------------------------------

@bp.route("/staff/shops/<int:merchant_id>/compliance")
@staff_required
def shop_compliance(merchant_id: int):
    merchant = db.get_or_404(Merchant, merchant_id)
    return _shop_compliance_page(merchant)


def _shop_compliance_page(merchant: Merchant, remove_form: RemoveReplyForm | None = None,
                          status: int = 200) -> Any:
    inspections = services.inspections_of(merchant.id)
    penalties = services.penalties_of(merchant.id)
    appeals = services.appeals_of(merchant.id)
    reply = services.current_reply(merchant.id)
    removed = services.removed_replies(merchant.id)
    people = _people({i.recorded_by_id for i in inspections} | {p.recorded_by_id for p in penalties}
                     | {r.removed_by_id for r in removed} | {a.decided_by_id for a in appeals})
    return render_template(
        "compliance/shop.html", merchant=merchant, inspections=inspections, penalties=penalties,
        appeals=appeals, reply=reply, removed=removed, people=people,
        rating=services.current_rating(merchant.id),
        remove_form=remove_form or RemoveReplyForm(formdata=None),
    ), status


@bp.route("/staff/shops/<int:merchant_id>/inspections/new", methods=["GET", "POST"])
@staff_required
def new_inspection(merchant_id: int):
    merchant = db.get_or_404(Merchant, merchant_id)
    form = InspectionForm()
    status = 200
    if form.validate_on_submit():
        data = InspectionData(form.inspected_on.data, form.subject.data, form.result.data,
                              form.findings.data or "")
        try:
            inspection = services.record_inspection(current_user, merchant, data)
        except ComplianceError as err:
            status = _refuse(err, form, fields={"date": form.inspected_on}, merchant_id=merchant_id)
        else:
            security_event("inspection_recorded", merchant_id=merchant.id, inspection_id=inspection.id,
                           result=inspection.result)
            flash(_("Inspection recorded."), "success")
            return redirect(url_for("compliance.shop_compliance", merchant_id=merchant.id))
    elif request.method == "POST":
        status = 400
    return render_template("compliance/inspection_form.html", form=form, merchant=merchant), status


@bp.route("/staff/shops/<int:merchant_id>/penalties/new", methods=["GET", "POST"])
@staff_required
def new_penalty(merchant_id: int):
    merchant = db.get_or_404(Merchant, merchant_id)
    form = PenaltyForm()
    status = 200
    if form.validate_on_submit():
        cents = yuan_to_cents(form.amount.data) or 0
        data = PenaltyData(form.case_number.data, form.decided_on.data, form.reason.data, cents)
        try:
            penalty = services.record_penalty(current_user, merchant, data)
        except ComplianceError as err:
            status = _refuse(err, form, fields={"date": form.decided_on}, merchant_id=merchant_id)
        else:
            security_event("penalty_recorded", merchant_id=merchant.id, penalty_id=penalty.id)
            flash(_("Penalty recorded."), "success")
            return redirect(url_for("compliance.shop_compliance", merchant_id=merchant.id))
    elif request.method == "POST":
        status = 400
    return render_template("compliance/penalty_form.html", form=form, merchant=merchant), status


# --- staff: import ------------------------------------------------------------------------

@bp.route("/staff/compliance/import", methods=["GET", "POST"])
@staff_required
def import_file():
    form = ImportForm()
    result = None
    loaded = None
    status = 200
    if form.validate_on_submit():
        if form.file.data:
            upload = form.file.data
            filename, data = upload.filename or "", upload.read()
        else:
            filename, data = "pasted.csv", form.csv_text.data.encode("utf-8")
        result = importer.parse(form.kind.data, filename, data)
        partial = bool(form.partial.data)
        try:
            loaded = importer.load(result, current_user, partial=partial)
        except ComplianceError as err:
            status = _refuse(err, form)
            loaded = 0
        security_event("compliance_import", kind=form.kind.data, rows=result.rows, loaded=loaded,
                       errors=len(result.errors))
        if loaded and not result.errors:
            flash(_("%(count)d rows imported.", count=loaded), "success")
            return redirect(url_for("compliance.import_file"))
        if result.errors:
            status = 400 if not loaded else 200
    elif request.method == "POST":
        status = 400
    errors = [(e.row, importer.column_label(e.column), e.value, importer.describe(e))
              for e in (result.errors if result else [])]
    return render_template("compliance/import.html", form=form, result=result, errors=errors,
                           loaded=loaded, columns=importer.COLUMNS, labels=importer.COLUMN_LABELS), status


# --- staff: replies, appeals, suspension proposals ----------------------------------------

@bp.route("/staff/replies/<int:reply_id>/remove", methods=["POST"])
@staff_required
def remove_reply(reply_id: int):
    reply = db.get_or_404(RatingReply, reply_id)
    merchant = db.get_or_404(Merchant, reply.merchant_id)
    form = RemoveReplyForm()
    if not form.validate_on_submit():
        return _shop_compliance_page(merchant, remove_form=form, status=400)
    try:
        services.remove_reply(current_user, reply, form.removal_reason.data)
    except ComplianceError as err:
        status = _refuse(err, form, form.removal_reason, reply_id=reply_id)
        return _shop_compliance_page(merchant, remove_form=form, status=status)
    security_event("reply_removed", merchant_id=merchant.id, reply_id=reply_id)
    flash(_("The reply is removed from the public page. The merchant sees your reason."), "success")
    return redirect(url_for("compliance.shop_compliance", merchant_id=merchant.id))


@bp.route("/staff/appeals")
@staff_required
def appeals():
    page = paging.keyset_page(select(RatingAppeal).where(RatingAppeal.status == AppealStatus.OPEN),
                              RatingAppeal.created_at, RatingAppeal.id)
    rows = page.items
    merchants = {m.id: m for m in db.session.scalars(
        select(Merchant).where(Merchant.id.in_({a.merchant_id for a in rows})))} if rows else {}
    return render_template("compliance/appeals.html", appeals=rows, page=page, merchants=merchants)


def _appeal_page(appeal: RatingAppeal, form: AppealDecisionForm | None = None, status: int = 200) -> Any:
    merchant = db.session.get(Merchant, appeal.merchant_id)
    inspection = db.session.get(Inspection, appeal.inspection_id) if appeal.inspection_id else None
    penalty = db.session.get(Penalty, appeal.penalty_id) if appeal.penalty_id else None
    people = _people({appeal.decided_by_id, services.finding_recorder_id(appeal)})
    return render_template(
        "compliance/appeal.html", appeal=appeal, merchant=merchant, inspection=inspection, penalty=penalty,
        people=people, recorder_id=services.finding_recorder_id(appeal),
        may_decide=services.may_decide_appeal(current_user, appeal),
        form=form or AppealDecisionForm(formdata=None),
    ), status


@bp.route("/staff/appeals/<int:appeal_id>")
@staff_required
def appeal(appeal_id: int):
    return _appeal_page(db.get_or_404(RatingAppeal, appeal_id))


@bp.route("/staff/appeals/<int:appeal_id>/decision", methods=["POST"])
@staff_required
def decide_appeal(appeal_id: int):
    appeal = db.get_or_404(RatingAppeal, appeal_id)
    form = AppealDecisionForm()
    if not form.validate_on_submit():
        return _appeal_page(appeal, form, status=400)
    uphold = form.approved
    try:
        services.decide_appeal(current_user, appeal, uphold, form.reason.data)
    except ComplianceError as err:
        status = _refuse(err, form, appeal_id=appeal_id)
        return _appeal_page(db.get_or_404(RatingAppeal, appeal_id), form, status=status)
    security_event("appeal_decision", appeal_id=appeal_id, upheld=uphold)
    flash(_("Appeal upheld. The rating is recomputed.") if uphold else _("Appeal dismissed."), "success")
    return redirect(url_for("compliance.appeal", appeal_id=appeal_id))


def _proposals_page(form: ProposalDecisionForm | None = None, failed_id: int | None = None,
                    status: int = 200) -> Any:
    page = paging.keyset_page(select(SuspensionProposal).where(SuspensionProposal.status == ProposalStatus.OPEN),
                              SuspensionProposal.created_at, SuspensionProposal.id)
    proposals = page.items
    pledges = {p.id: p for p in db.session.scalars(
        select(Pledge).where(Pledge.id.in_({s.pledge_id for s in proposals})))} if proposals else {}
    forms = {s.id: (form if s.id == failed_id and form is not None else ProposalDecisionForm(formdata=None))
             for s in proposals}
    recent = list(db.session.scalars(select(SuspensionProposal).where(SuspensionProposal.status != "open")
                                     .order_by(SuspensionProposal.decided_at.desc()).limit(20)))
    for s in recent:
        if s.pledge_id not in pledges:
            pledges[s.pledge_id] = db.session.get_one(Pledge, s.pledge_id)
    return render_template("compliance/proposals.html", proposals=proposals, page=page, pledges=pledges, forms=forms,
                           recent=recent, people=_people({s.decided_by_id for s in recent})), status


@bp.route("/staff/suspension-proposals")
@staff_required
def proposals():
    return _proposals_page()


@bp.route("/staff/suspension-proposals/<int:proposal_id>/decision", methods=["POST"])
@staff_required
def decide_proposal(proposal_id: int):
    proposal = db.get_or_404(SuspensionProposal, proposal_id)
    form = ProposalDecisionForm()
    if not form.validate_on_submit():
        return _proposals_page(form, proposal_id, status=400)
    accept = form.approved
    try:
        services.decide_proposal(current_user, proposal, accept, form.reason.data)
    except ComplianceError as err:
        status = _refuse(err, form, proposal_id=proposal_id)
        return _proposals_page(form, proposal_id, status=status)
    security_event("suspension_proposal_decision", proposal_id=proposal_id, accepted=accept)
    flash(_("The pledge is suspended. The badge shows it at the next scan.") if accept
          else _("Proposal declined."), "success")
    return redirect(url_for("compliance.proposals"))


# --- merchant: reply and appeal -----------------------------------------------------------

@bp.route("/portal/shops/<int:merchant_id>/rating/reply", methods=["GET", "POST"])
@merchant_required
def reply(merchant_id: int):
    merchant = own_shop_or_404(merchant_id)
    current = services.current_reply(merchant.id)
    form = ReplyForm(data={"text": current.text} if current and request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            services.publish_reply(current_user, merchant, form.text.data)
        except ComplianceError as err:
            status = _refuse(err, form, form.text, merchant_id=merchant_id)
        else:
            flash(_("Your reply is published beside your rating."), "success")
            return redirect(url_for("compliance.reply", merchant_id=merchant.id))
    elif request.method == "POST":
        status = 400
    return render_template("compliance/reply.html", form=form, merchant=merchant, current=current,
                           removed=services.removed_replies(merchant.id),
                           rating=services.current_rating(merchant.id)), status


def _finding_choices(merchant_id: int) -> list[SelectChoice]:
    choices = [SelectChoice("", str(_l("None in particular")))]
    for i in services.inspections_of(merchant_id)[:50]:
        result = _("passed") if i.result == "passed" else _("failed")
        choices.append(SelectChoice(f"i{i.id}", _("Inspection of %(date)s: %(subject)s (%(result)s)",
                                      date=i.inspected_on.isoformat(), subject=i.subject, result=result)))
    for p in services.penalties_of(merchant_id)[:50]:
        choices.append(SelectChoice(f"p{p.id}", _("Penalty %(case)s of %(date)s", case=p.case_number,
                                      date=p.decided_on.isoformat())))
    return choices


@bp.route("/portal/shops/<int:merchant_id>/rating/appeal", methods=["GET", "POST"])
@merchant_required
def appeal_rating(merchant_id: int):
    merchant = own_shop_or_404(merchant_id)
    form = AppealForm()
    form.finding.choices = _finding_choices(merchant.id)
    rating = services.current_rating(merchant.id)
    status = 200
    if form.validate_on_submit():
        finding = form.finding.data or ""
        inspection_id = int(finding[1:]) if finding.startswith("i") else None
        penalty_id = int(finding[1:]) if finding.startswith("p") else None
        try:
            services.file_appeal(current_user, merchant, form.grounds.data, inspection_id, penalty_id)
        except ComplianceError as err:
            status = _refuse(err, form, merchant_id=merchant_id)
        else:
            flash(_("Your appeal is submitted. An officer who did not record the finding decides it."),
                  "success")
            return redirect(url_for("compliance.appeal_rating", merchant_id=merchant.id))
    elif request.method == "POST":
        status = 400
    appeals = services.appeals_of(merchant.id)
    return render_template(
        "compliance/appeal_form.html", form=form, merchant=merchant, rating=rating, appeals=appeals,
        deadline=services.appeal_deadline(rating) if rating else None,
        open_appeal=any(a.status == "open" for a in appeals),
    ), status
