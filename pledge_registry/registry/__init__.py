"""The merchant's portal: register shops, see their standing."""

from flask import Blueprint

bp = Blueprint("registry", __name__, url_prefix="/portal")

from . import views  # noqa: E402,F401
