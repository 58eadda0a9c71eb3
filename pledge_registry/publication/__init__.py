"""Complaint publication (消费投诉公示): each quarter's complaint figures per merchant."""

from flask import Blueprint

bp = Blueprint("publication", __name__)

from . import views  # noqa: E402,F401
