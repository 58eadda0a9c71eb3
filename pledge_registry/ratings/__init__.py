"""Safe-consumption ratings: computed from compliance, explained factor by factor."""

from flask import Blueprint

bp = Blueprint("ratings", __name__)

from . import views  # noqa: E402,F401
