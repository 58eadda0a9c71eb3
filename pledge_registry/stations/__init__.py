"""Supervision stations (消费维权监督站) as users: their officers' accounts, and the service
levels the bureau watches them by. Station officers handle their area's complaints on the
staff complaint screens (complaints.officer_views), scoped by complaints.workflow.can_handle."""

from flask import Blueprint

bp = Blueprint("stations", __name__, url_prefix="/staff/stations")

from . import views  # noqa: E402,F401
