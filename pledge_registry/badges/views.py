from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..security import merchant_required, own_shop_or_404
from . import bp
from .render import render_pdf, render_png
from .services import BadgeError, badge_content, badge_serial, badge_url


def _content_or_redirect(merchant_id: int):
    merchant = own_shop_or_404(merchant_id)
    try:
        return merchant, badge_content(merchant)
    except BadgeError:
        return merchant, None


@bp.route("/shops/<int:merchant_id>/badge")
@merchant_required
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
@merchant_required
def png(merchant_id: int):
    return _download(merchant_id, "png")


@bp.route("/shops/<int:merchant_id>/badge.pdf")
@merchant_required
def pdf(merchant_id: int):
    return _download(merchant_id, "pdf")
