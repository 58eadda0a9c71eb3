"""The staff analysis pages and trend queries at province scale, on SQLite or PostgreSQL.

    python bench/bench_analysis.py --db sqlite|postgresql [--rounds 5] [--reseed] [--seed-only]
                                   [--merchants 500000] [--complaints-per-year 1000000]

Seeds once, and keeps for reruns, a province: 500,000 merchants (demo.load_merchants, without
event rows, as bench_ratings.py does) and 1,000,000 complaints a year for three years
(bench_ratings.py's complaint rows, each year shifted back by 365 days), written with
executemany in batches, then the complaint tallies counted by `tally.rebuild` (set-based SQL,
the same as `flask stats rebuild`). SQLite: bench/.data/analysis_province.sqlite3;
PostgreSQL: the database bench_analysis_province on 127.0.0.1:5432, copied from the SQLite
file with COPY (tallies included).

Measured in this process, alternating for `--rounds` rounds after a warm-up, median:

- baseline: a full `SELECT COUNT(*) FROM complaint` (a scan of 3,000,000 rows);
- the dashboard /staff/analysis/ and the trends page (3 years by month cut by category;
  last year by week cut by merchant) through Flask's test client, signed in as staff;
- the trend queries alone (trends.series: 3 years by month by category; 3 years by month
  for the most complained-about merchants; trends.top_merchants over a year).

Targets: each page under 0.1 x the baseline and under 300 ms. Exit status 1 when one is over.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import log

TARGET_MS = 300.0
TARGET_RATIO = 0.1
SEED_VERSION = 1  # bump when the seeding below changes: kept databases are then re-seeded
MERCHANTS = 500_000
YEARS = 3
PASSWORD = "bench-staff-password"
STAFF_LOGIN = "bench-analysis@bureau.example"
COPIED_TABLES = ("town", "commercial_area", "pledge_template", "user_account", "merchant", "pledge", "complaint",
                 "survey_response", "complaint_tally")


# --- seeding -------------------------------------------------------------------------------

def seed(merchants: int, per_year: int) -> None:
    from bench_ratings import _seed_merchants
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from pledge_registry.analysis import tally
    from pledge_registry.extensions import db
    from pledge_registry.models import Merchant, Role, User

    _seed_merchants(merchants)
    db.session.add(User(email=STAFF_LOGIN, display_name="基准 研判", role=Role.STAFF,
                        password_hash=generate_password_hash(PASSWORD, method="scrypt:16384:8:1")))
    db.session.commit()
    rng = random.Random(10)
    ids = list(db.session.scalars(select(Merchant.id).order_by(Merchant.id)))
    rng.shuffle(ids)
    _seed_complaints(rng, ids[: max(1, len(ids) // 5)], per_year)   # 80% never draw one
    started = time.perf_counter()
    rows = tally.rebuild(db.session())
    db.session.commit()
    log(f"tally.rebuild: {rows:,} tally rows in {time.perf_counter() - started:.1f} s")


def _seed_complaints(rng: random.Random, complained: list[int], per_year: int) -> None:
    from bench_ratings import _ANSWERS, _complaint_row
    from sqlalchemy import insert

    from pledge_registry.extensions import db
    from pledge_registry.models import Complaint, SurveyResponse

    started = time.perf_counter()
    now = datetime.now(UTC)
    next_id = 1
    for year in range(YEARS):
        shifted = now - timedelta(days=365 * year)
        batch: list[dict] = []
        surveys: list[dict] = []
        for k in range(per_year):
            i = year * per_year + k
            # Each year's rows span 13 months back from its end (bench_ratings' rows).
            row = _complaint_row(rng, i, complained[int(len(complained) * rng.random() ** 2)], shifted)
            row["id"] = next_id + len(batch)
            batch.append(row)
            if row["outcome"] in ("resolved", "not_resolved") and rng.random() < 0.6:
                surveys.append({"complaint_id": row["id"], "answer": rng.choice(_ANSWERS), "comment": "",
                                "created_at": row["closed_at"]})
            if len(batch) == 20_000 or k == per_year - 1:
                db.session.execute(insert(Complaint.__table__), batch)
                if surveys:
                    db.session.execute(insert(SurveyResponse.__table__), surveys)
                db.session.commit()
                next_id += len(batch)
                batch, surveys = [], []
                if (i + 1) % 200_000 == 0:
                    log(f"  {i + 1:,} complaints ({time.perf_counter() - started:.0f} s)")
    log(f"{next_id - 1:,} complaints in {time.perf_counter() - started:.1f} s")


def prepare(db_name: str, merchants: int, per_year: int, reseed: bool) -> str:
    from bench_ratings import copy_from_sqlite

    stamp = {"bench": "analysis", "merchants": merchants, "per_year": per_year, "years": YEARS,
             "seed_version": SEED_VERSION}
    key = "analysis_province" if merchants == MERCHANTS else f"analysis_{merchants}"
    sqlite_url = _common.database_url("sqlite", key)
    _common.prepare_database(sqlite_url, stamp, lambda: seed(merchants, per_year), fresh=reseed and db_name == "sqlite")
    if db_name == "sqlite":
        return sqlite_url
    url = _common.database_url("postgresql", key)
    sqlite_path = Path(sqlite_url.removeprefix("sqlite:///"))
    _common.prepare_database(url, stamp, lambda: copy_from_sqlite(sqlite_path, url, COPIED_TABLES), fresh=reseed)
    return url


# --- measuring -----------------------------------------------------------------------------

def _signed_in(app: Any) -> Any:
    client = app.test_client()
    response = client.post("/account/login", data={"login": STAFF_LOGIN, "password": PASSWORD})
    if response.status_code not in (302, 303):
        raise SystemExit(f"could not sign in as {STAFF_LOGIN}: {response.status_code}")
    return client


def measure(url: str, db_name: str, rounds: int, merchants: int, per_year: int) -> int:
    from sqlalchemy import create_engine, text

    from pledge_registry import create_app
    from pledge_registry.analysis import trends
    from pledge_registry.extensions import db
    from pledge_registry.localtime import local_today

    app = create_app(_common.app_config(url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                                         SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False))
    log(_common.machine())
    staff = _signed_in(app)
    today = local_today()
    three_years = trends.TrendFilter(date(today.year - 2, 1, 1), today)
    last_year = trends.TrendFilter(today - timedelta(days=364), today)
    start3, start1 = three_years.start.isoformat(), last_year.start.isoformat()
    pages = {
        "page: dashboard /staff/analysis/": "/staff/analysis/",
        "page: trends, 3 years by month by category":
            f"/staff/analysis/trends?start={start3}&end={today}&bucket=month&dimension=category",
        "page: trends, last year by week by merchant":
            f"/staff/analysis/trends?start={start1}&end={today}&bucket=week&dimension=merchant",
    }
    with app.app_context():
        top = [r.key for r in trends.breakdown(last_year, "merchant", limit=10).rows]
        db.session.remove()

    def in_app(fn: Any) -> Any:
        def run() -> None:
            with app.app_context():
                fn()
                db.session.remove()
        return run

    queries = {
        "query: series, 3 years by month by category": in_app(
            lambda: trends.series(three_years, "month", "category")),
        "query: series, 3 years by month, top 10 merchants": in_app(
            lambda: trends.series(three_years, "month", "merchant", top)),
        "query: top_merchants, last year": in_app(lambda: trends.top_merchants(last_year)),
    }
    engine = create_engine(url)

    def count() -> None:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT count(*) FROM complaint")).scalar()
        assert found, "an empty complaint table"

    def get(path: str) -> None:
        response = staff.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")

    def timed(fn: Any) -> float:
        started = time.perf_counter()
        fn()
        return (time.perf_counter() - started) * 1000

    baseline = "baseline: SELECT count(*) FROM complaint"
    timings: dict[str, list[float]] = {baseline: [], **{k: [] for k in pages}, **{k: [] for k in queries}}
    count()
    for path in pages.values():   # warm-up: caches, the planner, the page cache of the OS
        get(path)
    for _ in range(rounds):
        timings[baseline].append(timed(count))
        for label, path in pages.items():
            timings[label].append(timed(lambda p=path: get(p)))
        for label, fn in queries.items():
            timings[label].append(timed(fn))
    engine.dispose()
    medians = {label: statistics.median(values) for label, values in timings.items()}
    full = medians.pop(baseline)
    print(f"analysis ({merchants:,} merchants, {per_year:,} complaints a year x {YEARS} years), "
          f"{db_name}; median of {rounds} rounds")
    print(f"  {baseline:<52} {full:8.1f} ms")
    ok = True
    for label, ms in medians.items():
        line = f"  {label:<52} {ms:8.1f} ms = {ms / full:5.3f} x the COUNT"
        if label.startswith("page:"):
            passed = ms < TARGET_MS and ms < TARGET_RATIO * full
            ok &= passed
            line += f"  [{'ok' if passed else 'OVER'} < {TARGET_MS:.0f} ms and < {TARGET_RATIO} x]"
        print(line)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--merchants", type=int, default=MERCHANTS)
    parser.add_argument("--complaints-per-year", type=int, default=1_000_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args(argv)
    url = prepare(args.db, args.merchants, args.complaints_per_year, args.reseed)
    if args.seed_only:
        return 0
    return measure(url, args.db, args.rounds, args.merchants, args.complaints_per_year)


if __name__ == "__main__":
    sys.exit(main())
