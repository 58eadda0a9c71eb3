"""The shopper's public pages: the complaint one tap away, the elder-friendly mode, a
language switch that keeps the visitor's place, errors a person can fix, one appearance
per state, and the merchant's reply beside its rating."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pledge_registry.display import ELDER_COOKIE
from pledge_registry.extensions import db
from pledge_registry.models import Complaint
from tests.factories import make_pledge
from tests.helpers import IsolatedClient, complaint_data, count_rows, form_post, text
from tests.public_pages import (
    ENGLISH_COMPLAINT,
    REPLY,
    STATES,
    UNKNOWN_CODE,
    anonymous_pages,
    ascii_shop,
    closed_case_survey_path,
    shops_in_every_state,
)

CSS = Path(__file__).resolve().parents[1] / "static" / "css" / "app.css"
# Han characters, CJK punctuation and full-width forms: none belongs on an English page.
HAN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# The one Chinese word an English page carries: the switch to Chinese, marked as Chinese.
CHINESE_SWITCH = re.compile(r"<(a|button)\b[^>]*\blang=\"zh-Hans\"[^>]*>[^<]*</\1>")


@pytest.fixture
def shops(app):
    return shops_in_every_state()


def _english(client) -> None:
    client.set_cookie("lang", "en")


def _case_pages(app, client) -> dict[str, str]:
    """The pages of cases this browser filed: confirmation, case, withdraw (an open case),
    and the survey of a closed one."""
    merchant = ascii_shop(9, "filed")
    make_pledge(merchant, "genuine")
    cases = []
    for _ in range(2):
        data = {**ENGLISH_COMPLAINT, "idempotency_key": uuid.uuid4().hex}
        assert form_post(client, f"/m/{merchant.badge_code}/complain", data).status_code == 302
        cases.append(db.session.scalars(db.select(Complaint).order_by(Complaint.id.desc())).first())
    open_case, closed_case = cases
    return {"confirmation": "/complain/done", "case": f"/track/{open_case.tracking_code}",
            "withdraw": f"/track/{open_case.tracking_code}/withdraw",
            "closed case": f"/track/{closed_case.tracking_code}",
            "survey": closed_case_survey_path(closed_case, app.config["BASE_URL"])}


# --- 1. the complaint one tap away ---------------------------------------------------------

def test_the_complaint_button_comes_under_the_state_and_before_the_terms(client, shops) -> None:
    for state in ("valid", "suspended", "revoked", "expired", "closed"):
        merchant = shops.by_state[state]
        page = text(client.get(f"/m/{merchant.badge_code}"))
        main = page.index("<main")
        order = [page.index('class="verdict'), page.index(f">{merchant.shop_name}</h2>"),
                 page.index(f'href="/m/{merchant.badge_code}/complain"'), page.index('href="/track"', main),
                 page.index('<dl class="facts">'), page.index('class="state state-')]
        assert order == sorted(order), state


def test_every_public_page_links_to_complaining_without_a_badge_and_to_tracking(app, client, shops) -> None:
    pages = anonymous_pages(shops)
    for name, path in pages.items():
        page = text(client.get(path))
        assert 'href="/complain"' in page, name
        assert 'href="/track"' in page, name


# --- 2. the elder-friendly mode ------------------------------------------------------------

def test_elder_mode_is_a_plain_link_that_comes_back_to_the_same_page(client, shops) -> None:
    code = shops.valid.badge_code
    page = text(client.get("/merchants?q=Acme&town=1"))
    switch = re.search(r'href="(/elder\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(switch).query) == {"on": ["1"], "next": ["/merchants?q=Acme&town=1"]}

    response = client.get(switch)
    assert response.status_code == 302 and response.headers["Location"] == "/merchants?q=Acme&town=1"
    cookie = client.get_cookie(ELDER_COOKIE)
    assert cookie is not None and cookie.value == "1" and cookie.http_only
    scan = text(client.get(f"/m/{code}"))
    assert '<html lang="zh-Hans" class="elder">' in scan  # remembered on the next page
    assert "/elder?on=0" in scan  # and the way back

    client.get(f"/elder?on=0&next=/m/{code}")
    assert client.get_cookie(ELDER_COOKIE) is None
    assert 'class="elder"' not in text(client.get(f"/m/{code}"))


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                    "javascript:alert(1)", "", "/ok\x00", "/" + "a" * 3000])
def test_elder_switch_never_leaves_the_site(client, target) -> None:
    response = client.get("/elder", query_string={"on": "1", "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_the_kept_scan_page_never_leaks_elder_mode_or_language(app, shops) -> None:
    """One cache, four kinds of visitor, in every order: each gets its own copy."""
    code = shops.valid.badge_code
    app.test_client_class = IsolatedClient  # each request in its own context, as in production
    visitors = {}
    for lang in ("zh", "en"):
        for elder in (False, True):
            c = app.test_client()
            c.set_cookie("lang", lang)
            if elder:
                c.set_cookie(ELDER_COOKIE, "1")
            visitors[(lang, elder)] = c
    for _ in range(2):
        for (lang, elder), c in [*visitors.items(), *reversed(visitors.items())]:
            response = c.get(f"/m/{code}")
            page = text(response)
            assert ('class="elder"' in page) is elder, (lang, elder)
            assert ('<html lang="en"' in page) is (lang == "en"), (lang, elder)
            assert response.headers["Vary"] == "Cookie"
    assert len([k for k in app.extensions["scan_cache"]._items if k[0] == code]) == 4
    # The JSON does not depend on the display mode: one copy per language.
    for c in visitors.values():
        assert c.get(f"/m/{code}.json").get_json()["badge_code"] == code


def test_the_proxy_cache_key_names_both_cookies() -> None:
    conf = (Path(__file__).resolve().parents[1] / "deploy" / "nginx" / "pledge-proxy.conf").read_text()
    key = re.search(r"^proxy_cache_key (.*);$", conf, re.M).group(1)
    assert "$cookie_lang" in key and f"$cookie_{ELDER_COOKIE}" in key


def _css_vars(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):(#[0-9a-fA-F]{6})", block))


def _contrast(a: str, b: str) -> float:
    def lum(h: str) -> float:
        channels = [int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_every_size_is_relative_and_elder_mode_sets_20px_body_text() -> None:
    css = CSS.read_text()
    assert not re.search(r"\d(px|pt)\b", css), "sizes in rem or em only: the browser's font setting must count"
    assert re.search(r"body\{[^}]*font-size:1rem", css)
    root = float(re.search(r"html\.elder\{font-size:(\d+)%", css).group(1))
    assert 16 * root / 100 >= 20
    assert re.search(r"min-height:2\.75rem", css)  # 44 px controls


def test_every_state_and_text_colour_meets_its_contrast() -> None:
    css = CSS.read_text()
    normal = _css_vars(re.search(r":root\{([^}]*)\}", css).group(1))
    elder = {**normal, **_css_vars(re.search(r"html\.elder\{([^}]*)\}", css).group(1))}
    states = [*STATES, "unknown"]
    for palette, minimum in ((normal, 4.5), (elder, 7.0)):
        for state in states:
            assert _contrast(palette[f"st-{state}"], "#ffffff") >= minimum, (state, minimum)
        for name in ("ink", "muted", "accent", "bad", "ok", "warn", "grade-b"):
            for background in ("#ffffff", palette["bg"]):
                assert _contrast(palette[name], background) >= minimum, (name, background, minimum)
    assert len({normal[f"st-{s}"] for s in states}) == len(states)  # each state its own colour
    assert len({elder[f"st-{s}"] for s in states}) == len(states)


# --- 3. a language switch that keeps the place ---------------------------------------------

def test_the_language_link_keeps_the_page_and_its_query(client, shops) -> None:
    page = text(client.get("/merchants?q=Acme&category=food&page=1"))
    link = re.search(r'<a href="([^"]+)" lang="en" hreflang="en">English</a>', page).group(1)
    assert link.replace("&amp;", "&") == "/merchants?q=Acme&category=food&page=1&lang=en"
    english = text(client.get(link.replace("&amp;", "&")))
    assert 'value="Acme"' in english and '<html lang="en"' in english
    back = re.search(r'<a href="([^"]+)" lang="zh-Hans" hreflang="zh-Hans">', english).group(1)
    assert back.replace("&amp;", "&") == "/merchants?q=Acme&category=food&page=1&lang=zh"


def test_the_kept_scan_page_carries_no_visitors_query(app, shops) -> None:
    code = shops.valid.badge_code
    first = text(app.test_client().get(f"/m/{code}?utm=poster-7"))
    second = text(app.test_client().get(f"/m/{code}"))
    assert "poster-7" not in first and "poster-7" not in second
    assert f'href="/m/{code}?lang=en"' in second


def test_the_complaint_forms_language_button_keeps_what_was_typed(client, shops) -> None:
    url = f"/m/{shops.valid.badge_code}/complain"
    page = text(client.get(url))
    assert 'form="complaint-form" name="switch_lang" value="en"' in page
    typed = complaint_data(item="一个电水壶", account="漏水了，不给退。", switch_lang="en")
    response = form_post(client, url, typed)
    page = text(response)
    assert response.status_code == 200 and '<html lang="en"' in page
    assert 'value="一个电水壶"' in page and "漏水了，不给退。" in page
    assert 'value="13900001234"' in page
    assert re.search(r'<input[^>]*checked[^>]*value="refund"|<input[^>]*value="refund"[^>]*checked', page)
    assert "Please correct the following" not in page  # nothing was checked, nothing refused
    assert count_rows(Complaint) == 0  # and nothing recorded
    assert client.get_cookie("lang").value == "en"
    assert 'name="switch_lang" value="zh"' in page  # and back again


def test_the_tracking_forms_language_button_keeps_the_code(client) -> None:
    response = form_post(client, "/track", {"tracking_code": "ABCD-EFGH-JKLM-NP", "phone_last4": "1234",
                                            "switch_lang": "en"})
    page = text(response)
    assert response.status_code == 200 and "Track a complaint" in page
    assert 'value="ABCD-EFGH-JKLM-NP"' in page and 'value="1234"' in page
    assert "We found no case" not in page  # no look-up was made


def _without_chinese_switch(page: str) -> str:
    return CHINESE_SWITCH.sub("", page)


def test_english_pages_have_no_chinese_outside_shop_data(app, client, shops) -> None:
    _english(client)
    pages = {**anonymous_pages(shops), **_case_pages(app, client)}
    for name, path in pages.items():
        response = client.get(path)
        assert response.status_code in (200, 404), (name, response.status_code)
        page = _without_chinese_switch(text(response))
        found = HAN.findall(page)
        assert not found, (name, "".join(found)[:40], page[page.index(found[0]) - 200:][:300] if found else "")
    # A refused form, and the thanks after the survey, too.
    refused = form_post(client, f"/m/{shops.valid.badge_code}/complain", {"item": ""})
    assert refused.status_code == 400
    assert not HAN.findall(_without_chinese_switch(text(refused)))
    answered = form_post(client, pages["survey"], {"answer": "satisfied", "comment": "Quick"})
    assert answered.status_code == 302
    thanks = text(client.get(pages["survey"]))
    assert "Your answer is recorded" in thanks and not HAN.findall(_without_chinese_switch(thanks))


def test_chinese_pages_never_show_the_code_nr(client, shops) -> None:
    from tests.factories import make_rating

    unrated, rated_nr = shops.by_state["pending"], shops.by_state["expired"]
    make_rating(rated_nr, "NR")  # what the model gives a shop without enough history
    for path in (f"/m/{unrated.badge_code}", f"/m/{rated_nr.badge_code}", "/merchants",
                 f"/m/{rated_nr.badge_code}/rating", f"/m/{rated_nr.badge_code}.json?x"):
        page = text(client.get(path))
        if path.endswith(".json?x"):
            continue
        visible = re.sub(r"<[^>]+>", " ", page)
        assert not re.search(r"(?<![A-Z0-9])NR(?![A-Z0-9])", visible), path
        assert "暂未评级" in page, path


def _shows_code_nr(page: str) -> bool:
    visible = re.sub(r"<[^>]+>", " ", page)
    return bool(re.search(r"(?<![A-Z0-9])NR(?![A-Z0-9])", visible))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_merchants_and_the_officers_pages_show_the_grades_label(app, client, lang) -> None:
    """A grade is shown as its words in either language, never as the model's code: the
    merchant's reply and appeal pages, the officer's compliance file and appeal, and the
    rating's history."""
    from pledge_registry.compliance import services as compliance
    from tests.factories import make_merchant, make_rating, make_user
    from tests.helpers import login

    shop = make_merchant()
    make_rating(shop, "B")
    make_rating(shop, "NR")  # the history holds both
    words = "暂未评级" if lang == "zh" else "Not yet rated"
    staff = make_user("staff")
    merchant_pages = [f"/portal/shops/{shop.id}/rating/reply", f"/portal/shops/{shop.id}/rating/appeal",
                      f"/m/{shop.badge_code}/rating"]
    owner = app.test_client()
    owner.set_cookie("lang", lang)
    login(owner, shop.owner)
    for path in merchant_pages:
        page = text(owner.get(path))
        assert not _shows_code_nr(page) and words in page, path
    appeal = compliance.file_appeal(shop.owner, shop, "The rating came before my pledges were counted.")
    db.session.commit()
    officer = app.test_client()
    officer.set_cookie("lang", lang)
    login(officer, staff)
    for path in (f"/staff/shops/{shop.id}/compliance", f"/staff/appeals/{appeal.id}"):
        page = text(officer.get(path))
        assert not _shows_code_nr(page) and words in page, path


# --- 4. errors a person can fix ------------------------------------------------------------

def test_the_error_summary_takes_focus_and_links_to_each_field_by_name(client, shops) -> None:
    _english(client)
    response = form_post(client, f"/m/{shops.valid.badge_code}/complain",
                         complaint_data(item="", problem_type="", shopper_phone="12", consent=None,
                                        request_type="nonsense"))
    page = text(response)
    assert response.status_code == 400
    summary = re.search(r'<div class="errors" role="alert" tabindex="-1" autofocus>(.*?)</div>', page, re.S)
    assert summary, "the summary is focused when the page opens, without a script"
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary.group(1))
    targets = {target for target, _ in links}
    assert {"item", "problem_type", "shopper_phone", "consent", "request_type-0"} <= targets
    for target, line in links:
        assert f'id="{target}"' in page, target  # the link leads to the field
        label = line.split(":")[0]
        assert label and label in page.replace(line, ""), line  # and names it as its label does
    assert "What did you buy (or what service)?:" in summary.group(1)


# --- 5. one state, one appearance ----------------------------------------------------------

def test_each_state_has_its_own_colour_icon_and_words(client, shops) -> None:
    _english(client)
    seen = {}
    for state in STATES:
        page = text(client.get(f"/m/{shops.by_state[state].badge_code}"))
        verdict = re.search(r'<section class="verdict verdict-(\w+)"[^>]*>\s*<h1><svg class="icon icon-(\w+)"'
                            r'[^>]*><path d="([^"]+)"[^>]*/></svg><span>([^<]+)</span>', page)
        assert verdict, state
        assert verdict.group(1) == verdict.group(2) == state
        seen[state] = (verdict.group(3), verdict.group(4))
    unknown = text(client.get(f"/m/{UNKNOWN_CODE}"))
    icon = re.search(r'verdict-unknown".*?<svg class="icon icon-unknown"[^>]*><path d="([^"]+)"', unknown, re.S)
    assert icon
    seen["unknown"] = (icon.group(1), "Not a registered badge")
    assert len({path for path, _ in seen.values()}) == len(seen)  # its own icon
    assert len({words for _, words in seen.values()}) == len(seen)  # its own words


def test_a_closed_shops_page_shows_no_green(client, shops) -> None:
    page = text(client.get(f"/m/{shops.by_state['closed'].badge_code}"))
    green = ("verdict-valid", "state-valid", "grade-A", "grade-B", "pstatus-active", "rule-ok")
    assert not [g for g in green if g in page]
    assert "verdict-closed" in page and page.count("state-closed") == 2  # both pledges read closed
    assert "grade-past" in page  # its last grade, without its colour
    facts = client.get(f"/m/{shops.by_state['closed'].badge_code}.json").get_json()
    assert facts["state"] == "closed" and {p["state"] for p in facts["pledges"]} == {"closed"}


# --- 6. the merchant's reply beside its rating ---------------------------------------------

def test_the_reply_is_beside_the_rating_on_the_scan_page_the_rating_page_and_the_json(client, shops) -> None:
    code = shops.valid.badge_code
    for path in (f"/m/{code}", f"/m/{code}/rating"):
        page = text(client.get(path))
        rating = page.index('class="grade grade-A"')
        reply = page.index(REPLY)
        assert rating < reply < page.index("</section>", rating), path  # in the rating's block
    facts = client.get(f"/m/{code}.json").get_json()
    assert facts["reply"]["text"] == REPLY and facts["reply"]["published_at"]
    assert client.get(f"/m/{shops.by_state['suspended'].badge_code}.json").get_json()["reply"] is None


def test_a_removed_reply_leaves_the_kept_pages_at_once(client, shops) -> None:
    from pledge_registry.compliance import services
    from tests.factories import make_user

    code = shops.valid.badge_code
    assert REPLY in text(client.get(f"/m/{code}"))
    assert client.get(f"/m/{code}.json").get_json()["reply"]["text"] == REPLY
    services.remove_reply(make_user("staff"), services.current_reply(shops.valid.id), "Insults")
    assert REPLY not in text(client.get(f"/m/{code}"))
    assert client.get(f"/m/{code}.json").get_json()["reply"] is None
