"""The merchant portal's complaints: the cases forwarded to one of the merchant's shops,
and the answer. The shopper's phone and name are always masked here."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import selectinload

from .. import refusals
from ..database import utcnow
from ..extensions import db
from ..models import Complaint, ComplaintEvent, ComplaintStatus, Merchant
from ..money import cents_to_yuan, yuan_to_cents
from ..security import merchant_required, security_event
from . import merchant_bp, workflow
from .handling import REFUSALS, is_overdue
from .handling_forms import MerchantReplyForm

S = ComplaintStatus


@merchant_bp.context_processor
def _merchant_labels() -> dict[str, Any]:
    return {"yuan": cents_to_yuan}



def _merchant_visible() -> Any:
    """Cases the bureau has involved the merchant in: forwarded, or moved on past acceptance.

    Not shown: cases waiting for acceptance, accepted but not yet forwarded, and cases
    closed before acceptance (not accepted, or withdrawn at once).
    """
    return and_(
        Complaint.status.not_in((S.RECEIVED, S.ACCEPTED)),
        or_(Complaint.status != S.CLOSED, Complaint.accepted_at.is_not(None),
            Complaint.forwarded_at.is_not(None)),
    )


def _own_case(complaint_id: int) -> Complaint:
    """The case if it is about one of this merchant's shops and visible to it; 404 otherwise."""
    c = db.session.scalar(
        select(Complaint).join(Merchant, Merchant.id == Complaint.merchant_id)
        .where(Complaint.id == complaint_id, Merchant.owner_id == current_user.id, _merchant_visible()))
    if c is None:
        abort(404)
    return c


@merchant_bp.route("/")
@merchant_required
def index():
    now = utcnow()
    cases = list(db.session.scalars(
        select(Complaint).join(Merchant, Merchant.id == Complaint.merchant_id)
        .where(Merchant.owner_id == current_user.id, _merchant_visible())
        .options(selectinload(Complaint.merchant))
        .order_by(case((Complaint.status == S.WITH_MERCHANT, 0), else_=1),
                  Complaint.merchant_reply_due_at, Complaint.received_at.desc(), Complaint.id.desc())))
    rows = [(c, c.status == S.WITH_MERCHANT and is_overdue(c.merchant_reply_due_at, now)) for c in cases]
    return render_template("complaints/merchant/index.html", rows=rows,
                           mask_phone=workflow.mask_phone, mask_name=workflow.mask_name)


def _merchant_page(c: Complaint, form: MerchantReplyForm | None = None, status: int = 200) -> Any:
    events = db.session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id, ComplaintEvent.public.is_(True))
        .order_by(ComplaintEvent.id)).all()
    return render_template(
        "complaints/merchant/detail.html", c=c, events=events,
        overdue=c.status == S.WITH_MERCHANT and is_overdue(c.merchant_reply_due_at, utcnow()),
        phone=workflow.mask_phone(c.shopper_phone), name=workflow.mask_name(c.shopper_name),
        form=form or MerchantReplyForm(formdata=None),
        show_photos=workflow.merchant_may_see_photos(current_user, c),  # as the photo routes check
    ), status


@merchant_bp.route("/<int:complaint_id>")
@merchant_required
def detail(complaint_id: int):
    return _merchant_page(_own_case(complaint_id))


@merchant_bp.route("/<int:complaint_id>/reply", methods=["POST"])
@merchant_required
def reply(complaint_id: int):
    c = _own_case(complaint_id)
    form = MerchantReplyForm()
    if not form.validate_on_submit():
        return _merchant_page(c, form, status=400)
    kind = form.proposal_kind.data or None
    amount = yuan_to_cents(form.proposal_amount.data) if kind == "refund" else None
    try:
        workflow.merchant_answer(current_user, c, form.reply.data, kind, amount)
    except workflow.WorkflowError as err:
        status = refusals.refuse(err, form, REFUSALS, "complaint_reply_refused", complaint_id=c.id)
        return _merchant_page(c, form, status=status)
    security_event("complaint_reply", complaint_id=c.id, proposal=kind or "-")
    flash(_("Your answer was sent. The shopper is told and can accept or refuse your proposal."), "success")
    return redirect(url_for("merchant_complaints.detail", complaint_id=c.id))
