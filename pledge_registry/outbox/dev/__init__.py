"""DEVELOPMENT ONLY: the page of messages that would have been sent (registered by
create_app only while outbox.dev_page.enabled)."""

from flask import Blueprint

bp = Blueprint("dev_messages", __name__)

from . import views  # noqa: E402,F401
