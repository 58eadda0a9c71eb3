"""Requests from every channel: the channel model, recording, 12315 numbers, export, import."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError

from pledge_registry.extensions import db
from pledge_registry.models import Complaint
from tests import factories


def test_a_web_complaint_is_channel_web_without_a_reference(app: Any) -> None:
    merchant = factories.make_merchant()
    c = factories.make_filed_complaint(merchant)
    assert (c.channel, c.channel_ref, c.consent_method) == ("web", None, "web_form")


def test_a_channel_reference_names_one_request_per_channel(app: Any) -> None:
    merchant = factories.make_merchant()
    factories.make_complaint(merchant, channel="12345", channel_ref="SZ-2026-0001", consent_method="channel")
    factories.make_complaint(merchant, channel="12315", channel_ref="SZ-2026-0001", consent_method="channel")
    with pytest.raises(IntegrityError):
        factories.make_complaint(merchant, channel="12345", channel_ref="SZ-2026-0001", consent_method="channel")
    db.session.rollback()
    assert db.session.query(Complaint).filter_by(channel_ref="SZ-2026-0001").count() == 2


def test_the_schema_refuses_an_unknown_channel(app: Any) -> None:
    merchant = factories.make_merchant()
    with pytest.raises(IntegrityError):
        factories.make_complaint(merchant, channel="fax")
    db.session.rollback()
