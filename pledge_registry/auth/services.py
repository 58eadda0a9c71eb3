"""Account rules: who may sign up, how passwords are checked and sessions ended."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain import DomainError
from ..extensions import db
from ..forms import MOBILE_RE
from ..models import Role, User
from ..models.accounts import new_session_token

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
MOBILE = re.compile(MOBILE_RE)
# A valid hash to compare against when the account does not exist, so a login for an
# unknown name costs the same time as one for a known name.
_DUMMY_HASH = generate_password_hash("not-a-real-password-at-all", method="scrypt")


class AccountError(DomainError):
    """A rule refused the request; `code` says which (views turn it into a message)."""


def split_login(login: str) -> tuple[str | None, str | None]:
    """(email, phone) from what the user typed as their login name."""
    login = login.strip()
    if MOBILE.match(login):
        return None, login
    if "@" in login:
        return login.lower(), None
    raise AccountError("login_format")


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError("password_long")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def find_by_login(login: str) -> User | None:
    try:
        email, phone = split_login(login)
    except AccountError:
        return None
    where = User.email == email if email else User.phone == phone
    return db.session.scalar(select(User).where(where))


def create_user(login: str, password: str, display_name: str, role: Role = Role.MERCHANT,
                station_id: int | None = None) -> User:
    """Create an account and commit it. Raises AccountError('taken') for a used login; a
    station officer's account needs its station, and only it has one ('station')."""
    email, phone = split_login(login)
    check_password_rules(password)
    if (role == Role.STATION) != (station_id is not None):
        raise AccountError("station")
    if find_by_login(login) is not None:
        raise AccountError("taken")
    user = User(email=email, phone=phone, display_name=display_name.strip(),
                password_hash=hash_password(password), role=role, station_id=station_id)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(login: str, password: str) -> User | None:
    user = find_by_login(login)
    if user is None or user.disabled:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_login_at = datetime.now(UTC)
    db.session.commit()
    return user


def end_sessions(user: User) -> None:
    """Invalidate every session and remember cookie of this user."""
    user.session_token = new_session_token()
    db.session.commit()


def change_password(user: User, current: str, new: str) -> None:
    if not check_password_hash(user.password_hash, current):
        raise AccountError("wrong_password")
    check_password_rules(new)
    user.password_hash = hash_password(new)
    user.session_token = new_session_token()
    db.session.commit()
