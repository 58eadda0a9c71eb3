"""Complaints: filed by shoppers from the scan page, answered by merchants, handled by
officers under working-day deadlines. Rules live in workflow.py (the state machine)."""

from flask import Blueprint

shopper_bp = Blueprint("complaints", __name__)                                   # /complain, /track, /survey
merchant_bp = Blueprint("merchant_complaints", __name__, url_prefix="/portal/complaints")
staff_bp = Blueprint("staff_complaints", __name__, url_prefix="/staff/complaints")

from . import admin_views, intake_views, merchant_views, officer_views, shopper_views, stats_views  # noqa: E402,F401
