"""The admin's page of partner systems and their API keys: add a partner, issue, rotate and
revoke its keys (through partners.services, like `flask partners`).

A key just issued is shown in the answer to that POST, once: it is never put in the session,
a flash message, a log line or a redirect, and the answer is marked no-store. Rotating
revokes the partner's older keys at once; to switch over without a gap an admin issues a
second key and revokes the old one when the partner has moved to the new one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import refusals
from ..extensions import db
from ..forms import EmptyForm
from ..models import Partner, PartnerKey
from ..refusals import bad_input, conflict
from ..security import admin_required, security_event
from . import services
from .forms import PartnerForm

bp = Blueprint("partners", __name__, url_prefix="/staff/partners")

REFUSALS: refusals.Table = {
    "code": bad_input(_l("The code must be 2 to 31 lower-case letters, digits or '-', starting with a letter "
                         "or a digit."), field="code"),
    "name": bad_input(_l("Give the partner a name of at most 100 characters."), field="name"),
    "duplicate": conflict(_l("A partner with this code exists."), field="code"),
    "no_partner": conflict(_l("There is no such partner.")),
    "no_key": conflict(_l("There is no such key.")),
}


def _page(form: PartnerForm | None = None, issued: services.IssuedKey | None = None, status: int = 200) -> Any:
    body = render_template("partners/index.html", partners=services.partners_and_keys(),
                           form=form or PartnerForm(formdata=None), action_form=EmptyForm(formdata=None),
                           issued=issued)
    # The page may carry a key shown once: no cache (browser's or proxy's) may keep it.
    return body, status, {"Cache-Control": "no-store"}


@bp.route("/", methods=["GET", "POST"])
@admin_required
def index():
    form = PartnerForm()
    if not form.is_submitted():
        return _page()
    if not form.validate():
        return _page(form, status=400)
    try:
        partner = services.add_partner(form.code.data, form.name.data)
    except services.PartnerError as err:
        return _page(form, status=refusals.refuse(err, form, REFUSALS, "partner_refused"))
    security_event("partner_added", partner=partner.code)
    flash(_("Partner %(code)s added. Issue its first key below.", code=partner.code), "success")
    return redirect(url_for("partners.index"))


def _new_key(partner_id: int, rotate: bool) -> Any:
    partner = db.get_or_404(Partner, partner_id)
    if not EmptyForm().validate_on_submit():
        return _page(status=400)
    issued = (services.rotate_key if rotate else services.issue_key)(partner)
    security_event("partner_key_rotated" if rotate else "partner_key_issued", partner=partner.code,
                   prefix=issued.prefix)
    return _page(issued=issued, status=201)


@bp.route("/<int:partner_id>/keys", methods=["POST"])
@admin_required
def issue_key(partner_id: int):
    return _new_key(partner_id, rotate=False)


@bp.route("/<int:partner_id>/rotate", methods=["POST"])
@admin_required
def rotate_key(partner_id: int):
    return _new_key(partner_id, rotate=True)


@bp.route("/keys/<int:key_id>/revoke", methods=["POST"])
@admin_required
def revoke_key(key_id: int):
    key = db.get_or_404(PartnerKey, key_id)
    if not EmptyForm().validate_on_submit():
        return _page(status=400)
    services.revoke_key(key.prefix)
    security_event("partner_key_revoked", partner=key.partner.code, prefix=key.prefix)
    flash(_("Key %(prefix)s of %(code)s is revoked: it is refused from now on.",
            prefix=key.prefix, code=key.partner.code), "success")
    return redirect(url_for("partners.index"))
