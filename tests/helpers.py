"""What tests do as a browser would: the test configuration, a client whose requests run as
in production, form posts with the page's CSRF token, signing in, reading values out of a
page, and the shopper's complaint form. Rows in the database come from tests/factories.py."""

from __future__ import annotations

import contextvars
import io
import re
import socket
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from PIL import Image

from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import Complaint

TEST_PASSWORD = "correct horse battery staple"
# A cheap scrypt cost keeps logins fast in tests; production uses werkzeug's default cost.
FAST_SCRYPT = "scrypt:1024:8:1"


def base_config(uri: str, tmp: Path) -> dict[str, Any]:
    """The configuration every test app starts from, on the database at `uri`."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": uri,
        "RATELIMIT_STORAGE_URI": "memory://",
        "BASE_URL": "http://localhost",
        "SQLITE_SYNCHRONOUS": "NORMAL",
        "UPLOAD_FOLDER": str(tmp / "uploads"),
        "IMPORT_FOLDER": str(tmp / "imports"),
        "SERVER_NAME": None,
        "PASSWORD_HASH_METHOD": FAST_SCRYPT,
        "DEMO_LOGINS_FILE": str(tmp / "demo_logins.txt"),
        "SCAN_LOG_FLUSH_MS": 0,  # a suspicious scan written in its own request: read at once
    }


class IsolatedClient(FlaskClient):
    """A test client whose requests run as in production: each in its own app context.

    The `app` fixture keeps an app context open for the test body (factories, asserts).
    Flask would reuse it for requests, sharing `g` (Flask-Login's user, the locale) and the
    database session between requests, which hides bugs (a replayed cookie after logout
    would still be "logged in"). Each request therefore runs in an empty contextvars
    context; the test's own session commits before it (like another process would have)
    and forgets its cached state after it, so the next read sees what the request wrote.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        outer = has_app_context()
        if outer:
            db.session.commit()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            if outer:
                db.session.expire_all()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def limit_count(limit: str) -> int:
    """The count of a rate limit such as "5 per 10 minutes"."""
    return int(limit.split()[0])


def count_rows(model: Any, *where: Any) -> int:
    """How many rows of `model` (meeting the `where` conditions) the database holds."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def missing_id(model: Any) -> int:
    """An id no row of `model` has: for the 404 of a record that does not exist."""
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


# --- reading pages ----------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_IDEMPOTENCY_KEY = re.compile(r'name="idempotency_key"[^>]*value="([0-9a-f]{32})"')


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def csrf_token_in(page: str) -> str | None:
    """The CSRF token of the first form on `page`, if it has one."""
    match = _CSRF.search(page)
    return match.group(1) if match else None


def idempotency_key_in(page: str) -> str | None:
    """The idempotency key the complaint form on `page` carries, if any."""
    match = _IDEMPOTENCY_KEY.search(page)
    return match.group(1) if match else None


def tag_with(page: str, marker: str) -> str:
    """The whole HTML tag that contains `marker`."""
    before, after = page.split(marker, 1)
    return before.rsplit("<", 1)[1] + marker + after.split(">", 1)[0]


# --- forms and signing in ---------------------------------------------------------------

def csrf_token(client: Any, url: str) -> str:
    """The CSRF token a browser gets with the page at `url`."""
    page = client.get(url)
    token = csrf_token_in(text(page))
    assert token, f"no CSRF token on {url} (status {page.status_code})"
    return token


def form_post(client: Any, url: str, data: dict[str, Any], form_url: str | None = None,
              **kwargs: Any) -> Any:
    """POST a form with the CSRF token a browser would have from the form's page."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def login(client: Any, user: Any, password: str = TEST_PASSWORD) -> Any:
    response = form_post(client, "/account/login", {"login": user.login_name, "password": password})
    assert response.status_code == 302, text(response)[:500]
    return response


def signed_in_client(app: Any, user: Any) -> Any:
    """A client of its own, signed in as `user` (each request in its own context)."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    login(client, user)
    return client


def english_browser(app: Any) -> Any:
    """Another browser (another phone), asking for English pages."""
    other = app.test_client()
    other.set_cookie("lang", "en")
    return other


# --- the shopper's complaint form -------------------------------------------------------

SHOPPER_PHONE = "13900001234"
SHOPPER_NAME = "王小明"


def complaint_data(**overrides: Any) -> dict[str, Any]:
    """A valid complaint form as a browser posts it; an override of None leaves the field out."""
    data: dict[str, Any] = {
        "idempotency_key": uuid.uuid4().hex, "request_type": "complaint", "item": "运动鞋 一双",
        "purchased_on": (local_today() - timedelta(days=3)).isoformat(), "amount": "199.50",
        "problem_type": "quality", "account": "穿了两天鞋底就开胶了，店家不给退。",
        "wants": ["refund", "apology"], "shopper_name": SHOPPER_NAME, "shopper_phone": SHOPPER_PHONE,
        "consent": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def complain_url(merchant: Any) -> str:
    return f"/m/{merchant.badge_code}/complain"


def file_complaint(client: Any, merchant: Any, **overrides: Any) -> Any:
    """POST the complaint form; multipart when photos are given."""
    data = complaint_data(**overrides)
    kwargs = {"content_type": "multipart/form-data"} if "photos" in data else {}
    return form_post(client, complain_url(merchant), data, **kwargs)


def complaints() -> list[Complaint]:
    """Every complaint, oldest first, as committed now."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Complaint).order_by(Complaint.id)))


def filed(client: Any, merchant: Any, **overrides: Any) -> Complaint:
    """File through the form and return the complaint it made."""
    response = file_complaint(client, merchant, **overrides)
    assert response.status_code == 302, text(response)[:2000]
    return complaints()[-1]


def track(client: Any, code: str, last4: str) -> Any:
    return form_post(client, "/track", {"tracking_code": code, "phone_last4": last4})


# --- photos -----------------------------------------------------------------------------

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_bytes(size: tuple[int, int] = (64, 48), gps: bool = False, orientation: int | None = None,
               trailer: bytes = b"") -> bytes:
    """A camera-like JPEG with EXIF (a Make, optionally GPS and an orientation)."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 200), (0, 0, size[0] // 2, size[1] // 4))  # so that turning shows
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    if orientation:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (31.0, 27.0, 36.5), 3: "E", 4: (121.0, 6.0, 12.25)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue() + trailer


def jpeg_upload(filename: str = "a.jpg", **image: Any) -> tuple[io.BytesIO, str, str]:
    """A JPEG photo as the complaint form's file field takes it (`image`: see jpeg_bytes)."""
    return io.BytesIO(jpeg_bytes(**image)), filename, "image/jpeg"
