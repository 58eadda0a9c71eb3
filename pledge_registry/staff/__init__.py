"""Bureau staff: the review queue, decisions on shops and pledges, pledge templates."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from . import views  # noqa: E402,F401
