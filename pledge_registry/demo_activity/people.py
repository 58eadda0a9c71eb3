"""The DEMO city's people with logins: a city officer, an admin, two town officers and a
merchant. Passwords are generated once per database and printed by `scripts/run`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from ..auth import services as accounts
from ..extensions import db
from ..models import Role, Town, User
from .loader import People

# (login, name, role, town name or None, what the printed line calls it)
ACCOUNTS = (
    ("staff@demo.invalid", "示例工作人员", Role.STAFF, None, "staff (city)"),
    ("admin@demo.invalid", "示例管理员", Role.ADMIN, None, "admin"),
    ("chengxiang@demo.invalid", "城厢镇示例专员", Role.STAFF, "城厢镇", "staff (城厢镇)"),
    ("gaoxin@demo.invalid", "高新区示例专员", Role.STAFF, "高新区", "staff (高新区)"),
    ("merchant@demo.invalid", "示例商户", Role.MERCHANT, None, "merchant"),
)


@dataclass(frozen=True)
class DemoPeople:
    people: People
    merchant: User
    new_logins: list[str]   # printable lines for the accounts made now (with their passwords)


def login_line(label: str, login: str, password: str) -> str:
    return f"{label:15} login: {login}  password: {password}"


def ensure_login(login: str, name: str, role: Role, label: str, town_id: int | None = None,
                 lines: list[str] | None = None) -> User:
    """The demo account with this login, made with a fresh password if missing (its line,
    with the password, goes to `lines`)."""
    user = accounts.find_by_login(login)
    if user is None:
        password = secrets.token_urlsafe(12)
        user = accounts.create_user(login, password, name, role=role)
        if town_id is not None:
            user.town_id = town_id
            db.session.commit()
        if lines is not None:
            lines.append(login_line(label, login, password))
    return user


def ensure_people() -> DemoPeople:
    """Every demo account (the towns must be loaded)."""
    towns = {t.name: t.id for t in db.session.scalars(select(Town))}
    lines: list[str] = []
    made = {login: ensure_login(login, name, role, label, towns.get(town) if town else None, lines)
            for login, name, role, town, label in ACCOUNTS}
    officers = {u.town_id: u for u in made.values() if u.role == Role.STAFF and u.town_id is not None}
    return DemoPeople(People(city=made["staff@demo.invalid"], towns=officers),
                      made["merchant@demo.invalid"], lines)
