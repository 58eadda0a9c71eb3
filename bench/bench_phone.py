"""The public pages on a phone with a weak signal: bytes over the wire and first contentful paint.

    python bench/bench_phone.py [--db sqlite|postgresql] [--runs 5] [--no-nginx]

Debian's chromium (/usr/bin/chromium, headless, the browser tests' flags) driven by
Playwright, on a phone's viewport (390 x 844, the browser tests' PHONE), with the network
and the CPU slowed through the DevTools protocol: `Network.emulateNetworkConditions`
(400 ms latency, 400 kbit/s down and up) and `Emulation.setCPUThrottlingRate` 4. Each page
is opened in a fresh browser context (nothing cached: a shopper's first scan), then once
more in the same context (the stylesheet already kept: the next page of a visit).

The app is gunicorn (2 workers, bench/_common.Server) on the scan benchmark's kept city
database, behind the sample nginx (deploy/nginx.conf with its snippets, bench/_common.Nginx)
unless --no-nginx. Through nginx each page is measured twice on a first visit: as a phone
sends it (Accept-Encoding: gzip, deflate, br) and with compression refused
(Accept-Encoding: identity), to show what gzip saves.

Per page, the median over --runs of:
- bytes: what crossed the wire for the page and everything it loaded (transfer sizes from
  the Resource Timing API: headers and compressed bodies), and how many requests;
- FCP: performance.getEntriesByName('first-contentful-paint'), from the navigation's start.

Baseline, in the same run under the same conditions: a tiny static HTML file (served by the
same nginx, or by a stdlib HTTP server on 127.0.0.1 with --no-nginx), whose FCP is what the
emulated network alone costs (one request's latency and the paint); each page's FCP is
also printed as a ratio to it.

Target: FCP under 2 s for the scan page, the complaint form and the tracking page, on a
first visit with gzip (exit status 1 otherwise). A web font loaded by any page also fails.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common
import bench_scan
from _common import Nginx, Server, log

CHROMIUM = "/usr/bin/chromium"
# The browser tests' flags (tests/e2e/conftest.py).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
# Slow 3G as the issue states it: 400 ms latency, 400 kbit/s each way, CPU slowed x4.
LATENCY_MS = 400
KBIT_PER_S = 400
CPU_SLOWDOWN = 4
TARGET_MS = 2000
TARGET_PAGES = ("scan page", "complaint form", "track")
BASELINE_HTML = b"<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>baseline</title><p>baseline</p>\n"
FONT_TYPES = (".woff", ".woff2", ".ttf", ".otf", ".eot")

# What the page reports once loaded: its FCP and every transfer (the document and each resource).
MEASURE_JS = """() => {
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  return {fcp: fcp ? fcp.startTime : null,
          bytes: nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0),
          html: nav.transferSize, html_decoded: nav.decodedBodySize,
          requests: 1 + res.length, urls: res.map(r => r.name)};
}"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=5, help="first visits per page and variant (median)")
    parser.add_argument("--no-nginx", action="store_true", help="the app alone (no compression, no static caching)")
    parser.add_argument("--workers", type=int, default=2)
    return parser.parse_args(argv)


def public_pages(url: str) -> dict[str, str]:
    """name -> path of each public page, for one approved shop with pledges of the seed."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        code = conn.scalar(text(
            "SELECT m.badge_code FROM merchant m WHERE m.status = 'approved' AND EXISTS "
            "(SELECT 1 FROM pledge p WHERE p.merchant_id = m.id AND p.status = 'active') ORDER BY m.id LIMIT 1"))
    engine.dispose()
    if code is None:
        raise RuntimeError("the kept database has no shop with an active pledge")
    return {"scan page": f"/m/{code}", "complaint form": f"/m/{code}/complain", "track": "/track",
            "rating": f"/m/{code}/rating", "home": "/", "directory": "/merchants",
            "complain without a badge": "/complain", "named units": "/units"}


@dataclass
class Sample:
    fcp: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    html: list[int] = field(default_factory=list)
    html_decoded: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    fonts: set[str] = field(default_factory=set)

    def add(self, m: dict[str, Any]) -> None:
        if m["fcp"] is None:
            raise RuntimeError("no first-contentful-paint entry: the page painted nothing")
        self.fcp.append(m["fcp"])
        self.bytes.append(m["bytes"])
        self.html.append(m["html"])
        self.html_decoded.append(m["html_decoded"])
        self.requests.append(m["requests"])
        self.fonts.update(u for u in m["urls"] if u.split("?", 1)[0].lower().endswith(FONT_TYPES))

    @staticmethod
    def med(values: list[Any]) -> float:
        return float(statistics.median(values))


class Phone:
    """A slowed phone: a fresh browser context per first visit, with the emulation applied."""

    def __init__(self, browser: Any, headers: dict[str, str] | None = None) -> None:
        self.browser, self.headers = browser, headers or {}

    @contextmanager
    def visit(self) -> Iterator[Any]:
        context = self.browser.new_context(**PHONE, extra_http_headers=self.headers)
        try:
            page = context.new_page()
            page.set_default_timeout(60_000)
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            rate = KBIT_PER_S * 1000 / 8  # bytes per second
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": LATENCY_MS,
                                                          "downloadThroughput": rate, "uploadThroughput": rate})
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
            yield page
        finally:
            context.close()

    def load(self, page: Any, url: str) -> dict[str, Any]:
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            raise RuntimeError(f"{url} answered {response.status if response else 'nothing'}")
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
        return page.evaluate(MEASURE_JS)


@contextmanager
def baseline_server(folder: Path) -> Iterator[str]:
    """A stdlib HTTP server on 127.0.0.1 serving `folder` (the baseline without nginx)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def measure(browser: Any, base: str, pages: dict[str, str], baseline_url: str, runs: int,
            variants: dict[str, dict[str, str]]) -> dict[str, dict[str, Sample]]:
    """variant -> page -> samples; pages and variants interleaved run by run, so that a busy
    moment of the shared machine touches them all alike. "warm": the second load of the
    page in the context of a first visit (the first variant's headers)."""
    results: dict[str, dict[str, Sample]] = {v: {} for v in [*variants, "warm"]}
    first = next(iter(variants))
    targets = [("baseline", baseline_url), *((k, base + p) for k, p in pages.items())]
    warm_up = Phone(browser)  # the browser's and the app's first loads, not measured
    for _, url in targets:
        with warm_up.visit() as page:
            warm_up.load(page, url)
    for n in range(runs):
        log(f"  run {n + 1}/{runs}")
        for variant, headers in variants.items():
            phone = Phone(browser, headers)
            for name, url in targets:
                with phone.visit() as page:
                    results[variant].setdefault(name, Sample()).add(phone.load(page, url))
                    if variant == first:
                        results["warm"].setdefault(name, Sample()).add(phone.load(page, url))
    return results


def report(results: dict[str, dict[str, Sample]], pages: dict[str, str]) -> bool:
    names = ["baseline", *pages]
    variants = list(results)
    base_fcp = {v: Sample.med(results[v]["baseline"].fcp) for v in variants}
    print("\n| page | " + " | ".join(f"{v}: KB (requests) | {v}: FCP ms (x baseline)" for v in variants) + " |")
    print("| --- |" + " ---: | ---: |" * len(variants))
    for name in names:
        cells = []
        for v in variants:
            s = results[v][name]
            cells.append(f"{Sample.med(s.bytes) / 1024:.1f} ({Sample.med(s.requests):.0f})")
            fcp = Sample.med(s.fcp)
            cells.append(f"{fcp:.0f} ({fcp / base_fcp[v]:.2f})" + ("" if len(s.fcp) < 2 else
                                                                    f" [{min(s.fcp):.0f}-{max(s.fcp):.0f}]"))
        print(f"| {name} | " + " | ".join(cells) + " |")
    first = variants[0]
    print(f"\n# HTML of each page, {first}: " + ", ".join(
        f"{n} {Sample.med(results[first][n].html) / 1024:.1f} KB over the wire "
        f"({Sample.med(results[first][n].html_decoded) / 1024:.1f} KB decoded)" for n in pages))
    ok = True
    fonts = set().union(*(s.fonts for v in variants for s in results[v].values()))
    if fonts:
        ok = False
        print(f"FAIL: web fonts downloaded: {sorted(fonts)}")
    for name in TARGET_PAGES:
        fcp = Sample.med(results[first][name].fcp)
        passed = fcp < TARGET_MS
        ok &= passed
        print(f"SUMMARY {name}: FCP {fcp:.0f} ms on a first visit ({first}), baseline {base_fcp[first]:.0f} ms, "
              f"ratio {fcp / base_fcp[first]:.2f} -> {'PASS' if passed else 'FAIL'} (target {TARGET_MS} ms)")
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(CHROMIUM).exists():
        log(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    count = bench_scan.SCALES["city"]
    url = _common.database_url(args.db, "scan_city")
    log(f"database: {args.db} (city, {count:,} merchants)")
    _common.prepare_database(url, {"bench": "scan", "merchants": count, "seed_version": bench_scan.SEED_VERSION},
                             lambda: bench_scan.seed(count))
    pages = public_pages(url)
    print(f"# public pages on a slowed phone: city ({count:,} merchants), {args.db}, "
          + ("gunicorn alone" if args.no_nginx else "through the sample nginx"))
    print(f"# {_common.machine()}")
    print(f"# chromium headless via Playwright, viewport 390x844, latency {LATENCY_MS} ms, "
          f"{KBIT_PER_S} kbit/s down and up, CPU x{CPU_SLOWDOWN}; median of {args.runs} runs; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-phone-") as tmp:
        work = Path(tmp)
        (work / "baseline").mkdir()
        (work / "baseline" / "tiny.html").write_bytes(BASELINE_HTML)
        with sync_playwright() as p, Server(url, workers=args.workers,
                                            env=None if args.no_nginx else {"PROXY_COUNT": "1"}) as server:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                if args.no_nginx:
                    with baseline_server(work / "baseline") as static:
                        results = measure(browser, server.base, pages, f"{static}/tiny.html", args.runs,
                                          {"first visit": {}})
                else:
                    extra = f"    location /bench-baseline/ {{ alias {work / 'baseline'}/; }}\n"
                    with Nginx([f"127.0.0.1:{server.port}"], work / "nginx", server_extra=extra) as nginx:
                        results = measure(browser, nginx.base, pages, f"{nginx.base}/bench-baseline/tiny.html",
                                          args.runs, {"first visit, gzip": {},
                                                      "first visit, no gzip": {"Accept-Encoding": "identity"}})
            finally:
                browser.close()
    ok = report(results, pages)
    print(f"# load average after: {os.getloadavg()[0]:.2f} (2 cores; above ~2.5 other work shared the machine)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
