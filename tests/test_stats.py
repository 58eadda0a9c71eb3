"""Service levels measured in working days across the 2026 National Day holiday
(1-7 October off; Saturday 10 October worked), with filters, CSV export and access."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from pledge_registry.complaints import deadlines
from pledge_registry.complaints.stats import StatsFilter, service_levels
from pledge_registry.complaints.stats_views import CSV_HEADER
from pledge_registry.extensions import db
from pledge_registry.models import Complaint, Town
from tests.factories import make_complaint, make_merchant, make_user
from tests.helpers import login, missing_id

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
PERIOD = StatsFilter(start=date(2026, 9, 28), end=date(2026, 9, 30))


def at(month: int, day: int, hour: int = 10) -> datetime:
    """A local (Taicang) time in 2026."""
    return datetime(2026, month, day, hour, tzinfo=TZ).astimezone(UTC)


# What the statistics pages and the CSV must never show.
SHOPPER = {"shopper_name": "赵六", "shopper_phone": "13955556666", "account": "经过"}


def _complaint(merchant: Any, received: datetime, survey: str | None = None, **fields: Any) -> Complaint:
    """Received at `received` and closed when it has an outcome, with the deadlines filing
    gives it (1 and 7 working days): the statistics measure each case against them."""
    fields.setdefault("status", "closed" if "outcome" in fields else "received")
    cal = deadlines.calendar()
    return make_complaint(merchant, received_at=received, survey=survey, item="商品",
                          acceptance_due_at=cal.add_workdays(received, 1),
                          completion_due_at=cal.add_workdays(received, 7), **SHOPPER, **fields)


@pytest.fixture
def city(app: Any) -> dict[str, Any]:
    """Six complaints received 28-30 September 2026 in two towns, plus two outside the scope.

    working days: Sep 28, 29, 30 | Oct 1-7 holiday | Oct 8, 9, 10 (Sat, worked) | 11 off | 12 ...
    """
    t1, t2 = db.session.scalars(sa.select(Town).order_by(Town.id).limit(2))
    a = make_merchant(town_id=t1.id, area_id=t1.areas[0].id, category="food", contact_phone="13811112222")
    b = make_merchant(town_id=t2.id, area_id=t2.areas[0].id, category="ebikes", contact_phone="13833334444")
    # C1: accepted 1 working day later though 8 calendar days; closed after 4 (Oct 8, 9, 10, 12).
    _complaint(a, at(9, 30), accepted_at=at(10, 8, 9), closed_at=at(10, 12), outcome="resolved",
               amount_recovered_cents=30000, survey="satisfied")
    # C2: accepted after 1; closed after 9 working days: late.
    _complaint(a, at(9, 29, 15), accepted_at=at(9, 30), closed_at=at(10, 16), outcome="resolved",
               amount_recovered_cents=12050, survey="dissatisfied")
    # C3: rejected after 3 working days (Sep 29, 30, Oct 8): late acceptance, finished in time.
    _complaint(b, at(9, 28, 9), problem_type="contract_terms", closed_at=at(10, 8, 11), outcome="rejected",
               reject_reason="outside_scope", survey="satisfied")
    # C4: withdrawn before any decision: counted, not measured.
    _complaint(b, at(9, 30, 20), closed_at=at(10, 9), outcome="withdrawn")
    # C5: accepted the same day, still open long after 7 working days: late completion.
    _complaint(a, at(9, 28, 9), problem_type="advertising", accepted_at=at(9, 28, 15), status="mediating")
    # C6: never accepted: late on both.
    _complaint(b, at(9, 29))
    # Outside the scope: received after the period; a report (举报), not a complaint.
    _complaint(a, at(10, 1), accepted_at=at(10, 8), closed_at=at(10, 9), outcome="resolved",
               amount_recovered_cents=99900, survey="satisfied")
    _complaint(a, at(9, 29), request_type="report")
    return {"towns": (t1, t2), "merchants": (a, b)}


def test_totals_across_the_national_day_holiday(city):
    totals = service_levels(PERIOD, now=NOW).totals
    assert totals.received == 6
    assert (totals.accepted_on_time, totals.acceptance_measured) == (3, 5)
    assert totals.share_accepted_on_time == pytest.approx(0.6)
    assert (totals.finished_on_time, totals.completion_measured) == (2, 5)
    assert totals.share_finished_on_time == pytest.approx(0.4)
    assert (totals.closed, totals.resolved) == (4, 2)
    assert (totals.surveys_satisfied, totals.surveys_answered) == (2, 3)
    assert totals.satisfaction_rate == pytest.approx(2 / 3)
    assert totals.amount_recovered_cents == 42050


def test_filter_by_town(city):
    t1, t2 = city["towns"]
    first = service_levels(StatsFilter(PERIOD.start, PERIOD.end, town_id=t1.id), now=NOW).totals
    assert (first.received, first.accepted_on_time, first.acceptance_measured) == (3, 3, 3)
    assert (first.finished_on_time, first.completion_measured) == (1, 3)
    assert first.satisfaction_rate == 0.5
    assert first.amount_recovered_cents == 42050
    second = service_levels(StatsFilter(PERIOD.start, PERIOD.end, town_id=t2.id), now=NOW).totals
    assert (second.received, second.accepted_on_time, second.acceptance_measured) == (3, 0, 2)
    assert second.share_finished_on_time == 0.5
    assert (second.satisfaction_rate, second.amount_recovered_cents) == (1.0, 0)


def test_breakdowns_by_area_category_and_problem_type(city):
    _, t2 = city["towns"]
    report = service_levels(PERIOD, now=NOW)
    by = {d: {r.key: r.levels for r in rows} for d, rows in report.breakdowns.items()}
    area = by["area"][str(t2.areas[0].id)]
    assert area.received == 3 and area.share_accepted_on_time == 0
    food = by["category"]["food"]
    assert (food.received, food.amount_recovered_cents) == (3, 42050)
    quality = by["problem_type"]["quality"]
    assert quality.received == 4
    assert (quality.accepted_on_time, quality.acceptance_measured) == (2, 3)
    assert (quality.finished_on_time, quality.completion_measured) == (1, 3)
    assert "telecoms" not in by["category"]
    none = service_levels(StatsFilter(date(2025, 9, 28), date(2025, 9, 30)), now=NOW).totals
    assert none.received == 0 and none.share_accepted_on_time is None and none.satisfaction_rate is None


def test_breakdowns(city):
    t1, t2 = city["towns"]
    report = service_levels(PERIOD, now=NOW)
    by_problem = {r.key: r.levels for r in report.breakdowns["problem_type"]}
    assert {k: v.received for k, v in by_problem.items()} == {"quality": 4, "contract_terms": 1, "advertising": 1}
    assert by_problem["advertising"].share_finished_on_time == 0
    by_town = {r.key: r.levels for r in report.breakdowns["town"]}
    assert by_town[str(t1.id)].share_accepted_on_time == 1.0 and by_town[str(t2.id)].share_accepted_on_time == 0
    assert {r.key: r.levels.received for r in report.breakdowns["category"]} == {"food": 3, "ebikes": 3}
    assert {r.key for r in report.breakdowns["area"]} == {str(t1.areas[0].id), str(t2.areas[0].id)}


def test_the_period_is_in_local_dates(city):
    # 30 Sep 20:00 in Taicang is 12:00 UTC: inside a period ending on 30 September.
    last_day = service_levels(StatsFilter(date(2026, 9, 30), date(2026, 9, 30)), now=NOW).totals
    assert last_day.received == 2


# --- the pages ----------------------------------------------------------------------------

QUERY = "?start=2026-09-28&end=2026-09-30"


def test_staff_page_shows_the_levels(city, client):
    login(client, make_user(role="staff"))
    page = client.get("/staff/complaints/stats" + QUERY)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "60.0%" in html and "40.0%" in html and "66.7%" in html and "420.50" in html
    assert SHOPPER["shopper_phone"] not in html and SHOPPER["shopper_name"] not in html
    assert client.get("/staff/complaints/stats").status_code == 200   # default period


def test_invalid_filter_is_a_400_with_the_form(city, client):
    login(client, make_user(role="staff"))
    assert client.get("/staff/complaints/stats?start=2026-10-01&end=2026-09-01").status_code == 400
    assert client.get("/staff/complaints/stats?start=not-a-date").status_code == 400
    assert client.get(f"/staff/complaints/stats?town={missing_id(Town)}").status_code == 400
    assert client.get("/staff/complaints/stats.csv?start=2026-10-01&end=2026-09-01").status_code == 400


def test_csv_export(city, client):
    login(client, make_user(role="staff"))
    t1, _ = city["towns"]
    response = client.get("/staff/complaints/stats.csv" + QUERY)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once, not twice
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")            # UTF-8 BOM, for Excel
    text = body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER
    assert rows[1][0] == "total"
    assert rows[1][2:] == ["6", "60.0", "40.0", "4", "2", "66.7", "3", "420.50"]
    town_rows = {r[1]: r for r in rows if r[0] == "town"}
    assert town_rows[t1.name][2:] == ["3", "100.0", "33.3", "2", "2", "50.0", "2", "420.50"]
    assert not re.search(r"1[3-9]\d{9}", text)           # no phone number, shopper's or merchant's
    assert SHOPPER["shopper_name"] not in text and SHOPPER["account"] not in text


def test_csv_respects_the_filter(city, client):
    login(client, make_user(role="staff"))
    _, t2 = city["towns"]
    rows = list(csv.reader(io.StringIO(
        client.get(f"/staff/complaints/stats.csv{QUERY}&town={t2.id}").get_data(as_text=True))))
    assert rows[1][2] == "3"
    assert [r[1] for r in rows if r[0] == "town"] == [t2.name]


@pytest.mark.parametrize("url", ["/staff/complaints/stats", "/staff/complaints/stats.csv"])
def test_staff_only(app, client, url):
    assert client.get(url).status_code == 302                 # anonymous: to the login page
    login(client, make_user(role="merchant"))
    assert client.get(url).status_code == 403
