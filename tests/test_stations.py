"""Supervision stations as users: accounts, their area's cases only, hand-over, service levels,
and the clock stopped and started again."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry.complaints import deadlines, workflow
from pledge_registry.extensions import db
from pledge_registry.models import ClockPause, CommercialArea, Complaint, ComplaintEvent, PhoneReveal, User
from pledge_registry.stations import services as station_services
from tests.factories import make_filed_complaint, make_merchant, make_station, make_station_officer, make_user
from tests.helpers import SHOPPER_PHONE, TEST_PASSWORD, count_rows, csrf_token, form_post, login, text


@pytest.fixture
def areas(app: Any) -> list[CommercialArea]:
    return list(db.session.scalars(sa.select(CommercialArea).order_by(CommercialArea.id)))[:2]


@pytest.fixture
def station(areas: list[CommercialArea]) -> Any:
    return make_station(areas[0].id, "南洋广场站")


@pytest.fixture
def other_station(areas: list[CommercialArea]) -> Any:
    return make_station(areas[1].id, "华发广场站")


@pytest.fixture
def station_officer(station: Any) -> User:
    return make_station_officer(station)


def _case_ids(html: str) -> list[int]:
    return sorted({int(n) for n in re.findall(r'href="/staff/complaints/(\d+)"', html)})


# --- accounts ----------------------------------------------------------------------------

def test_cli_creates_a_station_account(runner: Any, station: Any) -> None:
    result = runner.invoke(args=["users", "create", "--login", "13800138000", "--name", "站长",
                                 "--role", "station", "--station", station.name, "--password", TEST_PASSWORD])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.phone == "13800138000"))
    assert (user.role, user.station_id) == ("station", station.id)


@pytest.mark.parametrize("args, message", [
    (["--role", "station"], "--station NAME goes with --role station"),
    (["--role", "staff", "--station", "南洋广场站"], "--station NAME goes with --role station"),
    (["--role", "station", "--station", "没有这个站"], "no supervision station named"),
])
def test_cli_refuses_a_station_account_without_its_station(runner: Any, station: Any, args: list[str],
                                                           message: str) -> None:
    result = runner.invoke(args=["users", "create", "--login", "13800138001", "--name", "站长",
                                 "--password", TEST_PASSWORD, *args])
    assert result.exit_code != 0 and message in result.output
    assert count_rows(User, User.phone == "13800138001") == 0


def test_an_admin_creates_a_station_account_in_the_staff_area(client: Any, station: Any) -> None:
    login(client, make_user("admin"))
    url = f"/staff/stations/{station.id}/accounts"
    data = {"login": "zhan@example.test", "display_name": "李站长", "password": "长长的一句话就当作我的密码",
            "confirm": "长长的一句话就当作我的密码"}
    assert form_post(client, url, data).status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "zhan@example.test"))
    assert (user.role, user.station_id, user.display_name) == ("station", station.id, "李站长")
    again = form_post(client, url, data)
    assert again.status_code == 409 and "zhan@example.test" in text(again)  # input kept
    assert form_post(client, url, {**data, "login": "x@example.test", "password": "short", "confirm": "short"}
                     ).status_code == 400
    assert "李站长" in text(client.get(url))
    # Switched off: the officer's sessions end.
    toggle = form_post(client, f"{url}/{user.id}/toggle", {}, form_url=url)
    assert toggle.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).disabled


def test_only_admins_manage_station_accounts(client: Any, station: Any, station_officer: User) -> None:
    url = f"/staff/stations/{station.id}/accounts"
    login(client, make_user("staff"))
    assert client.get(url).status_code == 403
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/staff/complaints/")})
    login(client, station_officer)
    assert client.get(url).status_code == 403


def test_a_station_account_for_an_inactive_station_is_refused(app: Any, station: Any) -> None:
    station.active = False
    db.session.commit()
    with pytest.raises(station_services.StationError):
        station_services.create_account(station, "a@example.test", "A", TEST_PASSWORD)


# --- what a station sees -------------------------------------------------------------------

def test_a_station_lands_on_its_complaint_queue(client: Any, station_officer: User) -> None:
    response = login(client, station_officer)
    assert response.headers["Location"].endswith("/staff/complaints/")
    assert client.get("/portal/").status_code in (302, 403)
    assert client.get("/portal/").headers.get("Location", "").endswith("/staff/complaints/")


def test_a_station_sees_only_its_areas_cases(client: Any, areas: list[CommercialArea], station: Any,
                                            other_station: Any, station_officer: User) -> None:
    ours = make_filed_complaint(make_merchant(area_id=areas[0].id))
    theirs = make_filed_complaint(make_merchant(area_id=areas[1].id))
    bureau = make_filed_complaint(make_merchant(area_id=None))
    assert (ours.station_id, theirs.station_id, bureau.station_id) == (station.id, other_station.id, None)
    login(client, station_officer)
    assert _case_ids(text(client.get("/staff/complaints/?status=all"))) == [ours.id]
    # Asking for another station's cases by the filter shows nothing more.
    assert _case_ids(text(client.get(f"/staff/complaints/?station={other_station.id}"))) == [ours.id]
    for case in (theirs, bureau):
        assert client.get(f"/staff/complaints/{case.id}").status_code == 404
        token = csrf_token(client, f"/staff/complaints/{ours.id}")
        for action in ("accept", "pause", "resume", "hand-over", "reveal"):
            assert client.post(f"/staff/complaints/{case.id}/{action}", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("url", ["/staff/", "/staff/complaints/stats", "/staff/complaints/holidays",
                                 "/staff/complaints/stations", "/staff/stations/service-levels",
                                 "/staff/complaints/settings/deadlines"])
def test_a_station_gets_no_staff_only_page(client: Any, station_officer: User, url: str) -> None:
    login(client, station_officer)
    assert client.get(url).status_code == 403


def test_a_station_sees_the_full_phone_only_as_the_handling_officer(client: Any, areas: list[CommercialArea],
                                                                   station: Any, station_officer: User) -> None:
    case = make_filed_complaint(make_merchant(area_id=areas[0].id))
    login(client, station_officer)
    page = text(client.get(f"/staff/complaints/{case.id}"))
    assert SHOPPER_PHONE not in page and SHOPPER_PHONE[:3] + "****" + SHOPPER_PHONE[-4:] in page
    url = f"/staff/complaints/{case.id}"
    assert form_post(client, f"{url}/reveal", {}, form_url=url).status_code == 403  # not assigned yet
    assert form_post(client, f"{url}/accept", {}, form_url=url).status_code == 302  # accepting assigns it
    revealed = form_post(client, f"{url}/reveal", {}, form_url=url)
    assert revealed.status_code == 200 and SHOPPER_PHONE in text(revealed)
    assert count_rows(PhoneReveal, PhoneReveal.officer_id == station_officer.id) == 1
    # Another officer of the same station, not assigned, sees it masked.
    colleague = make_station_officer(station)
    other = client.application.test_client()
    login(other, colleague)
    assert SHOPPER_PHONE not in text(other.get(url))
    assert form_post(other, f"{url}/reveal", {}, form_url=url).status_code == 403


def test_a_station_handles_a_case_to_the_end(client: Any, areas: list[CommercialArea],
                                           station_officer: User) -> None:
    case = make_filed_complaint(make_merchant(area_id=areas[0].id))
    login(client, station_officer)
    url = f"/staff/complaints/{case.id}"
    for action in ("accept", "forward", "mediate"):
        assert form_post(client, f"{url}/{action}", {}, form_url=url).status_code == 302, action
    closed = form_post(client, f"{url}/close", {"outcome": "resolved", "amount_recovered": "120",
                                               "upheld": "yes", "close_note": "商家退款"}, form_url=url)
    assert closed.status_code == 302
    db.session.expire_all()
    c = db.session.get(Complaint, case.id)
    assert (c.status, c.outcome, c.amount_recovered_cents) == ("closed", "resolved", 12000)
    assert {e.actor_id for e in c.events if e.kind in ("accepted", "forwarded", "resolved")} == {station_officer.id}


def test_a_station_hands_a_case_to_the_bureau_with_a_reason(client: Any, areas: list[CommercialArea],
                                                           station: Any, station_officer: User) -> None:
    case = make_filed_complaint(make_merchant(area_id=areas[0].id))
    login(client, station_officer)
    url = f"/staff/complaints/{case.id}"
    assert form_post(client, f"{url}/hand-over", {"handover_reason": ""}, form_url=url).status_code == 400
    handed = form_post(client, f"{url}/hand-over", {"handover_reason": "商家拒绝到场调解"}, form_url=url)
    assert handed.status_code == 302
    db.session.expire_all()
    c = db.session.get(Complaint, case.id)
    assert (c.station_id, c.handed_from_station_id, c.assigned_officer_id) == (None, station.id, None)
    event = db.session.scalar(sa.select(ComplaintEvent).where(ComplaintEvent.kind == "handed_to_bureau"))
    assert (event.note, event.public, event.actor_id) == ("商家拒绝到场调解", False, station_officer.id)
    assert client.get(url).status_code == 404  # the station no longer has it
    staff = client.application.test_client()
    login(staff, make_user("staff"))
    page = text(staff.get(url))
    assert "南洋广场站" in page and "hand-over" not in page  # staff cannot hand over: they are the bureau


def test_staff_cannot_hand_over_a_case(app: Any, areas: list[CommercialArea], station: Any) -> None:
    case = make_filed_complaint(make_merchant(area_id=areas[0].id))
    with pytest.raises(workflow.WorkflowError) as err:
        workflow.hand_to_bureau(make_user("staff"), case, "x")
    assert err.value.code == "not_station_case"


def test_a_station_files_under_its_own_targets(app: Any, areas: list[CommercialArea], station: Any) -> None:
    station.acceptance_days, station.completion_days = 2, 10
    db.session.commit()
    now = datetime(2026, 6, 1, 2, tzinfo=UTC)  # Monday 10:00 in the city
    cal = deadlines.calendar()
    ours = make_filed_complaint(make_merchant(area_id=areas[0].id), now=now)
    bureau = make_filed_complaint(make_merchant(area_id=None), now=now)
    assert ours.acceptance_due_at == cal.add_workdays(now, 2)
    assert ours.completion_due_at == cal.add_workdays(now, 10)
    assert bureau.acceptance_due_at == cal.add_workdays(now, 1)


# --- the clock ---------------------------------------------------------------------------

def test_the_clock_stops_with_a_reason_and_starts_again(client: Any, areas: list[CommercialArea],
                                                        station_officer: User) -> None:
    case = make_filed_complaint(make_merchant(area_id=areas[0].id))
    login(client, station_officer)
    url = f"/staff/complaints/{case.id}"
    assert form_post(client, f"{url}/accept", {}, form_url=url).status_code == 302
    assert form_post(client, f"{url}/pause", {"pause_reason": "other", "pause_note": ""}, form_url=url
                     ).status_code == 400  # "other" needs the details
    assert form_post(client, f"{url}/pause", {"pause_reason": "testing", "pause_note": "送检电池"},
                     form_url=url).status_code == 302
    assert form_post(client, f"{url}/pause", {"pause_reason": "testing"}, form_url=url).status_code == 409
    assert "送检电池" in text(client.get(url))
    assert form_post(client, f"{url}/resume", {}, form_url=url).status_code == 302
    assert form_post(client, f"{url}/resume", {}, form_url=url).status_code == 409
    pause = db.session.scalar(sa.select(ClockPause))
    assert pause.ended_at is not None and pause.ended_by_id == station_officer.id


def test_starting_the_clock_again_moves_the_targets_on_by_the_working_days_stopped(app: Any) -> None:
    officer = make_user("staff")
    received = datetime(2026, 6, 15, 2, tzinfo=UTC)  # Monday 15 June, 10:00 local
    case = make_filed_complaint(make_merchant(area_id=None), now=received)
    cal = deadlines.calendar()
    completion = case.completion_due_at
    workflow.pause_clock(officer, case, "appraisal", "")
    pause = db.session.scalar(sa.select(ClockPause))
    pause.started_at = datetime(2026, 6, 17, 1, tzinfo=UTC)  # stopped on Wednesday 17 June
    db.session.commit()
    workflow.resume_clock(officer, case, now=datetime(2026, 6, 23, 8, tzinfo=UTC))  # Tuesday 23 June
    # 18, 22 and 23 June are working days (19 June is the Dragon Boat Festival).
    assert case.completion_due_at == cal.add_workdays(completion, 3)
    clock = workflow.clock(case, now=datetime(2026, 6, 24, tzinfo=UTC))
    assert clock.legal_acceptance.due == cal.add_workdays(received, 7 + 3)


# --- service levels --------------------------------------------------------------------------

def test_the_bureau_sees_each_stations_service_levels(client: Any, areas: list[CommercialArea], station: Any,
                                                     other_station: Any, station_officer: User) -> None:
    now = datetime.now(UTC)
    late = make_filed_complaint(make_merchant(area_id=areas[0].id), now=now - timedelta(days=20))
    fresh = make_filed_complaint(make_merchant(area_id=areas[0].id), now=now)
    handed = make_filed_complaint(make_merchant(area_id=areas[0].id), now=now)
    workflow.accept(station_officer, fresh)
    workflow.hand_to_bureau(station_officer, handed, "需要执法")
    rows = {r.station.name if r.station else None: r for r in station_services.service_levels(
        (now - timedelta(days=30)).date(), now.date() + timedelta(days=1))}
    ours = rows["南洋广场站"]
    assert (ours.received, ours.handed_to_bureau, ours.open_overdue) == (3, 1, 1)
    assert ours.acceptance_target.met == 1 and ours.acceptance_target.missed == 1  # late one not decided
    assert ours.acceptance_legal.missed == 1  # 20 days: past the 7 working days of the law too
    assert rows["华发广场站"].received == 0
    assert rows[None].received == 1  # the handed-over case is the bureau's now
    assert late.id and fresh.id
    login(client, make_user("staff"))
    page = client.get("/staff/stations/service-levels")
    assert page.status_code == 200 and "南洋广场站" in text(page) and "华发广场站" in text(page)
    assert client.get("/staff/stations/service-levels?start=2026-01-01&end=2025-01-01").status_code == 400
    assert client.get("/staff/stations/service-levels?start=notadate").status_code == 400
