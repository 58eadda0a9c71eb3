from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..registry.services import get_own_shop
from . import bp
from .render import render_pdf, render_png
from .services import BadgeError, badge_content, badge_serial, badge_url


def _content_or_redirect(merchant_id: int):  # type: ignore[no-untyped-def]
    if current_user.is_staff:
        abort(403)
    merchant = get_own_shop(current_user, merchant_id)
    if merchant is None:
        abort(404)
    try:
        return merchant, badge_content(merchant)
    except BadgeError:
        return merchant, None


@bp.route("/shops/<int:merchant_id>/badge")
def preview(merchant_id: int):
    merchant, content = _content_or_redirect(merchant_id)
    if content is None:
        flash(_("The badge is available once the shop is approved and a pledge is in force."), "info")
        return redirect(url_for("registry.shop", merchant_id=merchant.id))
    return render_template("badges/preview.html", merchant=merchant, serial=badge_serial(merchant),
                           url=badge_url(merchant))


def _download(merchant_id: int, kind: str) -> Response:
    merchant, content = _content_or_redirect(merchant_id)
    if content is None:
        abort(404)
    body = render_png(content) if kind == "png" else render_pdf(content)
    mimetype = "image/png" if kind == "png" else "application/pdf"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="badge-{merchant.id}.{kind}"'
    return response


@bp.route("/shops/<int:merchant_id>/badge.png")
def png(merchant_id: int):
    return _download(merchant_id, "png")


@bp.route("/shops/<int:merchant_id>/badge.pdf")
def pdf(merchant_id: int):
    return _download(merchant_id, "pdf")
