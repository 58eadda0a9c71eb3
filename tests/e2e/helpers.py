"""What the browser tests share: the phone they use, the password of the accounts they
make, signing in through the login page, and waiting for a form's redirect."""

from __future__ import annotations

import re
from typing import Any

PASSWORD = "我的店铺密码很长也很好记"  # 12+ characters of any script
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


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
