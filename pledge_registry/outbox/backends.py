"""Where outbox messages go: a log (development), SMTP (e-mail), an SMS gateway webhook.

Chosen by OUTBOX_BACKEND: `log`, `smtp`, `webhook`, or `composite` (SMS to the webhook,
e-mail over SMTP: the production setting). A backend either returns (the message was
handed over) or raises DeliveryError whose text is safe to store and log: it never holds
a phone number, an address or the message text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol

log = logging.getLogger("pledge_registry.outbox")


@dataclass(frozen=True)
class Outgoing:
    """A rendered message, ready for a backend."""

    id: int
    channel: str       # sms | email
    recipient: str
    template: str
    subject: str
    text: str
    dedupe_key: str    # stable across retries: the idempotency key a receiver can drop resends by


class DeliveryError(Exception):
    """The message was not delivered this time; it will be retried. The text is stored
    in OutboxMessage.last_error, so it must never contain personal data."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (no backend for the channel, an address refused): fail now."""


class Backend(Protocol):
    def send(self, message: Outgoing) -> None: ...


def mask_recipient(recipient: str) -> str:
    """138****5678 for a phone, z***@example.org for an address: what logs may show."""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(recipient) >= 7:
        return recipient[:3] + "****" + recipient[-4:]
    return "****"


class LogBackend:
    """DEVELOPMENT backend: writes one log line per message instead of sending it.

    The line holds the id, channel, template, masked recipient and text length, never
    the text (it can carry a survey link or a tracking code). Not for production: nothing
    reaches the shopper.
    """

    def send(self, message: Outgoing) -> None:
        log.info("outbox DEVELOPMENT log backend: id=%s channel=%s template=%s to=%s chars=%d",
                 message.id, message.channel, message.template,
                 mask_recipient(message.recipient), len(message.text))


def message_id(dedupe_key: str, domain: str) -> str:
    """A Message-ID that is the same on every attempt, so a resend after a crash can be
    recognised as a duplicate by the receiving system."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


class SmtpBackend:
    """E-mail over SMTP (smtplib), optionally with STARTTLS and a login."""

    def __init__(self, host: str, port: int = 25, user: str = "", password: str = "",
                 starttls: bool = False, sender: str = "", timeout: float = 30) -> None:
        if not host or not sender:
            raise ValueError("SMTP_HOST and MAIL_FROM are required for the smtp backend")
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.sender, self.timeout = starttls, sender, timeout
        self.domain = sender.rpartition("@")[2].strip("> ") or "localhost"

    def send(self, message: Outgoing) -> None:
        if message.channel != "email":
            raise PermanentDeliveryError(f"smtp backend cannot send channel {message.channel}")
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(message.dedupe_key, self.domain)
        mail.set_content(message.text)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as err:
            # The exception holds the address: keep only the server's codes.
            codes = ",".join(str(code) for code, _ in err.recipients.values())
            raise PermanentDeliveryError(f"smtp recipient refused ({codes})") from None
        except smtplib.SMTPResponseException as err:
            if 500 <= err.smtp_code < 600:
                raise PermanentDeliveryError(f"smtp error {err.smtp_code}") from None
            raise DeliveryError(f"smtp error {err.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as err:
            raise DeliveryError(f"smtp unavailable ({type(err).__name__})") from None


class WebhookBackend:
    """SMS through the gateway's webhook: POST {"to", "text", "id"} as JSON.

    The `Idempotency-Key` header carries the message's dedupe_key, the same on every
    attempt, so a gateway that honours it drops a resend after a crash. Any answer other
    than 2xx, a timeout or a refused connection is a failure to retry.
    """

    def __init__(self, url: str, token: str = "", timeout: float = 10) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError("SMS_WEBHOOK_URL must be an http(s) URL")
        self.url, self.token, self.timeout = url, token, timeout

    def send(self, message: Outgoing) -> None:
        if message.channel != "sms":
            raise PermanentDeliveryError(f"webhook backend cannot send channel {message.channel}")
        body = json.dumps({"to": message.recipient, "text": message.text, "id": message.dedupe_key},
                          ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Idempotency-Key": message.dedupe_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as err:  # urllib raises for 4xx/5xx; the body may echo the phone
            err.close()
            raise DeliveryError(f"sms webhook answered HTTP {err.code}") from None
        except (TimeoutError, urllib.error.URLError, OSError) as err:
            raise DeliveryError(f"sms webhook unreachable ({type(err).__name__})") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"sms webhook answered HTTP {status}")


class CompositeBackend:
    """Routes each message by channel: sms → one backend, email → another."""

    def __init__(self, routes: Mapping[str, Backend]) -> None:
        self.routes = dict(routes)

    def send(self, message: Outgoing) -> None:
        backend = self.routes.get(message.channel)
        if backend is None:
            raise PermanentDeliveryError(f"no backend configured for channel {message.channel}")
        backend.send(message)


def _smtp(config: Mapping[str, Any]) -> SmtpBackend:
    return SmtpBackend(config["SMTP_HOST"], int(config["SMTP_PORT"]),
                       config["SMTP_USER"], config["SMTP_PASSWORD"],
                       bool(config["SMTP_STARTTLS"]), config["MAIL_FROM"],
                       float(config["SMTP_TIMEOUT"]))


def _webhook(config: Mapping[str, Any]) -> WebhookBackend:
    return WebhookBackend(config["SMS_WEBHOOK_URL"], config["SMS_WEBHOOK_TOKEN"],
                          float(config["SMS_WEBHOOK_TIMEOUT"]))


def from_config(config: Mapping[str, Any]) -> Backend:
    """The backend named by OUTBOX_BACKEND (default `log`)."""
    name = config["OUTBOX_BACKEND"]
    if name == "log":
        return LogBackend()
    if name == "smtp":
        return _smtp(config)
    if name == "webhook":
        return _webhook(config)
    if name == "composite":
        return CompositeBackend({"sms": _webhook(config), "email": _smtp(config)})
    raise ValueError(f"OUTBOX_BACKEND must be log, smtp, webhook or composite, not {name!r}")
