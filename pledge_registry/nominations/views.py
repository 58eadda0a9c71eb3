"""Nomination screens: the merchant's application with its why-not checklist, the town and
city officers' steps, delisting and renewal, and the public list of named units."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import paging, refusals
from ..extensions import db
from ..forms import BaseForm, EmptyForm, query_int
from ..models import Merchant, Nomination, Town, User
from ..refusals import bad_input, conflict, forbidden
from ..security import merchant_required, micro_cached, own_shop_or_404, public, security_event, staff_required
from ..urls import MAX_ID
from . import bp, rules, services
from .forms import ApplyForm, DecisionForm, ReasonForm
from .services import NominationError

REFUSALS: refusals.Table = {
    "level": bad_input(_l("Choose what to apply for."), field="level"),
    "reason_required": bad_input(_l("Give a reason: the merchant sees it."), field="reason"),
    "not_allowed": forbidden(_l("Only the shop, or the officer of its town, can apply for it.")),
    "own_submission": forbidden(_l("You applied for this shop (or own it): another officer must decide.")),
    "not_town_officer": forbidden(_l("Only an officer of the shop's town can take the first step.")),
    "not_city_officer": forbidden(_l("Only a city officer can do this.")),
    "same_officer": forbidden(_l("You took the first step: another officer must take the second.")),
    "already_live": conflict(_l("There is already an application or a title at this level for this shop.")),
    "not_eligible": conflict(_l("The shop does not meet the rules now: see the checklist.")),
    "not_pending": conflict(_l("This application has already been decided.")),
    "wrong_step": conflict(_l("This application is not at that step.")),
    "not_named": conflict(_l("This shop holds no title at this level.")),
    "too_early": conflict(_l("A title can be renewed only in its last 60 days.")),
}



@bp.app_template_global()
def rule_text(key: str, ok: bool, detail: dict[str, Any]) -> str:
    """One line of the eligibility checklist, passed or not, with why."""
    d = detail or {}
    if key == "registration":
        if ok:
            return _("The shop's registration is approved.")
        return _("The shop's registration is not approved.")
    if key == "grade":
        if d.get("not_rated"):
            return _("Not rated yet: a rating of at least %(required)s is needed.",
                     required=d.get("required"))
        if ok:
            return _("Rating %(grade)s (at least %(required)s needed).",
                     grade=d.get("grade"), required=d.get("required"))
        return _("Rating %(grade)s: at least %(required)s is needed.",
                 grade=d.get("grade"), required=d.get("required"))
    if key == "pledges":
        if not d.get("months"):
            if ok:
                return _("At least one pledge in force.")
            return _("No pledge in force: sign a pledge and have it approved.")
        if ok:
            return _("Both pledges in force for at least %(months)s months.", months=d["months"])
        if d.get("qualifies_on"):
            return _("Both pledges must be in force for at least %(months)s months without a break: "
                     "the shop qualifies on %(date)s.", months=d["months"], date=d["qualifies_on"])
        return _("Both pledges must be in force for at least %(months)s months: a pledge is missing.",
                 months=d["months"])
    if key == "penalty":
        if ok:
            return _("No administrative penalty in the last %(months)s months.", months=d.get("months", 12))
        return _("An administrative penalty was decided on %(date)s: eligible again from %(clear)s.",
                 date=d.get("last"), clear=d.get("clear_on"))
    if key == "complaints":
        if ok:
            return _("No complaint past its completion deadline.")
        return _("%(count)s complaint(s) past the completion deadline: answer them first.",
                 count=d.get("overdue"))
    return key


@bp.app_template_global()
def unit_title(merchant: Merchant) -> Nomination | None:
    """The title a named unit shows on its scan page (nominations/_scan_title.html)."""
    return services.title_of(merchant.id)


def _refuse(err: NominationError, form: BaseForm, **log_fields: Any) -> int:
    return refusals.refuse(err, form, REFUSALS, "nomination_refused", **log_fields)


def _checklists(merchant: Merchant) -> dict[str, list[rules.Result]]:
    return {level: services.check(merchant, level) for level in rules.LEVELS}


# --- merchant -----------------------------------------------------------------------------

def _merchant_page(merchant: Merchant, form: ApplyForm | None = None, status: int = 200,
                   refused: list[rules.Result] | None = None) -> Any:
    nominations = services.nominations_of(merchant.id)
    return render_template(
        "nominations/merchant.html", merchant=merchant, checklists=_checklists(merchant), refused=refused,
        nominations=nominations, events={n.id: services.events_of(n.id) for n in nominations},
        form=form or ApplyForm(formdata=None), withdraw_form=EmptyForm(formdata=None),
    ), status


@bp.route("/portal/shops/<int:merchant_id>/nominations")
@merchant_required
def merchant_nominations(merchant_id: int):
    return _merchant_page(own_shop_or_404(merchant_id))


@bp.route("/portal/shops/<int:merchant_id>/nominations", methods=["POST"])
@merchant_required
def merchant_apply(merchant_id: int):
    merchant = own_shop_or_404(merchant_id)
    form = ApplyForm()
    if not form.validate_on_submit():
        return _merchant_page(merchant, form, status=400)
    try:
        services.apply(current_user, merchant, form.level.data, form.statement.data or "")
    except NominationError as err:
        status = _refuse(err, form, merchant_id=merchant_id)
        return _merchant_page(merchant, form, status=status, refused=err.results or None)
    flash(_("Your application is submitted. The officer of your town decides first, then the city."),
          "success")
    return redirect(url_for("nominations.merchant_nominations", merchant_id=merchant.id))


@bp.route("/portal/nominations/<int:nomination_id>/withdraw", methods=["POST"])
@merchant_required
def withdraw(nomination_id: int):
    nomination = db.get_or_404(Nomination, nomination_id)
    merchant = own_shop_or_404(nomination.merchant_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        return _merchant_page(merchant, status=400)
    try:
        services.withdraw(current_user, nomination)
    except NominationError as err:
        db.session.rollback()
        flash(refusals.message(err, REFUSALS), "error")
        return redirect(url_for("nominations.merchant_nominations", merchant_id=merchant.id))
    flash(_("Application withdrawn."), "success")
    return redirect(url_for("nominations.merchant_nominations", merchant_id=merchant.id))


# --- staff --------------------------------------------------------------------------------

@bp.route("/staff/nominations")
@staff_required
def queue():
    level = request.args.get("level", "")
    level = level if level in rules.LEVELS else ""
    town_filter = query_int("town", None, 1)
    waiting = paging.keyset_page(services.queue_query(current_user), Nomination.created_at, Nomination.id,
                                 prefix="waiting_", options=(selectinload(Nomination.merchant),))
    named = paging.keyset_page(services.named_units_query(level or None, town_filter), Nomination.id,
                               Nomination.id, prefix="named_", options=(selectinload(Nomination.merchant),))
    filters = {k: v for k, v in {"level": level, "town": town_filter}.items() if v}
    return render_template(
        "nominations/queue.html", waiting=waiting, flagged=services.flagged_units(), named=named,
        town_id=services.officer_town_id(current_user), filters=filters, levels=rules.LEVELS,
        towns={t.id: t for t in db.session.scalars(select(Town).order_by(Town.sort_order, Town.id))},
    )


def _staff_shop_page(merchant: Merchant, form: ApplyForm | None = None, status: int = 200,
                     refused: list[rules.Result] | None = None) -> Any:
    return render_template(
        "nominations/shop.html", merchant=merchant, checklists=_checklists(merchant), refused=refused,
        nominations=services.nominations_of(merchant.id),
        may_apply=services.may_apply(current_user, merchant), form=form or ApplyForm(formdata=None),
    ), status


@bp.route("/staff/shops/<int:merchant_id>/nominations")
@staff_required
def shop(merchant_id: int):
    return _staff_shop_page(db.get_or_404(Merchant, merchant_id))


@bp.route("/staff/shops/<int:merchant_id>/nominations", methods=["POST"])
@staff_required
def officer_apply(merchant_id: int):
    """The officer of the shop's town applies for it."""
    merchant = db.get_or_404(Merchant, merchant_id)
    form = ApplyForm()
    if not form.validate_on_submit():
        return _staff_shop_page(merchant, form, status=400)
    try:
        nomination = services.apply(current_user, merchant, form.level.data, form.statement.data or "")
    except NominationError as err:
        status = _refuse(err, form, merchant_id=merchant_id)
        return _staff_shop_page(merchant, form, status=status, refused=err.results or None)
    security_event("nomination_applied", nomination_id=nomination.id, merchant_id=merchant.id)
    flash(_("Application submitted. Another officer of the town takes the first step."), "success")
    return redirect(url_for("nominations.detail", nomination_id=nomination.id))


def _detail_page(nomination: Nomination, forms: dict[str, BaseForm] | None = None, status: int = 200,
                 refused: list[rules.Result] | None = None) -> Any:
    forms = forms or {}
    merchant = db.session.get_one(Merchant, nomination.merchant_id)
    events = services.events_of(nomination.id)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(
        {nomination.applied_by_id, nomination.town_decided_by_id or 0, nomination.city_decided_by_id or 0}
        | {e.actor_id or 0 for e in events})))}
    return render_template(
        "nominations/detail.html", nomination=nomination, merchant=merchant, events=events, people=people,
        at_application=services.stored_results(nomination),
        now_results=services.check(merchant, nomination.level),
        refused=refused,
        may_town=services.may_decide_town(current_user, nomination),
        may_city=services.may_decide_city(current_user, nomination),
        city_officer=services.is_city_officer(current_user),
        town_form=forms.get("town") or DecisionForm(formdata=None),
        city_form=forms.get("city") or DecisionForm(formdata=None),
        delist_form=forms.get("delist") or ReasonForm(formdata=None),
        renew_form=forms.get("renew") or ReasonForm(formdata=None),
    ), status


@bp.route("/staff/nominations/<int:nomination_id>")
@staff_required
def detail(nomination_id: int):
    return _detail_page(db.get_or_404(Nomination, nomination_id))


def _step(nomination_id: int, step: str, form: BaseForm, action: Any, done: str) -> Any:
    nomination = db.get_or_404(Nomination, nomination_id)
    if not form.validate_on_submit():
        return _detail_page(nomination, {step: form}, status=400)
    try:
        action(nomination)
    except NominationError as err:
        status = _refuse(err, form, nomination_id=nomination_id, step=step)
        return _detail_page(db.get_or_404(Nomination, nomination_id), {step: form}, status=status,
                            refused=err.results or None)
    security_event("nomination_decision", nomination_id=nomination_id, step=step,
                   to=db.session.get_one(Nomination, nomination_id).status)
    flash(done, "success")
    return redirect(url_for("nominations.detail", nomination_id=nomination_id))


@bp.route("/staff/nominations/<int:nomination_id>/town", methods=["POST"])
@staff_required
def town_decision(nomination_id: int):
    form = DecisionForm()
    return _step(nomination_id, "town", form,
                 lambda n: services.town_decide(current_user, n, form.approved, form.reason.data),
                 _("Decision recorded. The merchant sees it."))


@bp.route("/staff/nominations/<int:nomination_id>/city", methods=["POST"])
@staff_required
def city_decision(nomination_id: int):
    form = DecisionForm()
    return _step(nomination_id, "city", form,
                 lambda n: services.city_decide(current_user, n, form.approved, form.reason.data),
                 _("Decision recorded. The merchant sees it; a named unit appears on the public list."))


@bp.route("/staff/nominations/<int:nomination_id>/delist", methods=["POST"])
@staff_required
def delist(nomination_id: int):
    form = ReasonForm()
    return _step(nomination_id, "delist", form, lambda n: services.delist(current_user, n, form.reason.data),
                 _("The title is withdrawn. The scan page and the public list no longer show it."))


@bp.route("/staff/nominations/<int:nomination_id>/renew", methods=["POST"])
@staff_required
def renew(nomination_id: int):
    form = ReasonForm()
    return _step(nomination_id, "renew", form,
                 lambda n: services.renew_title(current_user, n, form.reason.data),
                 _("The title is renewed for a year."))


# --- public -------------------------------------------------------------------------------

@bp.route("/units")
@public
@micro_cached
def units():
    level = request.args.get("level", "")
    level = level if level in rules.LEVELS else ""
    town_id = query_int("town", None, 1, MAX_ID)
    towns = list(db.session.scalars(select(Town).order_by(Town.sort_order, Town.id)))
    rows = services.named_units(level or None, town_id)
    return render_template("nominations/units.html", rows=rows, towns=towns, level=level, town_id=town_id,
                           levels=rules.LEVELS)
