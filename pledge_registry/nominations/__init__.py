"""Nominations of safe-consumption units: the participating list and demonstration units."""

from flask import Blueprint

bp = Blueprint("nominations", __name__)

from . import views  # noqa: E402,F401
