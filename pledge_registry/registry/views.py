from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from .. import uscc
from ..extensions import db
from ..forms import EmptyForm
from ..models import Merchant, MerchantEvent
from ..pledges.standing import shop_standing
from . import bp, services
from .forms import ReasonForm, ShopForm, credit_code_message

ERRORS = {
    "duplicate": _l("A shop with this credit code is already registered at this address."),
    "unknown_town": _l("Choose a town from the list."),
    "area_not_in_town": _l("That commercial area is not in the chosen town."),
    "not_owner": _l("This shop belongs to another account."),
    "closed": _l("This shop is closed."),
}


def _merchant_only() -> None:
    if current_user.is_staff:
        abort(403)


def _own_shop_or_404(merchant_id: int) -> Merchant:
    merchant = services.get_own_shop(current_user, merchant_id)
    if merchant is None:
        abort(404)
    return merchant


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


def _apply_error(form: ShopForm, err: Exception) -> None:
    if isinstance(err, uscc.CreditCodeError):
        form.credit_code.errors.append(credit_code_message(err, form.credit_code.data or ""))
        return
    code = getattr(err, "code", "")
    field = {"duplicate": form.address, "unknown_town": form.town_id,
             "area_not_in_town": form.area_id}.get(code)
    message = str(ERRORS.get(code, code))
    if field is None:
        form.form_errors.append(message)
    else:
        field.errors.append(message)


@bp.route("/")
def dashboard():
    if current_user.is_staff:
        return redirect(url_for("staff.queue"))
    shops = services.shops_of(current_user)
    return render_template("registry/dashboard.html", shops=shops, standing=shop_standing)


@bp.route("/shops/new", methods=["GET", "POST"])
def new_shop():
    _merchant_only()
    form = _form_with_choices()
    if form.validate_on_submit():
        try:
            merchant = services.register_shop(current_user, _details(form))
        except (services.RegistryError, uscc.CreditCodeError) as err:
            _apply_error(form, err)
        else:
            flash(_("Your shop is registered and waiting for review. You can sign the pledges now."), "success")
            return redirect(url_for("registry.shop", merchant_id=merchant.id))
    status = 200 if request.method == "GET" else 400
    return render_template("registry/shop_form.html", form=form, merchant=None), status


@bp.route("/shops/<int:merchant_id>")
def shop(merchant_id: int):
    _merchant_only()
    merchant = _own_shop_or_404(merchant_id)
    events = db.session.scalars(select(MerchantEvent).where(MerchantEvent.merchant_id == merchant.id)
                                .order_by(MerchantEvent.id)).all()
    return render_template("registry/shop.html", merchant=merchant, standing=shop_standing(merchant),
                           events=events, empty_form=EmptyForm(), close_form=ReasonForm())


@bp.route("/shops/<int:merchant_id>/edit", methods=["GET", "POST"])
def edit_shop(merchant_id: int):
    _merchant_only()
    merchant = _own_shop_or_404(merchant_id)
    form = _form_with_choices(obj=merchant)
    if request.method == "GET":
        form.area_id.data = merchant.area_id or 0
    if form.validate_on_submit():
        try:
            services.update_shop(current_user, merchant, _details(form))
        except (services.RegistryError, uscc.CreditCodeError) as err:
            _apply_error(form, err)
        else:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("registry.shop", merchant_id=merchant.id))
    status = 200 if request.method == "GET" else 400
    return render_template("registry/shop_form.html", form=form, merchant=merchant), status


@bp.route("/shops/<int:merchant_id>/close", methods=["POST"])
def close_shop(merchant_id: int):
    _merchant_only()
    merchant = _own_shop_or_404(merchant_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            services.close_shop(current_user, merchant, form.reason.data or "")
        except services.RegistryError as err:
            flash(str(ERRORS.get(err.code, err.code)), "error")
        else:
            flash(_("The shop is recorded as closed. Its badge now says so."), "info")
    return redirect(url_for("registry.shop", merchant_id=merchant.id))
