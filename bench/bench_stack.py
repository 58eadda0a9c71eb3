"""Hot scans through the sample deployment's nginx micro-cache, against the same nginx serving
the same bytes as static files, in the same run, in alternating rounds.

    python bench/bench_scan.py --through-nginx [--db sqlite|postgresql] [--badges 10]
    python bench/bench_stack.py [same options]

gunicorn serves the scan benchmark's city database (bench/bench_scan.py seeds it once) behind
nginx running deploy/nginx.conf (bench/_common.py's Nginx: the deployment's locations, cache
directives and snippets, on a free 127.0.0.1 port). Before measuring, each hot badge's page is
fetched once and written to a file that the same nginx serves from a static location:

- static: nginx sends those files (the box's limit for these bytes);
- cached: the same pages through the micro-cache (`/m/<code>`), fetched again from the app
  every 1-2 s per badge (nginx counts the 1 s in whole seconds), with
  `proxy_cache_use_stale updating` answering meanwhile. The app's own page cache is warmed
  first, as bench_scan.py does.

Peak traffic is many phones on few badges (15 March, a mall event): the target, cached >= 0.5 x
static, is for `--badges` (10 by default); `--also-badges 1000` reports a wide set beside it.

Most of the seed's hot badges are not valid (suspended, revoked, expired ...), and each scan of
those is counted. The server runs with SCAN_COUNT_AT_EDGE on, as the sample deployment does:
their pages are kept like the others, nginx logs each such scan, and after the runs the log is
imported (`flask scans import-edge-log`'s code), timed, checked line for line, and its rows
deleted again. `--count-in-app`: the app counts them itself, and nginx keeps none of those pages.
Exit status 0 when the target is met in the median round and nothing failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import bench_scan
from _common import Nginx, Server, log, run_wrk

TARGET = 0.5
HOST = {"Host": "pledge.example.gov.cn"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--through-nginx", action="store_true", help="accepted (bench_scan.py passes it on)")
    parser.add_argument("--scale", choices=bench_scan.SCALES, default="city")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--nginx-workers", default="auto", help="nginx worker_processes")
    parser.add_argument("--badges", type=int, default=10, help="hot badges the target is for")
    parser.add_argument("--also-badges", type=int, default=1000, help="a wider hot set, reported (0: skip)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement (max 60)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--valid-only", action="store_true",
                        help="badges whose page says valid only (nothing to count)")
    parser.add_argument("--count-in-app", action="store_true",
                        help="SCAN_COUNT_AT_EDGE off: the app counts each suspicious scan itself, so nginx keeps "
                             "none of those pages (the behaviour before counting at the edge)")
    args = parser.parse_args(argv)
    args.duration = max(1, min(args.duration, 60))
    return args


def _state(server: Server, code: str) -> str:
    import json

    with urllib.request.urlopen(f"{server.base}/m/{code}.json", timeout=10) as response:
        return json.loads(response.read())["state"]


def static_copies(nginx: Nginx, codes: list[str], folder: Path) -> list[str]:
    """Each hot page as nginx serves it, written to a file; the paths of the static copies."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for code in codes:
        request = urllib.request.Request(f"{nginx.base}/m/{code}", headers=HOST)
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            (folder / f"{code}.html").write_bytes(response.read())
        paths.append(f"/bench-static/{code}.html")
    return paths


def measure(nginx: Nginx, sets: dict[str, tuple[list[str], list[str]]], args: argparse.Namespace) -> dict:
    """Per set: rounds of static then cached, closed by a last static run; each cached run is
    compared with the static runs just before and after it."""
    wrk = {"duration": args.duration, "connections": args.connections, "threads": args.wrk_threads,
           "headers": HOST}
    results: dict[str, dict[str, list]] = {}
    for name, (cached_paths, static_paths) in sets.items():
        run_wrk(nginx.base, "warm-up", paths=cached_paths, **dict(wrk, duration=3))
        static_runs, cached_runs = [], []
        for n in range(1, args.rounds + 1):
            static_runs.append(run_wrk(nginx.base, f"static {name} #{n}", paths=static_paths, **wrk))
            cached_runs.append(run_wrk(nginx.base, f"cached {name} #{n}", paths=cached_paths, **wrk))
        static_runs.append(run_wrk(nginx.base, f"static {name} #{args.rounds + 1}", paths=static_paths, **wrk))
        results[name] = {"static": static_runs, "cached": cached_runs}
    return results


def summarise(name: str, runs: dict[str, list], target: bool) -> bool:
    static, cached = runs["static"], runs["cached"]
    ratios = [r.rps / ((static[i].rps + static[i + 1].rps) / 2) for i, r in enumerate(cached)]
    ratio = statistics.median(ratios)
    bad = sum(r.non2xx + r.socket_errors for r in [*static, *cached])
    ok = ratio >= TARGET and bad == 0
    verdict = f"-> {'PASS' if ok else 'FAIL'} (target {TARGET})" if target else "(informational)"
    print(f"SUMMARY through nginx, {name}: static {statistics.median(r.rps for r in static):.0f} req/s, "
          f"cached {statistics.median(r.rps for r in cached):.0f} req/s, ratio {ratio:.2f} "
          f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}), p99 {max(r.p99_ms for r in cached):.1f} ms, "
          f"non-2xx+errors {bad} {verdict}")
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    count = bench_scan.SCALES[args.scale]
    url = _common.database_url(args.db, f"scan_{args.scale}")
    log(f"database: {args.db} ({args.scale}, {count:,} merchants)")
    _common.prepare_database(url, {"bench": "scan", "merchants": count, "seed_version": bench_scan.SEED_VERSION},
                             lambda: bench_scan.seed(count))
    wanted = max(args.badges, args.also_badges)
    # --valid-only: drawn from a larger sample (about half the seeded shops' pages say valid)
    wide = bench_scan.sample_codes(url, wanted * 4 if args.valid_only else wanted, seed=315)
    print(f"# scan page through the sample nginx: {args.scale} ({count:,} merchants), {args.db}")
    print(f"# {_common.machine()}")
    print(f"# load average before: {os.getloadavg()[0]:.2f}")
    print(f"# gunicorn {args.workers} workers, nginx worker_processes {args.nginx_workers}, "
          f"wrk {args.wrk_threads} threads x {args.connections} connections, {args.duration} s each")
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        work = Path(tmp)
        static_dir = work / "static-copies"
        extra = (f"    location /bench-static/ {{ alias {static_dir}/; default_type text/html; }}\n")
        env = {"BASE_URL": "https://pledge.example.gov.cn", "PROXY_COUNT": "1",
               "SCAN_COUNT_AT_EDGE": "0" if args.count_in_app else "1"}
        with Server(url, workers=args.workers, env=env) as server, \
                Nginx([f"127.0.0.1:{server.port}"], work / "nginx", server_extra=extra,
                      worker_processes=args.nginx_workers) as nginx:
            # The app's own page cache warm first, as in bench_scan.py: what is measured is
            # nginx in front of a warm app, not the app's first renders.
            if args.valid_only:
                wide = [c for c in wide if _state(server, c) == "valid"][:wanted]
                print(f"# valid badges only: {len(wide)}")
            states = Counter(_state(server, c) for c in wide[:args.badges])
            print(f"# counting suspicious scans: {'the app' if args.count_in_app else 'nginx (SCAN_COUNT_AT_EDGE)'}; "
                  f"the {args.badges} badges' states: {', '.join(f'{k} {n}' for k, n in states.most_common())}")
            bench_scan.warm_up(server, [f"/m/{c}" for c in wide], args)
            sets = {}
            for name, codes in ((f"{args.badges} badges", wide[:args.badges]),
                                (f"{args.also_badges} badges", wide[:args.also_badges])):
                if codes and name not in sets:
                    sets[name] = ([f"/m/{c}" for c in codes], static_copies(nginx, codes, static_dir))
            size = statistics.median(p.stat().st_size for p in static_dir.iterdir())
            print(f"# page size (median): {size / 1024:.1f} KB")
            results = measure(nginx, sets, args)
        # nginx has stopped (its log is whole): every scan it logged must become one row.
        counted = True if args.count_in_app else import_scans(url, nginx.scans_log)
    for runs in results.values():
        for r in sorted([*runs["static"], *runs["cached"]],
                        key=lambda r: (int(r.label.rsplit("#", 1)[1]), r.label.startswith("cached"))):
            print(r.line())
    print(f"# load average after: {os.getloadavg()[0]:.2f} (2 cores; above ~2.5 other work shared the machine)")
    names = list(results)
    ok = summarise(names[0], results[names[0]], target=True)
    for name in names[1:]:
        summarise(name, results[name], target=False)
    return 0 if ok and counted else 1


def import_scans(url: str, log: Path) -> bool:
    """Import the scans nginx logged as the cron job would (one run), timed; then delete the
    rows and the cursor again, so the kept benchmark database does not grow. Whether every line
    became a row."""
    from sqlalchemy import delete, func, select

    from pledge_registry import create_app
    from pledge_registry.extensions import db
    from pledge_registry.models import Setting, SuspiciousScan
    from pledge_registry.scan_reports import edge_import

    lines = log.read_bytes().count(b"\n") if log.exists() else 0
    app = create_app(_common.app_config(url))
    with app.app_context():
        before = db.session.scalar(select(func.max(SuspiciousScan.id))) or 0
        started = time.perf_counter()
        run = edge_import.import_log(log)
        took = time.perf_counter() - started
        db.session.execute(delete(SuspiciousScan).where(SuspiciousScan.id > before))
        db.session.execute(delete(Setting).where(Setting.key == edge_import.CURSOR_KEY))
        db.session.commit()
        db.engine.dispose()
    ok = run.imported == lines and run.skipped == 0
    print(f"# scans logged by nginx: {lines:,} lines ({log.stat().st_size / 1e6 if lines else 0:.1f} MB); "
          f"imported in one run: {run.imported:,} rows in {took:.1f} s ({run.imported / took if took else 0:,.0f}/s), "
          f"{run.skipped} skipped -> {'OK' if ok else 'MISMATCH'} (rows deleted again)")
    return ok


if __name__ == "__main__":
    sys.exit(main())
