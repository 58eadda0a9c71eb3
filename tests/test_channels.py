"""Requests from every channel: the channel model, recording, 12315 numbers, export, import."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from pledge_registry import spreadsheets
from pledge_registry.complaints import channel_import, deadlines, intake, workflow
from pledge_registry.extensions import db
from pledge_registry.localtime import LOCAL_TZ
from pledge_registry.models import CommercialArea, Complaint, PhoneReveal
from tests import factories
from tests.helpers import count_rows, form_post, signed_in_client, text


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


# --- recording a request received by another channel ------------------------------------------

NEW_URL = "/staff/complaints/new"


def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def request_form(merchant: Any, **overrides: Any) -> dict[str, Any]:
    received = datetime.now(UTC) - timedelta(days=3)
    data: dict[str, Any] = {
        "channel": "12345", "channel_ref": "TC2026110300017", "received_at": _local(received),
        "request_type": "complaint", "badge_code": merchant.badge_code, "item": "电动自行车",
        "purchased_on": "", "amount": "2599", "problem_type": "quality",
        "account": "来电反映：电池两天就坏了，商家拒绝退货。", "wants": ["refund"],
        "shopper_name": "李雷", "shopper_phone": "13912345678", "consent_method": "channel",
    }
    data.update(overrides)
    return data


@pytest.fixture
def officer(app: Any) -> Any:
    return factories.make_user("staff")


@pytest.fixture
def staff_client(app: Any, officer: Any) -> Any:
    """An officer's browser asking for English pages (the messages tested are the English ones)."""
    client = signed_in_client(app, officer)
    client.set_cookie("lang", "en")
    return client


def test_anonymous_and_merchants_cannot_record_a_request(app: Any, client: Any) -> None:
    assert client.get(NEW_URL).status_code in (302, 401, 403)
    merchant_user = factories.make_user("merchant")
    assert signed_in_client(app, merchant_user).get(NEW_URL).status_code == 403


def test_the_form_refuses_a_post_without_the_csrf_token(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    response = staff_client.post(NEW_URL, data=request_form(merchant))
    assert response.status_code == 400
    assert count_rows(Complaint) == 0
    assert "TC2026110300017" in text(response)  # the input is kept


def test_a_recorded_request_counts_its_deadlines_from_when_the_channel_received_it(
        app: Any, staff_client: Any, officer: Any) -> None:
    merchant = factories.make_merchant()
    received = (datetime.now(UTC) - timedelta(days=3)).replace(second=0, microsecond=0)
    response = form_post(staff_client, NEW_URL, request_form(merchant, received_at=_local(received)))
    assert response.status_code == 302, text(response)[:2000]
    c = db.session.scalar(sa.select(Complaint))
    assert (c.channel, c.channel_ref, c.consent_method, c.recorded_by_id) == \
        ("12345", "TC2026110300017", "channel", officer.id)
    assert c.received_at == received and c.consent_at == received
    cal = deadlines.calendar()
    limits = deadlines.current_deadlines()
    assert c.acceptance_due_at == cal.add_workdays(received, limits.acceptance_days)
    assert c.completion_due_at == cal.add_workdays(received, limits.completion_days)
    assert response.headers["Location"].endswith(f"/staff/complaints/{c.id}")
    first = c.events[0]
    assert (first.kind, first.actor_role, first.actor_id, first.created_at) == ("recorded", "staff", officer.id,
                                                                                 received)
    # The legal limit counts from the receipt too (7 working days under Order 121, so after
    # the bureau's own target), and the case then runs the normal workflow.
    legal = workflow.clock(c).legal_acceptance.due
    assert c.acceptance_due_at <= legal <= cal.add_workdays(received, 7) + timedelta(days=1)
    assert legal < cal.add_workdays(datetime.now(UTC), 7)  # counted from 3 days ago, not from now
    workflow.accept(officer, c)
    assert c.status == "accepted"


def test_a_second_entry_of_the_same_reference_is_refused_with_a_link_to_the_first(
        app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    assert form_post(staff_client, NEW_URL, request_form(merchant)).status_code == 302
    first = db.session.scalar(sa.select(Complaint))
    again = form_post(staff_client, NEW_URL, request_form(merchant, account="第二次录入，内容不同"))
    assert again.status_code == 409
    page = text(again)
    assert f'href="/staff/complaints/{first.id}"' in page
    assert "第二次录入，内容不同" in page  # the input is kept
    assert count_rows(Complaint) == 1
    # The same number on another channel is another request.
    assert form_post(staff_client, NEW_URL, request_form(merchant, channel="12315")).status_code == 302
    assert count_rows(Complaint) == 2


@pytest.mark.parametrize(("overrides", "field_text"), [
    ({"received_at": _local(datetime.now(UTC) + timedelta(days=2))}, "cannot be in the future"),
    ({"received_at": "yesterday"}, ""),
    ({"received_at": ""}, "Enter the date and time it was received"),
    ({"channel": "web"}, "Not a valid choice"),
    ({"channel": "partner_api"}, "Not a valid choice"),
    ({"channel_ref": "no spaces?!"}, "letters, digits"),
    ({"channel_ref": "x" * 65}, ""),
    ({"consent_method": "oral"}, "cannot be given on this channel"),  # 12345 passes consent on
    ({"consent_method": "web_form"}, "Not a valid choice"),
    ({"badge_code": "NOSUCHBADGE"}, "No shop taking complaints has this badge code"),
    ({"badge_code": ""}, "find the shop"),
    ({"shopper_phone": "12345"}, "11-digit"),
    ({"account": "\x00bad"}, "control characters"),
    ({"purchased_on": "2999-01-01"}, "cannot be in the future"),
    ({"amount": "1e9"}, "yuan"),
])
def test_odd_input_is_refused_on_the_form_with_the_input_kept(app: Any, staff_client: Any,
                                                              overrides: dict[str, Any], field_text: str) -> None:
    merchant = factories.make_merchant()
    response = form_post(staff_client, NEW_URL, request_form(merchant, **overrides))
    assert response.status_code in (400, 409), text(response)[:500]
    page = text(response)
    assert field_text in page
    assert "电池两天就坏了" in page or "account" in overrides
    assert count_rows(Complaint) == 0


def test_a_letter_without_a_phone_is_recorded(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    response = form_post(staff_client, NEW_URL, request_form(
        merchant, channel="letter", channel_ref="XF-2026-113", consent_method="written", shopper_phone=""))
    assert response.status_code == 302, text(response)[:1500]
    c = db.session.scalar(sa.select(Complaint))
    assert (c.shopper_phone, c.consent_method) == (None, "written")


def test_the_shop_is_found_and_chosen_on_the_form_with_the_input_kept(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant(shop_name="甲乙鲜果", status="approved")
    found = form_post(staff_client, NEW_URL, request_form(merchant, badge_code="", shop_query="甲乙", find="1"))
    assert found.status_code == 200
    assert "电池两天就坏了" in text(found)
    picked = form_post(staff_client, NEW_URL, request_form(merchant, badge_code="", pick=merchant.badge_code))
    assert picked.status_code == 200
    assert f'value="{merchant.badge_code}"' in text(picked)
    assert count_rows(Complaint) == 0


def test_a_station_records_at_its_desk_by_default_and_handles_its_area_case(app: Any) -> None:
    area = db.session.scalar(sa.select(CommercialArea).order_by(CommercialArea.id))
    station = factories.make_station(area.id, "南洋广场站")
    station_user = factories.make_station_officer(station)
    client = signed_in_client(app, station_user)
    page = text(client.get(NEW_URL))
    assert re.search(r'<option selected value="station_desk"|<option value="station_desk" selected', page)
    merchant = factories.make_merchant(area_id=area.id)
    response = form_post(client, NEW_URL, request_form(merchant, channel="station_desk", channel_ref="NY-0001",
                                                       consent_method="written"))
    assert response.status_code == 302, text(response)[:1500]
    c = db.session.scalar(sa.select(Complaint))
    assert (c.station_id, c.recorded_by_id, c.events[0].actor_role) == (station.id, station_user.id, "station")
    assert client.get(f"/staff/complaints/{c.id}").status_code == 200


def test_the_form_reads_in_both_languages(app: Any, staff_client: Any) -> None:
    staff_client.set_cookie("lang", "en")
    english = text(staff_client.get(NEW_URL))
    assert "Record a request" in english
    staff_client.set_cookie("lang", "zh")
    chinese = text(staff_client.get(NEW_URL))
    assert "Record a request" not in chinese and "登记" in chinese


# --- the 12315 number ---------------------------------------------------------------------------

def test_a_web_case_records_its_12315_number_once(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    c = factories.make_filed_complaint(merchant)
    other = factories.make_filed_complaint(merchant)
    url = f"/staff/complaints/{c.id}/12315"
    bad = form_post(staff_client, url, {"ref_12315": "12-34"}, form_url=f"/staff/complaints/{c.id}")
    assert bad.status_code == 400
    ok = form_post(staff_client, url, {"ref_12315": " 3205852026110300001 "}, form_url=f"/staff/complaints/{c.id}")
    assert ok.status_code == 302
    db.session.refresh(c)
    assert c.registered_12315_ref == "3205852026110300001" and c.registered_12315_at is not None
    taken = form_post(staff_client, f"/staff/complaints/{other.id}/12315", {"ref_12315": "3205852026110300001"},
                      form_url=f"/staff/complaints/{other.id}")
    assert taken.status_code == 409
    assert f'href="/staff/complaints/{c.id}"' in text(taken)
    db.session.refresh(other)
    assert other.registered_12315_ref is None


def test_the_12315_number_needs_the_csrf_token(app: Any, staff_client: Any) -> None:
    c = factories.make_filed_complaint(factories.make_merchant())
    assert staff_client.post(f"/staff/complaints/{c.id}/12315", data={"ref_12315": "3205852026110300001"}
                             ).status_code == 400
    db.session.refresh(c)
    assert c.registered_12315_ref is None


def test_the_export_lists_the_cases_12315_does_not_know(app: Any, staff_client: Any, officer: Any) -> None:
    merchant = factories.make_merchant()
    web = factories.make_filed_complaint(merchant)
    registered = factories.make_filed_complaint(merchant)
    intake.register_12315(officer, registered, "3205852026110300002")
    factories.make_complaint(merchant, channel="12315", channel_ref="3205852026110300003", consent_method="channel")
    factories.make_filed_complaint(merchant, request_type="consultation")
    csv_response = staff_client.get("/staff/complaints/12315-export.csv")
    assert csv_response.status_code == 200
    table = spreadsheets.read_table("x.csv", csv_response.data)
    assert table[0][0].startswith("本平台案件号")
    assert [int(r[0]) for r in table[1:]] == [web.id]
    assert table[1][17] == web.shopper_phone
    assert count_rows(PhoneReveal) == 1  # the exported number is an audited reveal
    xlsx = staff_client.get("/staff/complaints/12315-export.xlsx")
    assert xlsx.status_code == 200
    rows = spreadsheets.read_table("x.xlsx", xlsx.data)
    assert [r[0] for r in rows[1:]] == [web.id]
    station = factories.make_station(merchant.area_id)
    assert signed_in_client(app, factories.make_station_officer(station)).get(
        "/staff/complaints/12315-export.csv").status_code == 403


# --- a channel's export in bulk -----------------------------------------------------------------

IMPORT_HEADER = ["工单编号", "受理时间", "诉求类型", "诉求内容", "统一社会信用代码", "联系电话", "来电人"]


def export_rows(code: str) -> list[list[Any]]:
    return [IMPORT_HEADER,
            ["TC2026110100001", "2026-11-01 09:30", "投诉", "买的电饭煲用一次就坏", code, "13911112222", "韩梅梅"],
            ["TC2026110100002", "2026/11/02 14:05:00", "举报", "店内销售过期食品", code, "", ""],
            ["TC2026110100003", "2026年11月3日", "咨询", "退货期限怎么算", code, "13933334444", ""]]


def message(code: str, params: dict[str, Any]) -> str:
    """A row error's sentence, in the language the command writes (the app's default)."""
    return channel_import.describe(spreadsheets.RowError(0, "", code, "", params))


def csv_bytes(table: list[list[Any]], encoding: str) -> bytes:
    return "\r\n".join(",".join(str(c) for c in r) for r in table).encode(encoding) + b"\r\n"


def xlsx_bytes(table: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for n, r in enumerate(table):
        row = list(r)
        if n:  # as a spreadsheet holds them: the time a date-time cell, the phone a number
            row[1] = channel_import.parse_moment(row[1]).astimezone(LOCAL_TZ).replace(tzinfo=None)
            row[5] = int(row[5]) if row[5] else None
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(("filename", "make"), [
    ("12345.xlsx", xlsx_bytes),
    ("12345.csv", lambda t: csv_bytes(t, "gb18030")),
    ("12345.csv", lambda t: b"\xef\xbb\xbf" + csv_bytes(t, "utf-8")),
])
def test_an_export_imports_as_spreadsheet_programs_write_it(app: Any, runner: Any, tmp_path: Any,
                                                            filename: str, make: Any) -> None:
    merchant = factories.make_merchant()
    path = tmp_path / filename
    path.write_bytes(make(export_rows(merchant.credit_code)))
    dry = runner.invoke(args=["complaints", "import-channel", "--channel", "12345", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "3 new" in dry.output and count_rows(Complaint) == 0
    done = runner.invoke(args=["complaints", "import-channel", "--channel", "12345", str(path)])
    assert done.exit_code == 0, done.output
    cases = list(db.session.scalars(sa.select(Complaint).order_by(Complaint.channel_ref)))
    assert [(c.channel, c.channel_ref, c.request_type, c.consent_method) for c in cases] == [
        ("12345", "TC2026110100001", "complaint", "channel"), ("12345", "TC2026110100002", "report", "channel"),
        ("12345", "TC2026110100003", "consultation", "channel")]
    assert cases[0].received_at == datetime(2026, 11, 1, 9, 30, tzinfo=LOCAL_TZ)
    assert cases[0].shopper_phone == "13911112222" and cases[1].shopper_phone is None
    assert cases[2].received_at == datetime(2026, 11, 3, tzinfo=LOCAL_TZ)
    assert cases[0].acceptance_due_at == deadlines.calendar().add_workdays(
        cases[0].received_at, deadlines.current_deadlines().acceptance_days)
    assert cases[0].events[0].actor_role == "system"
    # Again: nothing new, and each row named with the case it filed.
    again = runner.invoke(args=["complaints", "import-channel", "--channel", "12345", str(path)])
    assert again.exit_code == 0, again.output
    assert count_rows(Complaint) == 3
    assert "0 new, 3 already filed" in again.output
    assert f"already filed as case #{cases[0].id}" in again.output


def test_a_dry_run_lists_the_row_errors_and_nothing_is_imported(app: Any, runner: Any, tmp_path: Any) -> None:
    merchant = factories.make_merchant()
    table = export_rows(merchant.credit_code)
    table.append(["TC2026110100001", "2026-11-04 10:00", "投诉", "重复的工单", merchant.credit_code, "", ""])
    table.append(["TC2026110100005", "next tuesday", "投诉", "时间不对", merchant.credit_code, "", ""])
    table.append(["TC2026110100006", "2026-11-04 10:00", "建议", "类型不对", merchant.credit_code, "", ""])
    table.append(["TC2026110100007", "2026-11-04 10:00", "投诉", "没有这家店", "91320585MA1X000000", "", ""])
    table.append(["TC2026110100008", "2026-11-04 10:00", "投诉", "电话不对", merchant.credit_code, "1391111", ""])
    table.append(["TC2026110100009", "2999-11-04 10:00", "投诉", "未来的时间", merchant.credit_code, "", ""])
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes(table, "utf-8"))
    out = runner.invoke(args=["complaints", "import-channel", "--channel", "12345", str(path), "--dry-run"])
    assert out.exit_code != 0
    for row, code, params in ((5, "duplicate_in_file", {"row": 2}), (6, "bad_time", {}), (7, "bad_request_type", {}),
                              (8, "unknown_shop", {}), (9, "bad_phone", {}), (10, "received_in_future", {})):
        line = next((n for n in out.output.splitlines() if n.startswith(f"row {row} ") and message(code, params) in n),
                    None)
        assert line is not None, (row, code, out.output)
    out = runner.invoke(args=["complaints", "import-channel", "--channel", "12345", str(path)])
    assert out.exit_code != 0 and "nothing was imported" in out.output
    assert count_rows(Complaint) == 0


def test_the_import_refuses_an_unknown_channel_mapping_or_file(app: Any, runner: Any, tmp_path: Any) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes([["甲", "乙"], ["1", "2"]], "utf-8"))
    assert "unknown channel" in runner.invoke(
        args=["complaints", "import-channel", "--channel", "web", str(path)]).output
    assert "no mapping named" in runner.invoke(
        args=["complaints", "import-channel", "--channel", "letter", str(path)]).output
    out = runner.invoke(args=["complaints", "import-channel", "--channel", "12345", str(path)])
    assert out.exit_code != 0 and str(spreadsheets.FILE_MESSAGES["missing_columns"]).split("%")[0] in out.output


def test_an_admin_edits_a_mapping_and_the_import_reads_with_it(app: Any, runner: Any, tmp_path: Any) -> None:
    admin = factories.make_user("admin")
    client = signed_in_client(app, admin)
    client.set_cookie("lang", "en")
    url = "/staff/complaints/settings/channel-mappings"
    assert "工单编号 = channel_ref" in text(client.get(url + "?name=12345"))
    lines = "来信编号 = channel_ref\n收信日期 = received_at\n来信内容 = account\n商户码 = badge_code"
    for bad, message in (("其他 = nonsense\n" + lines, "is not one of our fields"),
                         ("来信编号 = channel_ref\n来信内容 = account", "must name a column for"),
                         ("just words", "is not of the form"),
                         (lines + "\n来信编号 = item", "mapped twice")):
        refused = form_post(client, url, {"name": "letters", "lines": bad})
        assert refused.status_code == 400 and message in text(refused), message
        assert bad.splitlines()[0] in text(refused)  # the input is kept
    saved = form_post(client, url, {"name": "letters", "lines": lines})
    assert saved.status_code == 302
    assert channel_import.mapping("letters") == {"来信编号": "channel_ref", "收信日期": "received_at",
                                                 "来信内容": "account", "商户码": "badge_code"}
    merchant = factories.make_merchant()
    path = tmp_path / "letters.csv"
    path.write_bytes(csv_bytes([["来信编号", "收信日期", "来信内容", "商户码"],
                                ["XF-001", "2026-11-20", "来信反映价格欺诈", merchant.badge_code.upper()]], "gb18030"))
    out = runner.invoke(args=["complaints", "import-channel", "--channel", "letter", "--mapping", "letters", str(path)])
    assert out.exit_code == 0, out.output
    c = db.session.scalar(sa.select(Complaint))
    assert (c.channel, c.channel_ref, c.consent_method, c.merchant_id) == ("letter", "XF-001", "written", merchant.id)
    # Only admins edit mappings.
    assert signed_in_client(app, factories.make_user("staff")).get(url).status_code == 403


# --- every statistic cut by channel -------------------------------------------------------------

def test_the_statistics_and_their_csv_are_cut_by_channel(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    now = datetime.now(UTC)
    factories.make_filed_complaint(merchant)
    for n in range(2):
        intake.record(intake.ChannelRequest(
            channel="12345", channel_ref=f"TC-{n}", received_at=now, merchant_id=merchant.id,
            request_type="complaint", item="", purchased_on=None, amount_paid_cents=None, problem_type="price",
            account="价格不符", wants=(), shopper_name=None, shopper_phone=None, consent_method="channel"))
    today = now.astimezone(LOCAL_TZ).date().isoformat()  # the day they were received, even just past midnight
    page = text(staff_client.get(f"/staff/complaints/stats?start={today}&end={today}"))
    assert "By Channel" in page and "12345 city hotline" in page
    table = spreadsheets.read_table("s.csv", staff_client.get(f"/staff/complaints/stats.csv?start={today}&end={today}")
                                    .data)
    by_channel = {r[1]: int(r[2]) for r in table[1:] if r[0] == "channel"}
    assert by_channel == {"12345 city hotline": 2, "This platform's complaint form": 1}
    levels = text(staff_client.get(f"/staff/stations/service-levels?start={today}&end={today}&channel=12345"))
    everything = text(staff_client.get(f"/staff/stations/service-levels?start={today}&end={today}"))
    assert re.findall(r"<td[^>]*>(\d+)</td>", levels) != re.findall(r"<td[^>]*>(\d+)</td>", everything)
    assert staff_client.get(f"/staff/stations/service-levels?start={today}&end={today}&channel=fax").status_code == 400


def test_the_queue_filters_by_channel(app: Any, staff_client: Any) -> None:
    merchant = factories.make_merchant()
    web = factories.make_filed_complaint(merchant)
    hotline = factories.make_complaint(merchant, channel="12345", channel_ref="TC-9", consent_method="channel")
    page = text(staff_client.get("/staff/complaints/?channel=12345"))
    assert f'/staff/complaints/{hotline.id}"' in page and f'/staff/complaints/{web.id}"' not in page
    everything = text(staff_client.get("/staff/complaints/?channel=fax"))  # unknown: no filter
    assert f'/staff/complaints/{web.id}"' in everything


@pytest.mark.parametrize("field", ["channel", "channel_ref", "received_at", "request_type", "badge_code", "shop_query",
                                   "pick", "item", "purchased_on", "amount", "problem_type", "account", "wants",
                                   "shopper_name", "shopper_phone", "consent_method"])
@pytest.mark.parametrize("value", ["\x00", "x" * 10_000])
def test_no_odd_value_of_any_field_answers_500(app: Any, staff_client: Any, field: str, value: str) -> None:
    merchant = factories.make_merchant()
    response = form_post(staff_client, NEW_URL, request_form(merchant, **{field: value}))
    assert response.status_code < 500
    assert count_rows(Complaint) <= 1
