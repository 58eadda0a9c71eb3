"""The staff list of import runs (/staff/imports) over many runs: server time per page.

    python bench/bench_imports_list.py --db sqlite|postgresql [--runs 100000] [--rounds 9]

A fresh database (bench/.data/imports_list.sqlite3, or PostgreSQL database
bench_imports_list) is migrated and given `--runs` import runs spread over the towns, four
kinds and (one every 37 minutes) about seven years; far more than a city imports, so that
the list's indexes, not the table's size, set the time. Each page is requested through the
app in this process, signed in as an admin: the median of `--rounds` requests after one
warm-up, against `/healthz` in the same run. The province figures, with 5,000 runs beside
the province's complaints, come from bench_staff_lists.py. Target: under 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import log

PASSWORD = "bench-imports-password"
ADMIN_LOGIN = "bench-admin@bureau.example"
TARGET_MS = 300.0


def _seed(runs: int) -> None:
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from pledge_registry import demo
    from pledge_registry.extensions import db
    from pledge_registry.models import ImportRun, Role, Town, User

    demo.ensure_places()
    towns = list(db.session.scalars(select(Town.id).order_by(Town.id)))
    kinds = ("merchants", "inspections", "penalties", "channel:12345")
    now = datetime.now(UTC)
    for start in range(0, runs, 10_000):
        db.session.execute(insert(ImportRun), [
            {"kind": kinds[i % len(kinds)], "town_id": towns[i % len(towns)] if i % 7 else None,
             "filename": f"bench-{i}.xlsx", "rows_read": i % 500, "created": i % 400, "skipped": i % 50,
             "errors": 0, "dry_run": i % 11 == 0, "created_at": now - timedelta(minutes=37 * i)}
            for i in range(start, min(runs, start + 10_000))])
    db.session.add(User(email=ADMIN_LOGIN, display_name="基准 管理员", role=Role.ADMIN,
                        password_hash=generate_password_hash(PASSWORD, method="scrypt:16384:8:1")))
    db.session.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    url = _common.database_url(args.db, "imports_list")
    _common.prepare_database(url, {"bench": "imports_list", "runs": args.runs}, lambda: _seed(args.runs))

    from sqlalchemy import func, select

    from pledge_registry import create_app
    from pledge_registry.extensions import db
    from pledge_registry.models import Town

    app = create_app(_common.app_config(url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                                         SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False))
    log(_common.machine())
    with app.app_context():
        town = db.session.scalar(select(func.min(Town.id)))
        db.session.remove()
    client = _common.signed_in(app, ADMIN_LOGIN, PASSWORD)
    year_ago = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
    pages = {"newest": "/staff/imports", "town and kind": f"/staff/imports?town={town}&kind=merchants",
             "a calendar year, a year back": f"/staff/imports?start={year_ago[:4]}-01-01&end={year_ago[:4]}-12-31",
             "town, kind, since a year": f"/staff/imports?town={town}&kind=penalties&start={year_ago}"}

    def timed(path: str) -> float:
        started = time.perf_counter()
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        return (time.perf_counter() - started) * 1000

    timings: dict[str, list[float]] = {label: [] for label in ["/healthz", *pages]}
    for path in ["/healthz", *pages.values()]:
        timed(path)
    for _ in range(args.rounds):  # alternating: the baseline, then every page
        timings["/healthz"].append(timed("/healthz"))
        for label, path in pages.items():
            timings[label].append(timed(path))
    medians: dict[str, Any] = {label: statistics.median(v) for label, v in timings.items()}
    health = medians.pop("/healthz")
    print(f"imports list, {args.runs:,} runs, {args.db}; median of {args.rounds} rounds; /healthz {health:.2f} ms")
    ok = True
    for label, ms in medians.items():
        ok &= ms < TARGET_MS
        print(f"  {label:<28} {ms:7.1f} ms = {ms / health:5.1f} x /healthz  [{'ok' if ms < TARGET_MS else 'OVER'}]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
