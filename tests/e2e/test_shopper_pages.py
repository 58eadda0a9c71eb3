"""The shopper's public pages in a phone's browser, in both languages and both display
modes: axe-core finds nothing critical or serious, nothing scrolls sideways at 320 px, the
elder mode passes axe's AAA contrast rule, the complaint form is completed in elder mode
with JavaScript off, and an older shopper's walk (scan → complain → confirmation → track)
finds each step's main control on the first screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.axe import AA_TAGS, BLOCKING, require_axe, run_axe, summary
from tests.e2e.helpers import PHONE, TIMEOUT_MS, click_and_wait

pytestmark = pytest.mark.e2e

LANGS = ("zh", "en")
NARROW = {"width": 320, "height": 640}


@contextmanager
def shopper(browser: Any, base: str, lang: str, elder: bool, **settings: Any) -> Iterator[Any]:
    """A phone with the language and display mode chosen as a shopper would have them
    (the cookies the switches set), its CSP bypassed so that axe can be injected."""
    context = browser.new_context(**{**PHONE, "bypass_csp": True, **settings})
    cookies = [{"name": "lang", "value": lang, "url": base}]
    if elder:
        cookies.append({"name": "elder", "value": "1", "url": base})
    context.add_cookies(cookies)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        yield page
    finally:
        context.close()


def _fill_complaint(page: Any, today: Any) -> None:
    from tests.public_pages import ENGLISH_COMPLAINT as data

    page.check("input[name=request_type][value=complaint]")
    page.fill("input[name=item]", data["item"])
    page.fill("input[name=purchased_on]", (today - timedelta(days=2)).isoformat())
    page.fill("input[name=amount]", data["amount"])
    page.select_option("select[name=problem_type]", data["problem_type"])
    page.fill("textarea[name=account]", data["account"])
    page.check("input[name=wants][value=refund]")
    page.fill("input[name=shopper_name]", data["shopper_name"])
    page.fill("input[name=shopper_phone]", data["shopper_phone"])
    page.check("input[name=consent]")


def _no_sideways_scroll(page: Any) -> int:
    """How many CSS pixels the page is wider than the screen (0: it does not scroll sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.fixture
def site(live_app: Any) -> dict[str, Any]:
    from tests.public_pages import anonymous_pages, shops_in_every_state

    with live_app.app_context():
        shops = shops_in_every_state()
        return {"pages": anonymous_pages(shops), "valid_code": shops.valid.badge_code}


def _case_pages(page: Any, live_app: Any, base: str, code: str) -> dict[str, str]:
    """File a case from this phone (its confirmation and case pages) and close another one
    (its survey)."""
    from pledge_registry.extensions import db
    from pledge_registry.localtime import local_today
    from pledge_registry.models import Complaint
    from tests.public_pages import closed_case_survey_path

    page.goto(f"{base}/m/{code}/complain")
    _fill_complaint(page, local_today())
    click_and_wait(page, "form input[name=submit]")
    assert page.url.endswith("/complain/done"), page.url
    tracking = page.locator(".tracking-code strong").inner_text().strip().replace("-", "")
    with live_app.app_context():
        c = db.session.scalar(db.select(Complaint).where(Complaint.tracking_code == tracking))
        survey = closed_case_survey_path(c, base)
    return {"confirmation": "/complain/done", "closed case": f"/track/{tracking}", "survey": survey}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("elder", [False, True], ids=["standard", "elder"])
def test_every_public_page_passes_axe_and_fits_320px(live_app: Any, browser: Any, site: dict[str, Any],
                                                      lang: str, elder: bool) -> None:
    require_axe()
    base = live_app.config["BASE_URL"]
    failures: list[str] = []
    with shopper(browser, base, lang, elder) as page:
        pages = {**site["pages"], **_case_pages(page, live_app, base, site["valid_code"])}
        for name, path in pages.items():
            page.set_viewport_size(PHONE["viewport"])
            response = page.goto(base + path)
            assert response is not None and response.status in (200, 404), (name, response and response.status)
            assert ('class="elder"' in page.content()) is elder, name
            blocking = [v for v in run_axe(page, {"type": "tag", "values": AA_TAGS}) if v["impact"] in BLOCKING]
            failures += [f"{name}: {line}" for line in summary(blocking)]
            if elder:
                aaa = run_axe(page, {"type": "rule", "values": ["color-contrast-enhanced"]})
                failures += [f"{name} (AAA contrast): {line}" for line in summary(aaa)]
            page.set_viewport_size(NARROW)
            wider = _no_sideways_scroll(page)
            if wider > 0:
                failures.append(f"{name}: {wider}px wider than a 320px screen")
    assert not failures, "\n".join(failures)


def test_elder_mode_body_text_is_20px_and_follows_the_browsers_font_setting(live_app: Any, browser: Any,
                                                                             site: dict[str, Any]) -> None:
    base = live_app.config["BASE_URL"]
    path = site["pages"]["scan valid"]
    sizes = {}
    for elder in (False, True):
        with shopper(browser, base, "zh", elder) as page:
            page.goto(base + path)
            sizes[elder] = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
            # The browser's own larger font setting (a root of 20 px) enlarges every size.
            page.add_style_tag(content=":root{font-size:20px !important}")
            larger = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
            assert larger == 20 if not elder else larger >= 20
            heights = page.evaluate("() => [...document.querySelectorAll('main a.button, main button')]"
                                    ".map(e => e.getBoundingClientRect().height)")
            assert heights and min(heights) >= 44
    assert sizes[False] == 16 and sizes[True] >= 20


def test_the_error_summary_takes_focus(live_app: Any, browser: Any, site: dict[str, Any]) -> None:
    base = live_app.config["BASE_URL"]
    with shopper(browser, base, "en", True) as page:
        page.goto(f"{base}/m/{site['valid_code']}/complain")
        click_and_wait(page, "form input[name=submit]")
        # Chromium moves focus to an autofocus element at its next rendering update, not at load.
        page.wait_for_function("() => document.activeElement.classList.contains('errors')", timeout=5000)
        first = page.locator(".errors a").first
        target = first.get_attribute("href")
        first.click()
        assert page.evaluate("() => '#' + document.activeElement.id") == target


def test_the_complaint_form_completed_in_elder_mode_without_javascript(live_app: Any, browser: Any,
                                                                        site: dict[str, Any]) -> None:
    from pledge_registry.localtime import local_today

    base = live_app.config["BASE_URL"]
    with shopper(browser, base, "zh", False, java_script_enabled=False) as page:
        page.goto(base + site["pages"]["scan valid"])
        click_and_wait(page, "a[href^='/elder?on=1']")  # the switch itself needs no script
        assert page.url == base + site["pages"]["scan valid"]
        assert 'class="elder"' in page.content()
        click_and_wait(page, f"a[href='/m/{site['valid_code']}/complain']")
        # A first try with the account missing: refused, named, everything else kept.
        _fill_complaint(page, local_today())
        page.fill("textarea[name=account]", "")
        click_and_wait(page, "form input[name=submit]")
        assert page.locator(".errors a[href='#account']").count() == 1
        assert page.input_value("input[name=item]") == "Electric kettle"
        # The language button of the form keeps what was typed, in English.
        click_and_wait(page, "button[name=switch_lang][value=en]")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.input_value("input[name=item]") == "Electric kettle"
        page.fill("textarea[name=account]", "It leaks.")
        page.check("input[name=consent]")
        click_and_wait(page, "form input[name=submit]")
        assert page.url.endswith("/complain/done"), page.url
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}",
                            page.locator(".tracking-code strong").inner_text().strip())
        assert 'class="elder"' in page.content()


def _on_first_screen(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["viewport"]["height"]


@pytest.mark.parametrize("lang", LANGS)
def test_an_older_shoppers_walk_has_each_steps_main_control_on_the_first_screen(
        live_app: Any, browser: Any, site: dict[str, Any], lang: str) -> None:
    from tests.public_pages import ENGLISH_COMPLAINT

    base = live_app.config["BASE_URL"]
    code = site["valid_code"]
    with shopper(browser, base, lang, True) as page:
        # The scan page: the state, the shop, and the complaint button, without scrolling.
        page.goto(f"{base}/m/{code}")
        for selector in (".verdict h1", "#shop-name", f"a[href='/m/{code}/complain']"):
            assert _on_first_screen(page, selector), selector
        click_and_wait(page, f"a[href='/m/{code}/complain']")
        # The form: its first question is on the first screen.
        assert _on_first_screen(page, "input[name=request_type]")
        from pledge_registry.localtime import local_today

        _fill_complaint(page, local_today())
        click_and_wait(page, "form input[name=submit]")
        # The confirmation: the tracking code and the way to the case.
        assert page.url.endswith("/complain/done"), page.url
        assert _on_first_screen(page, ".tracking-code")
        tracking = page.locator(".tracking-code strong").inner_text().strip()
        # Tracking it later, from the link every page carries.
        page.goto(f"{base}/")
        click_and_wait(page, "header a[href='/track']")
        assert _on_first_screen(page, "input[name=tracking_code]")
        assert _on_first_screen(page, "form input[name=submit]")
        page.fill("input[name=tracking_code]", tracking)
        page.fill("input[name=phone_last4]", ENGLISH_COMPLAINT["shopper_phone"][-4:])
        click_and_wait(page, "form input[name=submit]")
        assert re.search(r"/track/[0-9A-Z]{14}$", page.url), page.url
        assert _on_first_screen(page, "main section[role=status]")
