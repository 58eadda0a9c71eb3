from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import refusals
from ..extensions import db
from ..forms import EmptyForm
from ..models import PENDING_STATUSES, Pledge, PledgeKind
from ..refusals import bad_input, conflict, forbidden
from ..security import merchant_required, own_shop_or_404
from . import bp, services
from .forms import GenuineTermsForm, ReturnsTermsForm
from .terms import terms_of

REFUSALS: refusals.Table = {
    "already_pending": conflict(_l("A pledge of this kind is already being prepared or reviewed for this shop.")),
    "shop_not_live": conflict(_l("This shop cannot sign pledges (rejected or closed).")),
    "illegal_transition": conflict(_l("That is not possible in the pledge's current state.")),
    "not_owner": forbidden(_l("This pledge belongs to another account.")),
    "not_renewable": conflict(_l("Only an active or expired pledge can be renewed.")),
    "too_early": conflict(_l("A pledge can be renewed in the last 60 days of its term.")),
    "no_template": conflict(_l("The bureau has not published the terms for this pledge yet.")),
    "return_days": bad_input(_l("The return window must be at least 7 days."), field="return_days"),
    "refund_method": bad_input(_l("Choose how the refund is paid."), field="refund_method"),
    "refund_days": bad_input(_l("The refund must be paid within 30 days."), field="refund_days"),
    "terms_required": bad_input(_l("Fill in the return terms.")),
    "kind": bad_input(_l("Unknown pledge.")),
}


def error_message(code: str) -> str:
    return refusals.message(code, REFUSALS)




def _own_pledge_or_404(pledge_id: int) -> Pledge:
    pledge = db.session.get(Pledge, pledge_id)
    if pledge is None or pledge.merchant.owner_id != current_user.id:
        abort(404)
    return pledge


@bp.route("/shops/<int:merchant_id>/pledges/<kind>/sign", methods=["GET", "POST"])
@merchant_required
def sign(merchant_id: int, kind: str):
    merchant = own_shop_or_404(merchant_id)
    if kind not in (PledgeKind.GENUINE, PledgeKind.RETURNS):
        abort(404)
    form = ReturnsTermsForm() if kind == PledgeKind.RETURNS else GenuineTermsForm()
    try:
        template = services.latest_template(kind)
    except services.PledgeError:
        template = None
        form.form_errors.append(error_message("no_template"))
    status = 200 if request.method == "GET" else 400
    if template is not None and form.validate_on_submit():
        try:
            pledge = services.sign(current_user, merchant, kind, _terms(form), submit=bool(form.submit.data))
        except services.PledgeError as err:
            status = refusals.refuse(err, form, REFUSALS, "pledge_sign_refused", merchant_id=merchant.id)
        else:
            flash(_("Pledge submitted for review.") if form.submit.data else _("Draft saved."), "success")
            return redirect(url_for("pledges.detail", pledge_id=pledge.id))
    return render_template("pledges/sign.html", form=form, merchant=merchant, kind=kind,
                           template=template), status


def _terms(form: ReturnsTermsForm | GenuineTermsForm) -> services.ReturnTerms | None:
    if not isinstance(form, ReturnsTermsForm):
        return None
    return services.ReturnTerms(
        return_days=form.return_days.data, refund_method=form.refund_method.data,
        refund_days=form.refund_days.data, conditions=form.conditions.data or "",
        excluded_goods=form.exclusions())


@bp.route("/pledges/<int:pledge_id>")
@merchant_required
def detail(pledge_id: int):
    pledge = _own_pledge_or_404(pledge_id)
    return render_template("pledges/detail.html", pledge=pledge, terms=terms_of(pledge),
                           can_renew=_can_renew(pledge), form=EmptyForm())


def _can_renew(pledge: Pledge) -> bool:
    """Whether to offer the renew button: the rule of services.renew, and no renewal pending."""
    if services.renewal_refusal(pledge, datetime.now(UTC)):
        return False
    return not any(p.kind == pledge.kind and p.status in PENDING_STATUSES for p in pledge.merchant.pledges)


def _owner_action(pledge_id: int, action, done_message: str):
    pledge = _own_pledge_or_404(pledge_id)
    form = EmptyForm()
    if form.validate_on_submit():
        try:
            result = action(current_user, pledge)
        except services.PledgeError as err:
            db.session.rollback()
            flash(error_message(err.code), "error")
        else:
            flash(done_message, "success")
            return redirect(url_for("pledges.detail", pledge_id=result.id))
    return redirect(url_for("pledges.detail", pledge_id=pledge.id))


@bp.route("/pledges/<int:pledge_id>/submit", methods=["POST"])
@merchant_required
def submit(pledge_id: int):
    return _owner_action(pledge_id, services.submit, _("Pledge submitted for review."))


@bp.route("/pledges/<int:pledge_id>/withdraw", methods=["POST"])
@merchant_required
def withdraw(pledge_id: int):
    return _owner_action(pledge_id, services.withdraw, _("Pledge withdrawn."))


@bp.route("/pledges/<int:pledge_id>/renew", methods=["POST"])
@merchant_required
def renew(pledge_id: int):
    return _owner_action(pledge_id, services.renew, _("Renewal submitted for review."))
