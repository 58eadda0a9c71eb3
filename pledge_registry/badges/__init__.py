"""The printable QR badge of a shop: preview, PNG and A6 PDF downloads."""

from flask import Blueprint

bp = Blueprint("badges", __name__, url_prefix="/portal")

from . import views  # noqa: E402,F401
