from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import refusals, uscc
from ..extensions import db
from ..forms import EmptyForm
from ..models import MerchantEvent
from ..pledges.standing import shop_standing
from ..refusals import bad_input, conflict, forbidden
from ..security import merchant_required, own_shop_or_404
from . import bp, services
from .forms import ReasonForm, ShopForm, credit_code_message

REFUSALS: refusals.Table = {
    "duplicate": conflict(_l("A shop with this credit code is already registered at this address."),
                          field="address"),
    "unknown_town": bad_input(_l("Choose a town from the list."), field="town_id"),
    "area_not_in_town": bad_input(_l("That commercial area is not in the chosen town."), field="area_id"),
    "not_owner": forbidden(_l("This shop belongs to another account.")),
    "closed": conflict(_l("This shop is closed.")),
}


def _form_with_choices(**kwargs: object) -> ShopForm:
    form = ShopForm(**kwargs)
    towns, areas = services.place_choices(str(get_locale()))
    form.town_id.choices = [SelectChoice(0, _("Choose…")), *(SelectChoice(i, name) for i, name in towns)]
    # Areas grouped under their town (WTForms makes one <optgroup> of consecutive equal ones).
    form.area_id.choices = [SelectChoice(0, "—", optgroup=_("None / not in a commercial area")),
                            *(SelectChoice(i, name, optgroup=town) for i, name, town in areas)]
    return form


def _details(form: ShopForm) -> services.ShopDetails:
    return services.ShopDetails(
        credit_code=form.credit_code.data, legal_name=form.legal_name.data,
        shop_name=form.shop_name.data, address=form.address.data, town_id=form.town_id.data,
        area_id=form.area_id.data or None, category=form.category.data,
        contact_name=form.contact_name.data, contact_phone=form.contact_phone.data,
        opening_hours=form.opening_hours.data or "",
    )


def _refuse(form: ShopForm, err: Exception) -> int:
    if isinstance(err, uscc.CreditCodeError):
        form.credit_code.errors.append(credit_code_message(err, form.credit_code.data or ""))
        return refusals.BAD_INPUT
    assert isinstance(err, services.RegistryError)
    return refusals.refuse(err, form, REFUSALS, "shop_refused")


@bp.route("/")
def dashboard():
    if current_user.is_staff:
        return redirect(url_for("staff.queue"))
    if current_user.is_station:
        return redirect(url_for("staff_complaints.queue"))
    from ..publication.services import open_entries_of

    shops = services.shops_of(current_user)
    return render_template("registry/dashboard.html", shops=shops, standing=shop_standing,
                           publication_entries=open_entries_of(current_user))


@bp.route("/shops/new", methods=["GET", "POST"])
@merchant_required
def new_shop():
    form = _form_with_choices()
    status = 200 if request.method == "GET" else 400
    if form.validate_on_submit():
        try:
            merchant = services.register_shop(current_user, _details(form))
        except (services.RegistryError, uscc.CreditCodeError) as err:
            status = _refuse(form, err)
        else:
            flash(_("Your shop is registered and waiting for review. You can sign the pledges now."), "success")
            return redirect(url_for("registry.shop", merchant_id=merchant.id))
    return render_template("registry/shop_form.html", form=form, merchant=None), status


@bp.route("/shops/<int:merchant_id>")
@merchant_required
def shop(merchant_id: int):
    merchant = own_shop_or_404(merchant_id)
    events = db.session.scalars(select(MerchantEvent).where(MerchantEvent.merchant_id == merchant.id)
                                .order_by(MerchantEvent.id)).all()
    return render_template("registry/shop.html", merchant=merchant, standing=shop_standing(merchant),
                           events=events, empty_form=EmptyForm(), close_form=ReasonForm())


@bp.route("/shops/<int:merchant_id>/edit", methods=["GET", "POST"])
@merchant_required
def edit_shop(merchant_id: int):
    merchant = own_shop_or_404(merchant_id)
    form = _form_with_choices(obj=merchant)
    if request.method == "GET":
        form.area_id.data = merchant.area_id or 0
    status = 200 if request.method == "GET" else 400
    if form.validate_on_submit():
        try:
            services.update_shop(current_user, merchant, _details(form))
        except (services.RegistryError, uscc.CreditCodeError) as err:
            status = _refuse(form, err)
        else:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("registry.shop", merchant_id=merchant.id))
    return render_template("registry/shop_form.html", form=form, merchant=merchant), status


@bp.route("/shops/<int:merchant_id>/close", methods=["POST"])
@merchant_required
def close_shop(merchant_id: int):
    merchant = own_shop_or_404(merchant_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            services.close_shop(current_user, merchant, form.reason.data or "")
        except services.RegistryError as err:
            db.session.rollback()
            flash(refusals.message(err, REFUSALS), "error")
        else:
            flash(_("The shop is recorded as closed. Its badge now says so."), "info")
    return redirect(url_for("registry.shop", merchant_id=merchant.id))
