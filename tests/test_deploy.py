"""The sample deployment files say what the app needs: every scheduled job exists, the
README lists the same jobs, and nginx drops requests for hosts it does not serve."""

from __future__ import annotations

import re
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
