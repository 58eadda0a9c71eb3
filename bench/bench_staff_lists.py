"""Every staff list at province scale: server time per page against baselines of the same run.

    python bench/bench_staff_lists.py --db sqlite|postgresql [--rounds 7] [--reseed] [--seed-only]

The data is bench_ratings.py's province (500,000 merchants, of which 41,667 wait for review
with 125,001 submitted pledges; 1,000,000 complaints over 13 months), copied from its kept
SQLite seed (`--source`, default bench/.data/ratings.sqlite3, else the shared copy in
/tmp/seams-base) and given what the staff lists filter by: a supervision station for each
commercial area (each complaint about a shop in one is that station's), a staff member to
sign in as, and a station officer, and a share of the open cases assigned to the staff member;
then the search index is built (the staff search reads it). PostgreSQL (database
bench_staff_lists) is seeded from that SQLite file with COPY, and its index built the same way.

Each list page is requested through the app in this process (Flask's test client, signed
in through the login form), so the figure is the server's time for the request: the
queries and the rendering, no network. For each URL: the median of `--rounds` requests,
after one warm-up request; the rounds alternate between the pages and the baselines:

- `/healthz`, the cheapest request the app answers;
- a full `SELECT count(*) FROM complaint` on the app's own connection.

The imports list reads 5,000 import runs (`_ensure_import_runs`, added to a kept database once).

Target: every list page under 300 ms. Exit status 1 when one is over.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import log

TARGET_MS = 300.0
SEED_VERSION = 2  # bump when the enrichment below changes
PASSWORD = "bench-staff-password"
STAFF_LOGIN = "bench-staff@bureau.example"
STATION_LOGIN = "bench-station@bureau.example"
ADMIN_LOGIN = "bench-admin@bureau.example"
SOURCES = (_common.DATA / "ratings.sqlite3", Path("/tmp/seams-base/bench/.data/ratings.sqlite3"))
COPIED_TABLES = ("town", "commercial_area", "pledge_template", "supervision_station", "user_account", "merchant",
                 "pledge", "complaint", "survey_response", "inspection", "penalty")


# --- seeding -------------------------------------------------------------------------------

def _enrich() -> None:
    """Stations, officers and assignments on the copied ratings seed (inside the app context)."""
    from sqlalchemy import func, select, text
    from werkzeug.security import generate_password_hash

    from pledge_registry.extensions import db
    from pledge_registry.models import CommercialArea, Role, SupervisionStation, User

    for area in db.session.scalars(select(CommercialArea).order_by(CommercialArea.id)):
        db.session.add(SupervisionStation(name=f"监督站 {area.id}", area_id=area.id, active=True))
    db.session.flush()
    first_station = db.session.scalar(select(func.min(SupervisionStation.id)))
    hashed = generate_password_hash(PASSWORD, method="scrypt:16384:8:1")
    staff = User(email=STAFF_LOGIN, display_name="基准 科员", password_hash=hashed, role=Role.STAFF)
    station = User(email=STATION_LOGIN, display_name="基准 站员", password_hash=hashed, role=Role.STATION,
                   station_id=first_station)
    db.session.add_all([staff, station])
    db.session.flush()
    started = time.perf_counter()
    db.session.execute(text(
        "UPDATE complaint SET station_id = (SELECT s.id FROM supervision_station s JOIN merchant m "
        "ON m.area_id = s.area_id WHERE m.id = complaint.merchant_id)"))
    # A third of the open cases are the staff member's; one case in 40 looks like a duplicate.
    db.session.execute(text("UPDATE complaint SET assigned_officer_id = :u WHERE status <> 'closed' AND id % 3 = 0"),
                       {"u": staff.id})
    db.session.execute(text("UPDATE complaint SET possible_duplicate = :t WHERE id % 40 = 0"), {"t": True})
    db.session.commit()
    log(f"  stations and assignments in {time.perf_counter() - started:.1f} s")
    _index()


def _index() -> None:
    """The search index, which the seed's bulk load bypassed (the staff search reads it)."""
    from pledge_registry.search.index import rebuild

    started = time.perf_counter()
    rebuild()
    log(f"  search index built in {time.perf_counter() - started:.1f} s")


def _source() -> Path:
    for path in SOURCES:
        if path.exists():
            return path
    raise SystemExit("no province seed to copy: run bench/bench_ratings.py --scale province --db sqlite first")


def prepare(db: str, source: Path, reseed: bool) -> str:
    """The seeded database for `db`, kept between runs; its URL."""
    from bench_ratings import SCALES, copy_from_sqlite
    from bench_ratings import SEED_VERSION as RATINGS_SEED_VERSION

    stamp = {"bench": "staff_lists", "scale": SCALES["province"], "ratings_seed": RATINGS_SEED_VERSION,
             "seed_version": SEED_VERSION}
    sqlite_url = _common.database_url("sqlite", "staff_lists")
    stamp_path = _common._stamp_path(sqlite_url)
    if reseed or not stamp_path.exists() or json.loads(stamp_path.read_text()) != stamp:
        _common.drop_database(sqlite_url)
        target = Path(sqlite_url.removeprefix("sqlite:///"))
        log(f"copying {source} to {target}")
        shutil.copyfile(source, target)
        stamp_path.write_text(json.dumps({**stamp, "enriched": False}))
    if json.loads(stamp_path.read_text()).get("enriched") is False:
        # the copy is migrated (prepare_database keeps it: the stamp matches), then enriched
        _common.prepare_database(sqlite_url, {**stamp, "enriched": False}, lambda: None)
        _in_app(sqlite_url, _enrich)
        _common._analyze(sqlite_url)
        stamp_path.write_text(json.dumps(stamp))
    _common.prepare_database(sqlite_url, stamp, lambda: None)
    if db == "sqlite":
        return sqlite_url
    url = _common.database_url("postgresql", "staff_lists")
    sqlite_path = Path(sqlite_url.removeprefix("sqlite:///"))
    _common.prepare_database(url, stamp, lambda: (copy_from_sqlite(sqlite_path, url, COPIED_TABLES), _index()),
                             fresh=reseed)
    return url


def _in_app(url: str, fn: Any) -> Any:
    from pledge_registry import create_app
    from pledge_registry.extensions import db

    app = create_app(_common.app_config(url))
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()
            db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--source", type=Path, default=None, help="bench_ratings.py's province SQLite seed")
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    args = parser.parse_args(argv)
    url = prepare(args.db, args.source or _source(), args.reseed)
    if args.seed_only:
        return 0
    return measure(url, args.db, args.rounds)


# --- measuring -----------------------------------------------------------------------------

_NEXT = re.compile(r'<a rel="next" href="([^"]+)"')


def _ensure_admin(app: Any) -> None:
    """An administrator for the admin-only lists (stations); added to a kept database once."""
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

    from pledge_registry.extensions import db
    from pledge_registry.models import Role, User

    with app.app_context():
        if db.session.scalar(select(User.id).where(User.email == ADMIN_LOGIN)) is None:
            db.session.add(User(email=ADMIN_LOGIN, display_name="基准 管理员", role=Role.ADMIN,
                                password_hash=generate_password_hash(PASSWORD, method="scrypt:16384:8:1")))
            db.session.commit()
        db.session.remove()


IMPORT_RUNS = 5000  # about ten years of a city's imports, spread over the towns, kinds and days


def _ensure_import_runs(app: Any) -> None:
    """Import runs for the imports list; inserted into a kept database once (a fraction of a
    second), so that no reseed of the province is needed for them."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, insert, select

    from pledge_registry.extensions import db
    from pledge_registry.models import ImportRun, Town

    with app.app_context():
        if not db.session.scalar(select(func.count()).select_from(ImportRun)):
            towns = list(db.session.scalars(select(Town.id).order_by(Town.id)))
            kinds = ("merchants", "inspections", "penalties", "channel:12345", "channel:12315")
            now = datetime.now(UTC)
            db.session.execute(insert(ImportRun), [
                {"kind": kinds[i % len(kinds)], "town_id": towns[i % len(towns)] if i % 7 else None,
                 "filename": f"bench-{i}.xlsx", "rows_read": i % 500, "created": i % 400, "skipped": i % 50,
                 "errors": 0, "dry_run": i % 11 == 0, "created_at": now - timedelta(hours=17 * i)}
                for i in range(IMPORT_RUNS)])
            db.session.commit()
        db.session.remove()


def _deep(client: Any, path: str, page: int) -> str:
    """The URL of page `page` of a list, reached as staff reach it: Next, Next, ..."""
    for _ in range(page - 1):
        found = _NEXT.search(client.get(path).get_data(as_text=True))
        if not found:
            raise SystemExit(f"{path} has fewer than {page} pages")
        path = found.group(1).replace("&amp;", "&")
    return path


def _pages(app: Any, staff: Any, station: Any, admin: Any) -> list[tuple[str, Any, str]]:
    """(label, client, URL) of every list page measured."""
    with app.app_context():
        ids = _ids()
    return _urls(staff, station, admin, *ids)


def _ids() -> tuple[Any, ...]:
    from sqlalchemy import func, select

    from pledge_registry.extensions import db
    from pledge_registry.models import CommercialArea, Complaint, Merchant, Rating, SupervisionStation

    station_id = db.session.scalar(select(func.min(SupervisionStation.id)))
    area = db.session.scalar(select(CommercialArea).order_by(CommercialArea.id.desc()).limit(1))
    case = db.session.scalar(select(Complaint).where(Complaint.status == "accepted").limit(1))
    rated = db.session.scalar(select(Rating.merchant_id).group_by(Rating.merchant_id)
                              .order_by(func.count().desc()).limit(1))
    if rated is None:  # no rating copied (PostgreSQL): the page of a shop without one
        rated = db.session.scalar(select(func.min(Merchant.id)))
    db.session.remove()
    return station_id, area.id, area.town_id, case.id, case.tracking_code, rated


def _urls(staff: Any, station: Any, admin: Any, station_id: int, area_id: int, town_id: int, case_id: int, code: str,
          rated: int) -> list[tuple[str, Any, str]]:
    from datetime import timedelta

    from pledge_registry.localtime import local_today

    month_ago = (local_today() - timedelta(days=30)).isoformat()
    year_ago = (local_today() - timedelta(days=365)).isoformat()
    q = "/staff/complaints/"
    pages = [
        ("complaints: open", staff, q),
        ("complaints: all", staff, q + "?status=all"),
        ("complaints: open, page 200", staff, _deep(staff, q, 200)),
        ("complaints: all, page 200", staff, _deep(staff, q + "?status=all", 200)),
        ("complaints: received", staff, q + "?status=received"),
        ("complaints: closed", staff, q + "?status=closed"),
        ("complaints: mine", staff, q + "?who=mine"),
        ("complaints: unassigned", staff, q + "?who=unassigned"),
        ("complaints: station", staff, f"{q}?station={station_id}"),
        ("complaints: town", staff, f"{q}?status=all&town={town_id}"),
        ("complaints: area", staff, f"{q}?area={area_id}"),
        ("complaints: last 30 days", staff, f"{q}?status=all&from={month_ago}"),
        ("complaints: one day, a year ago", staff, f"{q}?status=all&from={year_ago}&to={year_ago}"),
        ("complaints: duplicates", staff, q + "?status=all&duplicates=1"),
        ("complaints: case number", staff, f"{q}?status=all&q={case_id}"),
        ("complaints: tracking code", staff, f"{q}?status=all&q={code}"),
        ("complaints: all filters", staff,
         f"{q}?station={station_id}&town={town_id}&who=unassigned&from={month_ago}"),
        ("complaints: station officer", station, q),
        ("complaints: station officer, page 200", station, _deep(station, q + "?status=all", 200)),
        ("review queue", staff, "/staff/"),
        ("review queue: page 200 of each", staff, _deep(staff, "/staff/", 200)),
        ("review queue: town, kind", staff, f"/staff/?town={town_id}&kind=returns"),
        ("review queue: search", staff, "/staff/?q=" + "物业"),
        ("stations", admin, "/staff/complaints/stations"),
        ("holidays", staff, "/staff/complaints/holidays"),
        ("nominations", staff, "/staff/nominations"),
        ("appeals", staff, "/staff/appeals"),
        ("suspension proposals", staff, "/staff/suspension-proposals"),
        ("rating history", staff, f"/staff/ratings/shops/{rated}"),
        ("imports", staff, "/staff/imports"),
        ("imports: page 50", staff, _deep(staff, "/staff/imports", 50)),
        ("imports: town, kind, a year", staff,
         f"/staff/imports?town={town_id}&kind=merchants&start={year_ago}"),
    ]
    return pages


def measure(url: str, db_name: str, rounds: int) -> int:
    from sqlalchemy import create_engine, text

    from pledge_registry import create_app

    # No app context is held around the requests: each request has its own, as under gunicorn.
    app = create_app(_common.app_config(url, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False,
                                         SESSION_COOKIE_SECURE=False, REMEMBER_COOKIE_SECURE=False))
    log(_common.machine())
    _ensure_admin(app)
    _ensure_import_runs(app)
    staff = _common.signed_in(app, STAFF_LOGIN, PASSWORD)
    station = _common.signed_in(app, STATION_LOGIN, PASSWORD)
    admin = _common.signed_in(app, ADMIN_LOGIN, PASSWORD)
    pages = _pages(app, staff, station, admin)
    timings: dict[str, list[float]] = {label: [] for label, _, _ in pages}
    timings["baseline: /healthz"] = []
    timings["baseline: SELECT count(*) FROM complaint"] = []
    engine = create_engine(url)

    def timed(fn: Any) -> float:
        started = time.perf_counter()
        fn()
        return (time.perf_counter() - started) * 1000

    def get(client: Any, path: str) -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")

    def count() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM complaint")).scalar()

    for _label, client, path in pages:  # warm-up: caches, the planner, the page cache of the OS
        get(client, path)
    for _ in range(rounds):
        timings["baseline: /healthz"].append(timed(lambda: get(staff, "/healthz")))
        timings["baseline: SELECT count(*) FROM complaint"].append(timed(count))
        for label, client, path in pages:
            timings[label].append(timed(lambda c=client, p=path: get(c, p)))
    engine.dispose()

    medians = {label: statistics.median(values) for label, values in timings.items()}
    health, full_count = medians.pop("baseline: /healthz"), medians.pop("baseline: SELECT count(*) FROM complaint")
    print(f"staff lists, province (500,000 merchants, 1,000,000 complaints), {db_name}; median of {rounds} rounds")
    print(f"  baseline: /healthz                         {health:8.2f} ms")
    print(f"  baseline: SELECT count(*) FROM complaint   {full_count:8.2f} ms")
    ok = True
    for label, ms in medians.items():
        passed = ms < TARGET_MS
        ok &= passed
        print(f"  {label:<42} {ms:8.1f} ms = {ms / health:6.0f} x /healthz = {ms / full_count:5.2f} x the COUNT"
              f"  [{'ok' if passed else 'OVER'} < {TARGET_MS:.0f} ms]")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
