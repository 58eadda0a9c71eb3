"""Sign-in links for shop owners whose account was created for them (a town's import).

Such an account has no usable password. Its owner gets a link by SMS (through the outbox);
the link carries a signed token naming the account and a fingerprint of its password hash,
valid for INVITE_MAX_AGE_HOURS. Setting the password changes the hash, so a link works
once; it also stops working when it expires, or when the owner changed the password
another way. The token travels in the query string, which the access log leaves out, and
the first visit moves it into the session and redirects to a URL without it, so it is in
no Referer, no browser history and no log line.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .. import outbox
from ..extensions import db
from ..models import User
from ..models.accounts import new_session_token
from ..urls import absolute_url
from . import services

UNUSABLE_PREFIX = "!"  # a password hash no password matches: the account awaits its first password
MAX_TOKEN_LENGTH = 300


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="owner-invite")


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def awaits_password(user: User) -> bool:
    return user.password_hash.startswith(UNUSABLE_PREFIX)


def invite_url(user: User) -> str:
    token = _serializer().dumps({"u": user.id, "p": _fingerprint(user)})
    return absolute_url("auth.welcome", token=token)


def send_invite(user: User) -> None:
    """Queue the sign-in link by SMS in the current transaction (the caller commits); once per account."""
    outbox.enqueue("sms", user.phone or "", "owner_invite", {"name": user.display_name, "url": invite_url(user),
                                                              "hours": current_app.config["INVITE_MAX_AGE_HOURS"]},
                   dedupe_key=f"owner-invite:{user.id}")


def user_from_token(token: str) -> User | None:
    """The account a live, unused link names; None for anything else."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        data = _serializer().loads(token, max_age=current_app.config["INVITE_MAX_AGE_HOURS"] * 3600)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not 0 < data["u"] < 2**31:
        return None
    user = db.session.get(User, data["u"])
    if user is None or user.disabled or not awaits_password(user) or data.get("p") != _fingerprint(user):
        return None
    return user


def set_first_password(token: str, password: str) -> User:
    """Set the password of the account the link names, which spends the link."""
    user = user_from_token(token)
    if user is None:
        raise services.AccountError("invite_invalid")
    services.check_password_rules(password)
    user.password_hash = services.hash_password(password)
    user.session_token = new_session_token()
    db.session.commit()
    return user
