"""A town's merchants imported in the staff area: upload, dry run, confirm (the same
registry.bulk code as the command line), each officer only into its own town, the file
kept between the steps for its uploader only; and the owners' sign-in links: sent through
the outbox, working once, expiring, never in a log line."""

from __future__ import annotations

import io
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from pledge_registry.extensions import db
from pledge_registry.models import Merchant, OutboxMessage, Town, User
from pledge_registry.outbox import delivery
from pledge_registry.outbox.backends import Outgoing
from pledge_registry.registry import bulk, import_stash
from tests.factories import make_merchant, make_station, make_station_officer, make_user
from tests.helpers import count_rows, csrf_token, signed_in_client, tag_with, text
from tests.test_merchant_import import CODE_A, HEADER, csv_bytes, rows, xlsx_bytes

IMPORT = "/staff/merchants/import"
CONFIRM = "/staff/merchants/import/confirm"
TOKEN_IN_PAGE = re.compile(r'name="token" type="hidden" value="([^"]+)"')


@pytest.fixture
def towns(app: Any) -> list[Town]:
    return list(db.session.scalars(sa.select(Town).order_by(Town.id)))


def english(client: Any) -> Any:
    client.set_cookie("lang", "en")
    return client


def upload(client: Any, town: Town, data: bytes, filename: str = "商户.csv", invite: bool = False) -> Any:
    form = {"csrf_token": csrf_token(client, IMPORT), "town": str(town.id),
            "file": (io.BytesIO(data), filename)}
    if invite:
        form["invite"] = "y"
    return client.post(IMPORT, data=form, content_type="multipart/form-data")


def confirm(client: Any, page: Any, invite: bool = False) -> Any:
    match = TOKEN_IN_PAGE.search(text(page))
    assert match, text(page)[:3000]
    return client.post(CONFIRM, data={"csrf_token": csrf_token(client, IMPORT), "token": match.group(1),
                                      "invite": "1" if invite else ""})


def town_officer(town: Town) -> User:
    return make_user("staff", town_id=town.id)


@pytest.mark.parametrize(("filename", "make"), [
    ("商户.xlsx", xlsx_bytes),
    ("商户.csv", lambda t: csv_bytes(t, "gb18030")),
    ("merchants.csv", lambda t: csv_bytes(t, "utf-8-sig")),
])
def test_dry_run_then_confirm(app: Any, towns: list[Town], filename: str, make: Any) -> None:
    client = english(signed_in_client(app, town_officer(towns[0])))
    page = upload(client, towns[0], make(rows()), filename)
    assert page.status_code == 200, text(page)[:2000]
    body = text(page)
    assert "3 rows read: 3 would be registered, 0 are already registered" in body
    assert "甲乙鲜果二店" in body and "Waiting for review" in body
    assert count_rows(Merchant) == 0  # the dry run writes nothing
    done = confirm(client, page)
    assert done.status_code == 302 and done.headers["Location"].endswith(IMPORT)
    assert "3 shops registered, 0 already registered; 2 owner accounts opened, 0 sign-in links sent" \
        in text(client.get(IMPORT))
    assert [m.town_id for m in db.session.scalars(sa.select(Merchant))] == [towns[0].id] * 3
    assert list(Path(app.config["IMPORT_FOLDER"]).iterdir()) == []  # the kept file is gone
    # The same file again: nothing new, nothing to confirm.
    again = upload(client, towns[0], make(rows()), filename)
    assert "0 would be registered, 3 are already registered" in text(again)
    assert TOKEN_IN_PAGE.search(text(again)) is None


def test_row_errors_show_and_nothing_can_be_confirmed(app: Any, towns: list[Town]) -> None:
    client = english(signed_in_client(app, town_officer(towns[0])))
    bad = [*rows(), [CODE_A[:-1] + ("0" if CODE_A[-1] != "0" else "1"), "某公司", "某店", "某路1号", "餐饮", "王",
                     "13911112222", "", "已通过"]]
    page = upload(client, towns[0], csv_bytes(bad, "utf-8"))
    assert page.status_code == 400
    assert "Not a valid unified social credit code." in text(page) and "Nothing was imported." in text(page)
    assert TOKEN_IN_PAGE.search(text(page)) is None and count_rows(Merchant) == 0


def test_chinese_pages(app: Any, towns: list[Town]) -> None:
    client = signed_in_client(app, town_officer(towns[0]))
    page = upload(client, towns[0], csv_bytes(rows(), "utf-8"))
    assert page.status_code == 200 and "导入" in text(page) and "Import" not in text(page)
    confirm(client, page)
    assert "已登记 3 家店铺" in text(client.get(IMPORT))


@pytest.mark.parametrize(("filename", "data"), [
    ("商户.xlsx", b"this is no workbook at all"),
    ("商户.csv", b"PK\x03\x04 broken zip"),
    ("商户.pdf", b"%PDF-1.4 ..."),
    ("商户.csv", b"\x00\x01\x02\xff\xfe\x00"),
    ("商户.csv", b""),
    ("商户.csv", "统一社会信用代码\n\x00x".encode()),
    ("", b"a,b\n1,2\n"),
    ("x" * 300 + ".csv", "统一社会信用代码,\u202e\n".encode()),
])
def test_odd_files_are_refused_with_a_message(app: Any, towns: list[Town], filename: str, data: bytes) -> None:
    client = english(signed_in_client(app, town_officer(towns[0])))
    page = upload(client, towns[0], data, filename)
    assert page.status_code == 400, text(page)[:2000]
    assert "Nothing was imported." in text(page) or "Choose a file." in text(page)
    assert count_rows(Merchant) == 0


def test_the_size_is_capped(app: Any, towns: list[Town]) -> None:
    app.config["MERCHANT_IMPORT_MAX_BYTES"] = 1000
    client = english(signed_in_client(app, town_officer(towns[0])))
    data = csv_bytes(rows(), "utf-8") + b"\r\n" * 1000
    page = upload(client, towns[0], data)
    assert page.status_code == 400 and "larger than" in text(page)


def test_the_form_keeps_its_input_and_refuses_what_is_missing(app: Any, towns: list[Town]) -> None:
    client = english(signed_in_client(app, town_officer(towns[0])))
    page = client.post(IMPORT, data={"csrf_token": csrf_token(client, IMPORT), "town": str(towns[0].id),
                                     "invite": "y"}, content_type="multipart/form-data")
    assert page.status_code == 400 and "Choose a file." in text(page)
    assert "checked" in tag_with(text(page), 'name="invite"')  # the box stays ticked
    no_csrf = client.post(IMPORT, data={"town": str(towns[0].id)}, content_type="multipart/form-data")
    assert no_csrf.status_code == 400


def test_a_town_officer_imports_only_into_its_own_town(app: Any, towns: list[Town]) -> None:
    client = english(signed_in_client(app, town_officer(towns[0])))
    page = client.get(IMPORT)
    assert f'value="{towns[0].id}"' in text(page) and f'value="{towns[1].id}"' not in text(page)
    other = upload(client, towns[1], csv_bytes(rows(), "utf-8"))
    assert other.status_code == 400 and "Not a valid choice" in text(other)
    assert count_rows(Merchant) == 0
    admin = english(signed_in_client(app, make_user("admin")))
    assert f'value="{towns[1].id}"' in text(admin.get(IMPORT))


def test_who_may_import(app: Any, towns: list[Town]) -> None:
    station = make_station(towns[0].areas[0].id)
    for user in (make_user("staff"), make_user("merchant"), make_station_officer(station)):
        client = signed_in_client(app, user)
        assert client.get(IMPORT).status_code == 403
        assert client.post(CONFIRM, data={}).status_code in (400, 403)
    assert app.test_client().get(IMPORT).status_code == 302


def test_the_kept_file_is_confirmed_only_by_its_uploader_and_once(app: Any, towns: list[Town]) -> None:
    officer = english(signed_in_client(app, town_officer(towns[0])))
    page = upload(officer, towns[0], csv_bytes(rows(), "utf-8"))
    colleague = english(signed_in_client(app, town_officer(towns[0])))
    stolen = confirm(colleague, page)
    assert stolen.status_code == 302 and "expired" in text(colleague.get(IMPORT))
    assert count_rows(Merchant) == 0
    assert confirm(officer, page).status_code == 302 and count_rows(Merchant) == 3
    assert confirm(officer, page).status_code == 302 and count_rows(Merchant) == 3  # once
    for token in ("../../etc/passwd", "x" * 32, "", "\x00" * 32):
        response = officer.post(CONFIRM, data={"csrf_token": csrf_token(officer, IMPORT), "token": token})
        assert response.status_code == 302


def test_a_kept_file_expires(app: Any, towns: list[Town], monkeypatch: pytest.MonkeyPatch) -> None:
    officer = english(signed_in_client(app, town_officer(towns[0])))
    page = upload(officer, towns[0], csv_bytes(rows(), "utf-8"))
    later = time.time() + import_stash.STASH_MAX_AGE + 5
    monkeypatch.setattr(import_stash.time, "time", lambda: later)
    confirm(officer, page)
    assert count_rows(Merchant) == 0


def test_confirm_checks_again(app: Any, towns: list[Town]) -> None:
    officer = english(signed_in_client(app, town_officer(towns[0])))
    page = upload(officer, towns[0], csv_bytes(rows(), "utf-8"))
    make_user("staff", email=None, phone="13911112222")  # the owner's mobile became a staff login meanwhile
    refused = confirm(officer, page)
    assert refused.status_code == 409 and "login of a staff account" in text(refused)
    assert count_rows(Merchant) == 0


# --- the owners' sign-in links ------------------------------------------------------------------

class Recording:
    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> None:
        self.sent.append(message)


def _link(sms: Outgoing) -> str:
    match = re.search(r"http://localhost(/account/welcome\?token=[A-Za-z0-9_.\-]+)", sms.text)
    assert match, sms.text
    return match.group(1)


def _invited(app: Any, towns: list[Town], invite: bool = True) -> list[Outgoing]:
    officer = english(signed_in_client(app, town_officer(towns[0])))
    confirm(officer, upload(officer, towns[0], csv_bytes(rows(), "utf-8"), invite=invite), invite=invite)
    backend = Recording()
    delivery.deliver_due(backend=backend, now=datetime.now(UTC) + timedelta(seconds=1))
    return backend.sent


def test_owners_get_a_link_that_works_once(app: Any, towns: list[Town], caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    sent = _invited(app, towns)
    assert sorted(s.recipient for s in sent) == ["13911112222", "13933334444"]  # one per owner, not per shop
    assert all(s.template == "owner_invite" for s in sent)
    sms = next(s for s in sent if s.recipient == "13911112222")
    link = _link(sms)
    owner = english(app.test_client())
    first = owner.get(link)
    assert first.status_code == 302 and first.headers["Location"] == "/account/welcome"  # the token leaves the URL
    page = owner.get("/account/welcome")
    assert page.status_code == 200 and "Set your password" in text(page)
    short = owner.post("/account/welcome", data={"csrf_token": csrf_token(owner, "/account/welcome"),
                                                 "password": "short", "confirm": "short"})
    assert short.status_code == 400
    password = "a long enough passphrase"
    done = owner.post("/account/welcome", data={"csrf_token": csrf_token(owner, "/account/welcome"),
                                                "password": password, "confirm": password})
    assert done.status_code == 302 and done.headers["Location"] == "/portal/"
    assert owner.get("/portal/").status_code == 200  # signed in
    # Once: the same link again, in another browser.
    again = english(app.test_client())
    again.get(link)
    assert again.get("/account/welcome").status_code == 410
    # The owner signs in with the password chosen.
    login = english(app.test_client())
    assert login.post("/account/login", data={"csrf_token": csrf_token(login, "/account/login"),
                                              "login": "13911112222", "password": password}).status_code == 302
    token = link.split("token=")[1]
    for record in caplog.records:
        assert token not in record.getMessage() and token[:40] not in record.getMessage()


def test_a_link_expires(app: Any, towns: list[Town], monkeypatch: pytest.MonkeyPatch) -> None:
    link = _link(_invited(app, towns)[0])
    later = int(time.time()) + app.config["INVITE_MAX_AGE_HOURS"] * 3600 + 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    owner = english(app.test_client())
    owner.get(link)
    page = owner.get("/account/welcome")
    assert page.status_code == 410 and "used or has expired" in text(page)


@pytest.mark.parametrize("token", ["", "x", "a" * 400, "\x00", "Ik5PIg.abc.def", "../../"])
def test_odd_links_answer_410(app: Any, token: str) -> None:
    client = app.test_client()
    client.get("/account/welcome", query_string={"token": token})
    assert client.get("/account/welcome").status_code == 410
    assert client.post("/account/welcome", data={}).status_code == 400  # no CSRF token: refused before anything


def test_a_link_for_an_account_with_a_password_does_nothing(app: Any, towns: list[Town]) -> None:
    sent = _invited(app, towns)
    owner = db.session.scalar(sa.select(User).where(User.phone == sent[0].recipient))
    owner.password_hash = "scrypt:changed-otherwise"
    db.session.commit()
    client = app.test_client()
    client.get(_link(sent[0]))
    assert client.get("/account/welcome").status_code == 410


def test_no_link_unless_asked(app: Any, towns: list[Town]) -> None:
    assert _invited(app, towns, invite=False) == []
    assert count_rows(OutboxMessage) == 0


def test_the_files_column_asks_for_a_link_per_row(app: Any, towns: list[Town]) -> None:
    table = [[*HEADER, "发送登录链接"]] + [[*r, flag] for r, flag in zip(rows()[1:], ["是", "", "否"], strict=True)]
    result = bulk.parse(towns[0], "x.csv", csv_bytes(table, "utf-8"))
    assert result.errors == []
    bulk.load(result, None)
    assert result.invited == 1
    assert db.session.scalars(sa.select(OutboxMessage.recipient)).all() == ["13911112222"]
    bad = bulk.parse(towns[0], "x.csv", csv_bytes([[*HEADER, "发送登录链接"], [*rows()[1], "也许"]], "utf-8"))
    assert [e.code for e in bad.errors] == ["bad_yes_no"]


def test_an_owner_with_a_password_is_not_invited(app: Any, towns: list[Town]) -> None:
    make_merchant(owner=make_user(email=None, phone="13911112222"))
    result = bulk.parse(towns[0], "x.csv", csv_bytes(rows(), "utf-8"))
    bulk.load(result, None, invite_all=True)
    assert result.invited == 1
    assert db.session.scalars(sa.select(OutboxMessage.recipient)).all() == ["13933334444"]


def test_cli_invite(runner: Any, towns: list[Town], tmp_path: Path) -> None:
    path = tmp_path / "商户.csv"
    path.write_bytes(csv_bytes(rows(), "utf-8"))
    out = runner.invoke(args=["merchants", "import", str(path), "--town", towns[0].name, "--invite"])
    assert out.exit_code == 0, out.output
    assert "2 sign-in link(s) sent" in out.output and count_rows(OutboxMessage) == 2


def test_the_demo_invites_one_owner_and_leaves_the_sample_to_try(app: Any) -> None:
    from pledge_registry.registry.demo import DEMO_OWNER_PHONE, import_invited_owner

    assert import_invited_owner() == 1
    assert import_invited_owner() == 0  # again: the shop is registered once, the owner invited once
    page = text(signed_in_client(app, make_user("staff")).get("/staff/dev/messages"))
    assert "139****0199" in page and DEMO_OWNER_PHONE not in page
    assert '<a href="http://localhost/account/welcome?token=' in page
    town = db.session.scalar(sa.select(Town).where(Town.name == "沙溪镇"))
    sample = Path(__file__).parent.parent / "docs" / "sample_merchants.csv"
    officer = english(signed_in_client(app, town_officer(town)))
    page = upload(officer, town, sample.read_bytes(), sample.name)
    assert "4 rows read: 4 would be registered" in text(page)
    assert confirm(officer, page).status_code == 302 and count_rows(Merchant, Merchant.town_id == town.id) == 5


def test_the_welcome_pages_in_chinese(app: Any, towns: list[Town]) -> None:
    link = _link(_invited(app, towns)[0])
    owner = app.test_client()
    owner.get(link)
    page = text(owner.get("/account/welcome"))
    assert "设置密码" in page and "登录名为您的手机号" in page and "Set your password" not in page
    stranger = app.test_client()
    stranger.get("/account/welcome?token=nothing")
    gone = stranger.get("/account/welcome")
    assert gone.status_code == 410 and "此登录链接已使用或已过期" in text(gone)
