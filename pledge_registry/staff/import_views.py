"""Staff: a town's merchants imported from a file, checked first, then confirmed.

Both steps run registry.bulk, the code `flask merchants import` runs. The file waits for
the confirmation in registry.import_stash (named by a random token, bound to the officer
who uploaded it, an hour at most); confirming checks every row again before writing.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..extensions import db
from ..i18n import select_locale
from ..models import Town
from ..registry import bulk, import_stash
from ..security import security_event, staff_required
from . import bp
from .forms import MerchantImportConfirmForm, MerchantImportForm

SHOWN_ROWS = 200  # rows listed on the page; the counts cover the whole file


def _towns() -> list[Town]:
    towns = bulk.importable_towns(current_user)
    if not towns:
        security_event("denied", endpoint="staff.merchant_import")
        abort(403)
    return towns


def _form(towns: list[Town]) -> MerchantImportForm:
    form = MerchantImportForm()
    english = select_locale() == "en"
    form.town.choices = [SelectChoice(t.id, t.name_en if english else t.name) for t in towns]
    if not form.is_submitted():
        form.town.data = towns[0].id
    return form


def _page(form: MerchantImportForm, result: bulk.ImportResult | None = None,
          confirm: MerchantImportConfirmForm | None = None, status: int = 200) -> Any:
    errors = [(e.row, bulk.column_label(e.column), e.value, bulk.describe(e))
              for e in (result.errors if result else [])]
    return render_template("staff/merchant_import.html", form=form, result=result, errors=errors[:SHOWN_ROWS],
                           more_errors=max(0, len(errors) - SHOWN_ROWS), confirm=confirm,
                           shown=SHOWN_ROWS, columns=bulk.COLUMNS, labels=bulk.COLUMN_LABELS,
                           required=bulk.REQUIRED,
                           max_mb=current_app.config["MERCHANT_IMPORT_MAX_BYTES"] / (1024 * 1024)), status


@bp.route("/merchants/import", methods=["GET", "POST"])
@staff_required
def merchant_import():
    """The dry run: every row checked, nothing written; a file without errors can then be confirmed."""
    towns = _towns()
    form = _form(towns)
    if not form.is_submitted():
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, status=400)
    town = next(t for t in towns if t.id == form.town.data)
    limit = current_app.config["MERCHANT_IMPORT_MAX_BYTES"]
    upload = form.file.data
    data = upload.read(limit + 1)
    if len(data) > limit:
        form.file.errors.append(_("The file is larger than %(mb).0f MB: split it into several files.",
                                  mb=limit / (1024 * 1024)))
        return _page(form, status=400)
    result = bulk.parse(town, upload.filename or "", data)
    security_event("merchant_import_checked", town=town.id, rows=result.rows, new=len(result.new),
                   existing=len(result.existing), errors=len(result.errors))
    confirm = None
    if not result.errors and result.new:
        token = import_stash.stash(current_user.id, town.id, upload.filename or "", data)
        confirm = MerchantImportConfirmForm(formdata=None, token=token, invite="1" if form.invite.data else "")
    return _page(form, result, confirm, 400 if result.errors else 200)


@bp.route("/merchants/import/confirm", methods=["POST"])
@staff_required
def merchant_import_confirm():
    towns = _towns()
    confirm = MerchantImportConfirmForm()
    stashed = import_stash.fetch(confirm.token.data or "", current_user.id) if confirm.validate_on_submit() else None
    town = next((t for t in towns if stashed is not None and t.id == stashed.town_id), None)
    if stashed is None or town is None:
        flash(_("This check has expired or was already imported: upload the file again."), "error")
        return redirect(url_for("staff.merchant_import"))
    result = bulk.parse(town, stashed.filename, stashed.data)  # checked again: the registry may have changed
    created = bulk.load(result, current_user, invite_all=confirm.invite.data == "1")
    security_event("merchant_import", town=town.id, rows=result.rows, created=created,
                   owners=result.owners_created, invited=result.invited, errors=len(result.errors))
    if result.errors:
        db.session.rollback()
        form = _form(towns)
        form.town.data = town.id
        return _page(form, result, status=409)
    import_stash.discard(stashed.token)
    flash(_("%(created)d shops registered, %(existing)d already registered; %(owners)d owner accounts opened, "
            "%(invited)d sign-in links sent.", created=created, existing=len(result.existing),
            owners=result.owners_created, invited=result.invited), "success")
    return redirect(url_for("staff.merchant_import"))
