"""Configuration: defaults, then environment variables, then the test dict.

Every setting a deployer needs is an environment variable of the same name, listed with
its default in README.md.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from .localtime import LOCAL_TZ


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw is None or raw == "" else int(raw)


def load(instance_path: str, test_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration dict: defaults → environment → test_config."""
    production = os.environ.get("APP_ENV", "development") == "production"
    cfg: dict[str, Any] = {
        **_site(instance_path),
        **_sessions(production),
        **_forms_and_limits(),
        **_languages(),
        **_database(),
        **_complaints(instance_path),
        **_outbox(production),
        **_demo(instance_path),
    }
    if test_config:
        cfg.update(test_config)
    return cfg


def _site(instance_path: str) -> dict[str, Any]:
    default_db = "sqlite:///" + os.path.join(instance_path, "pledge_registry.sqlite3")
    return {
        "APP_ENV": os.environ.get("APP_ENV", "development"),
        # In development a random key per instance folder is written by the setup script;
        # production refuses to start without SECRET_KEY (see create_app).
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", default_db),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "BUREAU_NAME": os.environ.get("BUREAU_NAME", "太仓市市场监督管理局"),
        # The same bureau on English pages (which never mix in Chinese).
        "BUREAU_NAME_EN": os.environ.get("BUREAU_NAME_EN", "Taicang Administration for Market Regulation"),
        "BADGE_SERIAL_PREFIX": os.environ.get("BADGE_SERIAL_PREFIX", "TC"),
    }


def _sessions(production: bool) -> dict[str, Any]:
    """Sessions, cookies, and the headers that protect them."""
    return {
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=14),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "STAFF_IDLE_TIMEOUT": timedelta(minutes=_env_int("STAFF_IDLE_MINUTES", 30)),
        "STAFF_ABSOLUTE_TIMEOUT": timedelta(hours=_env_int("STAFF_ABSOLUTE_HOURS", 12)),
        "HSTS": _env_bool("HSTS", production),
        "PROXY_COUNT": _env_int("PROXY_COUNT", 0),
        # werkzeug's scrypt with its default cost; the test suite lowers the cost for speed.
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        # A shop owner's sign-in link (an account a town's import created) works once, for this long.
        "INVITE_MAX_AGE_HOURS": _env_int("INVITE_MAX_AGE_HOURS", 72),
    }


def _forms_and_limits() -> dict[str, Any]:
    return {
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "WTF_CSRF_SSL_STRICT": True,
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 8 * 1024 * 1024),
        # A town's merchant file uploaded in the staff area (the command line has no limit).
        "MERCHANT_IMPORT_MAX_BYTES": _env_int("MERCHANT_IMPORT_MAX_BYTES", 2 * 1024 * 1024),
        # Rate limits. memory:// counts per process: gunicorn.conf.py
        # refuses to start several workers on it.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # X-RateLimit-* on every limited answer cost a storage round trip each; a 429 carries
        # Retry-After (errors.handle_http) and that is all a browser can use.
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "20 per 10 minutes"),
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 10 minutes"),
        # The public API, per client (a partner's key, else the address).
        "API_READ_LIMIT": os.environ.get("API_READ_LIMIT", "300 per minute"),
        "API_WRITE_LIMIT": os.environ.get("API_WRITE_LIMIT", "60 per minute"),
        # Published complaint statistics: a cell of fewer cases is suppressed.
        "API_MIN_CELL_COUNT": _env_int("API_MIN_CELL_COUNT", 5),
        # The daily open-data files (`flask api open-data`) and the terms they are published on.
        "OPEN_DATA_LICENCE": os.environ.get("OPEN_DATA_LICENCE", "CC BY 4.0"),
        "OPEN_DATA_LICENCE_URL": os.environ.get("OPEN_DATA_LICENCE_URL",
                                                "https://creativecommons.org/licenses/by/4.0/"),
    }


def _languages() -> dict[str, Any]:
    return {
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": LOCAL_TZ.key,
        "LANGUAGES": ("zh", "en"),
    }


def _database() -> dict[str, Any]:
    return {
        # SQLite settings are applied on connect (sqlite_tuning.py). A pooled PostgreSQL
        # connection may have been dropped by the server: ping it on checkout (create_app
        # leaves the ping out for SQLite, a file with nothing to drop).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SQLITE_SYNCHRONOUS": os.environ.get("SQLITE_SYNCHRONOUS", "FULL"),
        # How long a process keeps the deadline settings and holiday table (complaints/deadlines.py).
        "REFERENCE_CACHE_SECONDS": int(os.environ.get("REFERENCE_CACHE_SECONDS", "30")),
        "SCAN_CACHE_SIZE": _env_int("SCAN_CACHE_SIZE", 20000),
        # PostgreSQL: each worker LISTENs for page-version changes instead of asking the
        # database at every scan (public/scan_listener.py); off: one query per scan.
        "SCAN_LISTENER": _env_bool("SCAN_LISTENER", True),
        # Scans of unknown codes and of badges that are not valid (scan_reports/): kept this
        # many days (at most 30), and the alert thresholds (scans within the window, from at
        # least SCAN_ALERT_MIN_SOURCES different hashed addresses).
        "SCAN_LOG": _env_bool("SCAN_LOG", True),
        "SCAN_LOG_RETENTION_DAYS": min(30, _env_int("SCAN_LOG_RETENTION_DAYS", 30)),
        # A worker writes its suspicious scans in one batch per this many milliseconds, from a
        # thread of its own (0: one INSERT in the scan's own request, as the tests do).
        "SCAN_LOG_FLUSH_MS": _env_int("SCAN_LOG_FLUSH_MS", 1000),
        # Behind the sample nginx only: a suspicious scan's page is micro-cached like any other
        # and nginx logs the scan for `flask scans import-edge-log` (scan_reports/edge.py)
        # instead of the app writing it. Off: every such scan reaches the app, which counts it.
        "SCAN_COUNT_AT_EDGE": _env_bool("SCAN_COUNT_AT_EDGE", False),
        "SCAN_ALERT_WINDOW_HOURS": _env_int("SCAN_ALERT_WINDOW_HOURS", 24),
        "SCAN_ALERT_UNKNOWN_SCANS": _env_int("SCAN_ALERT_UNKNOWN_SCANS", 5),
        "SCAN_ALERT_REVOKED_SCANS": _env_int("SCAN_ALERT_REVOKED_SCANS", 3),
        "SCAN_ALERT_MIN_SOURCES": _env_int("SCAN_ALERT_MIN_SOURCES", 2),
        "STICKER_REPORT_LIMIT_PER_IP": os.environ.get("STICKER_REPORT_LIMIT_PER_IP", "5 per hour"),
    }


def _complaints(instance_path: str) -> dict[str, Any]:
    return {
        # Photos live outside the web root, served through an access check.
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER", os.path.join(instance_path, "uploads")),
        # A merchant file between its dry run and the officer's confirmation (kept an hour at most).
        "IMPORT_FOLDER": os.environ.get("IMPORT_FOLDER", os.path.join(instance_path, "imports")),
        "OPEN_DATA_FOLDER": os.environ.get("OPEN_DATA_FOLDER", os.path.join(instance_path, "open-data")),
        "COMPLAINT_LIMIT_PER_IP": os.environ.get("COMPLAINT_LIMIT_PER_IP", "10 per hour"),
        "COMPLAINT_LIMIT_PER_PHONE": os.environ.get("COMPLAINT_LIMIT_PER_PHONE", "5 per day"),
        "TRACK_LIMIT_PER_IP": os.environ.get("TRACK_LIMIT_PER_IP", "20 per 10 minutes"),
        "TRACK_LIMIT_PER_CODE": os.environ.get("TRACK_LIMIT_PER_CODE", "10 per hour"),
    }


def _outbox(production: bool) -> dict[str, Any]:
    """`flask outbox deliver`: "log" is a DEVELOPMENT backend that only writes to the log;
    production uses "composite" (SMS → webhook, e-mail → SMTP)."""
    return {
        "OUTBOX_BACKEND": os.environ.get("OUTBOX_BACKEND", "composite" if production else "log"),
        "OUTBOX_BATCH_SIZE": _env_int("OUTBOX_BATCH_SIZE", 50),
        "OUTBOX_LEASE_SECONDS": _env_int("OUTBOX_LEASE_SECONDS", 300),
        "OUTBOX_MAX_ATTEMPTS": _env_int("OUTBOX_MAX_ATTEMPTS", 10),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": _env_int("SMTP_PORT", 587),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _env_bool("SMTP_STARTTLS", True),
        "SMTP_TIMEOUT": _env_int("SMTP_TIMEOUT", 30),
        "MAIL_FROM": os.environ.get("MAIL_FROM", ""),
        "SMS_WEBHOOK_URL": os.environ.get("SMS_WEBHOOK_URL", ""),
        "SMS_WEBHOOK_TOKEN": os.environ.get("SMS_WEBHOOK_TOKEN", ""),
        "SMS_WEBHOOK_TIMEOUT": _env_int("SMS_WEBHOOK_TIMEOUT", 10),
        # DEVELOPMENT ONLY: staff see the messages the log backend did not send, links
        # clickable (/staff/dev/messages); production refuses to start with it on.
        "DEV_MESSAGES_PAGE": _env_bool("DEV_MESSAGES_PAGE", not production),
    }


def _demo(instance_path: str) -> dict[str, Any]:
    return {
        "DEMO_MERCHANTS": _env_int("DEMO_MERCHANTS", 200),
        # Development only: where `flask demo load` keeps the demo logins it generated.
        "DEMO_LOGINS_FILE": os.path.join(instance_path, "demo_logins.txt"),
    }
