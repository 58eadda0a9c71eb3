"""The directory search (/merchants?q=...) against a full COUNT of the merchant table, in one run.

    python bench/bench_search.py --scale city|province --db sqlite|postgresql [--rounds 7]

Seeds a city (10,000 merchants) or a province (500,000) once, like bench/bench_scan.py, into
bench/.data/search_<scale>.sqlite3 or the database bench_search_<scale> (PostgreSQL), and
builds the search index. PostgreSQL is seeded by COPY from the kept SQLite seed of the same
scale when there is one (bench_ratings.copy_from_sqlite: the same rows, the index included,
in minutes instead of the hour demo.load_merchants takes there); run the SQLite one first.
Then, in one process, each round times:

- baseline: `SELECT COUNT(*) FROM merchant` (what a search that scans pays at least);
- every case below: a whole GET /merchants through the app (the search, its capped count,
  the page's shops and the rendered HTML), in-process with the test client;
- the same case through the public API, GET /api/v1/merchants (the same search_directory,
  its shops' standing and grades, the JSON and its ETag), printed with its ratio to the
  directory page measured in the same rounds.

- the API's own filters (grade, unit title), through GET /api/v1/merchants alone.

Rounds alternate baseline and cases; the figure is the median. Each case prints its ms and
its ratio to the baseline; the target is < 50 ms with a query and < 20 ms without.
Exit status 0 when every case meets its target, 1 when one does not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import log

SCALES = {"city": 10_000, "province": 500_000}
SEED_VERSION = 1  # bump when the seeding below changes: kept databases are then re-seeded
QUERY_TARGET_MS, LIST_TARGET_MS = 50.0, 20.0

# (name, query arguments). The demo shops are named from 16 characters and 12 kinds of shop
# (物业 is one in twelve); legal names all read 太仓市…有限公司; no shop sells 酒 or is a 酒店,
# and no approved one is a 洗衣店 (店) nor a 物业 in town 2 (the demo's cycles line up).
CASES = [
    ("common 1 char 市", {"q": "市"}),
    ("common 1 char 店", {"q": "店"}),
    ("common 2 物业", {"q": "物业"}),
    ("common 3 物业有", {"q": "物业有"}),
    ("common 4 物业有限", {"q": "物业有限"}),
    ("rare 2 鑫瑞", {"q": "鑫瑞"}),
    ("rare 4 鑫瑞物业", {"q": "鑫瑞物业"}),
    ("rare digits 12345", {"q": "12345"}),
    ("none 1 酒", {"q": "酒"}),
    ("none 2 酒店", {"q": "酒店"}),
    ("none 4 物业酒店", {"q": "物业酒店"}),
    ("none 4 common bigrams 有限物业", {"q": "有限物业"}),
    ("物业 + town (none)", {"q": "物业", "town": "2"}),
    ("物业 + food (none)", {"q": "物业", "category": "food"}),
    ("有限 + town", {"q": "有限", "town": "2"}),
    ("有限 + returns pledge", {"q": "有限", "pledge": "returns"}),
    ("有限 + town + category", {"q": "有限", "town": "3", "category": "beauty"}),
    ("物业 page 40", {"q": "物业", "page": "40"}),
    ("no query", {}),
    ("no query + town", {"town": "2"}),
    ("no query + town + category", {"town": "3", "category": "beauty"}),
    ("no query + returns pledge", {"pledge": "returns"}),
]
# Filters only the API has (the directory page has no grade nor title filter), through
# GET /api/v1/merchants alone. The seed rates no shop and names no unit: each finds none,
# the case where probing every listed shop for the filter cost most.
API_CASES = [
    ("grade A (none)", {"grade": "A"}),
    ("有限 + grade A (none)", {"q": "有限", "grade": "A"}),
    ("物业 + town + grade B (none)", {"q": "物业", "town": "3", "grade": "B"}),
    ("demonstration unit (none)", {"unit": "demonstration"}),
    ("市 + participant unit (none)", {"q": "市", "unit": "participant"}),
]


# What the seed writes (bench_scan.seed without events, then the search index).
COPIED_TABLES = ("town", "commercial_area", "pledge_template", "user_account", "merchant", "pledge",
                 "merchant_search_text", "merchant_search_gram")


def seeder(args: argparse.Namespace, count: int, stamp: dict) -> Any:
    """How to seed: on PostgreSQL by copying the SQLite seed of the same stamp, if kept."""
    if args.db == "postgresql":
        from bench_ratings import copy_from_sqlite

        sqlite_url = _common.database_url("sqlite", f"search_{args.scale}")
        path = _common._stamp_path(sqlite_url)
        if path.exists() and json.loads(path.read_text()) == stamp:
            source = Path(sqlite_url.removeprefix("sqlite:///"))
            return lambda: copy_from_sqlite(source, _common.database_url("postgresql", f"search_{args.scale}"),
                                            COPIED_TABLES)
        log("no SQLite seed of this scale to copy: seeding PostgreSQL with demo.load_merchants (slow)")
    return lambda: seed(count)


def seed(count: int) -> None:
    import bench_scan

    from pledge_registry.search.index import rebuild

    bench_scan.seed(count)
    started = time.perf_counter()
    rebuild()
    log(f"  search index built ({time.perf_counter() - started:.0f} s)")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="city")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--reseed", action="store_true", help="drop the kept database and seed again")
    parser.add_argument("--seed-only", action="store_true", help="prepare the database and stop")
    return parser.parse_args(argv)


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    count = SCALES[args.scale]
    url = _common.database_url(args.db, f"search_{args.scale}")
    log(f"database: {args.db} ({args.scale}, {count:,} merchants)")
    stamp = {"bench": "search", "merchants": count, "seed_version": SEED_VERSION}
    _common.prepare_database(url, stamp, seeder(args, count, stamp), fresh=args.reseed)
    if args.seed_only:
        return 0
    from sqlalchemy import text

    from pledge_registry import create_app
    from pledge_registry.extensions import db

    app = create_app({**_common.app_config(url), "API_READ_LIMIT": "1000000 per minute"})
    client = app.test_client()
    paths = {name: "/merchants?" + urlencode({**query, "lang": "zh"}) for name, query in CASES}
    api_paths = {name: "/api/v1/merchants?" + urlencode(query) for name, query in [*CASES, *API_CASES]}
    with app.app_context():
        for path in [*paths.values(), *api_paths.values()]:  # warm the caches and check every page answers
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        def baseline() -> None:
            db.session.execute(text("SELECT COUNT(*) FROM merchant")).scalar()
            db.session.rollback()

        base_ms: list[float] = []
        case_ms: dict[str, list[float]] = {name: [] for name, _ in CASES}
        api_ms: dict[str, list[float]] = {name: [] for name in api_paths}
        for _ in range(args.rounds):
            for name, path in paths.items():
                base_ms.append(timed(baseline))
                case_ms[name].append(timed(lambda p=path: client.get(p)))
                api_ms[name].append(timed(lambda p=api_paths[name]: client.get(p)))
            for name, _query in API_CASES:
                base_ms.append(timed(baseline))
                api_ms[name].append(timed(lambda p=api_paths[name]: client.get(p)))
        api_found = {name: client.get(api_paths[name]).get_json()["total"] for name, _ in API_CASES}
        found = {name: _found(client.get(path).get_data(as_text=True)) for name, path in paths.items()}

    base = statistics.median(base_ms)
    print(f"# directory search benchmark: {args.scale} ({count:,} merchants), {args.db}")
    print(f"# {_common.machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"# baseline SELECT COUNT(*) FROM merchant: {base:.1f} ms (median of {len(base_ms)})")
    print(f"{'case':34} {'found':>10} {'ms':>8} {'× COUNT':>8}  target      {'API ms':>8} {'API/page':>8}")
    ok = True
    for name, query in CASES:
        ms = statistics.median(case_ms[name])
        target = QUERY_TARGET_MS if "q" in query else LIST_TARGET_MS
        api = statistics.median(api_ms[name])
        ok &= ms < target and api < target
        print(f"{name:34} {found[name]:>10} {ms:8.1f} {ms / base:8.3f}  < {target:.0f} ms "
              f"{'PASS' if ms < target else 'FAIL'}  {api:8.1f} {api / ms:8.3f}")
    print(f"{'API only':34} {'found':>10} {'API ms':>8} {'× COUNT':>8}  target")
    for name, query in API_CASES:
        api = statistics.median(api_ms[name])
        target = QUERY_TARGET_MS if "q" in query else LIST_TARGET_MS
        ok &= api < target
        print(f"{name:34} {api_found[name]:>10,} {api:8.1f} {api / base:8.3f}  < {target:.0f} ms "
              f"{'PASS' if api < target else 'FAIL'}")
    print(f"SUMMARY search {args.scale} {args.db}: every case under its target -> {'PASS' if ok else 'FAIL'}")
    print(f"# {_common.machine()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ok else 1


def _found(html: str) -> str:
    """The count the page shows ("1,000+" past the cap)."""
    import re

    if "找到超过" in html:
        return "1,000+"
    match = re.search(r"找到 (\d+) 家", html)
    return match.group(1) if match else "?"


if __name__ == "__main__":
    sys.exit(main())
