"""Pledges: a merchant signs and renews them, staff decide, admins edit the templates."""

from flask import Blueprint

bp = Blueprint("pledges", __name__, url_prefix="/portal")

from . import views  # noqa: E402,F401
