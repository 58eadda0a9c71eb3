"""The deployed stack for the tests that need it: gunicorn and the sample nginx (both from
bench/_common.py, so the tests and the benchmarks run the same thing), and a phone that talks
to the site through nginx with the sample's Host and cookies of its own."""

from __future__ import annotations

import http.cookiejar
import shutil
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from bench._common import NGINX, Nginx, Server
from tests.helpers import csrf_token_in

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
# Server-level lines the tests add to the sample site: which answers came from the cache.
CACHE_STATUS = "    add_header X-Cache-Status $upstream_cache_status always;\n"


def stack_or_skip() -> None:
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run installs it)")
    if not GUNICORN.exists() and shutil.which("gunicorn") is None:
        pytest.skip("gunicorn is not installed in .venv")


def app_server(url: str, **env: str) -> Server:
    """gunicorn as deployed behind the sample nginx (one proxy hop, the sample's address)."""
    return Server(url, workers=1, env={"BASE_URL": "https://pledge.example.gov.cn", "PROXY_COUNT": "1", **env})


def site(servers: list[Server], work: Path) -> Nginx:
    return Nginx([f"127.0.0.1:{s.port}" for s in servers], work, server_extra=CACHE_STATUS)


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def cache(self) -> str:
        return self.headers.get("X-Cache-Status", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Phone:
    """A browser reaching the site through nginx (or one app server directly, as a proxy
    would), with the sample's Host and cookies of its own."""

    def __init__(self, to: Nginx | Server) -> None:
        self.base, self.host = to.base, "pledge.example.gov.cn"
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect())

    def request(self, path: str, data: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Answer:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers={"Host": self.host, **(headers or {})})
        try:
            with self._opener.open(req, timeout=15) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as err:
            return Answer(err.code, err.headers, err.read())

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request(path, headers=headers)

    def form_post(self, path: str, data: dict[str, Any], form_path: str | None = None) -> Answer:
        """POST a form with the CSRF token the form's page gave this phone."""
        page = self.get(form_path or path)
        token = csrf_token_in(page.text)
        assert token, f"no CSRF token on {form_path or path} ({page.status})"
        return self.request(path, data={"csrf_token": token, **data})
