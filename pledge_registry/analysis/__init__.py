"""Analysis (研判): complaint tallies, trends, spike alerts and their staff pages."""

from flask import Blueprint

# The spike alerts' staff pages (alert_views.py).
alerts_bp = Blueprint("alerts", __name__, url_prefix="/staff/analysis/alerts")

from . import alert_views  # noqa: E402,F401
