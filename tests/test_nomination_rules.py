"""Eligibility of safe-consumption units: the pure rules, no database."""

from __future__ import annotations

from datetime import date

import pytest

from pledge_registry.nominations.rules import (
    Facts,
    PledgeSpan,
    continuous_since,
    eligibility,
    failed,
    is_eligible,
    months_before,
)

TODAY = date(2025, 6, 15)
LONG_AGO = date(2024, 1, 1)


def facts(level: str = "demonstration", **overrides: object) -> Facts:
    fields: dict[str, object] = {
        "level": level, "as_of": TODAY, "registration_approved": True, "grade": "A",
        "pledges_active_since": {"genuine": LONG_AGO, "returns": LONG_AGO},
        "last_penalty_on": None, "overdue_complaints": 0,
    }
    fields.update(overrides)
    return Facts(**fields)  # type: ignore[arg-type]


def by_key(results: list) -> dict:
    return {key: (ok, detail) for key, ok, detail in results}


def test_a_clean_shop_is_eligible_for_both_levels() -> None:
    for level in ("participant", "demonstration"):
        results = eligibility(facts(level))
        assert [k for k, _, _ in results] == ["registration", "grade", "pledges", "penalty", "complaints"]
        assert is_eligible(results), results


@pytest.mark.parametrize(("level", "grade", "ok"), [
    ("participant", "A", True), ("participant", "B", True), ("participant", "C", False),
    ("participant", "D", False), ("demonstration", "A", True), ("demonstration", "B", False),
    ("participant", "NR", False), ("demonstration", None, False),
])
def test_grade_threshold(level: str, grade: str | None, ok: bool) -> None:
    result = by_key(eligibility(facts(level, grade=grade)))["grade"]
    assert result[0] is ok
    assert result[1]["required"] == ("A" if level == "demonstration" else "B")
    if grade in (None, "NR"):
        assert result[1]["not_rated"] is True


def test_participant_needs_one_active_pledge_of_any_age() -> None:
    assert by_key(eligibility(facts("participant", pledges_active_since={"returns": TODAY})))["pledges"][0]
    ok, detail = by_key(eligibility(facts("participant", pledges_active_since={})))["pledges"]
    assert not ok and detail["required"] == 1


@pytest.mark.parametrize(("genuine", "returns", "ok"), [
    (date(2024, 12, 15), date(2024, 12, 15), True),     # exactly 6 months
    (date(2024, 12, 16), date(2024, 1, 1), False),      # one day short
    (date(2024, 1, 1), None, False),                    # only one pledge
])
def test_demonstration_needs_both_pledges_for_six_months(genuine: date, returns: date | None, ok: bool) -> None:
    since = {"genuine": genuine, "returns": returns}
    result, detail = by_key(eligibility(facts(pledges_active_since=since)))["pledges"]
    assert result is ok
    if genuine == date(2024, 12, 16):
        assert detail["qualifies_on"] == "2025-06-16"  # why not: and when it will pass
    if returns is None:
        assert detail["qualifies_on"] is None


@pytest.mark.parametrize(("last", "ok"), [
    (None, True), (date(2024, 6, 14), True), (date(2024, 6, 15), False), (date(2025, 1, 2), False),
])
def test_no_penalty_in_twelve_months(last: date | None, ok: bool) -> None:
    result, detail = by_key(eligibility(facts(last_penalty_on=last)))["penalty"]
    assert result is ok
    if not ok:
        assert detail["last"] == last.isoformat()  # type: ignore[union-attr]
        assert detail["clear_on"] > TODAY.isoformat()


def test_overdue_complaint_and_registration() -> None:
    results = eligibility(facts(overdue_complaints=2, registration_approved=False))
    assert [k for k, _, _ in failed(results)] == ["registration", "complaints"]
    assert by_key(results)["complaints"][1] == {"overdue": 2}


def test_unknown_level_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        eligibility(facts("gold"))


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2025, 3, 31), 1, date(2025, 2, 28)), (date(2024, 3, 31), 1, date(2024, 2, 29)),
    (date(2025, 1, 15), 12, date(2024, 1, 15)), (date(2025, 6, 15), 6, date(2024, 12, 15)),
])
def test_months_before(day: date, months: int, expected: date) -> None:
    assert months_before(day, months) == expected


def test_continuity_follows_renewals_and_breaks_at_suspension() -> None:
    renewed = [PledgeSpan("superseded", date(2023, 1, 10), date(2024, 1, 5)),
               PledgeSpan("active", date(2024, 1, 5), None)]
    assert continuous_since(renewed, TODAY) == date(2023, 1, 10)
    gap = [PledgeSpan("expired", date(2023, 1, 10), date(2024, 1, 10)),
           PledgeSpan("active", date(2024, 3, 1), None)]
    assert continuous_since(gap, TODAY) == date(2024, 3, 1)
    broken = [PledgeSpan("revoked", date(2023, 1, 10), None), PledgeSpan("active", date(2024, 3, 1), None)]
    assert continuous_since(broken, TODAY) == date(2024, 3, 1)
    assert continuous_since([PledgeSpan("suspended", date(2023, 1, 10), None)], TODAY) is None
    assert continuous_since([], TODAY) is None
