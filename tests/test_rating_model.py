import dataclasses
import json
import math
import time
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pledge_registry.ratings.model import (
    CAP_KEYS,
    DEFAULT_CONFIG,
    FACTOR_KEYS,
    GRADES,
    NOT_RATED,
    Rating,
    RatingConfig,
    RatingInput,
    compute,
    grade_rank,
    input_problems,
)

AS_OF = date(2026, 3, 15)


def make_input(**overrides) -> RatingInput:
    """An established merchant with a clean record: scores 100."""
    values = {
        "as_of": AS_OF,
        "active_pledges": 2,
        "pledge_active_days": 400,
        "pledge_suspended": False,
        "pledge_breaches": 0,
        "size_factor": 1.0,
        "complaints": 0,
        "complaints_upheld": 0,
        "complaints_recent": 0,
        "answered_on_time": 0,
        "answer_due": 0,
        "resolved": 0,
        "closed": 0,
        "satisfied": 0,
        "surveyed": 0,
        "inspections": 1,
        "inspections_failed": 0,
        "penalties": 0,
        "days_since_last_penalty": None,
    }
    values.update(overrides)
    return RatingInput(**values)


def make_config(**overrides) -> RatingConfig:
    values = DEFAULT_CONFIG.to_dict()
    values["version"] = "test"
    values.update(overrides)
    return RatingConfig.from_dict(values)


def assert_factor(rating: Rating, key: str, points: float, improve: str | None) -> None:
    factor = rating.factor(key)
    assert factor.points == pytest.approx(points, abs=0.005)
    assert factor.improve == improve


def test_clean_record_scores_full_marks():
    rating = compute(make_input())
    assert rating.grade == "A"
    assert rating.score == 100.0
    assert [f.key for f in rating.factors] == list(FACTOR_KEYS)
    assert all(f.points == f.max_points and f.improve is None for f in rating.factors)
    assert rating.cap is None and rating.caps_hit == ()
    assert rating.model_version == DEFAULT_CONFIG.version
    assert rating.as_of == AS_OF


# --- one table per factor ---------------------------------------------------


@pytest.mark.parametrize(
    ("active", "days", "suspended", "breaches", "points", "improve"),
    [
        (2, 365, False, 0, 15.0, None),
        (2, 900, False, 0, 15.0, None),
        (1, 365, False, 0, 11.25, "pledges.sign_second"),
        (2, 73, False, 0, 9.0, "pledges.keep_active"),
        (2, 365, False, 1, 7.5, "pledges.keep_promises"),
        (2, 365, False, 3, 0.0, "pledges.keep_promises"),
        (0, 0, False, 0, 0.0, "pledges.sign"),
        (2, 365, True, 0, 0.0, "pledges.reinstate"),
    ],
)
def test_pledges_factor(active, days, suspended, breaches, points, improve):
    rating = compute(
        make_input(
            active_pledges=active,
            pledge_active_days=days,
            pledge_suspended=suspended,
            pledge_breaches=breaches,
        )
    )
    assert_factor(rating, "pledges", points, improve)
    assert rating.factor("pledges").detail["breaches"] == breaches


@pytest.mark.parametrize(
    ("complaints", "upheld", "recent", "size", "weighted", "points"),
    [
        (0, 0, 0, 1.0, 0.0, 25.0),
        (2, 0, 0, 1.0, 2.0, 20.0),
        (2, 1, 0, 1.0, 4.0, 15.0),  # an upheld complaint counts 3 times
        (2, 1, 2, 1.0, 5.0, 12.5),  # a recent one adds half again
        (4, 2, 0, 2.0, 8.0, 15.0),  # per unit of size
        (20, 5, 5, 4.0, 32.5, 4.69),
        (20, 0, 0, 1.0, 20.0, 0.0),
    ],
)
def test_complaint_volume_factor(complaints, upheld, recent, size, weighted, points):
    rating = compute(
        make_input(
            complaints=complaints,
            complaints_upheld=upheld,
            complaints_recent=recent,
            size_factor=size,
        )
    )
    assert_factor(rating, "complaint_volume", points, None if complaints == 0 else "complaint_volume.reduce")
    detail = rating.factor("complaint_volume").detail
    assert detail["weighted"] == pytest.approx(weighted)
    assert detail["per_size"] == pytest.approx(weighted / size)
    assert detail["no_data"] is (complaints == 0)


@pytest.mark.parametrize(
    ("key", "num_field", "den_field", "num", "den", "points"),
    [
        # no denominator: full points, and the detail says there was nothing to measure
        ("on_time", "answered_on_time", "answer_due", 0, 0, 15.0),
        ("on_time", "answered_on_time", "answer_due", 5, 5, 15.0),
        ("on_time", "answered_on_time", "answer_due", 0, 1, 5.0),  # 2/3 counted
        ("on_time", "answered_on_time", "answer_due", 3, 4, 10.0),  # 5/6 counted
        ("on_time", "answered_on_time", "answer_due", 0, 10, 0.0),  # below the floor
        ("resolution", "resolved", "closed", 0, 0, 10.0),
        ("resolution", "resolved", "closed", 1, 2, 6.43),
        ("resolution", "resolved", "closed", 0, 8, 0.0),
        ("satisfaction", "satisfied", "surveyed", 0, 0, 10.0),
        ("satisfaction", "satisfied", "surveyed", 9, 10, 8.33),
        ("satisfaction", "satisfied", "surveyed", 10, 10, 10.0),
    ],
)
def test_share_factors(key, num_field, den_field, num, den, points):
    rating = compute(make_input(**{num_field: num, den_field: den}))
    hints = {
        "on_time": "on_time.answer_on_time",
        "resolution": "resolution.resolve_by_agreement",
        "satisfaction": "satisfaction.raise",
    }
    factor = rating.factor(key)
    assert_factor(rating, key, points, None if factor.points == factor.max_points else hints[key])
    assert factor.detail[num_field] == num and factor.detail[den_field] == den
    assert factor.detail["no_data"] is (den == 0)
    assert factor.detail["share"] == (None if den == 0 else pytest.approx(num / den))


def test_share_numerator_above_denominator_is_clamped():
    rating = compute(make_input(satisfied=12, surveyed=10))
    assert rating.factor("satisfaction").points == 10.0
    assert rating.factor("satisfaction").detail["satisfied"] == 10


@pytest.mark.parametrize(
    ("inspections", "failed", "points", "improve"),
    [
        (0, 0, 15.0, None),
        (3, 0, 15.0, None),
        (1, 1, 7.5, "inspections.pass"),
        (3, 1, 7.5, "inspections.pass"),
        (3, 2, 0.0, "inspections.pass"),
    ],
)
def test_inspections_factor(inspections, failed, points, improve):
    rating = compute(make_input(inspections=inspections, inspections_failed=failed, pledge_active_days=400))
    assert_factor(rating, "inspections", points, improve)
    assert rating.factor("inspections").detail["no_data"] is (inspections == 0)


@pytest.mark.parametrize(
    ("penalties", "since", "points", "improve"),
    [
        (0, None, 10.0, None),
        (0, 400, 10.0, None),  # an old penalty outside the window costs no points
        (1, 30, 5.0, "penalties.avoid"),
        (2, 10, 0.0, "penalties.avoid"),
        (5, 10, 0.0, "penalties.avoid"),
    ],
)
def test_penalties_factor(penalties, since, points, improve):
    rating = compute(make_input(penalties=penalties, days_since_last_penalty=since))
    assert_factor(rating, "penalties", points, improve)


# --- caps -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "uncapped", "grade", "cap"),
    [
        ({"pledge_suspended": True, "active_pledges": 1}, "A", "D", "pledge_suspended"),
        ({"penalties": 1, "days_since_last_penalty": 30}, "A", "C", "penalty_in_period"),
        ({"active_pledges": 0, "pledge_active_days": 0}, "A", "C", "no_active_pledge"),
        ({"inspections": 2, "inspections_failed": 1}, "A", "B", "failed_inspection"),
        ({"pledge_breaches": 1}, "A", "B", "pledge_breach"),
        # several rules: the strictest one is reported
        ({"pledge_suspended": True, "penalties": 1, "days_since_last_penalty": 3}, "B", "D", "pledge_suspended"),
        ({"pledge_breaches": 1, "penalties": 1, "days_since_last_penalty": 3}, "A", "C", "penalty_in_period"),
    ],
)
def test_cap_limits_grade(overrides, uncapped, grade, cap):
    rating = compute(make_input(**overrides))
    assert (rating.uncapped_grade, rating.grade, rating.cap) == (uncapped, grade, cap)
    assert cap in rating.caps_hit


def test_cap_not_reported_when_score_is_already_lower():
    rating = compute(
        make_input(
            penalties=2,
            days_since_last_penalty=10,
            complaints=10,
            complaints_upheld=5,
            answered_on_time=2,
            answer_due=10,
        )
    )
    assert rating.grade == rating.uncapped_grade == "D"
    assert rating.cap is None
    assert rating.caps_hit == ("penalty_in_period",)


def test_penalty_cap_lookback_is_configurable():
    inp = make_input(penalties=0, days_since_last_penalty=500)
    assert compute(inp).grade == "A"
    rating = compute(inp, make_config(penalty_cap_days=730))
    assert (rating.grade, rating.cap) == ("C", "penalty_in_period")


def test_cap_can_be_switched_off():
    caps = dict(DEFAULT_CONFIG.caps, penalty_in_period="A")
    rating = compute(make_input(penalties=1, days_since_last_penalty=30), make_config(caps=caps))
    assert rating.grade == "A" and rating.cap is None
    assert rating.caps_hit == ("penalty_in_period",)


# --- not yet rated ----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "grade"),
    [
        ({"pledge_active_days": 30, "inspections": 0}, NOT_RATED),
        ({"pledge_active_days": 89, "inspections": 0}, NOT_RATED),
        ({"pledge_active_days": 90, "inspections": 0}, "A"),
        ({"pledge_active_days": 30, "inspections": 1}, "A"),
        ({"active_pledges": 0, "pledge_active_days": 0, "inspections": 0}, NOT_RATED),
        # complaints alone do not make enough history
        ({"pledge_active_days": 30, "inspections": 0, "complaints": 6, "complaints_upheld": 6}, NOT_RATED),
        # adverse facts are graded however new the merchant
        ({"pledge_active_days": 30, "inspections": 0, "penalties": 1, "days_since_last_penalty": 5}, "C"),
        ({"pledge_active_days": 30, "inspections": 0, "pledge_suspended": True}, "D"),
        ({"pledge_active_days": 30, "inspections": 0, "pledge_breaches": 1}, "B"),
    ],
)
def test_not_yet_rated(overrides, grade):
    rating = compute(make_input(**overrides))
    assert rating.grade == grade
    if grade == NOT_RATED:
        assert rating.uncapped_grade == NOT_RATED and rating.cap is None
        assert 0.0 <= rating.score <= 100.0  # still computed, for staff


def test_min_history_days_is_configurable():
    inp = make_input(pledge_active_days=30, inspections=0)
    assert compute(inp, make_config(min_history_days=30)).grade != NOT_RATED


def test_grade_rank_orders_grades_and_refuses_nr():
    assert [grade_rank(g) for g in GRADES] == [3, 2, 1, 0]
    with pytest.raises(ValueError):
        grade_rank(NOT_RATED)


# --- configuration ----------------------------------------------------------


def _weights(**changes):
    return dict(DEFAULT_CONFIG.weights, **changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"colour": "red"}, "unknown rating config keys"),
        ({"weights": _weights(pledges=-5.0, complaint_volume=45.0)}, "at least 0"),
        ({"weights": _weights(loyalty=0.0)}, "unknown keys in weights"),
        ({"weights": {"pledges": 100.0}}, "missing keys in weights"),
        ({"weights": _weights(pledges=20.0)}, "sum to 100"),
        ({"weights": _weights(pledges=15.005, penalties=9.995)}, "two decimals"),
        ({"weights": _weights(pledges="15")}, "must be a number"),
        ({"grade_thresholds": [[70, "A"], [85, "B"], [55, "C"]]}, "fall strictly"),
        ({"grade_thresholds": [[85, "A"], [85, "B"], [55, "C"]]}, "fall strictly"),
        ({"grade_thresholds": [[85, "B"], [70, "A"], [55, "C"]]}, "grade_thresholds must be"),
        ({"grade_thresholds": [[85, "A"], [70, "B"]]}, "grade_thresholds must be"),
        ({"grade_thresholds": [[101, "A"], [70, "B"], [55, "C"]]}, "at most 100"),
        ({"grade_thresholds": 85}, "list of"),
        ({"caps": dict(DEFAULT_CONFIG.caps, pledge_breach="E")}, "caps.pledge_breach"),
        ({"caps": dict(DEFAULT_CONFIG.caps, pledge_breach="NR")}, "caps.pledge_breach"),
        ({"caps": dict(DEFAULT_CONFIG.caps, overdue="C")}, "unknown keys in caps"),
        ({"share_floors": dict(DEFAULT_CONFIG.share_floors, on_time=1.0)}, "below 1"),
        ({"min_history_days": -1}, "at least 0"),
        ({"min_history_days": 1.5}, "whole number"),
        ({"complaint_upheld_weight": 0.5}, "at least 1"),
        ({"penalty_cost": True}, "must be a number"),
        ({"penalty_cost": math.nan}, "finite"),
        ({"pledge_tenure_share": 1.5}, "at most 1"),
        ({"version": ""}, "version"),
    ],
)
def test_config_from_dict_rejects(changes, message):
    values = {"version": "test", **changes}
    with pytest.raises(ValueError, match=message):
        RatingConfig.from_dict(values)


def test_config_changed_without_new_version_is_rejected():
    with pytest.raises(ValueError, match="new version"):
        RatingConfig.from_dict({"version": DEFAULT_CONFIG.version, "penalty_cost": 1.0})
    with pytest.raises(ValueError, match="new version"):
        RatingConfig.from_dict({"penalty_cost": 1.0})


def test_config_from_non_mapping_is_rejected():
    with pytest.raises(ValueError):
        RatingConfig.from_dict([("version", "x")])


def test_config_round_trip():
    assert RatingConfig.from_dict({}) == DEFAULT_CONFIG
    assert RatingConfig.from_dict(json.loads(json.dumps(DEFAULT_CONFIG.to_dict()))) == DEFAULT_CONFIG
    custom = make_config(
        version="2026.1-city",
        weights=_weights(pledges=20.0, penalties=5.0),
        grade_thresholds=[[90, "A"], [75, "B"], [60, "C"]],
        share_prior_answers=0,
    )
    again = RatingConfig.from_dict(json.loads(json.dumps(custom.to_dict())))
    assert again == custom
    assert again.to_dict() == custom.to_dict()
    assert hash(again) == hash(custom)


def test_config_is_immutable():
    with pytest.raises(TypeError):
        DEFAULT_CONFIG.weights["pledges"] = 50.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_CONFIG.version = "x"


def test_rating_records_config_version_and_thresholds():
    config = make_config(version="2026.2", grade_thresholds=[[99, "A"], [70, "B"], [55, "C"]])
    rating = compute(make_input(pledge_active_days=300), config)
    assert rating.model_version == "2026.2"
    assert rating.score < 99 and rating.grade == "B"


def test_rating_to_dict_is_json_ready():
    rating = compute(make_input(complaints=3, complaints_upheld=1, answered_on_time=2, answer_due=3))
    data = json.loads(json.dumps(rating.to_dict()))
    assert data["grade"] == rating.grade
    assert [f["key"] for f in data["factors"]] == list(FACTOR_KEYS)


def test_input_problems_lists_what_compute_clamps():
    assert input_problems(make_input()) == []
    problems = input_problems(make_input(complaints=1, complaints_upheld=2, size_factor=0.5, penalties=-1))
    assert problems == ["penalties < 0", "size_factor < 1", "complaints_upheld > complaints"]


# --- properties -------------------------------------------------------------


@st.composite
def inputs(draw) -> RatingInput:
    """Consistent inputs, as the SQL would produce them."""
    complaints = draw(st.integers(0, 60))
    answer_due = draw(st.integers(0, complaints))
    closed = draw(st.integers(0, complaints))
    surveyed = draw(st.integers(0, closed))
    inspections = draw(st.integers(0, 6))
    penalties = draw(st.integers(0, 4))
    active = draw(st.integers(0, 2))
    if penalties:
        since = draw(st.integers(0, 364))
    else:
        since = draw(st.none() | st.integers(365, 2000))
    return RatingInput(
        as_of=AS_OF,
        active_pledges=active,
        pledge_active_days=draw(st.integers(0, 1000)) if active else 0,
        pledge_suspended=draw(st.booleans()),
        pledge_breaches=draw(st.integers(0, 3)),
        size_factor=draw(st.floats(1.0, 50.0)),
        complaints=complaints,
        complaints_upheld=draw(st.integers(0, complaints)),
        complaints_recent=draw(st.integers(0, complaints)),
        answered_on_time=draw(st.integers(0, answer_due)),
        answer_due=answer_due,
        resolved=draw(st.integers(0, closed)),
        closed=closed,
        satisfied=draw(st.integers(0, surveyed)),
        surveyed=surveyed,
        inspections=inspections,
        inspections_failed=draw(st.integers(0, inspections)),
        penalties=penalties,
        days_since_last_penalty=since,
    )


@st.composite
def configs(draw) -> RatingConfig:
    """The shipped model, or any valid admin configuration."""
    if draw(st.booleans()):
        return DEFAULT_CONFIG
    cuts = sorted(draw(st.lists(st.integers(0, 10_000), min_size=6, max_size=6)))
    hundredths = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]
    c, b, a = sorted(draw(st.lists(st.integers(1, 100), min_size=3, max_size=3, unique=True)))
    return make_config(
        version="prop",
        weights=dict(zip(FACTOR_KEYS, (h / 100 for h in hundredths), strict=True)),
        grade_thresholds=[[a, "A"], [b, "B"], [c, "C"]],
        caps=dict(zip(CAP_KEYS, draw(st.lists(st.sampled_from(GRADES), min_size=5, max_size=5)), strict=True)),
        min_history_days=draw(st.integers(0, 400)),
        pledge_tenure_share=draw(st.floats(0, 1)),
        pledge_breach_cost=draw(st.floats(0, 2)),
        complaint_upheld_weight=draw(st.floats(1, 10)),
        complaint_recent_weight=draw(st.floats(1, 5)),
        complaints_for_zero=draw(st.floats(0.5, 100)),
        share_prior_answers=draw(st.floats(0, 10)),
        inspection_failure_cost=draw(st.floats(0, 2)),
        penalty_cost=draw(st.floats(0, 2)),
    )


def one_more(inp: RatingInput, counted: str, part: str, new: bool) -> RatingInput | None:
    """`inp` with one more `part` of the `counted` (upheld of the complaints, say): a new one
    when `new`, else one of those already counted; None when every one already is."""
    if new:
        return dataclasses.replace(inp, **{counted: getattr(inp, counted) + 1, part: getattr(inp, part) + 1})
    if getattr(inp, part) >= getattr(inp, counted):
        return None
    return dataclasses.replace(inp, **{part: getattr(inp, part) + 1})


def assert_not_better(before: Rating, after: Rating) -> None:
    assert after.score <= before.score
    if before.grade != NOT_RATED:
        assert after.grade != NOT_RATED
        assert grade_rank(after.grade) <= grade_rank(before.grade)


@given(inputs(), configs(), st.booleans())
def test_more_upheld_complaints_never_help(inp, config, new_complaint):
    worse = one_more(inp, "complaints", "complaints_upheld", new=new_complaint)
    if worse is None:
        return
    assert_not_better(compute(inp, config), compute(worse, config))


@given(inputs(), configs())
def test_a_new_penalty_never_helps(inp, config):
    worse = dataclasses.replace(inp, penalties=inp.penalties + 1, days_since_last_penalty=0)
    after = compute(worse, config)
    assert_not_better(compute(inp, config), after)
    assert "penalty_in_period" in after.caps_hit


@given(inputs(), configs(), st.booleans())
def test_more_failed_inspections_never_help(inp, config, new_inspection):
    worse = one_more(inp, "inspections", "inspections_failed", new=new_inspection)
    if worse is None:
        return
    assert_not_better(compute(inp, config), compute(worse, config))


@given(inputs(), configs(), st.booleans())
def test_more_satisfied_answers_never_hurt(inp, config, new_answer):
    better = one_more(inp, "surveyed", "satisfied", new=new_answer)
    if better is None:
        return
    assert_not_better(compute(better, config), compute(inp, config))


@given(inputs(), configs())
def test_score_is_the_sum_of_factor_points(inp, config):
    rating = compute(inp, config)
    assert 0.0 <= rating.score <= 100.0
    assert rating.score == pytest.approx(sum(f.points for f in rating.factors), abs=1e-9)
    for f in rating.factors:
        assert 0.0 <= f.points <= f.max_points
    assert sum(f.max_points for f in rating.factors) == pytest.approx(100.0)


@given(inputs(), configs())
def test_grade_is_never_better_than_a_cap(inp, config):
    rating = compute(inp, config)
    if rating.grade == NOT_RATED:
        assert rating.cap is None
        return
    for key in rating.caps_hit:
        assert grade_rank(rating.grade) <= grade_rank(config.caps[key])
    assert grade_rank(rating.grade) <= grade_rank(rating.uncapped_grade)
    assert (rating.cap is None) == (rating.grade == rating.uncapped_grade)


@given(inputs(), configs())
def test_improve_hint_only_below_max(inp, config):
    for f in compute(inp, config).factors:
        assert (f.improve is None) == (f.points == f.max_points)


@given(
    st.builds(
        RatingInput,
        as_of=st.just(AS_OF),
        active_pledges=st.integers(-3, 5),
        pledge_active_days=st.integers(-10, 5000),
        pledge_suspended=st.booleans(),
        pledge_breaches=st.integers(-3, 10),
        size_factor=st.floats(-5, 1e6, allow_nan=False),
        complaints=st.integers(-5, 10_000),
        complaints_upheld=st.integers(-5, 10_000),
        complaints_recent=st.integers(-5, 10_000),
        answered_on_time=st.integers(-5, 1000),
        answer_due=st.integers(-5, 1000),
        resolved=st.integers(-5, 1000),
        closed=st.integers(-5, 1000),
        satisfied=st.integers(-5, 1000),
        surveyed=st.integers(-5, 1000),
        inspections=st.integers(-5, 50),
        inspections_failed=st.integers(-5, 50),
        penalties=st.integers(-5, 50),
        days_since_last_penalty=st.none() | st.integers(-5, 5000),
    )
)
@settings(max_examples=300)
def test_inconsistent_input_is_clamped_not_fatal(inp):
    rating = compute(inp)
    assert 0.0 <= rating.score <= 100.0
    assert rating.grade in (*GRADES, NOT_RATED)


def test_compute_speed_report():
    """Prints µs per compute() (run with -s); the nightly run needs well under 20 µs."""
    samples = [
        make_input(),
        make_input(complaints=5, complaints_upheld=2, complaints_recent=1, answered_on_time=4, answer_due=5,
                   resolved=3, closed=4, satisfied=6, surveyed=7, inspections=2),
        make_input(pledge_active_days=30, inspections=0),
        make_input(penalties=1, days_since_last_penalty=20, pledge_suspended=True),
    ]
    calls = 50_000
    start = time.perf_counter()
    for i in range(calls):
        compute(samples[i & 3])
    per_call = (time.perf_counter() - start) / calls * 1e6
    print(f"\ncompute(): {per_call:.2f} µs per call")
