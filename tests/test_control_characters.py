"""Control characters in any text field of any form are refused with the input kept
(never a 500: PostgreSQL refuses NUL in text). forms.BaseForm adds the check to every
text field, so a new form cannot forget it; these tests find every form and every POST."""

from __future__ import annotations

import re
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField, StringField
from wtforms.fields.core import UnboundField

from pledge_registry.forms import BaseForm
from tests.factories import (
    make_filed_complaint,
    make_merchant,
    make_pledge,
    make_station,
    make_station_officer,
    make_user,
)
from tests.helpers import csrf_token, login

CONTROL = ("\x00", "\x01", "\x08", "\x1b", "\x7f")
REFUSED = "Remove the control characters from this field."
NOT_POSTED = {"auth.logout"}  # signing out would make the rest of the walk anonymous
# Buttons and boxes that make a view go past "which action?" to its text fields.
BUTTONS = {"submit": "y", "approve": "y", "agree": "y", "consent": "y", "confirm": "y", "uphold": "y",
           "accept": "y", "action": "approve", "request_type": "complaint", "problem_type": "quality"}

pytestmark = pytest.mark.usefixtures("english")


def _form_classes() -> list[type[BaseForm]]:
    found, todo = [], list(BaseForm.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _text_fields(cls: type[BaseForm]) -> list[str]:
    names = []
    for name in dir(cls):
        value = getattr(cls, name, None)
        if isinstance(value, UnboundField) and issubclass(value.field_class, StringField) \
                and not issubclass(value.field_class, PasswordField):
            names.append(name)
    return names


def test_every_form_is_found(app) -> None:
    names = {cls.__name__ for cls in _form_classes()}
    assert {"ComplaintForm", "ShopForm", "SignupForm", "DecisionForm", "StationForm", "ModelForm"} <= names
    assert len(names) >= 30


@pytest.mark.parametrize("char", CONTROL)
def test_every_text_field_of_every_form_refuses_control_characters(app, char: str) -> None:
    checked = 0
    for cls in _form_classes():
        fields = _text_fields(cls)
        if not fields:
            continue
        data = MultiDict(dict.fromkeys(fields, f"kept{char}text"))
        with app.test_request_context("/", method="POST", data=data, headers={"Cookie": "lang=en"}):
            form = cls(formdata=data)
            for field in form:
                if getattr(field, "choices", False) is None:  # filled in by the view
                    field.choices = []
            assert not form.validate(), cls.__name__
            for name in fields:
                assert REFUSED in [str(e) for e in form[name].errors], (cls.__name__, name, form[name].errors)
                if form[name].type != "HiddenField":  # a bad idempotency key is replaced, on purpose
                    assert form[name].data == f"kept{char}text"  # kept for the re-rendered page
                checked += 1
    assert checked >= 50


def test_every_text_field_is_stripped(app) -> None:
    for cls in _form_classes():
        fields = _text_fields(cls)
        data = MultiDict(dict.fromkeys(fields, "  padded \t"))
        with app.test_request_context("/", method="POST", data=data, headers={"Cookie": "lang=en"}):
            form = cls(formdata=data)
            for name in fields:
                assert form[name].data == "padded", (cls.__name__, name)


def test_passwords_are_left_as_typed(app) -> None:
    from pledge_registry.auth.forms import LoginForm

    data = MultiDict({"login": "a@example.test", "password": " spaced password "})
    with app.test_request_context("/", method="POST", data=data, headers={"Cookie": "lang=en"}):
        assert LoginForm(formdata=data).password.data == " spaced password "


@pytest.fixture
def records(app: Any) -> Any:
    shop = make_merchant()
    make_pledge(shop, "genuine", status="submitted")
    return shop


def _all_text_names() -> set[str]:
    return {name for cls in _form_classes() for name in _text_fields(cls)}


def _path(rule: Any) -> str:
    path = rule.rule
    for arg, converter in rule._converters.items():
        value = "1" if "Integer" in converter.__class__.__name__ else ("genuine" if arg == "kind" else "x")
        path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, path)
    return path


@pytest.mark.parametrize("who", ["anonymous", "merchant", "station", "staff", "admin"])
def test_every_post_refuses_a_nul_byte_with_the_input_kept(app, client, records, who: str) -> None:
    """Every POST endpoint, with a valid CSRF token and NUL in every text field of any form:
    a 4xx or a redirect, never 5xx; a re-rendered form (400) shows what was typed."""
    if who == "merchant":
        login(client, records.owner)
    elif who == "station":  # with a case of its area (id 1, as the walk fills ids) to handle
        login(client, make_station_officer(make_station(records.area_id)))
        make_filed_complaint(records)
    elif who != "anonymous":
        login(client, make_user(who))
    token = csrf_token(client, "/account/login" if who == "anonymous" else "/account/password")
    names = _all_text_names()
    data = {**BUTTONS, **dict.fromkeys(names, "kept\x00text"), "csrf_token": token}
    failures, rerendered = [], 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in NOT_POSTED:
            continue
        response = client.post(_path(rule), data=data)
        body = response.get_data(as_text=True)
        if response.status_code >= 500:
            failures.append((rule.endpoint, response.status_code))
        elif response.status_code == 400 and REFUSED in body:
            assert "kept\x00text" in body or "kept&#0;text" in body or "kept\ufffdtext" in body, rule.endpoint
            rerendered += 1
    assert failures == []
    assert rerendered >= (1 if who == "anonymous" else 3)
