from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Merchant, MerchantStatus
from ..pledges.services import review_queue
from ..security import staff_required
from . import bp


@bp.route("/")
@staff_required
def queue():
    shops = list(db.session.scalars(
        select(Merchant).where(Merchant.status == MerchantStatus.PENDING).order_by(Merchant.created_at)))
    return render_template("staff/queue.html", shops=shops, pledges=review_queue())
