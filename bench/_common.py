"""Helpers shared by the HTTP benchmarks in bench/.

- `database_url(db, key)` / `prepare_database(url, seed)`: a migrated, seeded database
  (SQLite file under bench/.data/, or a PostgreSQL database on 127.0.0.1), kept between
  runs and reused when its stamp says it was seeded the same way.
- `Server`: gunicorn on a free 127.0.0.1 port with N workers, waited for on /healthz.
- `Nginx`: nginx on a free 127.0.0.1 port in front of one or more of those servers, with the
  sample deployment's own configuration (deploy/nginx.conf and the snippets it includes).
- `run_wrk(...)`: wrk against that server (127.0.0.1 only, bounded in time), its
  requests/s, latency percentiles and non-2xx count parsed from a Lua `done` hook.

Everything here targets 127.0.0.1 only: load tests on this machine must never leave it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET_KEY = "bench-secret-key-not-for-production"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- databases ---------------------------------------------------------------------------

def database_url(db: str, key: str) -> str:
    """Where the benchmark database for `key` (e.g. "scan_city") lives on this backend."""
    if db == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DATA / (key + '.sqlite3')}"
    if db == "postgresql":
        from sqlalchemy.engine import make_url

        return make_url(PG_ADMIN_URL).set(database=f"bench_{key}").render_as_string(hide_password=False)
    raise ValueError(f"unknown database backend {db!r} (sqlite or postgresql)")


def app_config(url: str, **extra: Any) -> dict[str, Any]:
    return {"SECRET_KEY": SECRET_KEY, "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://",
            "SQLITE_SYNCHRONOUS": "NORMAL", **extra}


def _stamp_path(url: str) -> Path:
    from sqlalchemy.engine import make_url

    DATA.mkdir(parents=True, exist_ok=True)
    u = make_url(url)
    name = Path(u.database).name if u.get_backend_name() == "sqlite" else f"pg-{u.database}"
    return DATA / f"{name}.stamp.json"


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(u.database + suffix).unlink(missing_ok=True)
    else:
        admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        admin.dispose()
    _stamp_path(url).unlink(missing_ok=True)


def _create_pg_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}):
            conn.execute(text(f'CREATE DATABASE "{u.database}"'))
    admin.dispose()


def prepare_database(url: str, stamp: dict[str, Any], seed: Callable[[], None], fresh: bool = False) -> bool:
    """Migrate the database to `heads` and seed it once; False when an equal seed was kept.

    `stamp` describes the seed (scale, version of the seeding code ...): a database whose
    stamp file differs is dropped and seeded again. `seed` runs inside the app context.
    """
    from flask_migrate import upgrade

    from pledge_registry import create_app
    from pledge_registry.extensions import db

    path = _stamp_path(url)
    kept = path.exists() and json.loads(path.read_text()) == stamp and not fresh
    if not kept:
        drop_database(url)
    if url.startswith("postgresql"):
        _create_pg_database(url)
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(revision="heads")  # also brings a kept database up to new migrations
        if not kept:
            started = time.perf_counter()
            seed()
            log(f"seeded in {time.perf_counter() - started:.1f} s")
        db.session.remove()
        db.engine.dispose()
    if not kept:
        _analyze(url)
        path.write_text(json.dumps(stamp))
    return not kept


def _analyze(url: str) -> None:
    """Planner statistics after a bulk load, and the SQLite WAL folded into the file."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        import sqlite3

        with sqlite3.connect(u.database, isolation_level=None) as conn:
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    engine = create_engine(u, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


# --- gunicorn ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """gunicorn serving wsgi:app on 127.0.0.1; use as a context manager."""

    database_url: str
    workers: int = 2
    worker_class: str = "sync"
    threads: int = 1
    env: dict[str, str] | None = None
    extra_args: tuple[str, ...] = ()
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.port = self.port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_"))}
        env.update({
            "SECRET_KEY": SECRET_KEY, "DATABASE_URL": self.database_url,
            "RATELIMIT_STORAGE_URI": REDIS_URL if self.workers > 1 else "memory://",
            "APP_ENV": "production", "SESSION_COOKIE_SECURE": "0", "HSTS": "0",
            "SQLITE_SYNCHRONOUS": "NORMAL", "PYTHONDONTWRITEBYTECODE": "1",
            # read by the project's gunicorn.conf.py (its memory:// check counts these)
            "WEB_CONCURRENCY": str(self.workers), "GUNICORN_THREADS": str(self.threads),
        })
        env.update(self.env or {})
        command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "wsgi:app"]
        if (ROOT / "gunicorn.conf.py").exists():  # the deployed settings, overridden below
            command += ["--config", str(ROOT / "gunicorn.conf.py")]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
                   "--worker-class", self.worker_class, "--threads", str(self.threads),
                   "--backlog", "2048", "--log-level", "warning", *self.extra_args]
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            self.__exit__(None, None, None)
            raise RuntimeError("gunicorn did not answer /healthz within 60 s")
        # every worker must be up before measuring, not just the first
        for _ in range(self.workers * 4):
            urllib.request.urlopen(self.base + "/healthz", timeout=5).read()
        return self

    def worker_pids(self) -> list[int]:
        try:
            return [int(line) for line in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
                    .read_text().split()]
        except OSError:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the live workers."""
        total = 0
        for pid in self.worker_pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def output(self) -> str:
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - 4000))
        return self._log.read().decode(errors="replace")

    def __exit__(self, *exc: Any) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # gunicorn's own group (new session)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# --- nginx ---------------------------------------------------------------------------------

DEPLOY_NGINX = ROOT / "deploy" / "nginx.conf"
SCANS_LOG = "pledge-scans.log"  # the sample's scans log, in an Nginx's work folder
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def nginx_config(port: int, upstreams: list[str], work: Path, server_extra: str = "",
                 worker_processes: str = "1") -> str:
    """deploy/nginx.conf made runnable here: its upstream pointed at `upstreams`, its cache and
    temp files under `work`, its site served on 127.0.0.1:`port` without TLS, the other servers
    (the 444 catch-all, the HTTP redirect) left out. Everything else (the locations, the cache
    directives and the snippets they include) is the sample deployment's own text."""
    text = DEPLOY_NGINX.read_text(encoding="utf-8")
    main_at = text.index("server {\n    listen 443 ssl http2;")
    top, main = text[:text.index("server {")], text[main_at:]
    servers = " ".join(f"server {u};" for u in upstreams)
    top, n = re.subn(r"^upstream pledge_registry \{.*\}$", f"upstream pledge_registry {{ {servers} keepalive 32; }}",
                     top, flags=re.M)
    assert n == 1, "deploy/nginx.conf has no one-line upstream pledge_registry"
    top = top.replace("/var/cache/nginx/pledge_registry", str(work / "cache"))
    main = main.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port};")
    main = "\n".join(line for line in main.splitlines() if "ssl_certificate" not in line)
    # The scans log in the work folder (Nginx.scans_log); the general access log stays off, as
    # the http block below says, so that every request is not a write.
    main = main.replace("/var/log/nginx/pledge-scans.log", str(work / SCANS_LOG))
    main = "\n".join(line for line in main.splitlines() if line.strip() != "access_log /var/log/nginx/access.log;")
    main = main.replace("    server_name pledge.example.gov.cn;\n",
                        "    server_name pledge.example.gov.cn;\n" + server_extra, 1)
    site = (top + main).replace("/srv/pledge_registry", str(ROOT))
    # Worker processes run as this user: as root, nginx would switch them to one that
    # cannot write the temp directory.
    user = f"user {os.environ.get('USER', 'root')};" if os.geteuid() == 0 else ""
    temp = "\n".join(f"    {kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                         "uwsgi", "scgi"))
    return f"""{user}
worker_processes {worker_processes};
pid {work / "nginx.pid"};
error_log {work / "error.log"} warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
{temp}
{site}
}}
"""


@dataclass
class Nginx:
    """nginx serving the sample site on 127.0.0.1 in front of `upstreams`; a context manager.

    `server_extra` adds server-level lines (the tests' X-Cache-Status header, the
    benchmark's static copy of a page)."""

    upstreams: list[str]
    work: Path
    server_extra: str = ""
    worker_processes: str = "1"
    port: int = 0
    process: subprocess.Popen | None = None
    host: str = "pledge.example.gov.cn"  # the sample's server_name

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def scans_log(self) -> Path:
        """The suspicious scans this nginx logged (deploy/nginx.conf's scans log)."""
        return self.work / SCANS_LOG

    def __enter__(self) -> Nginx:
        if NGINX is None:
            raise RuntimeError("nginx is not installed (apt-get install -y nginx)")
        self.port = self.port or free_port()
        self.work.mkdir(parents=True, exist_ok=True)
        conf = self.work / "nginx.conf"
        conf.write_text(nginx_config(self.port, self.upstreams, self.work, self.server_extra,
                                                self.worker_processes), encoding="utf-8")
        check = subprocess.run([NGINX, "-t", "-q", "-p", str(self.work), "-e", "stderr", "-c", str(conf)],
                               capture_output=True, text=True, check=False)
        if check.returncode:
            raise RuntimeError(f"nginx refuses the generated configuration:\n{check.stderr}")
        self.process = subprocess.Popen([NGINX, "-p", str(self.work), "-e", str(self.work / "error.log"),
                                         "-c", str(conf)], start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}:\n{self.errors()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError(f"nginx did not listen within 10 s:\n{self.errors()}")

    def errors(self) -> str:
        log_path = self.work / "error.log"
        return log_path.read_text(errors="replace")[-4000:] if log_path.exists() else ""

    def __exit__(self, *exc: Any) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish, then exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# --- wrk -----------------------------------------------------------------------------------

# Every wrk script: cycles through `paths` (if any), each thread from its own offset, counts
# non-2xx answers (a 304 counts too) and prints the summary as one JSON line.
_WRK_SCRIPT = r"""
local paths = {%s}
local _threads = {}
function setup(thread)
  table.insert(_threads, thread)
  thread:set("tid", #_threads)
end
function init(args)
  non2xx = 0
  i = OFFSET + (tid or 0) * 104729
end
if #paths > 0 then
  function request()
    i = i + 1
    return wrk.format(nil, paths[(i %% #paths) + 1])
  end
end
function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    last_bad = status
  end
end
function done(summary, latency, requests)
  local bad, last_bad = 0, 0
  for _, t in ipairs(_threads) do
    bad = bad + (t:get("non2xx") or 0)
    last_bad = t:get("last_bad") or last_bad
  end
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "errors_connect": %%d, "errors_read": %%d, ' ..
    '"errors_write": %%d, "errors_status": %%d, "errors_timeout": %%d, "non2xx": %%d, "last_bad_status": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "mean_us": %%.1f, "bytes": %%d}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout, bad, last_bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, summary.bytes))
end
"""


def wrk_script(paths: list[str] | None = None, offset: int = 0) -> str:
    items = ",".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in paths or [])
    return (_WRK_SCRIPT % items).replace("OFFSET", str(int(offset)))


@dataclass
class WrkResult:
    label: str
    rps: float
    requests: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non2xx: int
    socket_errors: int
    cpu_us: float | None = None  # workers' CPU time per request, when a Server was given
    last_bad_status: int = 0

    def line(self) -> str:
        return (f"{self.label:<24} {self.rps:>9.0f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:7.2f} ms"
                f"  non-2xx {self.non2xx}{f' (e.g. {self.last_bad_status})' if self.non2xx else ''}"
                f"  socket errors {self.socket_errors}"
                + (f"  worker CPU {self.cpu_us:5.0f} us/req" if self.cpu_us is not None else ""))


def run_wrk(base: str, label: str, path: str = "/", paths: list[str] | None = None, duration: int = 10,
            connections: int = 32, threads: int = 2, timeout: int = 10, headers: dict[str, str] | None = None,
            server: Server | None = None, offset: int = 0) -> WrkResult:
    """Run wrk for `duration` seconds against base+path (or cycling through `paths`)."""
    if not re.match(r"^http://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$", base):
        raise ValueError("load tests target only the loopback address")
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    script = wrk_script(paths, offset)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
        script_path = fh.name
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
               "--timeout", f"{timeout}s", "--latency", "-s", script_path]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(base + path)
    cpu_before = server.cpu_seconds() if server else 0.0
    pids_before = server.worker_pids() if server else []
    try:
        # A failed run is reported below with wrk's own output, which check=True would not show.
        out = subprocess.run(command, capture_output=True, text=True, timeout=duration + timeout + 30, check=False)
    finally:
        os.unlink(script_path)
    match = re.search(r"^WRKJSON (\{.*\})$", out.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk gave no summary:\n{out.stdout}\n{out.stderr}")
    d = json.loads(match.group(1))
    cpu_us = None
    # CPU per request is robust to other load on a shared machine; meaningless if a worker
    # was recycled (gunicorn max_requests) during the run, so left out then.
    if server and d["requests"] and server.worker_pids() == pids_before:
        cpu_us = (server.cpu_seconds() - cpu_before) / d["requests"] * 1e6
    seconds = d["duration_us"] / 1e6
    return WrkResult(
        label=label, rps=d["requests"] / seconds if seconds else 0.0, requests=d["requests"],
        p50_ms=d["p50_us"] / 1000, p90_ms=d["p90_us"] / 1000, p99_ms=d["p99_us"] / 1000,
        non2xx=d["non2xx"],
        socket_errors=d["errors_connect"] + d["errors_read"] + d["errors_write"] + d["errors_timeout"],
        cpu_us=cpu_us, last_bad_status=d["last_bad_status"],
    )


def machine() -> str:
    import platform

    return (f"{platform.node() or 'host'}: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), "
            f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M %Z')}")


def signed_in(app: Any, login: str, password: str) -> Any:
    """A test client of `app` signed in as `login` (the benchmarks' staff pages)."""
    client = app.test_client()
    response = client.post("/account/login", data={"login": login, "password": password})
    if response.status_code not in (302, 303):
        raise SystemExit(f"could not sign in as {login}: {response.status_code}")
    return client
