"""The sample deployment files say what the app needs: every scheduled job exists, the
README lists the same jobs, and nginx drops requests for hosts it does not serve."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRON = (ROOT / "deploy" / "pledge-registry.cron").read_text(encoding="utf-8")
JOBS = re.findall(r"\$JOB ([a-z-]+ [a-z-]+)", CRON)


def test_every_scheduled_job_is_a_command(runner) -> None:
    assert len(JOBS) >= 9
    for job in JOBS:
        result = runner.invoke(args=[*job.split(), "--help"])
        assert result.exit_code == 0, (job, result.output)


def test_the_readme_schedules_the_same_jobs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("Schedule the jobs"):readme.index("Back up:")]
    assert sorted(set(JOBS)) == sorted(set(re.findall(r"`([a-z]+ [a-z][a-z-]*)", section)))


def test_orphan_photos_are_removed_only_once_older_than_an_hour() -> None:
    line = next(line for line in CRON.splitlines() if "remove-orphan-photos" in line)
    age = int(re.search(r"--older-than (\d+)", line).group(1))
    assert age >= 3600  # well above GUNICORN_TIMEOUT: an upload in flight is never removed


def test_nginx_drops_unknown_hosts() -> None:
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    default = next(block for block in re.findall(r"server \{[^}]*\}", nginx) if "default_server" in block)
    assert "listen 80 default_server;" in default and "listen 443 ssl default_server;" in default
    assert "return 444;" in default
    assert "pledge.example.gov.cn" not in default


def test_nginx_keeps_pages_by_the_cookies_the_app_reads() -> None:
    """The micro-cache's key and bypass name the app's own cookies, and the sample includes
    the snippets that the tests of the deployed stack run (one source for both)."""
    from pledge_registry.config import load
    from pledge_registry.i18n import LANG_COOKIE

    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    proxy = (ROOT / "deploy" / "nginx" / "pledge-proxy.conf").read_text(encoding="utf-8")
    http = (ROOT / "deploy" / "nginx" / "pledge-cache-http.conf").read_text(encoding="utf-8")
    assert "include /srv/pledge_registry/deploy/nginx/pledge-cache-http.conf;" in nginx
    assert nginx.count("include /srv/pledge_registry/deploy/nginx/pledge-proxy.conf;") == 2
    assert "keys_zone=pledge_pages:" in nginx and "proxy_cache pledge_pages;" in proxy
    for directive in ("proxy_cache_lock on;", "proxy_cache_use_stale updating;"):
        assert directive in proxy
    directives = "\n".join(line for line in proxy.splitlines() if not line.lstrip().startswith("#"))
    assert "proxy_cache_valid" not in directives  # only what the app marks is kept
    key = re.search(r'proxy_cache_key "([^"]+)";', proxy).group(1)
    for part in ("$request_method", "$server_name", "$request_uri", f"$cookie_{LANG_COOKIE}", "$cookie_elder"):
        assert part in key
    config = load(str(ROOT / "instance"))
    session_cookie = config.get("SESSION_COOKIE_NAME", "session")
    remember_cookie = config.get("REMEMBER_COOKIE_NAME", "remember_token")
    assert f'map "$cookie_{session_cookie}$cookie_{remember_cookie}" $pledge_signed_in' in http
    for variable in ("$pledge_signed_in", "$upstream_http_set_cookie", "$pledge_private_answer"):
        assert variable in re.search(r"proxy_no_cache ([^;]+);", proxy).group(1)
    assert "$pledge_signed_in" in re.search(r"proxy_cache_bypass ([^;]+);", proxy).group(1)


def test_run_job_reads_the_environment_file_literally(tmp_path: Path) -> None:
    """Secrets with `$`, `&`, spaces or backquotes reach the job as written, as systemd's
    EnvironmentFile= gives them to the service; comments and blank lines are skipped."""
    flask = tmp_path / ".venv" / "bin" / "flask"
    flask.parent.mkdir(parents=True)
    flask.write_text('#!/bin/sh\nprintf "%s\\n" "$@" "$DATABASE_URL" "$SMTP_PASSWORD"\n')
    flask.chmod(0o755)
    env_file = tmp_path / "pledge.env"
    env_file.write_text("# secrets\nDATABASE_URL=postgresql://u:p$w&rd x@h/db\n\n"
                        "SMTP_PASSWORD=a b $HOME `id`")  # no newline at the end either
    result = subprocess.run(
        [str(ROOT / "deploy" / "run-job"), "outbox", "deliver"], capture_output=True, text=True, check=True,
        env={"PATH": os.environ["PATH"], "PLEDGE_HOME": str(tmp_path), "PLEDGE_ENV_FILE": str(env_file)})
    assert result.stdout.splitlines() == ["--app", "wsgi", "outbox", "deliver",
                                          "postgresql://u:p$w&rd x@h/db", "a b $HOME `id`"]
