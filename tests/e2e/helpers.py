"""What the browser tests share: the phone and the desk they use, the password of the accounts they
make, signing in through the login page, and waiting for a form's redirect."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PASSWORD = "我的店铺密码很长也很好记"  # 12+ characters of any script
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
DESK = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
TIMEOUT_MS = 15000  # a busy shared machine can take seconds for a page; none should take this long


@contextmanager
def browser_page(browser: Any, **settings: Any) -> Iterator[Any]:
    """A page in a browser context of its own (its own cookies, e.g. PHONE or DESK), closed after."""
    context = browser.new_context(**settings)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        yield page
    finally:
        context.close()


def sign_in(page: Any, base: str, login: str, landing: str) -> None:
    """Sign in with PASSWORD through the login form and wait for the page matching `landing`."""
    page.goto(f"{base}/account/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(re.compile(landing))


def click_and_wait(page: Any, selector: str) -> None:
    """Submit a form and wait for the page the redirect leads to."""
    with page.expect_navigation():
        page.click(selector)
