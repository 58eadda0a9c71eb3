"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (README: Deployment)."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Shoppers upload photos over weak mall signal: a slow upload must not be killed as a hung worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycling a worker empties its scan-page cache; at peak 5,000 requests pass in seconds.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
control_socket_disable = True  # gunicorn 27: no shared control socket between instances
# No query strings in the access log: tracking look-ups and survey tokens stay out of it.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    storage = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    if workers > 1 and storage.startswith("memory://"):
        raise SystemExit(
            "RATELIMIT_STORAGE_URI is memory:// but WEB_CONCURRENCY > 1: each worker would count "
            "separately. Set RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0 (README: Deployment)."
        )


def post_fork(server, worker):
    # With --preload the parent's pooled connections would be shared by every fork.
    try:
        from pledge_registry.extensions import db

        app = getattr(worker.app, "callable", None)
        if app is not None and hasattr(app, "app_context"):
            with app.app_context():
                db.engine.dispose(close=False)
    except ImportError:
        pass
