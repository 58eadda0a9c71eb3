"""Safe-consumption rating (放心消费评级): compliance counts in, an explainable grade out.

Pure module: no Flask, no database. The nightly job gathers counts over a rolling
12-month window with set-based SQL, builds one ``RatingInput`` per merchant and calls
``compute()``; the result says the grade, the score and, factor by factor, why.

How a rating is made (ideas from the Better Business Bureau and the UK food hygiene
rating scheme):

1. Seven factors each earn points up to a configured maximum; the maxima sum to 100
   and the score is the sum of the points (each rounded to 0.01).
2. The score maps to a grade through thresholds (by default A >= 85, B >= 70,
   C >= 55, else D).
3. Caps: some facts limit the grade however good the total is, so one bad element
   cannot be hidden by good ones. ``Rating.cap`` names the rule that actually lowered
   the grade; ``Rating.caps_hit`` lists every rule that applied.
4. Not yet rated ("NR") when there is too little history: no pledge active for
   ``min_history_days`` and no inspection, unless an adverse fact exists (a pledge
   suspended or revoked, a penalty, a pledge breach), which is always graded.

Where there is nothing to measure (no complaints, no answers due, no survey, no
inspection) the factor earns full points and its detail says ``no_data``.

Stable keys the UI translates:
  factors   pledges, complaint_volume, on_time, resolution, satisfaction,
            inspections, penalties
  caps      pledge_suspended, penalty_in_period, no_active_pledge,
            failed_inspection, pledge_breach
  improve   pledges.reinstate, pledges.sign, pledges.keep_promises,
            pledges.sign_second, pledges.keep_active, complaint_volume.reduce,
            on_time.answer_on_time, resolution.resolve_by_agreement,
            satisfaction.raise, inspections.pass, penalties.avoid

Inputs are clamped rather than rejected (a share's numerator to its denominator,
negative counts to 0, ``size_factor`` to at least 1) so one bad row cannot stop the
nightly run; ``input_problems()`` lists them for the caller to log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

GRADES = ("A", "B", "C", "D")
NOT_RATED = "NR"
FACTOR_KEYS = (
    "pledges",
    "complaint_volume",
    "on_time",
    "resolution",
    "satisfaction",
    "inspections",
    "penalties",
)
CAP_KEYS = (
    "pledge_suspended",
    "penalty_in_period",
    "no_active_pledge",
    "failed_inspection",
    "pledge_breach",
)
SHARE_FACTOR_KEYS = ("on_time", "resolution", "satisfaction")

_RANK = {"A": 3, "B": 2, "C": 1, "D": 0}


def grade_rank(grade: str) -> int:
    """Order grades for comparison (A=3 .. D=0); "NR" is not comparable."""
    try:
        return _RANK[grade]
    except KeyError:
        raise ValueError(f"grade {grade!r} has no rank (NR is not comparable)") from None


@dataclass(frozen=True, slots=True)
class RatingInput:
    """Counts for one merchant over the rating window, precomputed by SQL."""

    as_of: date
    active_pledges: int  # 0..2
    pledge_active_days: int  # the longest-running currently active pledge
    pledge_suspended: bool  # any pledge suspended or revoked now
    pledge_breaches: int  # upheld genuine-goods complaint or refused valid return
    size_factor: float  # business size proxy, >= 1.0
    complaints: int  # accepted complaints in the window
    complaints_upheld: int  # of which upheld against the merchant
    complaints_recent: int  # of which in the last 90 days
    answered_on_time: int
    answer_due: int
    resolved: int  # closed as resolved by agreement
    closed: int
    satisfied: int
    surveyed: int
    inspections: int
    inspections_failed: int
    penalties: int  # administrative penalties in the window
    days_since_last_penalty: int | None


@dataclass(frozen=True, slots=True)
class FactorResult:
    key: str
    points: float
    max_points: float
    detail: dict
    improve: str | None  # hint key for what would raise the points; None at max


@dataclass(frozen=True, slots=True)
class Rating:
    grade: str  # "A" | "B" | "C" | "D" | "NR"
    score: float  # 0..100, the sum of the factor points (computed for NR too)
    factors: tuple[FactorResult, ...]
    cap: str | None  # the cap rule that lowered the grade, if any
    uncapped_grade: str  # grade from the score alone; "NR" when not rated
    model_version: str
    caps_hit: tuple[str, ...] = ()  # every cap rule whose condition held
    as_of: date | None = None

    def factor(self, key: str) -> FactorResult:
        """The factor with this key."""
        for f in self.factors:
            if f.key == key:
                return f
        raise KeyError(key)

    def to_dict(self) -> dict:
        """Plain JSON-ready form, for storing the explanation beside the grade."""
        return {
            "grade": self.grade,
            "score": self.score,
            "cap": self.cap,
            "caps_hit": list(self.caps_hit),
            "uncapped_grade": self.uncapped_grade,
            "model_version": self.model_version,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "factors": [
                {
                    "key": f.key,
                    "points": f.points,
                    "max_points": f.max_points,
                    "detail": dict(f.detail),
                    "improve": f.improve,
                }
                for f in self.factors
            ],
        }


# The shipped model. Change ``version`` whenever any of these values change, so every
# stored rating says which model produced it.
_DEFAULT_WEIGHTS = {
    "pledges": 15.0,
    "complaint_volume": 25.0,
    "on_time": 15.0,
    "resolution": 10.0,
    "satisfaction": 10.0,
    "inspections": 15.0,
    "penalties": 10.0,
}
_DEFAULT_THRESHOLDS = ((85.0, "A"), (70.0, "B"), (55.0, "C"))
_DEFAULT_CAPS = {
    "pledge_suspended": "D",
    "penalty_in_period": "C",
    "no_active_pledge": "C",
    "failed_inspection": "B",
    "pledge_breach": "B",
}
_DEFAULT_SHARE_FLOORS = {"on_time": 0.5, "resolution": 0.3, "satisfaction": 0.5}

# Scalar settings: name -> (type, smallest allowed, largest allowed or None).
_SCALARS: dict[str, tuple[type, float, float | None]] = {
    "min_history_days": (int, 0, None),
    "pledge_full_days": (int, 1, None),
    "pledge_tenure_share": (float, 0.0, 1.0),
    "pledge_breach_cost": (float, 0.0, None),
    "complaint_upheld_weight": (float, 1.0, None),
    "complaint_recent_weight": (float, 1.0, None),
    "complaints_for_zero": (float, 1e-9, None),
    "share_prior_answers": (float, 0.0, None),
    "inspection_failure_cost": (float, 0.0, None),
    "penalty_cost": (float, 0.0, None),
    "penalty_cap_days": (int, 0, None),
}


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class RatingConfig:
    """Weights, thresholds and caps; an admin may change them, validated on creation."""

    version: str = "2026.1"
    # Maximum points per factor; must sum to 100.
    weights: Mapping[str, float] = field(default_factory=lambda: _frozen(_DEFAULT_WEIGHTS))
    # (lowest score, grade) for A, B, C in that order; anything lower is D.
    grade_thresholds: tuple[tuple[float, str], ...] = _DEFAULT_THRESHOLDS
    # Cap rule -> best grade allowed while the rule holds ("A" switches a cap off).
    caps: Mapping[str, str] = field(default_factory=lambda: _frozen(_DEFAULT_CAPS))
    # Without an inspection, a pledge must have been active this long to be rated.
    min_history_days: int = 90
    # Pledges: half the points for pledges held (a quarter each), half for tenure,
    # reaching full tenure after pledge_full_days; each breach costs that share.
    pledge_full_days: int = 365
    pledge_tenure_share: float = 0.5
    pledge_breach_cost: float = 0.5
    # Complaint volume: an upheld complaint counts this many times, a recent one
    # (last 90 days) this many times; extra weights add up. Points fall linearly to 0
    # at complaints_for_zero weighted complaints per unit of size_factor.
    complaint_upheld_weight: float = 3.0
    complaint_recent_weight: float = 1.5
    complaints_for_zero: float = 10.0
    # Shares (on time, resolved, satisfied): this many imaginary good answers are
    # added so one bad case in a tiny sample cannot zero the factor; a share at or
    # below the floor earns 0, rising linearly to full points at 100%.
    share_prior_answers: float = 2.0
    share_floors: Mapping[str, float] = field(default_factory=lambda: _frozen(_DEFAULT_SHARE_FLOORS))
    # Each failed inspection / penalty in the window costs this share of the factor.
    inspection_failure_cost: float = 0.5
    penalty_cost: float = 0.5
    # The penalty cap holds while the last penalty is younger than this.
    penalty_cap_days: int = 365

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.version, str) or not self.version.strip():
            raise ValueError("version must be a non-empty string")

        weights = _exact_mapping("weights", self.weights, FACTOR_KEYS)
        for key, raw in weights.items():
            value = _number(f"weights.{key}", raw, float, 0.0, None)
            # Points are kept in hundredths; finer weights could round past 100.
            if abs(value * 100.0 - round(value * 100.0)) > 1e-6:
                raise ValueError(f"weights.{key} must have at most two decimals, not {value!r}")
            weights[key] = value
        total = math.fsum(weights.values())
        if abs(total - 100.0) > 1e-6:
            raise ValueError(f"weights must sum to 100, not {total:g}")
        set_(self, "weights", MappingProxyType(weights))

        set_(self, "grade_thresholds", _thresholds(self.grade_thresholds))

        caps = _exact_mapping("caps", self.caps, CAP_KEYS)
        for key, grade in caps.items():
            if not isinstance(grade, str) or grade not in _RANK:
                raise ValueError(f"caps.{key} must be one of {', '.join(GRADES)}, not {grade!r}")
        set_(self, "caps", MappingProxyType(caps))

        floors = _exact_mapping("share_floors", self.share_floors, SHARE_FACTOR_KEYS)
        for key, raw in floors.items():
            value = _number(f"share_floors.{key}", raw, float, 0.0, None)
            if value >= 1.0:
                raise ValueError(f"share_floors.{key} must be below 1, not {value:g}")
            floors[key] = value
        set_(self, "share_floors", MappingProxyType(floors))

        for name, (kind, low, high) in _SCALARS.items():
            set_(self, name, _number(name, getattr(self, name), kind, low, high))

    def __hash__(self) -> int:
        # Equal configs share a version; the mapping fields themselves are unhashable.
        return hash(self.version)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RatingConfig:
        """Build a config from stored JSON; missing keys take the shipped defaults.

        Raises ValueError for unknown keys, bad values, or values that differ from
        the shipped model while keeping its version string.
        """
        if not isinstance(d, Mapping):
            raise ValueError("rating config must be a mapping")
        known = {"version", "weights", "grade_thresholds", "caps", "share_floors", *_SCALARS}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown rating config keys: {', '.join(map(str, unknown))}")
        config = cls(**d)
        if config.version == DEFAULT_CONFIG.version and config != DEFAULT_CONFIG:
            raise ValueError(
                f"config differs from the shipped model {DEFAULT_CONFIG.version}: give it a new version"
            )
        return config

    def to_dict(self) -> dict:
        """Plain JSON-ready form; ``from_dict(to_dict())`` gives an equal config."""
        out: dict[str, Any] = {
            "version": self.version,
            "weights": dict(self.weights),
            "grade_thresholds": [[score, grade] for score, grade in self.grade_thresholds],
            "caps": dict(self.caps),
            "share_floors": dict(self.share_floors),
        }
        for name in _SCALARS:
            out[name] = getattr(self, name)
        return out


def _exact_mapping(name: str, value: Any, keys: tuple[str, ...]) -> dict:
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise ValueError(f"unknown keys in {name}: {', '.join(map(str, unknown))}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ValueError(f"missing keys in {name}: {', '.join(missing)}")
    return {k: value[k] for k in keys}


def _number(name: str, value: Any, kind: type, low: float, high: float | None) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if kind is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"{name} must be a whole number, not {value!r}")
            value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, not {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low:g}, not {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high:g}, not {value!r}")
    return value


def _thresholds(value: Any) -> tuple[tuple[float, str], ...]:
    try:
        pairs = [tuple(pair) for pair in value]
    except TypeError:
        raise ValueError("grade_thresholds must be a list of [score, grade] pairs") from None
    if [len(p) for p in pairs] != [2, 2, 2] or [p[1] for p in pairs] != ["A", "B", "C"]:
        raise ValueError('grade_thresholds must be [[score, "A"], [score, "B"], [score, "C"]]')
    scores = [_number(f"grade_thresholds.{g}", s, float, 0.0, 100.0) for s, g in pairs]
    if not scores[0] > scores[1] > scores[2]:
        raise ValueError("grade_thresholds must fall strictly from A to C")
    return tuple(zip(scores, ("A", "B", "C"), strict=True))


DEFAULT_CONFIG = RatingConfig()


def _at_least(value: Any, low: Any) -> Any:
    """`value`, raised to `low`; a NaN becomes `low` too."""
    return value if value > low else low


def _within(value: int, low: int, high: int) -> int:
    return low if value < low else high if value > high else value


def _clamped(inp: RatingInput) -> RatingInput:
    """The input with every count in range: a part never above its whole, nothing below 0,
    at most two pledges, a size of at least 1 (input_problems() lists what this changes)."""
    complaints = _at_least(inp.complaints, 0)
    answer_due = _at_least(inp.answer_due, 0)
    closed = _at_least(inp.closed, 0)
    surveyed = _at_least(inp.surveyed, 0)
    inspections = _at_least(inp.inspections, 0)
    return RatingInput(
        as_of=inp.as_of,
        active_pledges=_within(inp.active_pledges, 0, 2),
        pledge_active_days=_at_least(inp.pledge_active_days, 0),
        pledge_suspended=bool(inp.pledge_suspended),
        pledge_breaches=_at_least(inp.pledge_breaches, 0),
        size_factor=_at_least(inp.size_factor, 1.0),
        complaints=complaints,
        complaints_upheld=_within(inp.complaints_upheld, 0, complaints),
        complaints_recent=_within(inp.complaints_recent, 0, complaints),
        answered_on_time=_within(inp.answered_on_time, 0, answer_due), answer_due=answer_due,
        resolved=_within(inp.resolved, 0, closed), closed=closed,
        satisfied=_within(inp.satisfied, 0, surveyed), surveyed=surveyed,
        inspections=inspections,
        inspections_failed=_within(inp.inspections_failed, 0, inspections),
        penalties=_at_least(inp.penalties, 0),
        days_since_last_penalty=inp.days_since_last_penalty,
    )


def _factor(key: str, max_points: float, frac: float, detail: dict, hint: str) -> FactorResult:
    """A factor earning ``frac`` of its maximum (0 when negative), rounded half-up to 0.01."""
    points = int(max_points * _at_least(frac, 0.0) * 100.0 + 0.5) / 100.0
    return FactorResult(key, points, max_points, detail, hint if points < max_points else None)


def _pledges(inp: RatingInput, config: RatingConfig) -> FactorResult:
    """Pledge standing: pledges held, for how long, kept or broken."""
    active, days, breaches = inp.active_pledges, inp.pledge_active_days, inp.pledge_breaches
    if inp.pledge_suspended or not active:
        frac = 0.0
    else:
        tenure = days / config.pledge_full_days
        tenure_share = config.pledge_tenure_share
        frac = (
            (1.0 - tenure_share) * active / 2
            + tenure_share * (tenure if tenure < 1.0 else 1.0)
            - breaches * config.pledge_breach_cost
        )
    if inp.pledge_suspended:
        hint = "pledges.reinstate"
    elif not active:
        hint = "pledges.sign"
    elif breaches:
        hint = "pledges.keep_promises"
    elif active < 2:
        hint = "pledges.sign_second"
    else:
        hint = "pledges.keep_active"
    detail = {"active_pledges": active, "active_days": days, "suspended": inp.pledge_suspended, "breaches": breaches}
    return _factor("pledges", config.weights["pledges"], frac, detail, hint)


def _complaint_volume(inp: RatingInput, config: RatingConfig) -> FactorResult:
    """Complaint volume relative to size; upheld and recent complaints weigh more."""
    weighted = (
        inp.complaints
        + (config.complaint_upheld_weight - 1.0) * inp.complaints_upheld
        + (config.complaint_recent_weight - 1.0) * inp.complaints_recent
    )
    per_size = weighted / inp.size_factor
    detail = {
        "complaints": inp.complaints,
        "upheld": inp.complaints_upheld,
        "recent": inp.complaints_recent,
        "weighted": weighted,
        "size_factor": inp.size_factor,
        "per_size": per_size,
        "no_data": inp.complaints == 0,
    }
    return _factor("complaint_volume", config.weights["complaint_volume"],
                   1.0 - per_size / config.complaints_for_zero, detail, "complaint_volume.reduce")


# Share factor -> (numerator field, denominator field, improvement hint).
_SHARES = {
    "on_time": ("answered_on_time", "answer_due", "on_time.answer_on_time"),
    "resolution": ("resolved", "closed", "resolution.resolve_by_agreement"),
    "satisfaction": ("satisfied", "surveyed", "satisfaction.raise"),
}


def _share(key: str, inp: RatingInput, config: RatingConfig) -> FactorResult:
    """A factor measuring a share (answered on time, resolved, satisfied), with imaginary
    good answers added so one bad case in a tiny sample cannot zero it."""
    num_name, den_name, hint = _SHARES[key]
    num, den = getattr(inp, num_name), getattr(inp, den_name)
    max_points = config.weights[key]
    if den == 0:
        detail = {num_name: 0, den_name: 0, "share": None, "share_counted": 1.0, "no_data": True}
        return _factor(key, max_points, 1.0, detail, hint)
    prior, floor = config.share_prior_answers, config.share_floors[key]
    counted = (num + prior) / (den + prior)
    detail = {num_name: num, den_name: den, "share": num / den, "share_counted": counted, "no_data": False}
    return _factor(key, max_points, (counted - floor) / (1.0 - floor), detail, hint)


def _inspections(inp: RatingInput, config: RatingConfig) -> FactorResult:
    """Inspections (抽查): each failure costs a share of the factor."""
    detail = {"inspections": inp.inspections, "failed": inp.inspections_failed, "no_data": inp.inspections == 0}
    return _factor("inspections", config.weights["inspections"],
                   1.0 - inp.inspections_failed * config.inspection_failure_cost, detail, "inspections.pass")


def _penalties(inp: RatingInput, config: RatingConfig) -> FactorResult:
    """Administrative penalties (行政处罚) in the window: each costs a share of the factor."""
    detail = {"penalties": inp.penalties, "days_since_last_penalty": inp.days_since_last_penalty}
    return _factor("penalties", config.weights["penalties"], 1.0 - inp.penalties * config.penalty_cost,
                   detail, "penalties.avoid")


def _caps_hit(inp: RatingInput, config: RatingConfig) -> tuple[str, ...]:
    """Every cap rule whose condition holds, in CAP_KEYS order."""
    held = {
        "pledge_suspended": inp.pledge_suspended,
        "penalty_in_period": _penalty_in_period(inp, config),
        "no_active_pledge": not inp.active_pledges,
        "failed_inspection": inp.inspections_failed > 0,
        "pledge_breach": inp.pledge_breaches > 0,
    }
    return tuple(key for key in CAP_KEYS if held[key])


def _penalty_in_period(inp: RatingInput, config: RatingConfig) -> bool:
    since = inp.days_since_last_penalty
    return inp.penalties > 0 or (since is not None and since < config.penalty_cap_days)


def _is_rated(inp: RatingInput, config: RatingConfig) -> bool:
    """Enough history (a pledge active long enough, or an inspection), or an adverse fact."""
    has_history = (inp.active_pledges and inp.pledge_active_days >= config.min_history_days) or inp.inspections > 0
    adverse = inp.pledge_suspended or _penalty_in_period(inp, config) or inp.pledge_breaches
    return bool(has_history or adverse)


def _grade(score: float, caps_hit: tuple[str, ...], config: RatingConfig) -> tuple[str, str, str | None]:
    """(grade, grade from the score alone, the cap that lowered it or None)."""
    (a_min, _), (b_min, _), (c_min, _) = config.grade_thresholds
    uncapped = "A" if score >= a_min else "B" if score >= b_min else "C" if score >= c_min else "D"
    rank, cap = _RANK[uncapped], None
    for key in caps_hit:
        if _RANK[config.caps[key]] < rank:
            rank, cap = _RANK[config.caps[key]], key
    return GRADES[3 - rank], uncapped, cap


def compute(inp: RatingInput, config: RatingConfig = DEFAULT_CONFIG) -> Rating:
    """Rate one merchant from its window counts."""
    inp = _clamped(inp)
    factors = (
        _pledges(inp, config),
        _complaint_volume(inp, config),
        *(_share(key, inp, config) for key in SHARE_FACTOR_KEYS),
        _inspections(inp, config),
        _penalties(inp, config),
    )
    # Points are whole hundredths, so re-rounding the sum only removes float noise.
    score = int(sum(f.points for f in factors) * 100.0 + 0.5) / 100.0
    caps_hit = _caps_hit(inp, config)
    if _is_rated(inp, config):
        grade, uncapped, cap = _grade(score, caps_hit, config)
    else:
        grade = uncapped = NOT_RATED
        cap = None
    return Rating(grade=grade, score=score, factors=factors, cap=cap, uncapped_grade=uncapped,
                  model_version=config.version, caps_hit=caps_hit, as_of=inp.as_of)


def input_problems(inp: RatingInput) -> list[str]:
    """Inconsistencies compute() silently clamps, for the caller to log."""
    problems = []
    for name in (
        "active_pledges",
        "pledge_active_days",
        "pledge_breaches",
        "complaints",
        "complaints_upheld",
        "complaints_recent",
        "answered_on_time",
        "answer_due",
        "resolved",
        "closed",
        "satisfied",
        "surveyed",
        "inspections",
        "inspections_failed",
        "penalties",
    ):
        if getattr(inp, name) < 0:
            problems.append(f"{name} < 0")
    if inp.active_pledges > 2:
        problems.append("active_pledges > 2")
    if not inp.size_factor >= 1.0:
        problems.append("size_factor < 1")
    for part, whole in (
        ("complaints_upheld", "complaints"),
        ("complaints_recent", "complaints"),
        ("answered_on_time", "answer_due"),
        ("resolved", "closed"),
        ("satisfied", "surveyed"),
        ("inspections_failed", "inspections"),
    ):
        if getattr(inp, part) > getattr(inp, whole):
            problems.append(f"{part} > {whole}")
    if inp.days_since_last_penalty is not None and inp.days_since_last_penalty < 0:
        problems.append("days_since_last_penalty < 0")
    return problems
