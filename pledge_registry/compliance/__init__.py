"""Compliance records: inspections and penalties (by form and import), replies and appeals."""

from flask import Blueprint

bp = Blueprint("compliance", __name__)

from . import views  # noqa: E402,F401
