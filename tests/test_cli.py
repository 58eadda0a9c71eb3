"""The command-line tasks a deployer and a developer use first."""

import re

import sqlalchemy as sa

from pledge_registry.extensions import db
from pledge_registry.models import Merchant, MerchantStatus, Pledge, Rating, Role, User
from tests.helpers import count_rows


def test_users_create_makes_a_staff_account(runner) -> None:
    result = runner.invoke(args=["users", "create", "--login", "officer@bureau.test", "--name", "王科长",
                                 "--role", "staff", "--town", "沙溪镇"],
                           env={"NEW_USER_PASSWORD": "a long staff password"})
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "officer@bureau.test"))
    assert user.role == Role.STAFF and user.town_id is not None
    assert user.password_hash.startswith("scrypt:")


def test_users_create_explains_a_refusal(runner) -> None:
    result = runner.invoke(args=["users", "create", "--login", "x@bureau.test", "--name", "x"],
                           env={"NEW_USER_PASSWORD": "too short"})
    assert result.exit_code != 0
    assert "12 characters" in result.output
    assert "Traceback" not in result.output


def test_demo_load_makes_merchants_in_every_state_rated_with_printed_logins(runner) -> None:
    result = runner.invoke(args=["demo", "load", "--merchants", "24"])
    assert result.exit_code == 0, result.output
    statuses = set(db.session.scalars(sa.select(Merchant.status)))
    assert statuses == {s.value for s in MerchantStatus}
    pledge_states = set(db.session.scalars(sa.select(Pledge.status)))
    assert {"active", "suspended", "revoked", "expired", "submitted", "draft"} <= pledge_states
    assert count_rows(Rating) > 0
    logins = re.findall(r"login: (\S+)\s+password: (\S+)", result.output)
    assert {"staff@demo.invalid", "admin@demo.invalid", "station@demo.invalid"} <= {login for login, _ in logins}
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert "already loaded" in again.output
    assert count_rows(Merchant) == 24 + 1  # and the shop imported for a town, its owner invited (registry.demo)
