"""The nightly rating recompute and the per-event update, at city or province scale.

    python bench/bench_ratings.py --scale city|province --db sqlite|postgresql [--fresh]

Seeds once, and keeps for reruns, a region of merchants (demo.load_merchants, without
event rows), its complaints with surveys, inspections and penalties: bench/.data/
ratings[_city].sqlite3 (SQLite) or the database bench_ratings[_city] on 127.0.0.1:5432.

    scale      merchants   complaints   inspections   penalties
    city          10,000       20,000         1,000         100
    province     500,000    1,000,000        50,000       5,000

Distributions: 80% of merchants never draw a complaint; the rest share them with a long
tail (a few shops draw hundreds). Received over the last 13 months; 85% closed (70%
resolved, 15% not resolved, 8% withdrawn, 7% rejected), a third of those found against the
merchant, 10% about fakes or refused returns; 60% of closed cases surveyed, 93% satisfied
(the city's reported rate). Inspections over two years, 8% failed.

Then, with the same app code the CLI runs (ratings.services):

- baselines in the same run: reading every merchant id, and one plain
  `SELECT merchant_id, count(*) FROM complaint GROUP BY merchant_id`;
- recompute, first run: no rating yet, every merchant gets its first row;
- recompute, nothing changed (the usual night): reads and compares only;
- recompute after a model change: every current row demoted and a new one written;
- one merchant after an event: a failed inspection recorded, then update_merchant + commit,
  for 200 merchants (half drawn at random, half the most complained about): median, p95.

Targets: each recompute within 60 s at province scale; one update under 20 ms.
Exit status 0 when both hold. Ratings written by the run are removed before the next one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import log

SCALES = {
    "city": {"merchants": 10_000, "complaints": 20_000, "inspections": 1_000, "penalties": 100},
    "province": {"merchants": 500_000, "complaints": 1_000_000, "inspections": 50_000, "penalties": 5_000},
}
RECOMPUTE_TARGET_S = 60.0
UPDATE_TARGET_MS = 20.0
SAMPLE = 200
SEED_VERSION = 2  # bump when the seeding below changes: kept databases are then re-seeded
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

PROBLEMS = (("quality", 30), ("contract_terms", 20), ("advertising", 10), ("price", 10), ("service", 10),
            ("genuine_doubt", 5), ("refused_return", 5), ("safety", 3), ("other", 7))
OUTCOMES = (("resolved", 70), ("not_resolved", 15), ("withdrawn", 8), ("rejected", 7))
OPEN = ("accepted", "with_merchant", "merchant_answered", "mediating")


def _code(i: int, prefix: str) -> str:
    out = []
    for _ in range(12):
        i, r = divmod(i, 32)
        out.append(_ALPHABET[r])
    return prefix + "".join(out)


def _insert(table, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from pledge_registry.extensions import db

    if rows:
        db.session.execute(insert(table), rows)
        db.session.commit()


def seed(scale: dict[str, int]) -> None:
    from sqlalchemy import select

    from pledge_registry.extensions import db
    from pledge_registry.models import Merchant

    _seed_merchants(scale["merchants"])
    rng = random.Random(4)
    now = datetime.now(UTC)
    ids = list(db.session.scalars(select(Merchant.id).order_by(Merchant.id)))
    rng.shuffle(ids)
    started = time.perf_counter()
    _seed_complaints(rng, ids[: max(1, len(ids) // 5)], scale["complaints"], now)  # 80% never draw one
    _seed_findings(rng, ids, scale, now)
    log(f"complaints, surveys, inspections, penalties seeded in {time.perf_counter() - started:.1f} s")


def _seed_merchants(count: int) -> None:
    from pledge_registry import demo

    demo.ensure_places()
    demo.ensure_templates()
    started = time.perf_counter()
    done = 0
    while done < count:
        n = min(50_000, count - done)
        demo.load_merchants(n, seed=8736 + done, with_events=False, chunk=20_000)
        done += n
        log(f"  {done:,} merchants ({time.perf_counter() - started:.0f} s)")
    seconds = time.perf_counter() - started
    log(f"demo.load_merchants: {count:,} merchants in {seconds:.1f} s ({count / seconds:,.0f} merchants/s)")


_PROBLEMS = [p for p, w in PROBLEMS for _ in range(w)]
_OUTCOMES = [o for o, w in OUTCOMES for _ in range(w)]
_ANSWERS = ["satisfied"] * 93 + ["neutral"] * 4 + ["dissatisfied"] * 3


def _seed_complaints(rng: random.Random, complained: list[int], total: int, now: datetime) -> None:
    """`total` complaints over `complained`, with a survey answer for 60% of the closed ones."""
    from sqlalchemy import select

    from pledge_registry.extensions import db
    from pledge_registry.models import Complaint, SurveyResponse

    started = time.perf_counter()
    batch, surveys, next_id = [], [], 1
    for i in range(total):
        # Long tail: u**2 piles complaints onto the first shops of the shuffled list.
        row = _complaint_row(rng, i, complained[int(len(complained) * rng.random() ** 2)], now)
        batch.append(row)
        if row["outcome"] in ("resolved", "not_resolved") and rng.random() < 0.6:
            surveys.append({"complaint_id": next_id + len(batch) - 1, "answer": rng.choice(_ANSWERS),
                            "comment": "", "created_at": row["closed_at"]})
        if len(batch) == 20_000 or i == total - 1:
            first = db.session.scalar(select(Complaint.id).order_by(Complaint.id.desc()).limit(1)) or 0
            assert first == next_id - 1, "complaint ids must follow on (an empty complaint table)"
            _insert(Complaint.__table__, batch)
            _insert(SurveyResponse.__table__, surveys)
            next_id += len(batch)
            batch, surveys = [], []
            if (i + 1) % 200_000 == 0 or i == total - 1:
                log(f"  {i + 1:,} complaints ({time.perf_counter() - started:.0f} s)")


def _complaint_row(rng: random.Random, i: int, merchant_id: int, now: datetime) -> dict:
    """The i-th complaint: received over the last 13 months, in any state."""
    received = now - timedelta(seconds=rng.randint(0, 395 * 86400))
    accepted = received + timedelta(hours=rng.randint(1, 20))
    status, outcome, upheld = "received", None, None
    roll = rng.random()
    if roll < 0.05:
        accepted = None
    elif roll < 0.15:
        status = rng.choice(OPEN)
    else:
        status, outcome = "closed", rng.choice(_OUTCOMES)
        if outcome in ("resolved", "not_resolved"):
            upheld = rng.random() < 0.33
    forwarded = accepted + timedelta(hours=rng.randint(1, 48)) if accepted and outcome != "rejected" else None
    reply_due = forwarded + timedelta(days=3) if forwarded else None
    replied = None
    if forwarded and (status in ("merchant_answered", "mediating", "closed")) and rng.random() < 0.9:
        replied = forwarded + timedelta(hours=rng.randint(1, 100))  # late past 72 h
    closed = (replied or forwarded or received) + timedelta(days=rng.randint(1, 10)) if outcome else None
    return {
        "tracking_code": _code(i, "B"), "idempotency_key": _code(i, "bench-"), "request_type": "complaint",
        "merchant_id": merchant_id, "station_id": None, "item": "商品", "purchased_on": None,
        "amount_paid_cents": rng.randint(1000, 500000), "problem_type": rng.choice(_PROBLEMS),
        "account": "购买后发现问题。", "wants": ["refund"], "shopper_name": None,
        "shopper_phone": f"139{i % 100000000:08d}", "consent_version": "bench", "consent_at": received,
        "status": status, "outcome": outcome, "outcome_note": "", "reject_reason": None,
        "amount_recovered_cents": 0, "upheld": upheld, "assigned_officer_id": None, "duplicate_of_id": None,
        "possible_duplicate": False, "merchant_reply": "", "proposal_kind": None,
        "proposal_amount_cents": None, "proposal_response": None, "received_at": received,
        "acceptance_due_at": received + timedelta(days=1), "completion_due_at": received + timedelta(days=9),
        "accepted_at": accepted, "forwarded_at": forwarded, "merchant_reply_due_at": reply_due,
        "merchant_replied_at": replied, "closed_at": closed, "anonymised_at": None,
    }


def _seed_findings(rng: random.Random, ids: list[int], scale: dict[str, int], now: datetime) -> None:
    """Inspections (8% failed) and penalties over the last two years."""
    from pledge_registry.models import Inspection, Penalty

    today = date.today()
    inspected = [{"merchant_id": rng.choice(ids), "inspected_on": today - timedelta(days=rng.randint(0, 730)),
                  "subject": f"抽查 {k}", "result": "failed" if rng.random() < 0.08 else "passed",
                  "findings": "", "recorded_by_id": None, "created_at": now} for k in range(scale["inspections"])]
    _insert(Inspection.__table__, inspected)
    penalised = [{"merchant_id": rng.choice(ids), "case_number": f"太市监罚〔bench〕{k}号",
                  "decided_on": today - timedelta(days=rng.randint(0, 730)), "reason": "销售不合格商品",
                  "amount_cents": 500000, "recorded_by_id": None, "created_at": now}
                 for k in range(scale["penalties"])]
    _insert(Penalty.__table__, penalised)


COPIED_TABLES = ("town", "commercial_area", "pledge_template", "user_account", "merchant", "pledge", "complaint",
                 "survey_response", "inspection", "penalty")


def copy_from_sqlite(sqlite_path: Path, url: str, tables: tuple[str, ...] = COPIED_TABLES) -> None:
    """Seed PostgreSQL with COPY from the SQLite bench database of the same seed.

    demo.load_merchants is slow on PostgreSQL: its ORM bulk insert of pledges splits rows
    by which columns are NULL (a genuine-goods pledge has no return terms), so the rows go
    one or two per statement, a round trip each; on this machine 50,000 merchants took
    20 minutes. The data is the same either way: the SQLite database was seeded by it.
    """
    import sqlite3

    import psycopg
    from sqlalchemy.engine import make_url

    started = time.perf_counter()
    target = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    source = sqlite3.connect(sqlite_path)
    with psycopg.connect(target) as conn:
        conn.execute("SET TIME ZONE 'UTC'")  # SQLite holds naive UTC timestamps
        for table in tables:
            columns = [r[1] for r in source.execute(f'PRAGMA table_info("{table}")')]
            names = ", ".join(f'"{c}"' for c in columns)
            with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in source.execute(f'SELECT {names} FROM "{table}"'):
                    copy.write_row(row)
            if "id" in columns:  # (an index table has no id of its own)
                conn.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                             f'(SELECT coalesce(max(id), 1) FROM "{table}"))')
            log(f"  copied {table} ({time.perf_counter() - started:.0f} s)")
    source.close()


def _clear_ratings() -> None:
    from sqlalchemy import delete

    from pledge_registry.extensions import db
    from pledge_registry.models import Rating, Setting

    db.session.execute(delete(Rating))
    db.session.execute(delete(Setting).where(Setting.key == "rating_model"))
    db.session.commit()


def _timed(fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def measure(url: str) -> dict:
    from pledge_registry import create_app
    from pledge_registry.extensions import db

    out: dict = {"load": " ".join(f"{x:.1f}" for x in os.getloadavg())}
    app = create_app(_common.app_config(url))
    with app.app_context():
        _clear_ratings()
        out.update(_baselines(url))
        out["runs"] = _recompute_runs()
        out.update(_event_updates())
        _clear_ratings()
        db.session.remove()
        db.engine.dispose()
    return out


class _StatementCounter:
    """Counts the statements the app's engine runs while it is entered."""

    def __init__(self) -> None:
        self.count = 0

    def _seen(self, *_args: object) -> None:
        self.count += 1

    def __enter__(self) -> _StatementCounter:
        from sqlalchemy import event

        from pledge_registry.extensions import db

        event.listen(db.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        from sqlalchemy import event

        from pledge_registry.extensions import db

        event.remove(db.engine, "before_cursor_execute", self._seen)


def _baselines(url: str) -> dict:
    """Reading every merchant id, and a plain GROUP BY of the complaints: on a plain
    connection, no app code."""
    from sqlalchemy import create_engine, text

    out = {}
    engine = create_engine(url)
    with engine.connect() as conn:
        _, out["baseline_ids"] = _timed(lambda: conn.execute(text("SELECT id FROM merchant")).fetchall())
        _, out["baseline_group"] = _timed(lambda: conn.execute(text(
            "SELECT merchant_id, count(*) FROM complaint GROUP BY merchant_id")).fetchall())
    engine.dispose()
    return out


def _recompute_runs() -> dict[str, tuple]:
    """label -> (seconds, rated, changed, statements, this process's CPU seconds)."""
    from pledge_registry.extensions import db
    from pledge_registry.models import Setting
    from pledge_registry.ratings import services
    from pledge_registry.ratings.model import DEFAULT_CONFIG

    runs = {}
    now = datetime.now(UTC)
    for label in ("first", "unchanged", "model_changed"):
        if label == "model_changed":
            values = DEFAULT_CONFIG.to_dict()
            values["version"] = "bench-2"
            values["weights"] = {**values["weights"], "pledges": 20.0, "complaint_volume": 20.0}
            db.session.add(Setting(key="rating_model", value=values))
            db.session.commit()
        with _StatementCounter() as statements:
            cpu = time.process_time()
            result = services.recompute_all(now=now)
            cpu = time.process_time() - cpu
        runs[label] = (result.seconds, result.rated, result.changed, statements.count, cpu)
        log(f"  recompute ({label}): {result.seconds:.1f} s (this process's CPU {cpu:.1f} s), "
            f"{result.rated:,} rated, {result.changed:,} changed, {statements.count} statements")
    return runs


def _median_and_p95(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[max(0, int(len(values) * 0.95) - 1)]


def _event_updates() -> dict:
    """One merchant after an event (a failed inspection), half of them at random, half
    the most complained about; against one round trip to the database."""
    from sqlalchemy import text

    from pledge_registry.extensions import db
    from pledge_registry.models import Inspection
    from pledge_registry.ratings import services

    rng = random.Random(7)
    rated = list(db.session.scalars(text("SELECT merchant_id FROM rating WHERE is_current")))
    busiest = list(db.session.scalars(text(
        "SELECT merchant_id FROM complaint GROUP BY merchant_id ORDER BY count(*) DESC LIMIT :n"),
        {"n": SAMPLE // 2}))
    busy = set(busiest)
    sample = rng.sample([m for m in rated if m not in busy], SAMPLE - len(busiest)) + busiest
    trips = []
    for _ in range(SAMPLE):
        started = time.perf_counter()
        db.session.execute(text("SELECT 1")).scalar()
        trips.append((time.perf_counter() - started) * 1000)
    db.session.commit()
    times = []
    changed = 0
    with _StatementCounter() as statements:
        for k, merchant_id in enumerate(sample):
            db.session.add(Inspection(merchant_id=merchant_id, inspected_on=date.today(),
                                      subject=f"bench event {k}", result="failed"))
            started = time.perf_counter()
            changed += services.update_merchant(merchant_id, "compliance_change")
            db.session.commit()
            times.append((time.perf_counter() - started) * 1000)
    db.session.execute(text("DELETE FROM inspection WHERE subject LIKE 'bench event%'"))
    db.session.commit()
    half = len(sample) - len(busiest)
    return {
        "round_trip_ms": statistics.median(trips),
        "statements_per_update": statements.count / len(sample),
        "update_ms": (*_median_and_p95(times), changed, len(sample)),
        "update_random_ms": _median_and_p95(times[:half]),
        "update_busiest_ms": _median_and_p95(times[half:]),
        "busiest": db.session.scalar(text(
            "SELECT count(*) FROM complaint WHERE merchant_id = :m"), {"m": busiest[0]}) if busiest else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="city")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--fresh", action="store_true", help="drop the kept database and seed again")
    args = parser.parse_args(argv)

    scale = SCALES[args.scale]
    key = "ratings" if args.scale == "province" else f"ratings_{args.scale}"
    url = _common.database_url(args.db, key)
    stamp = {"bench": "ratings", "scale": scale, "seed_version": SEED_VERSION}
    seeder = lambda: seed(scale)  # noqa: E731
    if args.db == "postgresql":
        sqlite_url = _common.database_url("sqlite", key)
        sqlite_path = Path(sqlite_url.removeprefix("sqlite:///"))
        stamp_path = _common.DATA / f"{sqlite_path.name}.stamp.json"
        if stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp:
            seeder = lambda: copy_from_sqlite(sqlite_path, url)  # noqa: E731
        else:
            log("no SQLite bench database of this seed to copy: seeding with demo.load_merchants (slow on "
                "PostgreSQL; run the SQLite benchmark first)")
    _common.prepare_database(url, stamp, seeder, fresh=args.fresh)
    log(_common.machine())
    r = measure(url)

    print(f"ratings benchmark, {args.scale} ({scale['merchants']:,} merchants, {scale['complaints']:,} complaints,"
          f" {scale['inspections']:,} inspections), {args.db}")
    print(f"  load average at the start: {r['load']}")
    print(f"  baseline: read all merchant ids          {r['baseline_ids']:7.2f} s")
    print(f"  baseline: complaints GROUP BY merchant   {r['baseline_group']:7.2f} s")
    ok = True
    for label, (seconds, rated, changed, statements, cpu) in r["runs"].items():
        ratio = seconds / r["baseline_group"] if r["baseline_group"] else float("nan")
        passed = seconds <= RECOMPUTE_TARGET_S
        ok &= passed
        print(f"  recompute, {label:<14} {seconds:7.2f} s (CPU here {cpu:6.2f} s) = {ratio:5.1f} x the GROUP BY "
              "baseline; "
              f"{rated:,} rated, {changed:,} new rows, {statements} statements  "
              f"[{'ok' if passed else 'OVER'} <= {RECOMPUTE_TARGET_S:.0f} s]")
    median, p95, changed, n = r["update_ms"]
    passed = p95 <= UPDATE_TARGET_MS
    ok &= passed
    print(f"  update_merchant after an event ({n} merchants, {changed} changed; busiest has {r['busiest']:,}"
          f" complaints): median {median:.1f} ms, p95 {p95:.1f} ms  [{'ok' if passed else 'OVER'}"
          f" <= {UPDATE_TARGET_MS:.0f} ms]")
    print(f"    {r['statements_per_update']:.0f} statements each (event row, BEGIN and COMMIT included); one"
          f" round trip (SELECT 1) takes {r['round_trip_ms']:.2f} ms here now: the update costs"
          f" {median / r['round_trip_ms']:.0f} round trips")
    print("    of which {0} drawn at random: median {1[0]:.1f} ms, p95 {1[1]:.1f} ms; the {0} most complained about:"
          " median {2[0]:.1f} ms, p95 {2[1]:.1f} ms".format(n // 2, r["update_random_ms"], r["update_busiest_ms"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
