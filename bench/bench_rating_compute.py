"""The rating model alone: µs per compute(), and what that weighs in a nightly recompute.

    python bench/bench_rating_compute.py                      # timeit on four typical inputs
    python bench/bench_rating_compute.py --scale province     # + how many compute() calls a recompute
                                                              #   makes there (needs bench_ratings' seed)

The recompute rates each distinct set of counts once (ratings.services keeps a memo), so
compute() runs once per distinct set, not once per merchant; the second mode counts the
distinct sets in the seeded database of bench/bench_ratings.py (SQLite) and multiplies.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pledge_registry.ratings.model import RatingInput, compute

FIELDS = {"active_pledges": 2, "pledge_active_days": 400, "pledge_suspended": False, "pledge_breaches": 0,
          "size_factor": 1.0, "complaints": 0, "complaints_upheld": 0, "complaints_recent": 0, "answered_on_time": 0,
          "answer_due": 0, "resolved": 0, "closed": 0, "satisfied": 0, "surveyed": 0, "inspections": 1,
          "inspections_failed": 0, "penalties": 0, "days_since_last_penalty": None}
SAMPLES = (
    {},  # a clean record
    {"complaints": 5, "complaints_upheld": 2, "complaints_recent": 1, "answered_on_time": 4, "answer_due": 5,
     "resolved": 3, "closed": 4, "satisfied": 6, "surveyed": 7, "inspections": 2},
    {"pledge_active_days": 30, "inspections": 0},  # not yet rated
    {"penalties": 1, "days_since_last_penalty": 20, "pledge_suspended": True},
)


def per_call_us(repeat: int = 7, number: int = 20_000) -> float:
    """The best of `repeat` runs of `number` calls cycling through SAMPLES, in µs per call."""
    inputs = [RatingInput(date(2026, 3, 15), **{**FIELDS, **s}) for s in SAMPLES]
    best = min(timeit.repeat(lambda: [compute(i) for i in inputs], repeat=repeat, number=number // len(inputs)))
    return best / number * 1e6


def distinct_counts(scale: str) -> tuple[int, int]:
    """(merchants rated, distinct sets of counts) in the kept SQLite seed of bench_ratings.py."""
    import _common

    from pledge_registry import create_app
    from pledge_registry.ratings import aggregate

    key = "ratings" if scale == "province" else f"ratings_{scale}"
    url = _common.database_url("sqlite", key)
    if not Path(url.removeprefix("sqlite:///")).exists():
        raise SystemExit(f"no seeded database at {url}: run bench/bench_ratings.py --scale {scale} --db sqlite first")
    app = create_app(_common.app_config(url))
    rated, distinct = 0, set()
    with app.app_context():
        bounds = aggregate.id_bounds()
        now = datetime.now(UTC)
        for scope in aggregate.chunks(bounds, 50_000) if bounds else ():
            counts = aggregate.rating_counts(scope, now)[1]
            rated += len(counts)
            distinct.update(counts.values())
    return rated, len(distinct)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=["city", "province"])
    args = parser.parse_args(argv)
    us = per_call_us()
    print(f"compute(): {us:.2f} µs per call (best of 7 x 20,000 calls)")
    if args.scale:
        rated, distinct = distinct_counts(args.scale)
        print(f"{args.scale}: {rated:,} merchants rated, {distinct:,} distinct sets of counts = compute() calls;"
              f" {distinct * us / 1e6:.3f} s of compute() per recompute")
    return 0


if __name__ == "__main__":
    sys.exit(main())
