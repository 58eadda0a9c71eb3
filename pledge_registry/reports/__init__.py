"""Analysis reports (研判报告): made for a month or a quarter, archived, downloaded by staff."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/staff/reports")

from . import views  # noqa: E402,F401
