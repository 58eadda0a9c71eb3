"""Staff screens: the review queue, a shop's file, a pledge's file, and (admins) templates.

Views stay thin: the rules (who may decide, when a reason is needed, which moves are
legal) live in registry.services and pledges.services; a refusal comes back as an error
code that is shown here as a sentence, with nothing changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from .. import paging, refusals
from ..domain import DomainError
from ..extensions import db
from ..forms import BaseForm, query_int, query_text
from ..models import (
    SUBMITTED_AT,
    Merchant,
    MerchantEvent,
    MerchantStatus,
    Pledge,
    PledgeEvent,
    PledgeKind,
    PledgeStatus,
    PledgeTemplate,
    Town,
    User,
)
from ..pledges import services as pledge_services
from ..pledges.forms import TemplateForm
from ..pledges.standing import shop_standing
from ..pledges.terms import PLACEHOLDERS, terms_of
from ..refusals import bad_input, conflict, forbidden
from ..registry import services as registry_services
from ..search import staff as staff_search
from ..security import admin_required, security_event, staff_required
from ..urls import MAX_ID
from . import bp
from .forms import PLEDGE_ACTIONS, CloseShopForm, PledgeDecisionForm, ShopReviewForm

S = PledgeStatus
SEARCH_LIMIT = 50

# What each button of the pledge page does: the statuses it is offered in, and the move.
# The state machine itself (pledges.services.TRANSITIONS) still decides what is legal.
ACTION_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": ((S.SUBMITTED,), S.ACTIVE),
    "reject": ((S.SUBMITTED,), S.REJECTED),
    "suspend": ((S.ACTIVE,), S.SUSPENDED),
    "reinstate": ((S.SUSPENDED,), S.ACTIVE),
    "revoke": ((S.ACTIVE, S.SUSPENDED), S.REVOKED),
}

DONE = {
    "approve": _l("Pledge approved: it is in force now."),
    "reject": _l("Pledge rejected. The merchant sees your reason."),
    "suspend": _l("Pledge suspended. The badge shows it at the next scan."),
    "reinstate": _l("Pledge reinstated. The badge shows it as valid again."),
    "revoke": _l("Pledge revoked. The badge shows it at the next scan."),
}

# Refusals of registry.services and pledges.services, as staff read them.
REFUSALS: refusals.Table = {
    "reason_required": bad_input(_l("Give a reason: the merchant sees it."), field="reason"),
    "own_submission": forbidden(_l("You cannot review your own submission.")),
    "not_staff": forbidden(_l("Only bureau staff can make this decision.")),
    "not_owner": forbidden(_l("Only bureau staff can make this decision.")),
    "not_admin": forbidden(_l("Only administrators can publish pledge terms.")),
    "shop_not_approved": conflict(
        _l("The shop's registration is not approved: approve the registration first.")),
    "standing_suspended": conflict(_l(
        "The shop's current pledge of this kind is suspended: reinstate or revoke it first.")),
    "illegal_transition": conflict(_l("That is not possible in the pledge's current state.")),
    "expired": conflict(_l("This pledge's term has ended: it cannot be reinstated. The merchant can renew it.")),
    "not_pending": conflict(_l("This registration has already been decided.")),
    "closed": conflict(_l("This shop is already recorded as closed.")),
    "version_taken": conflict(
        _l("Someone saved a new version at the same moment. Reload the page and try again.")),
}
# Other staff files about one shop, kept by other features; linked when they are installed.
RELATED_FILES = (
    ("compliance.shop_compliance", _l("Inspections and penalties")),
    ("ratings.staff_shop_rating", _l("Safe-consumption rating")),
    ("nominations.shop", _l("Nominations")),
)
def _refuse(err: DomainError, form: BaseForm, event: str, **log_fields: Any) -> int:
    return refusals.refuse(err, form, REFUSALS, event, fields={"reason": getattr(form, "close_reason", None)},
                           **log_fields)


def _age(since: datetime | None, now: datetime) -> str:
    return format_timedelta(now - since, threshold=1.0) if since else ""


# --- the queue ---------------------------------------------------------------------------

def _search(q: str) -> list[Merchant]:
    """Any merchant, whatever its status, by shop or legal name, address or (part of) its
    credit code: the newest SEARCH_LIMIT + 1 (one more says there are more)."""
    ids = staff_search.find_merchant_ids(q, SEARCH_LIMIT + 1)
    found = {m.id: m for m in db.session.scalars(select(Merchant).where(Merchant.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


@bp.route("/")
@staff_required
def queue():
    """Registrations and pledges waiting, oldest first, each list paged on its own."""
    now = datetime.now(UTC)
    town_id = query_int("town", None, 1, MAX_ID)
    kind = request.args.get("kind", "")
    kind = kind if kind in tuple(PledgeKind) else ""
    shops_query = select(Merchant).where(Merchant.status == MerchantStatus.PENDING)
    pledges_query = select(Pledge).where(Pledge.status == S.SUBMITTED)
    if town_id:
        shops_query = shops_query.where(Merchant.town_id == town_id)
        pledges_query = pledges_query.where(Pledge.town_id == town_id)
    if kind:
        pledges_query = pledges_query.where(Pledge.kind == kind)
    shops = paging.keyset_page(shops_query, Merchant.created_at, Merchant.id, prefix="shops_")
    pledges = paging.keyset_page(pledges_query, SUBMITTED_AT, Pledge.id, prefix="pledges_",
                                 options=(selectinload(Pledge.merchant),))
    shop_rows = [(m, _age(m.created_at, now)) for m in shops.items]
    pledge_rows = [(p, _age(p.submitted_at or p.created_at, now)) for p in pledges.items]
    q = query_text("q")
    results = _search(q) if q else None
    filters = {k: v for k, v in {"town": town_id, "kind": kind, "q": q}.items() if v}
    return render_template("staff/queue.html", shop_rows=shop_rows, pledge_rows=pledge_rows, q=q,
                           shops=shops, pledges=pledges, filters=filters, kinds=tuple(PledgeKind),
                           towns=list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id))),
                           results=results, search_limit=SEARCH_LIMIT)


# --- a shop's file -----------------------------------------------------------------------

def _shop_page(merchant: Merchant, review_form: ShopReviewForm | None = None,
               close_form: CloseShopForm | None = None, status: int = 200) -> Any:
    merchant_events = db.session.scalars(
        select(MerchantEvent).where(MerchantEvent.merchant_id == merchant.id)
        .options(selectinload(MerchantEvent.actor)).order_by(MerchantEvent.id))
    pledge_events = db.session.scalars(
        select(PledgeEvent).join(Pledge, Pledge.id == PledgeEvent.pledge_id)
        .where(Pledge.merchant_id == merchant.id)
        .options(selectinload(PledgeEvent.actor)).order_by(PledgeEvent.id))
    return render_template(
        "staff/shop.html", merchant=merchant, standing=shop_standing(merchant),
        pledges_by_id={p.id: p for p in merchant.pledges},
        merchant_events=list(merchant_events), pledge_events=list(pledge_events),
        reviewer=db.session.get(User, merchant.reviewed_by_id) if merchant.reviewed_by_id else None,
        related=[(url_for(endpoint, merchant_id=merchant.id), label) for endpoint, label in RELATED_FILES
                 if endpoint in current_app.view_functions],
        review_form=review_form or ShopReviewForm(formdata=None),
        close_form=close_form or CloseShopForm(formdata=None),
    ), status


@bp.route("/shops/<int:merchant_id>")
@staff_required
def shop(merchant_id: int):
    return _shop_page(db.get_or_404(Merchant, merchant_id))


@bp.route("/shops/<int:merchant_id>/review", methods=["POST"])
@staff_required
def review_shop(merchant_id: int):
    merchant = db.get_or_404(Merchant, merchant_id)
    form = ShopReviewForm()
    if not form.validate_on_submit():
        return _shop_page(merchant, review_form=form, status=400)
    approve = form.approved
    try:
        registry_services.review_shop(current_user, merchant, approve, form.reason.data or "")
    except registry_services.RegistryError as err:
        status = _refuse(err, form, "registration_decision_refused", merchant_id=merchant_id)
        return _shop_page(merchant, review_form=form, status=status)
    to = MerchantStatus.APPROVED if approve else MerchantStatus.REJECTED
    security_event("registration_decision", merchant_id=merchant.id, to=to)
    flash(_("Registration approved.") if approve
          else _("Registration rejected. The merchant sees your reason."), "success")
    return redirect(url_for("staff.shop", merchant_id=merchant.id))


@bp.route("/shops/<int:merchant_id>/close", methods=["POST"])
@staff_required
def close_shop(merchant_id: int):
    merchant = db.get_or_404(Merchant, merchant_id)
    form = CloseShopForm()
    if not form.validate_on_submit():
        return _shop_page(merchant, close_form=form, status=400)
    try:
        registry_services.close_shop(current_user, merchant, form.close_reason.data or "")
    except registry_services.RegistryError as err:
        status = _refuse(err, form, "shop_close_refused", merchant_id=merchant_id)
        return _shop_page(merchant, close_form=form, status=status)
    security_event("shop_closed", merchant_id=merchant.id)
    flash(_("The shop is recorded as closed. Its badge now says so."), "success")
    return redirect(url_for("staff.shop", merchant_id=merchant.id))


# --- a pledge's file ---------------------------------------------------------------------

def available_actions(pledge: Pledge) -> list[str]:
    return [a for a in PLEDGE_ACTIONS if pledge.status in ACTION_MOVES[a][0]]


def _pledge_page(pledge: Pledge, form: PledgeDecisionForm | None = None, status: int = 200) -> Any:
    people = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({pledge.signed_by_id, pledge.decided_by_id or 0})))}
    return render_template(
        "staff/pledge.html", pledge=pledge, merchant=pledge.merchant, terms=terms_of(pledge),
        signer=people.get(pledge.signed_by_id), decider=people.get(pledge.decided_by_id or 0),
        events=db.session.scalars(
            select(PledgeEvent).where(PledgeEvent.pledge_id == pledge.id)
            .options(selectinload(PledgeEvent.actor)).order_by(PledgeEvent.id)).all(),
        actions=available_actions(pledge),
        own=current_user.id in (pledge.signed_by_id, pledge.merchant.owner_id),
        form=form or PledgeDecisionForm(formdata=None),
    ), status


@bp.route("/pledges/<int:pledge_id>")
@staff_required
def pledge(pledge_id: int):
    return _pledge_page(db.get_or_404(Pledge, pledge_id))


@bp.route("/pledges/<int:pledge_id>/decision", methods=["POST"])
@staff_required
def decide_pledge(pledge_id: int):
    pledge = db.get_or_404(Pledge, pledge_id)
    form = PledgeDecisionForm()
    if not form.validate_on_submit():
        return _pledge_page(pledge, form, status=400)
    action, reason = form.action.data, form.reason.data or ""
    offered_in, to = ACTION_MOVES[action]
    before = pledge.status
    try:
        if before not in offered_in:  # e.g. "reinstate" posted for a submitted pledge
            raise pledge_services.PledgeError("illegal_transition")
        if action == "approve":
            pledge_services.approve(current_user, pledge, reason)
        else:
            pledge_services.decide(current_user, pledge, to, reason)
    except pledge_services.PledgeError as err:
        status = _refuse(err, form, "pledge_decision_refused", pledge_id=pledge_id, action=action)
        return _pledge_page(pledge, form, status=status)
    security_event("pledge_decision", pledge_id=pledge.id, merchant_id=pledge.merchant_id,
                   from_status=before, to=to)
    flash(str(DONE[action]), "success")
    return redirect(url_for("staff.pledge", pledge_id=pledge.id))


# --- pledge templates (admins) -----------------------------------------------------------

@bp.route("/templates")
@admin_required
def templates():
    versions = list(db.session.scalars(
        select(PledgeTemplate).order_by(PledgeTemplate.kind, PledgeTemplate.version.desc())))
    signed = dict(db.session.execute(
        select(Pledge.template_id, func.count()).group_by(Pledge.template_id)).tuples().all())
    authors = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({t.created_by_id for t in versions if t.created_by_id})))}
    by_kind = {kind: [t for t in versions if t.kind == kind] for kind in PledgeKind}
    return render_template("staff/templates.html", by_kind=by_kind, signed=signed, authors=authors)


@bp.route("/templates/<kind>/new", methods=["GET", "POST"])
@admin_required
def new_template(kind: str):
    if kind not in tuple(PledgeKind):
        abort(404)
    try:
        latest = pledge_services.latest_template(kind)
    except pledge_services.PledgeError:
        latest = None
    form = TemplateForm(obj=latest)
    if form.validate_on_submit():
        try:
            template = pledge_services.new_template_version(
                current_user, kind, form.title_zh.data, form.body_zh.data,
                form.title_en.data, form.body_en.data)
        except pledge_services.PledgeError as err:
            status = _refuse(err, form, "template_version_refused", kind=kind)
            return render_template("staff/template_form.html", form=form, kind=kind, latest=latest,
                                   placeholders=PLACEHOLDERS), status
        security_event("template_version", kind=kind, version=template.version)
        flash(_("Version %(version)d is published. Pledges signed from now on use it;"
                " signed pledges keep theirs.", version=template.version), "success")
        return redirect(url_for("staff.templates"))
    status = 200 if request.method == "GET" else 400
    return render_template("staff/template_form.html", form=form, kind=kind, latest=latest,
                           placeholders=PLACEHOLDERS), status
