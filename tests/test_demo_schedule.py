"""The demo city's year, as planned from a seed (pure: no app, no database)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from statistics import mean

import pytest

from pledge_registry.demo_activity import schedule
from pledge_registry.demo_activity.schedule import Rise, Shop, plan_year
from pledge_registry.localtime import local_date
from pledge_registry.workdays import WorkCalendar

TOWNS = ["城厢镇", "沙溪镇", "浏河镇", "浮桥镇", "璜泾镇", "双凤镇", "高新区", "港区"]
CATEGORIES = ["food", "clothing", "property", "vehicles", "appliances", "ebikes", "furniture", "beauty",
              "education", "prepaid", "telecoms", "other"]
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
RISE = Rise("高新区", "contract_terms", weeks=4)


def shops(n: int) -> list[Shop]:
    return [Shop(i, TOWNS[i % 8], CATEGORIES[i % 12], exemplary=i % 24 == 0) for i in range(1, n + 1)]


@pytest.fixture(scope="module")
def city() -> schedule.Plan:
    """A city of 2,000 shops: enough cases for the shape to show above the noise."""
    return plan_year(shops(2000), seed=11, now=NOW, calendar=WorkCalendar(), rise=RISE)


def per_day(plan: schedule.Plan) -> Counter[date]:
    return Counter(local_date(c.received) for c in plan.cases if not c.planted)


def test_volumes_follow_the_2023_proportions(city: schedule.Plan) -> None:
    usual = Counter(c.request_type for c in city.cases if not c.planted)
    assert sum(usual.values()) == round(2000 * schedule.REQUESTS_PER_SHOP_YEAR)
    total = sum(schedule.REQUEST_SHARES.values())
    for kind, share in schedule.REQUEST_SHARES.items():
        assert usual[kind] / sum(usual.values()) == pytest.approx(share / total, abs=0.002)


def test_the_same_seed_plans_the_same_year_and_another_seed_another() -> None:
    def summary(seed: int) -> list[tuple[str, str, int, datetime, str]]:
        plan = plan_year(shops(120), seed=seed, now=NOW, calendar=WorkCalendar(), rise=RISE)
        return [(c.request_type, c.problem_type, c.shop, c.received, c.status) for c in plan.cases]

    assert summary(5) == summary(5)
    assert summary(5) != summary(6)


def test_a_peak_around_15_march(city: schedule.Plan) -> None:
    days = per_day(city)
    year = [days[city.start + timedelta(days=i)] for i in range(365)]
    around = [days[date(2026, 3, 15) + timedelta(days=k)] for k in range(-2, 3)]
    assert mean(around) > 2 * mean(year)
    assert days[date(2026, 3, 15)] == max(year) or days[date(2026, 3, 15)] > 2.5 * mean(year)


def test_a_dip_over_the_spring_festival(city: schedule.Plan) -> None:
    assert date(2026, 2, 17) in city.dip_days and len(city.dip_days) >= 7   # 春节 2026: 15-23 February
    days = per_day(city)
    year = mean(days[city.start + timedelta(days=i)] for i in range(365))
    assert mean(days[d] for d in city.dip_days) < 0.5 * year


def test_one_planted_problem_rises_week_by_week_in_its_town(city: schedule.Plan) -> None:
    town_of = {s.key: s.town for s in shops(2000)}

    def weekly(town: str, problem: str) -> list[int]:
        counts = []
        for weeks_back in range(16, 0, -1):   # the last 16 weeks, oldest first
            last = city.end - timedelta(days=7 * (weeks_back - 1))
            first = last - timedelta(days=6)
            counts.append(sum(1 for c in city.cases if c.problem_type == problem and town_of[c.shop] == town
                              and first <= local_date(c.received) <= last))
        return counts

    rising = weekly("高新区", "contract_terms")
    before, last4 = rising[:12], rising[12:]
    assert all(b < a for a, b in zip(last4[1:], last4[:-1], strict=True))     # climbs every week
    assert min(last4[1:]) > 3 * max(mean(before), 1)
    elsewhere = weekly("沙溪镇", "contract_terms")
    assert max(elsewhere[12:]) < 3 * max(mean(elsewhere[:12]), 1) + 3         # no rise where none was planted


def test_handling_levels(city: schedule.Plan) -> None:
    complaints = [c for c in city.cases if c.request_type == "complaint" and c.outcome not in (None, "withdrawn")]
    answered = [c.survey_answer for c in complaints if c.survey_answer]
    assert Counter(answered)["satisfied"] / len(answered) == pytest.approx(0.93, abs=0.02)
    cal = WorkCalendar()
    accepted = [c for c in city.cases if c.step("accepted")]
    on_time = [c for c in accepted if cal.workdays_between(c.received, c.step("accepted").at) <= 1]
    assert 0.95 < len(on_time) / len(accepted) < 1
    closed = [c for c in complaints if c.outcome]
    finished = [c for c in closed if cal.workdays_between(c.received, c.steps[-1].at) <= 7]
    assert 0.8 < len(finished) / len(closed) < 0.95


@pytest.mark.parametrize("count", [12, 48])
def test_a_small_city_still_shows_every_state(count: int) -> None:
    plan = plan_year(shops(count), seed=3, now=NOW, calendar=WorkCalendar(), rise=RISE)
    complaints = [c for c in plan.cases if c.request_type == "complaint"]
    assert {c.status for c in complaints} == {*schedule.OPEN_STATUSES, "closed"}
    assert {c.outcome for c in complaints} >= set(schedule.OUTCOMES)
    cal = WorkCalendar()
    overdue = [c for c in complaints if c.outcome is None and cal.workdays_between(c.received, NOW) > 7]
    late = [c for c in complaints if c.step("accepted") and cal.workdays_between(c.received, c.step("accepted").at) > 1]
    assert overdue and late


def test_every_timeline_moves_forward_and_ends_before_now(city: schedule.Plan) -> None:
    for c in city.cases:
        moments = [s.at for s in c.steps]
        assert moments == sorted(moments) and moments[-1] < NOW
        assert c.steps[0].kind == "received"
        assert all(s.to_status != "closed" for s in c.steps[:-1])


def test_shops_kept_exemplary_draw_only_cases_resolved_on_time(city: schedule.Plan) -> None:
    spared = {s.key for s in shops(2000) if s.exemplary}
    theirs = [c for c in city.cases if c.shop in spared and c.request_type == "complaint"]
    assert theirs and all(c.path == "merchant" and c.hold is None for c in theirs)
    assert not any(c.planted for c in theirs)
