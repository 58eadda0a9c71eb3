"""The API's complaint statistics (GET /api/v1/complaints/statistics) at province scale,
against a full `SELECT COUNT(*) FROM complaint` in the same run, alternating.

    python bench/bench_api_stats.py [--db sqlite] [--rounds 7]

Seeds once: a copy of bench_search.py's kept province seed (bench/.data/search_province.sqlite3,
500,000 merchants; run `bench_search.py --scale province --seed-only` first), plus 1,000,000
complaints over 13 months in every state with their survey answers (bench_ratings'
generator, Core inserts), then the complaint tallies rebuilt (analysis/tally.rebuild), into
bench/.data/api_stats_province.sqlite3. SQLite only: the statistics read the same tallies on
PostgreSQL, and a province's complaints take too long to seed there on a shared machine.

Each case is a whole request through the app in-process (the test client): the tallies
summed for the period and the dimension, the open cases already past a deadline (the only
rows of the complaint table read: the tallies cannot know them until they close), small
cells suppressed, the JSON. It prints each case's ms, its ratio to the COUNT, the SQL
statements it ran that read the complaint table, and how many cells were suppressed; and
checks that no answer carries a shopper's phone. Target: < 50 ms per request.
Exit status 0 when every case meets it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import log

SEED_VERSION = 1
COMPLAINTS = 1_000_000
TARGET_MS = 50.0
PHONE = re.compile(r"1[3-9][0-9]{9}")


def _strings(value: Any) -> list[str]:
    """Every string in a JSON answer (the numbers' digits could read as a phone)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def seed() -> None:
    from bench_ratings import _seed_complaints
    from sqlalchemy import select

    from pledge_registry.analysis import tally
    from pledge_registry.extensions import db
    from pledge_registry.models import Merchant

    rng = random.Random(4)
    ids = list(db.session.scalars(select(Merchant.id).order_by(Merchant.id)))
    rng.shuffle(ids)
    _seed_complaints(rng, ids[: len(ids) // 5], COMPLAINTS, datetime.now(UTC))  # 80% never draw one
    started = time.perf_counter()
    rows = tally.rebuild(db.session)
    db.session.commit()
    log(f"  complaint tallies rebuilt: {rows:,} rows ({time.perf_counter() - started:.0f} s)")


def prepare(reseed: bool) -> str:
    """The kept database (copied from the search seed, complaints added once); its URL."""
    source_url = _common.database_url("sqlite", "search_province")
    source = Path(source_url.removeprefix("sqlite:///"))
    if not source.exists():
        raise SystemExit(f"{source} is missing: run bench/bench_search.py --scale province --seed-only first")
    url = _common.database_url("sqlite", "api_stats_province")
    stamp = {"bench": "api_stats", "complaints": COMPLAINTS, "seed_version": SEED_VERSION}
    path = _common._stamp_path(url)
    if reseed or not path.exists() or json.loads(path.read_text()) != stamp:
        _common.drop_database(url)
        target = Path(url.removeprefix("sqlite:///"))
        log(f"copying {source} to {target}")
        shutil.copyfile(source, target)
        copied = {**stamp, "seeded": False}
        path.write_text(json.dumps(copied))
        _common.prepare_database(url, copied, lambda: None)  # kept: only migrated

        from pledge_registry import create_app
        from pledge_registry.extensions import db

        app = create_app(_common.app_config(url))
        with app.app_context():
            seed()
            db.session.remove()
            db.engine.dispose()
        _common._analyze(url)
        path.write_text(json.dumps(stamp))
    _common.prepare_database(url, stamp, lambda: None)
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args(argv)
    url = prepare(args.reseed)
    if args.seed_only:
        return 0
    from sqlalchemy import event, text

    from pledge_registry import create_app
    from pledge_registry.extensions import db
    from pledge_registry.localtime import local_today

    today = local_today()
    quarter = f"{today:%Y}-Q{(today.month - 1) // 3 + 1}"
    cases = [(f"{period} by {dimension}", f"/api/v1/complaints/statistics?period={period}&dimension={dimension}")
             for period in (f"{today:%Y}", quarter, f"{today:%Y-%m}")
             for dimension in ("town", "area", "category", "problem_type")]
    app = create_app({**_common.app_config(url), "API_READ_LIMIT": "1000000 per minute"})
    client = app.test_client()
    reads: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if re.search(r"\bFROM complaint\b", statement):
            reads.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", seen)
        answers = {}
        complaint_reads = {}
        for name, path in cases:  # warm up, check, and count what reads the complaint table
            reads.clear()
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True))
            complaint_reads[name] = len(reads)
            answers[name] = response.get_json()
            assert not any(PHONE.search(v) for v in _strings(answers[name])), f"a phone number in {path}"
        event.remove(db.engine, "before_cursor_execute", seen)

        def baseline() -> None:
            db.session.execute(text("SELECT COUNT(*) FROM complaint")).scalar()
            db.session.rollback()

        def timed(call: Any) -> float:
            started = time.perf_counter()
            call()
            return (time.perf_counter() - started) * 1000

        from pledge_registry.api.services import period_bounds
        from pledge_registry.complaints import stats as complaint_stats

        def every_dimension() -> None:  # what the API read before: the staff page's five breakdowns
            complaint_stats.service_levels(complaint_stats.StatsFilter(*period_bounds(f"{today:%Y}")))
            db.session.rollback()

        base_ms: list[float] = []
        before_ms: list[float] = []
        case_ms: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(args.rounds):
            before_ms.append(timed(every_dimension))
            for name, path in cases:
                base_ms.append(timed(baseline))
                case_ms[name].append(timed(lambda p=path: client.get(p)))
    base = statistics.median(base_ms)
    print(f"# API complaint statistics: province (500,000 merchants, {COMPLAINTS:,} complaints), {args.db}")
    print(f"# {_common.machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"# baseline SELECT COUNT(*) FROM complaint: {base:.1f} ms (median of {len(base_ms)})")
    print(f"{'case':28} {'cases':>9} {'rows':>5} {'hidden':>6} {'ms':>8} {'× COUNT':>8} {'complaint reads':>15}"
          "  target")
    ok = True
    for name, _ in cases:
        ms = statistics.median(case_ms[name])
        answer = answers[name]
        hidden = sum(r["suppressed"] for r in answer["rows"])
        passed = ms < TARGET_MS
        ok &= passed
        print(f"{name:28} {answer['totals']['count'] or 0:>9,} {len(answer['rows']):>5} {hidden:>6} {ms:8.1f} "
              f"{ms / base:8.2f} {complaint_reads[name]:>15}  < {TARGET_MS:.0f} ms {'PASS' if passed else 'FAIL'}")
    before = statistics.median(before_ms)
    print(f"# for comparison, service_levels of the year (all five dimensions, what the API read before): "
          f"{before:.1f} ms ({before / base:.2f} × COUNT)")
    print(f"# {_common.machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
