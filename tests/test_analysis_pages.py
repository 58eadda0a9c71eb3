"""The staff analysis pages: the dashboard and the trends page with their charts, tables and
downloads; access (bureau staff only); the filter's errors; odd input never answers 500."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from pledge_registry.analysis import dashboard
from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import Town
from pledge_registry.security import CSP
from tests.factories import make_complaint, make_merchant, make_station, make_station_officer, make_user
from tests.helpers import login

TZ = ZoneInfo("Asia/Shanghai")
SHOPPER = {"shopper_name": "赵六", "shopper_phone": "13955556666", "account": "经过很长的一段描述"}


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)


def _cases(merchant: Any, day: date, n: int, **fields: Any) -> None:
    for _ in range(n):
        received = _at(day)
        make_complaint(merchant, received_at=received, status="closed", outcome="resolved",
                       accepted_at=received + timedelta(hours=3), closed_at=received + timedelta(days=3),
                       acceptance_due_at=received + timedelta(days=1), completion_due_at=received + timedelta(days=9),
                       amount_recovered_cents=1000, **SHOPPER, **fields)


@pytest.fixture
def city(app: Any) -> dict[str, Any]:
    """Complaints this month, last month and a year ago, in two towns and two industries."""
    t1, t2 = db.session.scalars(sa.select(Town).order_by(Town.id).limit(2))
    food = make_merchant(town_id=t1.id, category="food", shop_name="老王面馆", credit_code="91320585MA1XXXXX0X")
    prepaid = make_merchant(town_id=t2.id, category="prepaid", shop_name="=HYPERLINK(1)健身")
    today = local_today()
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    _cases(food, this_month, 3)
    _cases(prepaid, this_month, 4, survey="satisfied")
    _cases(prepaid, last_month, 2)
    _cases(food, date(this_month.year - 1, this_month.month, 1), 5)
    staff = make_user("staff")
    return {"towns": (t1, t2), "food": food, "prepaid": prepaid, "staff": staff, "month": this_month,
            "last_month": last_month}


def _staff(client: Any, city: dict[str, Any]) -> Any:
    login(client, city["staff"])
    return client


def test_dashboard_shows_charts_tables_and_downloads(client, city):
    response = _staff(client, city).get("/staff/analysis/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count("<svg") == len(dashboard.DASHBOARD)
    assert "<script" not in page and " style=" not in page        # the CSP allows neither
    assert "<caption>" in page and "<details" in page
    assert "老王面馆" in page                                        # top merchants by size
    assert "13955556666" not in page and "赵六" not in page            # aggregates only
    assert "/staff/analysis/charts.css" in page
    assert 'href="/staff/analysis/data/received.csv?' in page
    assert "Content-Security-Policy" in response.headers
    assert response.headers["Content-Security-Policy"] == CSP
    # The staff navigation leads here.
    assert 'href="/staff/analysis/"' in client.get("/staff/complaints/stats").get_data(as_text=True)


def test_chart_stylesheet(client, city):
    response = _staff(client, city).get("/staff/analysis/charts.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert "svg.pygal-chart" in response.get_data(as_text=True)


def test_trends_page_cut_and_comparisons(client, city):
    _staff(client, city)
    month, last_month = city["month"], city["last_month"]
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    page = client.get(f"/staff/analysis/trends?start={month}&end={end}&bucket=month&dimension=category"
                      "&request_type=complaint").get_data(as_text=True)
    assert page.count("<svg") == len(dashboard.TRENDS)
    assert f'value="{month.isoformat()}"' in page                    # kept input
    # This month: 7 received; the month before 2; a year earlier 5.
    received = re.search(r'<th scope="row">[^<]*</th><td>7</td>\s*<td>2 \(\+250\.0%\)</td>\s*<td>5 \(\+40\.0%\)</td>',
                         page)
    assert received, "the comparison row"
    assert "预付" in page or "Prepaid" in page
    weeks = client.get(f"/staff/analysis/trends?start={last_month}&end={end}&bucket=week&dimension=merchant"
                       "&request_type=complaint")
    assert weeks.status_code == 200 and "老王面馆" in weeks.get_data(as_text=True)


def test_trends_in_one_town(client, city):
    _staff(client, city)
    t1, _ = city["towns"]
    month = city["month"]
    page = client.get(f"/staff/analysis/trends?start={month}&end={month + timedelta(days=27)}&bucket=month"
                      f"&dimension=category&request_type=complaint&town={t1.id}").get_data(as_text=True)
    assert "<td>3</td>" in page and "健身" not in page


@pytest.mark.parametrize("query, message", [
    ("start=2026-05-01&end=2026-04-01", "The end date is before the start date."),
    ("start=2020-01-01&end=2026-01-01", "Choose a period of at most three years."),
    ("start=1900-01-01&end=1900-02-01", "Choose a date from 2000 to 2099."),
    ("start=2026-13-45", "Not a valid date value."),
    ("bucket=year", "Not a valid choice."),
    ("dimension=shoe_size", "Not a valid choice."),
    ("request_type=x", "Not a valid choice."),
    ("town=abc", "Not a valid choice."),
])
def test_form_errors_keep_the_input(client, city, query, message):
    _staff(client, city)
    client.set_cookie("lang", "en")
    response = client.get(f"/staff/analysis/trends?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "<svg" not in page
    first = query.split("&")[0].split("=")[1]
    assert first in page                                               # what was typed is shown again


@pytest.mark.parametrize("query", [
    "start=%00&end=%ff", "start=2026-01-01&end=2026-01-01&bucket=week", "town=99999999999999999999",
    "town=-1", "start=2099-12-31&end=2099-12-31", "start=2000-01-01&end=2002-12-31&bucket=week",
    "dimension=&bucket=", "start=2024-02-29&end=2024-02-29", "x=1",
])
def test_odd_input_never_500(client, city, query):
    _staff(client, city)
    for path in ("/staff/analysis/trends", "/staff/analysis/data/received.csv", "/staff/analysis/data/cut.xlsx"):
        assert client.get(f"{path}?{query}").status_code in (200, 400)
    assert client.get("/staff/analysis/data/nothing.csv").status_code == 404
    assert client.get("/staff/analysis/data/received.pdf").status_code == 404


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_downloads_match_the_page(client, city):
    _staff(client, city)
    client.set_cookie("lang", "en")
    month = city["month"]
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    args = f"start={month}&end={end}&bucket=month&dimension=category&request_type=complaint"
    response = client.get(f"/staff/analysis/data/breakdown.csv?{args}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv_rows(response.data)
    header_at = next(i for i, r in enumerate(rows) if r[:3] == ["Industry", "Stored code", "Cases received"])
    body = rows[header_at + 1:]
    assert [r[1:4] for r in body] == [["prepaid", "4", "2"], ["food", "3", "0"]]
    page = client.get(f"/staff/analysis/trends?{args}").get_data(as_text=True)
    for row in body:                                                  # the page's table has the same figures
        assert f"<td>{row[1]}</td><td>{row[2]}</td><td>{row[3]}</td>" in page
    xlsx = client.get(f"/staff/analysis/data/breakdown.xlsx?{args}")
    assert xlsx.status_code == 200
    values = list(load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(values) if list(r[:2]) == ["Industry", "Stored code"])
    assert [list(r[1:4]) for r in values[header_at + 1:]] == [["prepaid", 4, 2], ["food", 3, 0]]
    # A name that looks like a formula is written as text.
    merchants = _csv_rows(client.get(f"/staff/analysis/data/merchants.csv?{args}").data)
    assert any(r and r[0].startswith("'=HYPERLINK") for r in merchants)
    # The service levels: 7 received, all accepted and finished on time, one survey of four... satisfied.
    service = _csv_rows(client.get(f"/staff/analysis/data/service.csv?{args}").data)
    assert service[-1][:3] == [month.strftime("%Y-%m"), "7", "100.0"] and service[-1][8] == "100.0"


def test_staff_only(client, city):
    assert client.get("/staff/analysis/").status_code in (302, 303)          # anonymous: sign in
    station = make_station(city["food"].area_id)
    login(client, make_station_officer(station))
    for path in ("/staff/analysis/", "/staff/analysis/trends", "/staff/analysis/data/received.csv",
                 "/staff/analysis/charts.css"):
        assert client.get(path).status_code == 403
    client.post("/account/logout")
    login(client, city["food"].owner)
    assert client.get("/staff/analysis/").status_code == 403


def test_chinese_first(client, city):
    page = _staff(client, city).get("/staff/analysis/").get_data(as_text=True)
    assert "研判分析" in page and "收到的诉求件数，按月" in page
    assert "Requests received" not in page and "By month" not in page


def test_the_demo_year_shows_on_the_dashboard(app, runner):
    result = runner.invoke(args=["demo", "load", "--merchants", "48", "--seed", "5"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    client.set_cookie("lang", "en")
    login(client, make_user("staff"))
    page = client.get("/staff/analysis/").get_data(as_text=True)
    assert page.count("<svg") == len(dashboard.DASHBOARD)
    rows = _csv_rows(client.get("/staff/analysis/data/received.csv").data)
    header_at = next(i for i, r in enumerate(rows) if r[:2] == ["Period", "Cases received"])
    monthly = [int(r[1]) for r in rows[header_at + 1:]]
    assert len(monthly) == 13 and sum(monthly) > 0 and sum(1 for n in monthly if n) >= 10
