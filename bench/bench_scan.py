"""The scan page (/m/<code>) under concurrent load, against /healthz of the same app in the same run.

    python bench/bench_scan.py --scale city|province --db sqlite|postgresql \
        [--workers 2] [--duration 10] [--connections 32] [--worker-class gthread --threads 4]
    python bench/bench_scan.py --through-nginx [--db ...]   # the deployed stack: bench/bench_stack.py

Seeds a city (10,000 merchants) or a province (500,000) once, into bench/.data/ (SQLite) or
the database bench_scan_<scale> on 127.0.0.1:5432 (PostgreSQL), and keeps it for reruns.
Then gunicorn serves the app on a free 127.0.0.1 port and wrk measures:

- trivial: GET /healthz, the same app, middleware and worker config, no database;
- scan hot: cycles through 1,000 real badge codes (15 March: many phones, few badges), so
  after the first scans every worker answers from its page cache;
- scan cold: cycles through 50,000 codes, more than a worker's cache (SCAN_CACHE_SIZE,
  20,000) and more than a run can repeat, so nearly every scan renders the page.

The target is scan >= 0.75 x trivial requests/s on the hot set at both scales;
the cold figure is reported beside it (a cache miss renders a page: it is not held to it).
Exit status 0 when the hot set passes, 1 when it does not.
Badge rendering times are measured separately by bench/bench_badges.py.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
from _common import Server, log, run_wrk

SCALES = {"city": 10_000, "province": 500_000}
HOT_CODES = 1_000
COLD_CODES = 50_000
TARGET = 0.75
SEED_VERSION = 1  # bump when the seeding below changes: kept databases are then re-seeded


def seed(count: int) -> None:
    from pledge_registry import demo

    demo.ensure_places()
    demo.ensure_templates()
    # Events are history, never read by the scan page: skip them beyond a city to seed fast.
    with_events = count <= 10_000
    chunk = 5_000 if with_events else 20_000
    done = 0
    started = time.perf_counter()
    while done < count:  # in slices, to show progress
        n = min(50_000, count - done)
        demo.load_merchants(n, seed=8736 + done, with_events=with_events, chunk=chunk)
        done += n
        log(f"  {done:,} merchants ({time.perf_counter() - started:.0f} s)")


def sample_codes(url: str, count: int, seed: int) -> list[str]:
    """`count` badge codes of approved shops, drawn at random (the same ones at every run)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        codes = list(conn.scalars(text("SELECT badge_code FROM merchant WHERE status = 'approved' ORDER BY id")))
    engine.dispose()
    return random.Random(seed).sample(codes, min(count, len(codes)))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="city")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class: sync or gthread")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (max 60)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--max-requests", type=int, default=0,
                        help="gunicorn max_requests (default 0: workers are not recycled during the "
                             "run; -1 keeps gunicorn.conf.py's own setting)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of trivial/hot/cold runs")
    parser.add_argument("--reseed", action="store_true", help="drop the kept database and seed again")
    parser.add_argument("--seed-only", action="store_true", help="prepare the database and stop")
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args(argv)
    args.duration = max(1, min(args.duration, 60))  # bounded: this is a load test
    return args


def warm_up(server: Server, hot_paths: list[str], args: argparse.Namespace) -> None:
    """/healthz, then the hot pages until every worker has most likely rendered each."""
    warm = {"duration": args.warmup, "connections": args.connections, "threads": args.wrk_threads, "server": server}
    run_wrk(server.base, "warm-up", "/healthz", **warm)
    # Which worker takes a request is chance: 8 passes per worker leave ~0.4% of pages unseen.
    needed, done_requests, deadline = 8 * args.workers * len(hot_paths), 0, time.monotonic() + 180
    while done_requests < needed and time.monotonic() < deadline:
        done_requests += run_wrk(server.base, "warm-up", paths=hot_paths, offset=done_requests,
                                 **dict(warm, duration=3)).requests
    warm_note = "" if done_requests >= needed else f" (short of {needed:,}: caches not fully warm, hot figures low)"
    print(f"# warm-up: {done_requests:,} hot scans{warm_note}")


def measure(server: Server, hot_paths: list[str], cold_paths: list[str], args: argparse.Namespace
            ) -> tuple[list, dict[str, list]]:
    """Rounds of trivial, hot, cold, closed by a last trivial: each scan run is compared
    with the trivial runs just before and after it, so drifting background load on a
    shared machine shifts both sides of a ratio alike. Returns (trivial runs, scan runs)."""
    wrk = {"duration": args.duration, "connections": args.connections, "threads": args.wrk_threads, "server": server}
    trivial_runs: list = []
    runs: dict[str, list] = {"hot": [], "cold": []}
    for n in range(1, args.rounds + 1):
        trivial_runs.append(run_wrk(server.base, f"trivial /healthz #{n}", "/healthz", **wrk))
        runs["hot"].append(run_wrk(server.base, f"scan hot ({len(hot_paths):,}) #{n}", paths=hot_paths, **wrk))
        if not args.skip_cold:
            runs["cold"].append(run_wrk(server.base, f"scan cold ({len(cold_paths):,}) #{n}", paths=cold_paths,
                                        offset=n * 20_000, **wrk))
    trivial_runs.append(run_wrk(server.base, f"trivial /healthz #{args.rounds + 1}", "/healthz", **wrk))
    return trivial_runs, runs


def summarise(name: str, runs: list, trivial_runs: list) -> bool:
    """Print the SUMMARY line of the hot or cold set; whether it meets the target."""
    trivial = statistics.median(r.rps for r in trivial_runs)
    ratios = [r.rps / ((trivial_runs[i].rps + trivial_runs[i + 1].rps) / 2) for i, r in enumerate(runs)]
    ratio = statistics.median(ratios)
    bad = sum(r.non2xx + r.socket_errors for r in runs)
    ok = ratio >= TARGET and bad == 0
    rps = statistics.median(r.rps for r in runs)
    p50 = statistics.median(r.p50_ms for r in runs)
    p99 = max(r.p99_ms for r in runs)
    cpu = [r.cpu_us for r in [*runs, *trivial_runs]]
    cpu_note = ""
    if None not in cpu:
        cpu_ratio = statistics.median(r.cpu_us for r in trivial_runs) / statistics.median(r.cpu_us for r in runs)
        cpu_note = f", CPU ratio {cpu_ratio:.2f}"
    note = "" if name == "hot" else "  (informational: the target is for the hot set)"
    print(f"SUMMARY scan {name}: trivial {trivial:.0f} req/s, scan {rps:.0f} req/s, ratio {ratio:.2f} "
          f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}), p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
          f"non-2xx+errors {bad}{cpu_note} -> {'PASS' if ok else 'FAIL'} (target {TARGET}){note}")
    return ok


def main(argv: list[str] | None = None) -> int:
    if "--through-nginx" in (sys.argv[1:] if argv is None else argv):
        import bench_stack

        return bench_stack.main(argv)
    args = parse_args(argv)
    count = SCALES[args.scale]
    url = _common.database_url(args.db, f"scan_{args.scale}")
    log(f"database: {args.db} ({args.scale}, {count:,} merchants)")
    _common.prepare_database(url, {"bench": "scan", "merchants": count, "seed_version": SEED_VERSION},
                             lambda: seed(count), fresh=args.reseed)
    if args.seed_only:
        return 0
    hot_paths = [f"/m/{c}" for c in sample_codes(url, HOT_CODES, seed=315)]
    cold_paths = [f"/m/{c}" for c in sample_codes(url, COLD_CODES, seed=2023)]

    print(f"# scan page benchmark: {args.scale} ({count:,} merchants), {args.db}")
    print(f"# {_common.machine()}")
    print(f"# gunicorn {args.workers} x {args.worker_class}"
          + (f" ({args.threads} threads)" if args.worker_class == "gthread" else "")
          + f", wrk {args.wrk_threads} threads x {args.connections} connections, {args.duration} s each")
    extra = () if args.max_requests < 0 else ("--max-requests", str(args.max_requests))
    with Server(url, workers=args.workers, worker_class=args.worker_class, threads=args.threads,
                extra_args=extra) as server:
        with urllib.request.urlopen(server.base + hot_paths[0], timeout=10) as r:
            assert r.status == 200 and b"html" in r.read(2000).lower(), "the scan page does not answer"
        warm_up(server, hot_paths, args)
        trivial_runs, runs = measure(server, hot_paths, cold_paths, args)

    order = {"t": 0, "s": 1}
    for r in sorted([*trivial_runs, *runs["hot"], *runs["cold"]],
                    key=lambda r: (int(r.label.rsplit("#", 1)[1]), order[r.label[0]], "cold" in r.label)):
        print(r.line())
    print(f"# load average after: {os.getloadavg()[0]:.2f} (2 cores; above ~2.5 other work shared the machine)")
    hot_ok = summarise("hot", runs["hot"], trivial_runs)
    if runs["cold"]:
        summarise("cold", runs["cold"], trivial_runs)
    return 0 if hot_ok else 1


if __name__ == "__main__":
    sys.exit(main())
