"""Officers handle complaints under deadlines: the queue, a case's file and every move.

A shopper's phone and name are masked on every page but the assigned officer's, and even
there only after an audited "reveal". The rules are complaints.workflow's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, false, not_, or_, select
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from .. import paging, refusals
from ..database import utcnow
from ..extensions import db
from ..forms import BaseForm, EmptyForm, query_int, query_text
from ..localtime import local_midnight, local_today, parse_day
from ..models import (
    IS_OPEN,
    NEXT_DUE,
    CommercialArea,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Merchant,
    Role,
    SupervisionStation,
    Town,
    User,
)
from ..money import cents_to_yuan, yuan_to_cents
from ..refusals import bad_input, conflict
from ..security import officer_required, security_event
from ..urls import MAX_ID
from . import deadlines, intake, staff_bp, workflow
from .handling import REFUSALS, is_overdue
from .handling_forms import CloseForm, HandOverForm, LinkDuplicateForm, NoteForm, PauseForm, ReassignForm, RejectForm
from .intake_forms import Register12315Form
from .labels import CHANNEL_LABELS

log = logging.getLogger(__name__)
S = ComplaintStatus

DONE = {
    "accept": _l("Case accepted. The shopper is told by text message."),
    "reject": _l("Case not accepted. The shopper sees the reason."),
    "forward": _l("Case forwarded to the merchant."),
    "mediate": _l("Mediation started."),
    "close": _l("Case closed. The shopper is told and asked for a rating."),
    "handover": _l("Case handed to the bureau."),
    "pause": _l("Deadlines stopped. Start them again when the result is in."),
    "resume": _l("Deadlines running again; the targets moved on by the days stopped."),
}


# --- labels and the calendar banner, for every staff complaints page -------------------------

_warned_years: set[int] = set()
_warned_lock = threading.Lock()


def calendar_warning_years() -> list[int]:
    """Years (this and next) without working-day data; logged once per year per process."""
    years = deadlines.calendar_warning(local_today())
    with _warned_lock:
        fresh = [y for y in years if y not in _warned_years]
        _warned_years.update(fresh)
    for year in fresh:
        log.warning("No working-day data for %d: complaint deadlines fall back to Monday-Friday. "
                    "Enter the holidays in the holiday table.", year)
    return years


@staff_bp.context_processor
def _staff_context() -> dict[str, Any]:
    return {"yuan": cents_to_yuan,
            "calendar_warning_years": calendar_warning_years()}


def _refuse(err: workflow.WorkflowError, form: BaseForm, event: str, **log_fields: Any) -> int:
    return refusals.refuse(err, form, REFUSALS, event, **log_fields)


def next_due(c: Complaint) -> datetime:
    return c.acceptance_due_at if c.status == S.RECEIVED else c.completion_due_at


def _scope(query: Any) -> Any:
    """Staff see every case; a station officer only its station's (workflow.can_handle)."""
    if current_user.is_staff:
        return query
    return query.where(Complaint.station_id == current_user.station_id)


def _case_or_404(complaint_id: int) -> Complaint:
    c = db.session.get(Complaint, complaint_id)
    if c is None or not workflow.can_handle(current_user, c):
        abort(404)
    return c


QUEUE_STATUSES = ("open", "all", *(s.value for s in ComplaintStatus))


def _case_search(q: str) -> ColumnElement[bool] | None:
    """A case number ("1234" or "#1234") or a tracking code (dashes and case ignored)."""
    digits = q.removeprefix("#")
    if digits.isdigit() and digits.isascii():
        number = int(digits)
        return Complaint.id == number if number <= MAX_ID else None
    code = q.replace("-", "").replace(" ", "").upper()
    if code.isalnum() and code.isascii():
        return Complaint.tracking_code == code
    return None


@staff_bp.route("/")
@officer_required
def queue():
    status = request.args.get("status", "open")
    status = status if status in QUEUE_STATUSES else "open"
    who = request.args.get("who", "")
    who = who if who in ("mine", "unassigned") else ""
    station_id = query_int("station", None, 1, MAX_ID) if current_user.is_staff else None
    town_id, area_id = query_int("town", None, 1, MAX_ID), query_int("area", None, 1, MAX_ID)
    received_from, received_to = parse_day(request.args.get("from", "")), parse_day(request.args.get("to", ""))
    q = query_text("q", 40)
    duplicates = request.args.get("duplicates") == "1"
    channel = request.args.get("channel", "")
    channel = channel if channel in CHANNEL_LABELS else ""

    query = _scope(select(Complaint))
    if status == "open":
        query = query.where(IS_OPEN)  # the open cases' own index
    elif status != "all":
        query = query.where(Complaint.status == status)
    if who == "mine":
        query = query.where(Complaint.assigned_officer_id == current_user.id)
    elif who == "unassigned":
        query = query.where(Complaint.assigned_officer_id.is_(None))
    if station_id:
        query = query.where(Complaint.station_id == station_id)
    if town_id or area_id:
        query = query.join(Merchant, Merchant.id == Complaint.merchant_id)
        if town_id:
            query = query.where(Merchant.town_id == town_id)
        if area_id:
            query = query.where(Merchant.area_id == area_id)
    if received_from:
        # A deadline is never before its case was received: the bound on the sort key lets
        # the queue's index start at the first day instead of scanning up to it.
        since = local_midnight(received_from)
        query = query.where(Complaint.received_at >= since, NEXT_DUE >= since)  # noqa: SIM300 (a column, not a constant)
    if received_to:
        query = query.where(Complaint.received_at < local_midnight(received_to + timedelta(days=1)))
    if q:
        found = _case_search(q)
        query = query.where(found if found is not None else false())
    if duplicates:
        query = query.where(Complaint.possible_duplicate.is_(True))
    if channel:
        query = query.where(Complaint.channel == channel)
    page = paging.keyset_page(query, NEXT_DUE, Complaint.id, options=(
        selectinload(Complaint.merchant), selectinload(Complaint.station), selectinload(Complaint.assigned_officer)))
    now = utcnow()
    rows = [(c, next_due(c), c.status != S.CLOSED and is_overdue(next_due(c), now)) for c in page.items]
    stations = list(db.session.scalars(select(SupervisionStation).order_by(SupervisionStation.name))) \
        if current_user.is_staff else []
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id)))
    areas = list(db.session.scalars(select(CommercialArea).order_by(CommercialArea.town_id,
                                                                    CommercialArea.sort_order)))
    args = {"status": status, "who": who, "station": station_id or "", "town": town_id or "",
            "area": area_id or "", "from": received_from.isoformat() if received_from else "",
            "to": received_to.isoformat() if received_to else "", "q": q,
            "duplicates": "1" if duplicates else "", "channel": channel}
    return render_template("complaints/staff/queue.html", rows=rows, page=page, stations=stations,
                           towns=towns, areas=areas, filters={k: v for k, v in args.items() if v},
                           statuses=QUEUE_STATUSES[2:], mask_phone=workflow.mask_phone, channels=CHANNEL_LABELS)


def _officer_choices(c: Complaint) -> list[SelectChoice]:
    """Who a case can be given to: bureau staff, and the officers of its station."""
    roles: list[ColumnElement[bool]] = [User.role.in_((Role.STAFF, Role.ADMIN))]
    if c.station_id is not None:
        roles.append(and_(User.role == Role.STATION, User.station_id == c.station_id))
    users = db.session.scalars(select(User).where(or_(*roles), not_(User.disabled))
                               .order_by(User.display_name, User.id))
    return [SelectChoice(u.id, u.display_name) for u in users]


def duplicate_candidates(c: Complaint) -> list[Complaint]:
    """Cases with the same phone about the same shop within the duplicate window of this one."""
    if not c.shopper_phone:
        return []
    return list(db.session.scalars(
        select(Complaint).where(
            Complaint.id != c.id, Complaint.merchant_id == c.merchant_id,
            Complaint.shopper_phone == c.shopper_phone,
            Complaint.received_at >= c.received_at - workflow.DUPLICATE_WINDOW,
            Complaint.received_at <= c.received_at + workflow.DUPLICATE_WINDOW)
        .order_by(Complaint.received_at)))


def officer_actions(c: Complaint) -> set[str]:
    """The buttons to offer; the workflow still decides what is legal when one is pressed."""
    moves = {to for (frm, to), roles in workflow.TRANSITIONS.items()
             if frm == c.status and "officer" in roles}
    actions = set()
    if S.ACCEPTED in moves:
        actions.update({"accept", "reject"})
    if S.WITH_MERCHANT in moves:
        actions.add("forward")
    if S.MEDIATING in moves:
        actions.add("mediate")
    if S.CLOSED in moves and c.status != S.RECEIVED:
        actions.add("close")
    if c.status != S.CLOSED:
        actions.add("reassign")
        actions.add("resume" if workflow.open_pause(c) is not None else "pause")
        if current_user.is_station:
            actions.add("handover")
    return actions


def _staff_page(c: Complaint, forms: dict[str, BaseForm] | None = None, status: int = 200,
                revealed: str | None = None, registered_on: int | None = None) -> Any:
    forms = dict(forms or {})
    reassign = forms.setdefault("reassign", ReassignForm(formdata=None, officer_id=c.assigned_officer_id))
    reassign.officer_id.choices = _officer_choices(c)
    candidates = duplicate_candidates(c)
    link = forms.setdefault("link", LinkDuplicateForm(formdata=None))
    link.original_id.choices = [SelectChoice(d.id, f"#{d.id}") for d in candidates]
    for name, cls in (("accept", NoteForm), ("forward", NoteForm), ("mediate", NoteForm),
                      ("reject", RejectForm), ("handover", HandOverForm), ("pause", PauseForm),
                      ("resume", EmptyForm), ("close", CloseForm), ("reveal", EmptyForm),
                      ("register_12315", Register12315Form)):
        forms.setdefault(name, cls(formdata=None))
    events = db.session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)
        .options(selectinload(ComplaintEvent.actor)).order_by(ComplaintEvent.id)).all()
    now = utcnow()
    assigned = c.assigned_officer_id == current_user.id
    return render_template(
        "complaints/staff/detail.html", c=c, events=events, forms=forms, actions=officer_actions(c),
        due=next_due(c), overdue=c.status != S.CLOSED and is_overdue(next_due(c), now),
        acceptance_overdue=c.status == S.RECEIVED and is_overdue(c.acceptance_due_at, now),
        reply_overdue=c.status == S.WITH_MERCHANT and is_overdue(c.merchant_reply_due_at, now),
        assigned=assigned, revealed=revealed,
        phone=revealed or workflow.mask_phone(c.shopper_phone),
        name=(c.shopper_name or "") if revealed else workflow.mask_name(c.shopper_name),
        candidates=candidates, clock=workflow.clock(c, now), pause=workflow.open_pause(c),
        registered_on=registered_on,
    ), status


@staff_bp.route("/<int:complaint_id>")
@officer_required
def case_detail(complaint_id: int):
    return _staff_page(_case_or_404(complaint_id))


@staff_bp.route("/<int:complaint_id>/reveal", methods=["POST"])
@officer_required
def reveal(complaint_id: int):
    """Show the full phone number on this response only (never stored in the session)."""
    c = _case_or_404(complaint_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return _staff_page(c, {"reveal": form}, status=400)
    try:
        phone = workflow.reveal_phone(current_user, c)
    except workflow.WorkflowError as err:
        status = _refuse(err, form, "phone_reveal_refused", complaint_id=c.id)
        return _staff_page(c, {"reveal": form}, status=status)
    security_event("phone_reveal", complaint_id=c.id)
    return _staff_page(c, revealed=phone)


def _decide(complaint_id: int, action: str, form: BaseForm, call: Callable[[Complaint], None]) -> Any:
    """Validate the form, make the move, log it, and redirect; or show the refusal on the page."""
    c = _case_or_404(complaint_id)
    if not form.validate_on_submit():
        return _staff_page(c, {action: form}, status=400)
    before = c.status
    try:
        call(c)
    except workflow.WorkflowError as err:
        status = _refuse(err, form, "complaint_decision_refused", complaint_id=c.id, action=action)
        return _staff_page(c, {action: form}, status=status)
    security_event("complaint_decision", complaint_id=c.id, action=action, from_status=before, to=c.status)
    flash(str(DONE[action]), "success")
    return redirect(url_for("staff_complaints.case_detail", complaint_id=c.id))


@staff_bp.route("/<int:complaint_id>/accept", methods=["POST"])
@officer_required
def accept(complaint_id: int):
    form = NoteForm()
    return _decide(complaint_id, "accept", form,
                   lambda c: workflow.accept(current_user, c, form.note.data or ""))


@staff_bp.route("/<int:complaint_id>/reject", methods=["POST"])
@officer_required
def reject(complaint_id: int):
    form = RejectForm()
    return _decide(complaint_id, "reject", form,
                   lambda c: workflow.reject(current_user, c, form.reason.data, form.reject_note.data or ""))


@staff_bp.route("/<int:complaint_id>/forward", methods=["POST"])
@officer_required
def forward(complaint_id: int):
    form = NoteForm()
    return _decide(complaint_id, "forward", form,
                   lambda c: workflow.forward(current_user, c, form.note.data or ""))


@staff_bp.route("/<int:complaint_id>/mediate", methods=["POST"])
@officer_required
def mediate(complaint_id: int):
    form = NoteForm()
    return _decide(complaint_id, "mediate", form,
                   lambda c: workflow.mediate(current_user, c, form.note.data or ""))


@staff_bp.route("/<int:complaint_id>/close", methods=["POST"])
@officer_required
def close(complaint_id: int):
    form = CloseForm()

    def call(c: Complaint) -> None:
        amount = yuan_to_cents(form.amount_recovered.data) if form.outcome.data == "resolved" else 0
        workflow.close(current_user, c, form.outcome.data, form.close_note.data or "",
                       amount_recovered_cents=amount or 0, upheld=form.upheld.data == "yes")

    return _decide(complaint_id, "close", form, call)


@staff_bp.route("/<int:complaint_id>/hand-over", methods=["POST"])
@officer_required
def hand_over(complaint_id: int):
    """A station hands the case to the bureau; afterwards the station no longer sees it."""
    form = HandOverForm()
    c = _case_or_404(complaint_id)
    if not form.validate_on_submit():
        return _staff_page(c, {"handover": form}, status=400)
    try:
        workflow.hand_to_bureau(current_user, c, form.handover_reason.data or "")
    except workflow.WorkflowError as err:
        status = _refuse(err, form, "complaint_handover_refused", complaint_id=c.id)
        return _staff_page(c, {"handover": form}, status=status)
    security_event("complaint_handed_to_bureau", complaint_id=c.id)
    flash(str(DONE["handover"]), "success")
    return redirect(url_for("staff_complaints.queue"))


@staff_bp.route("/<int:complaint_id>/pause", methods=["POST"])
@officer_required
def pause(complaint_id: int):
    form = PauseForm()
    return _decide(complaint_id, "pause", form, lambda c: workflow.pause_clock(
        current_user, c, form.pause_reason.data, form.pause_note.data or ""))


@staff_bp.route("/<int:complaint_id>/resume", methods=["POST"])
@officer_required
def resume(complaint_id: int):
    form = EmptyForm()
    return _decide(complaint_id, "resume", form, lambda c: workflow.resume_clock(current_user, c))


@staff_bp.route("/<int:complaint_id>/reassign", methods=["POST"])
@officer_required
def reassign(complaint_id: int):
    c = _case_or_404(complaint_id)
    form = ReassignForm()
    form.officer_id.choices = _officer_choices(c)
    if not form.validate_on_submit():
        return _staff_page(c, {"reassign": form}, status=400)
    officer = db.get_or_404(User, form.officer_id.data)
    try:
        workflow.reassign(current_user, c, officer, "")
    except workflow.WorkflowError as err:
        status = _refuse(err, form, "complaint_reassign_refused", complaint_id=c.id)
        return _staff_page(c, {"reassign": form}, status=status)
    security_event("complaint_reassigned", complaint_id=c.id, officer_id=officer.id)
    flash(_("Case assigned to %(name)s.", name=officer.display_name), "success")
    return redirect(url_for("staff_complaints.case_detail", complaint_id=c.id))


@staff_bp.route("/<int:complaint_id>/link-duplicate", methods=["POST"])
@officer_required
def link_duplicate(complaint_id: int):
    c = _case_or_404(complaint_id)
    form = LinkDuplicateForm()
    form.original_id.choices = [SelectChoice(d.id, f"#{d.id}") for d in duplicate_candidates(c)]
    if not form.validate_on_submit():
        return _staff_page(c, {"link": form}, status=400)
    original = db.get_or_404(Complaint, form.original_id.data)
    try:
        workflow.link_duplicate(current_user, c, original)
    except workflow.WorkflowError as err:
        status = _refuse(err, form, "complaint_link_refused", complaint_id=c.id)
        return _staff_page(c, {"link": form}, status=status)
    security_event("complaint_linked_duplicate", complaint_id=c.id, original_id=original.id)
    flash(_("Case linked as a duplicate of #%(id)d.", id=original.id), "success")
    return redirect(url_for("staff_complaints.case_detail", complaint_id=c.id))


# A case's 12315 number, as officers read its refusals.
REGISTER_REFUSALS: refusals.Table = {
    **REFUSALS,
    "ref_12315": bad_input(_l("A 12315 number has 10 to 32 digits and capital letters."), "ref_12315"),
    "ref_12315_taken": conflict(_l("Another case has this 12315 number."), "ref_12315"),
    "already_registered": conflict(_l("This case already has its 12315 number."), "ref_12315"),
    "came_from_12315": conflict(_l("This case came from 12315: its number is the channel's reference."), "ref_12315"),
}


@staff_bp.route("/<int:complaint_id>/12315", methods=["POST"])
@officer_required
def register_12315(complaint_id: int):
    """Record the number 12315 gave a case filed here, once it is registered there."""
    c = _case_or_404(complaint_id)
    form = Register12315Form()
    if not form.validate_on_submit():
        return _staff_page(c, {"register_12315": form}, status=400)
    try:
        intake.register_12315(current_user, c, form.ref_12315.data)
    except (intake.IntakeError, workflow.WorkflowError) as err:
        status = refusals.refuse(err, form, REGISTER_REFUSALS, "complaint_12315_refused", complaint_id=c.id)
        return _staff_page(c, {"register_12315": form}, status=status,
                           registered_on=getattr(err, "case_id", None))
    security_event("complaint_registered_12315", complaint_id=c.id)
    flash(_("12315 number saved."), "success")
    return redirect(url_for("staff_complaints.case_detail", complaint_id=c.id))
