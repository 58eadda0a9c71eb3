"""DEVELOPMENT ONLY: the messages the outbox holds, rendered as they would be sent.

With the development backend (OUTBOX_BACKEND=log) nothing reaches a phone or a mailbox,
so staff, a tester or a demo user read here what would have been sent, SMS and e-mail,
with the links in them clickable (a survey link, the tracking page). The page exists only
while DEV_MESSAGES_PAGE is on, which production configuration refuses (create_app).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from ..models import OutboxMessage
from . import messages
from .backends import mask_recipient

# A link in a message's text ends at white space or at Chinese punctuation.
_LINK = re.compile(r"https?://[^\s<>\"'，。；：！？（）【】]+")


def enabled(config: Mapping[str, Any]) -> bool:
    """Whether the page exists: the flag is on, the backend is the development one, and
    this is not a production configuration."""
    return bool(config.get("DEV_MESSAGES_PAGE")) and config["OUTBOX_BACKEND"] == "log" \
        and config["APP_ENV"] != "production"


@dataclass(frozen=True)
class Segment:
    """A piece of a message's text: plain, or a link to this site."""

    text: str
    link: bool = False


@dataclass(frozen=True)
class ShownMessage:
    id: int
    channel: str
    recipient: str          # masked
    template: str
    status: str
    created_at: datetime
    subject: str
    lines: list[list[Segment]]   # the text, line by line
    error: str = ""         # why it could not be rendered


def segments(text: str, base_url: str) -> list[Segment]:
    """The text cut into plain pieces and links. Only links to this site (BASE_URL) are
    made clickable: a shop's name inside a message could hold any address."""
    out: list[Segment] = []
    position = 0
    for found in _LINK.finditer(text):
        url = found.group(0)
        if not (url == base_url or url.startswith(base_url + "/")):
            continue
        if found.start() > position:
            out.append(Segment(text[position:found.start()]))
        out.append(Segment(url, link=True))
        position = found.end()
    if position < len(text):
        out.append(Segment(text[position:]))
    return out


def shown(row: OutboxMessage, base_url: str, sender: str) -> ShownMessage:
    """One stored message rendered as its backend would send it."""
    def message(subject: str, lines: list[list[Segment]], error: str = "") -> ShownMessage:
        return ShownMessage(id=row.id, channel=row.channel, recipient=mask_recipient(row.recipient),
                            template=row.template, status=row.status, created_at=row.created_at,
                            subject=subject, lines=lines, error=error)

    try:
        rendered = messages.render(row.template, row.context or {}, row.channel, base_url=base_url, sender=sender)
    except KeyError as err:  # an unknown template or a missing value: shown, not sent
        return message("", [], f"cannot render: {err}")
    return message(rendered.subject, [segments(line, base_url) for line in rendered.text.split("\n")])


def newest_first() -> Select[tuple[OutboxMessage]]:
    """Every message; the page orders them newest first by id."""
    return select(OutboxMessage)
