"""Who may be nominated a safe-consumption unit, and why not (pure: no Flask, no database).

Two levels: the participating list (参创名单) and demonstration units (示范单位). The
services gather a merchant's facts; ``eligibility(facts)`` answers rule by rule, so the
merchant, the town officer and the city officer all read the same why-not.

Rules (keys are stable; the UI translates them):
  registration  the shop's registration is approved
  grade         current rating at least B (participant) / A (demonstration)
  pledges       at least one pledge active (participant); both pledges active without a
                break for at least 6 months (demonstration)
  penalty       no administrative penalty decided in the last 12 months
  complaints    no open complaint past its completion deadline
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..ratings.model import grade_rank

LEVELS = ("participant", "demonstration")
PLEDGE_KINDS = ("genuine", "returns")
RULE_KEYS = ("registration", "grade", "pledges", "penalty", "complaints")

MIN_GRADE = {"participant": "B", "demonstration": "A"}
PLEDGES_REQUIRED = {"participant": 1, "demonstration": 2}
PLEDGE_MONTHS = {"participant": 0, "demonstration": 6}
PENALTY_FREE_MONTHS = 12

Result = tuple[str, bool, dict[str, Any]]


@dataclass(frozen=True)
class Facts:
    """What the rules look at, for one merchant and the level asked for."""

    level: str
    as_of: date
    registration_approved: bool
    grade: str | None                       # "A".."D", "NR", or None: never rated
    # Pledge kind -> the date since which a pledge of that kind has stood without a break;
    # a kind that is not active now is absent (or None).
    pledges_active_since: Mapping[str, date | None] = field(default_factory=dict)
    last_penalty_on: date | None = None
    overdue_complaints: int = 0


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (31 March − 1 month = 28/29 February)."""
    y, m = divmod(day.year * 12 + (day.month - 1) - months, 12)
    return date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def eligibility(facts: Facts) -> list[Result]:
    """Every rule for the level asked, in a fixed order: (rule key, passed, detail)."""
    if facts.level not in LEVELS:
        raise ValueError(f"unknown nomination level {facts.level!r}")
    return [
        ("registration", facts.registration_approved, {}),
        _grade(facts),
        _pledges(facts),
        _penalty(facts),
        ("complaints", facts.overdue_complaints <= 0, {"overdue": max(facts.overdue_complaints, 0)}),
    ]


# Why a named unit falls below its level's rules, as the delisting flag keeps it: failed rule
# key -> the values its reason is worded from. Keys and values, never a sentence: the page
# words them in the reader's language when it shows them.
FlagReasons = dict[str, dict[str, Any]]


def flag_reasons(results: Iterable[Result]) -> FlagReasons:
    """The failed rules of a checklist, each with only the values its reason shows.

    The rest of a rule's detail (dates a qualification is expected on, which pledge kinds
    are active) is left out: a stored flag changes, and is logged again, only when its
    reasons change.
    """
    reasons: FlagReasons = {}
    for key, ok, detail in results:
        if ok:
            continue
        if key == "grade":
            grade = detail.get("grade")
            reasons[key] = {"grade": None if grade in (None, "NR") else grade, "required": detail["required"]}
        elif key == "pledges":
            reasons[key] = {"required": detail["required"], "long_enough": len(detail.get("long_enough", []))}
        elif key == "penalty":
            reasons[key] = {"last": detail.get("last")}
        elif key == "complaints":
            reasons[key] = {"overdue": detail["overdue"]}
        else:
            reasons[key] = {}
    return reasons


def is_eligible(results: Iterable[Result]) -> bool:
    return all(ok for _, ok, _ in results)


def failed(results: Iterable[Result]) -> list[Result]:
    return [r for r in results if not r[1]]


def _grade(facts: Facts) -> Result:
    required = MIN_GRADE[facts.level]
    detail = {"grade": facts.grade, "required": required}
    if facts.grade is None or facts.grade == "NR":
        return ("grade", False, {**detail, "not_rated": True})
    return ("grade", grade_rank(facts.grade) >= grade_rank(required), detail)


def _pledges(facts: Facts) -> Result:
    months = PLEDGE_MONTHS[facts.level]
    needed = PLEDGES_REQUIRED[facts.level]
    cutoff = months_before(facts.as_of, months)
    active = {k: d for k, d in facts.pledges_active_since.items() if k in PLEDGE_KINDS and d is not None}
    long_enough = sorted(k for k, since in active.items() if since <= cutoff)
    detail: dict[str, Any] = {
        "required": needed, "months": months, "active": sorted(active),
        "long_enough": long_enough, "since": {k: d.isoformat() for k, d in sorted(active.items())},
    }
    if months:
        detail["qualifies_on"] = _qualifies_on(active, months, needed)
    return ("pledges", len(long_enough) >= needed, detail)


def _qualifies_on(active: Mapping[str, date], months: int, needed: int) -> str | None:
    """The first day the pledge rule would pass if nothing changes (None: a pledge is missing)."""
    if len(active) < needed:
        return None
    dates = sorted(_months_after(since, months) for since in active.values())
    return dates[needed - 1].isoformat()


def _months_after(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + (day.month - 1) + months, 12)
    return date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def _penalty(facts: Facts) -> Result:
    since = months_before(facts.as_of, PENALTY_FREE_MONTHS)
    last = facts.last_penalty_on
    ok = last is None or last < since
    detail: dict[str, Any] = {"months": PENALTY_FREE_MONTHS, "last": last.isoformat() if last else None}
    if not ok and last is not None:
        # The first day on which the penalty is older than the window.
        detail["clear_on"] = (_months_after(last, PENALTY_FREE_MONTHS) + timedelta(days=1)).isoformat()
    return ("penalty", ok, detail)


@dataclass(frozen=True)
class PledgeSpan:
    """One pledge of a kind as the continuity rule sees it."""

    status: str
    activated_on: date | None
    ended_on: date | None   # when it stopped standing (superseded, expired); None if still standing


def continuous_since(spans: Iterable[PledgeSpan], as_of: date) -> date | None:
    """Since when pledges of one kind have stood without a break, up to `as_of`.

    The current pledge must be active. A renewal supersedes the previous pledge on the day it
    is approved, so its predecessor's activation counts as long as it ended no earlier than
    the day before its successor started; a suspension or revocation breaks the chain.
    """
    ordered = sorted((s for s in spans if s.activated_on is not None),
                     key=lambda s: s.activated_on, reverse=True)  # type: ignore[arg-type,return-value]
    if not ordered or ordered[0].status != "active":
        return None
    since: date = ordered[0].activated_on  # type: ignore[assignment]
    if since > as_of:
        return None
    for previous in ordered[1:]:
        if previous.status not in ("superseded", "expired") or previous.ended_on is None:
            break
        if (since - previous.ended_on).days > 1 or previous.activated_on is None:
            break
        since = previous.activated_on
    return since


def as_date(moment: datetime | date | None, tz: Any = None) -> date | None:
    """A stored moment as a calendar date (in `tz` if given)."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return (moment.astimezone(tz) if tz else moment).date()
    return moment
