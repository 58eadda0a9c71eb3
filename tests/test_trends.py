"""Trends read from the tallies: weeks and months over a period, the period before and a
year earlier, cuts by dimension inside a town, and businesses by complaints per shop."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from pledge_registry.analysis import tally, trends
from pledge_registry.analysis.trends import TrendFilter
from pledge_registry.extensions import db
from pledge_registry.models import Complaint, Merchant, OpenCaseTally, Town
from tests.factories import make_complaint, make_merchant

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 4, tzinfo=UTC)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ).astimezone(UTC)


def _cases(merchant: Any, day: date, n: int, **fields: Any) -> None:
    for _ in range(n):
        received = at(day)
        fields.setdefault("acceptance_due_at", received + timedelta(days=2))
        fields.setdefault("completion_due_at", received + timedelta(days=10))
        make_complaint(merchant, received_at=received, status="closed", outcome="resolved",
                       accepted_at=received + timedelta(hours=3), closed_at=received + timedelta(days=3), **fields)


@pytest.fixture
def city(app: Any) -> dict[str, Any]:
    t1, t2 = db.session.scalars(sa.select(Town).order_by(Town.id).limit(2))
    chain = [make_merchant(town_id=t1.id, category="food", credit_code="91320585MA1XXXXX0X")
             for _ in range(4)]
    single = make_merchant(town_id=t2.id, category="prepaid")
    _cases(chain[0], date(2026, 10, 5), 2)          # Monday of week 41
    _cases(chain[1], date(2026, 10, 11), 1)         # Sunday, same week
    _cases(chain[2], date(2026, 10, 12), 3)         # next Monday
    _cases(single, date(2026, 10, 31), 4)           # last day of October (local)
    _cases(single, date(2026, 9, 15), 2)            # the month before
    _cases(single, date(2025, 10, 20), 5)           # a year earlier
    return {"towns": (t1, t2), "chain": chain, "single": single}


def test_weeks_and_months(city):
    f = TrendFilter(date(2026, 9, 1), date(2026, 10, 31))
    months = {p.period: p.levels.received for p in trends.service_levels_over_time(f, "month", now=NOW)}
    assert months == {date(2026, 9, 1): 2, date(2026, 10, 1): 10}
    weeks = {p.period: p.levels.received for p in trends.service_levels_over_time(f, "week", now=NOW)}
    assert weeks[date(2026, 10, 5)] == 3 and weeks[date(2026, 10, 12)] == 3 and weeks[date(2026, 10, 26)] == 4
    assert weeks[date(2026, 8, 31)] == 0 and len(weeks) == 9           # zeros included
    # A period cut inside months reads days at either end.
    part = TrendFilter(date(2026, 9, 16), date(2026, 10, 11))
    assert trends.totals(part, now=NOW).received == 3


def test_compare_with_the_period_before_and_a_year_earlier(city):
    october = TrendFilter(date(2026, 10, 1), date(2026, 10, 31))
    assert october.previous() == TrendFilter(date(2026, 9, 1), date(2026, 9, 30))
    change = trends.compare(october, now=NOW).received
    assert (change.current, change.previous, change.year_ago) == (10, 2, 5)
    assert change.vs_previous == pytest.approx(4.0) and change.vs_year_ago == pytest.approx(1.0)
    rows = {r.key: r.change for r in trends.compared_breakdown(october, "category", now=NOW).rows}
    assert (rows["prepaid"].current, rows["prepaid"].previous, rows["prepaid"].year_ago) == (4, 2, 5)
    assert rows["food"].previous == 0 and rows["food"].vs_previous is None


def test_cuts_within_a_town(city):
    _, t2 = city["towns"]
    october = TrendFilter(date(2026, 10, 1), date(2026, 10, 31))
    assert [(r.key, r.levels.received) for r in trends.breakdown(october, "category", now=NOW).rows] == \
        [("food", 6), ("prepaid", 4)]
    mine = TrendFilter(date(2026, 10, 1), date(2026, 10, 31), town_id=t2.id)
    assert [(r.key, r.levels.received) for r in trends.breakdown(mine, "category", now=NOW).rows] == [("prepaid", 4)]
    assert [r.key for r in trends.breakdown(mine, "town", now=NOW).rows] == [str(t2.id)]
    everyone = trends.breakdown(october, "merchant", now=NOW)
    assert everyone.total == 4
    # A merchant page is found by the ranked walk: the same rows, the total not counted.
    page = trends.breakdown(october, "merchant", now=NOW, limit=1, offset=1)
    assert page.rows == everyone.rows[1:2] and page.total is None
    assert trends.breakdown(october, "merchant", now=NOW, limit=0).rows == []
    series = trends.series(october, "week", "category", now=NOW)
    assert set(series) == {"food", "prepaid"} and sum(p.levels.received for p in series["food"]) == 6


def test_top_merchants_per_shop(city):
    october = TrendFilter(date(2026, 10, 1), date(2026, 10, 31))
    top = trends.top_merchants(october, min_complaints=3)
    # The one-shop business with 4 complaints ranks above the 4-shop chain with 6.
    assert [(r.complaints, r.shops) for r in top] == [(4, 1), (6, 4)]
    assert top[0].merchant_id == city["single"].id and top[1].per_shop == 1.5
    assert trends.top_merchants(october, min_complaints=5) == top[1:]


def _ranked_by_recount(f: TrendFilter, limit: int, min_complaints: int) -> list[tuple[str, int, int, int]]:
    """The ranking by complaints per approved shop, recounted from the complaints themselves:
    (credit code, complaints, approved shops, first shop with a complaint)."""
    from pledge_registry.models import Complaint, Merchant
    first, after = (datetime.combine(day, datetime.min.time(), tzinfo=TZ).astimezone(UTC)
                    for day in (f.start, f.end + timedelta(days=1)))
    counted: dict[str, list[int]] = {}
    for code, merchant_id, town_id in db.session.execute(
            sa.select(Merchant.credit_code, Merchant.id, Merchant.town_id).join(Complaint)
            .where(Complaint.received_at >= first, Complaint.received_at < after,
                   Complaint.request_type == f.request_type)):
        if f.town_id is None or town_id == f.town_id:
            counted.setdefault(code, []).append(merchant_id)
    shops = dict(db.session.execute(sa.select(Merchant.credit_code, sa.func.count())
                                    .where(Merchant.status == "approved").group_by(Merchant.credit_code)).all())
    rows = [(code, len(ids), shops.get(code, 0), min(ids)) for code, ids in counted.items()
            if len(ids) >= min_complaints]
    rows.sort(key=lambda r: (-r[1] / max(1, r[2]), -r[1], r[0]))
    return rows[:limit]


def test_top_merchants_equals_a_recount_where_the_walk_must_look_past_the_tops(app, monkeypatch):
    """Many businesses, chains with shops not approved, counts spread over the days of a part-
    month and whole months, ties: the walk's answer is the recount's, in every town and for
    every list length (a short list's threshold prunes the most). Keys go three to a
    statement here, so that the split of a long key list is walked too."""
    monkeypatch.setattr(trends, "KEYS_PER_STATEMENT", 3)
    import random
    rng = random.Random(20261203)
    towns = list(db.session.scalars(sa.select(Town.id).order_by(Town.id).limit(2)))
    for b in range(24):
        code = f"91320585MA{b:07d}X"
        for s in range(rng.choice([1, 1, 1, 2, 3, 5])):
            shop = make_merchant(town_id=rng.choice(towns), credit_code=code,
                                 status="approved" if s == 0 or rng.random() < 0.7 else "closed")
            # A business's complaints spread thin over many days, or piled on a few.
            days = [date(2026, 8, 20) + timedelta(days=rng.randrange(60)) for _ in range(rng.choice([1, 2, 8]))]
            for _ in range(rng.choice([0, 1, 2, 3, 4, 6, 9])):
                received = at(rng.choice(days))
                make_complaint(shop, received_at=received, commit=False, status="closed", outcome="resolved",
                               acceptance_due_at=received + timedelta(days=2), accepted_at=received,
                               completion_due_at=received + timedelta(days=10), closed_at=received)
    db.session.commit()
    for start, end in ((date(2026, 8, 24), date(2026, 10, 13)), (date(2026, 9, 1), date(2026, 9, 30)),
                       (date(2026, 9, 3), date(2026, 9, 3))):
        for town_id in (None, *towns):
            for limit, floor in ((1, 3), (3, 3), (5, 1), (40, 2)):
                f = TrendFilter(start, end, town_id=town_id)
                walked = [(r.credit_code, r.complaints, r.shops, r.merchant_id)
                          for r in trends.top_merchants(f, limit=limit, min_complaints=floor)]
                assert walked == _ranked_by_recount(f, limit, floor), (start, end, town_id, limit, floor)
                # The merchant breakdown's pages walk the same way: the rows of the whole ranking.
                if limit <= 5:
                    offset = limit // 2
                    paged = trends.breakdown(f, "merchant", now=NOW, limit=limit, offset=offset).rows
                    assert paged == trends.breakdown(f, "merchant", now=NOW).rows[offset:offset + limit]


def test_open_cases_past_their_deadline_count_live(app):
    shop = make_merchant()
    received = at(date(2026, 11, 2))
    make_complaint(shop, received_at=received, acceptance_due_at=received + timedelta(days=1),
                   completion_due_at=received + timedelta(days=9))
    f = TrendFilter(date(2026, 11, 1), date(2026, 11, 30))
    early = trends.totals(f, now=received + timedelta(hours=1))
    assert (early.acceptance_measured, early.completion_measured) == (0, 0)
    later = trends.totals(f, now=received + timedelta(days=20))
    assert (later.waiting_late, later.open_late, later.share_accepted_on_time) == (1, 1, 0)
    # Read once per session and moment, and never past a commit: a second late case shows.
    make_complaint(shop, received_at=received, acceptance_due_at=received + timedelta(days=1),
                   completion_due_at=received + timedelta(days=9))
    again = trends.totals(f, now=received + timedelta(days=20))
    assert (again.waiting_late, again.open_late) == (2, 2)


def _late_by_recount(request_type: str, town_id: int | None, now: datetime,
                     dimension: str) -> dict[tuple[date, str, str], int]:
    """The open cases past a deadline at `now`, counted from the complaints one by one."""
    found: dict[tuple[date, str, str], int] = {}
    for case in db.session.scalars(sa.select(Complaint).where(Complaint.request_type == request_type)):
        shop = db.session.get_one(Merchant, case.merchant_id)
        if town_id is not None and shop.town_id != town_id:
            continue
        key = {"all": "", "category": shop.category, "problem_type": case.problem_type, "channel": case.channel,
               "town": str(shop.town_id or ""), "area": str(shop.area_id or ""),
               "station": str(case.station_id or ""), "merchant": str(case.merchant_id),
               "business": shop.credit_code}[dimension]
        day = case.received_at.astimezone(TZ).date()
        late = {"waiting_late": case.status == "received" and case.acceptance_due_at < now,
                "open_late": case.status != "closed" and case.completion_due_at < now}
        for counter, is_late in late.items():
            if is_late:
                found[(day, key, counter)] = found.get((day, key, counter), 0) + 1
    return found


def test_late_cases_equal_a_recount_at_any_moment(app):
    """Deadlines on the days around the moment, on the moment's own day before and after it,
    and at the moment itself; open, waiting and closed cases; every dimension, in a town and
    in all: the tallies by deadline day plus the live count of the day are the recount."""
    t1, t2 = db.session.scalars(sa.select(Town).order_by(Town.id).limit(2))
    shops = [make_merchant(town_id=t1.id, category="food"), make_merchant(town_id=t2.id, category="prepaid"),
             make_merchant(town_id=t2.id, category="food", credit_code="91320585MA1XXXXX0X")]
    moment = at(date(2026, 11, 20), hour=15)
    # The moment is 15:00 local time: -15 hours is that day's local midnight.
    offsets = [timedelta(days=-3), timedelta(days=-1), timedelta(hours=-15), timedelta(hours=-14),
               timedelta(hours=-1), timedelta(0),
               timedelta(hours=1), timedelta(hours=8), timedelta(days=1)]
    for i, shop in enumerate(shops):
        for j, due in enumerate(offsets):
            received = moment - timedelta(days=4 + j)
            status = ("received", "accepted", "mediating", "closed")[(i + j) % 4]
            closing = {"outcome": "resolved", "closed_at": moment - timedelta(hours=2)} if status == "closed" else {}
            accepting = {"accepted_at": received + timedelta(hours=1)} if status != "received" else {}
            make_complaint(shop, commit=False, received_at=received, status=status, request_type="complaint",
                           acceptance_due_at=moment + due, completion_due_at=moment + due + timedelta(hours=30 * j),
                           problem_type=("quality", "price")[j % 2], **accepting, **closing)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OpenCaseTally)), "no open case tallied"
    for now in (moment, moment + timedelta(hours=2), moment + timedelta(days=2), moment - timedelta(days=2)):
        for dimension in tally.DIMENSIONS:
            for town_id in (None, t1.id, t2.id):
                db.session.info.pop(trends._LATE, None)
                got = trends._late_cases("complaint", town_id, now, dimension.name)
                expected = _late_by_recount("complaint", town_id, now, dimension.name)
                assert got == expected, (now, dimension, town_id)
                some = frozenset(sorted({k[1] for k in expected})[:2])
                assert trends._late_cases("complaint", town_id, now, dimension.name, some) \
                    == {k: n for k, n in expected.items() if k[1] in some}, (now, dimension, town_id, some)
                db.session.info.pop(trends._LATE, None)   # asked for a few keys first, then all
                assert trends._late_cases("complaint", town_id, now, dimension.name, some) \
                    == {k: n for k, n in expected.items() if k[1] in some}
                assert trends._late_cases("complaint", town_id, now, dimension.name) == expected


def test_a_period_is_at_most_three_years():
    with pytest.raises(ValueError):
        TrendFilter(date(2020, 1, 1), date(2026, 1, 1))
    with pytest.raises(ValueError):
        TrendFilter(date(2026, 2, 1), date(2026, 1, 1))


def test_each_bucket_against_the_one_before_and_a_year_earlier(city):
    autumn = TrendFilter(date(2026, 9, 1), date(2026, 10, 31))
    months = trends.compared_series(autumn, "month", now=NOW)
    assert [(p.period, p.change.current, p.change.previous, p.change.year_ago) for p in months] == [
        (date(2026, 9, 1), 2, 0, 0), (date(2026, 10, 1), 10, 2, 5)]
    assert months[1].change.vs_previous == pytest.approx(4.0)
    # Weeks: the week 52 weeks earlier (Monday 20 October 2025 is in the week of 19 October 2026).
    weeks = {p.period: p.change for p in trends.compared_series(TrendFilter(date(2026, 10, 12), date(2026, 10, 25)),
                                                                "week", now=NOW)}
    assert (weeks[date(2026, 10, 12)].current, weeks[date(2026, 10, 12)].previous) == (3, 3)   # before: 5-11 Oct
    assert weeks[date(2026, 10, 19)].year_ago == 5 and weeks[date(2026, 10, 12)].year_ago == 0
    # One key of a cut.
    food = trends.compared_series(autumn, "month", "category", "food", now=NOW)
    assert [p.change.current for p in food] == [0, 6]


def test_cut_by_channel(city):
    october = TrendFilter(date(2026, 10, 1), date(2026, 10, 31))
    single = city["single"]
    received = at(date(2026, 10, 30))
    make_complaint(single, received_at=received, channel="12345", channel_ref="T-1",
                   acceptance_due_at=received + timedelta(days=1), completion_due_at=received + timedelta(days=9))
    rows = {r.key: r.levels.received for r in trends.breakdown(october, "channel", now=NOW).rows}
    assert rows == {"web": 10, "12345": 1}


def test_a_ranking_is_walked_once_per_session_and_never_past_a_commit(city):
    f = TrendFilter(date(2026, 10, 1), date(2026, 10, 31))
    first = trends.breakdown(f, "merchant", now=NOW, limit=1).rows
    assert first == trends.breakdown(f, "merchant", now=NOW, limit=10).rows[:1]
    newcomer = make_merchant(town_id=city["towns"][1].id, category="food")
    _cases(newcomer, date(2026, 10, 20), 9)         # more than any shop had in October
    assert [r.key for r in trends.breakdown(f, "merchant", now=NOW, limit=1).rows] == [str(newcomer.id)]
    assert first[0].key != str(newcomer.id)
