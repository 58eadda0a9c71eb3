"""DEVELOPMENT ONLY: staff read the messages that would have been sent (outbox.dev_page)."""

from __future__ import annotations

from flask import current_app, render_template

from ... import paging
from ...models import OutboxMessage
from ...security import staff_required
from .. import dev_page
from . import bp


@bp.route("/staff/dev/messages")
@staff_required
def index():
    page = paging.keyset_page(dev_page.newest_first(), OutboxMessage.id, OutboxMessage.id, descending=True)
    config = current_app.config
    rows = [dev_page.shown(m, config["BASE_URL"], config["BUREAU_NAME"]) for m in page.items]
    return render_template("outbox/dev_messages.html", page=page, rows=rows)
