"""Bureau staff: the review queue, decisions on shops and pledges, pledge templates, the registry export."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from . import export_views, import_views, imports_views, views  # noqa: E402,F401
