"""What the app lets the proxy in front keep: only anonymous answers of the views marked
micro_cached, for MICRO_CACHE_SECONDS. The same rules through a real nginx are in
tests/test_deployment_nginx.py."""

from __future__ import annotations

from pledge_registry.security import MICRO_CACHE_SECONDS
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import SHOPPER_PHONE, english_browser, filed, signed_in_client, track

# The anonymous pages that are the same for every visitor with the same URL and language.
MICRO_CACHED = {"public.home", "public.scan", "public.scan_json", "public.directory", "ratings.breakdown",
                "nominations.units", "publication.public_index", "publication.public_quarter",
                "publication.public_csv"}


def _shop():  # type: ignore[no-untyped-def]
    merchant = make_merchant()
    make_pledge(merchant)
    return merchant


def test_the_marked_views_are_public_and_only_those(app) -> None:
    marked = {endpoint for endpoint, view in app.view_functions.items() if getattr(view, "micro_cached", False)}
    assert marked == MICRO_CACHED
    for endpoint in marked:
        assert app.view_functions[endpoint].access == "public"


def test_an_anonymous_scan_may_be_kept_by_the_proxy_for_the_bound(client) -> None:
    merchant = _shop()
    for url in (f"/m/{merchant.badge_code}", f"/m/{merchant.badge_code}.json", "/m/nosuchbadge.json",
                f"/m/{merchant.badge_code}/rating", "/merchants?q=测试", "/"):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert response.headers["X-Accel-Expires"] == str(MICRO_CACHE_SECONDS) == "1", url
        # The phone itself still asks again at every scan.
        assert response.headers["Cache-Control"] == "no-cache", url
        assert "Set-Cookie" not in response.headers, url


def test_a_scan_of_a_forged_or_stale_badge_is_never_kept_by_the_proxy(client) -> None:
    """Each such scan must reach the app, which counts it (scan_reports)."""
    revoked = make_merchant()
    make_pledge(revoked, status="revoked")
    for url, status in ((f"/m/{revoked.badge_code}", 200), ("/m/nosuchbadge", 404)):
        response = client.get(url)
        assert response.status_code == status, url
        assert "X-Accel-Expires" not in response.headers, url
        assert response.headers["Cache-Control"] == "no-cache", url


def test_a_signed_in_scan_is_never_marked_cacheable(app) -> None:
    merchant = _shop()
    for role in ("merchant", "staff"):
        client = signed_in_client(app, make_user(role=role))
        for url in (f"/m/{merchant.badge_code}", f"/m/{merchant.badge_code}.json", "/"):
            response = client.get(url)
            assert response.status_code == 200
            assert "X-Accel-Expires" not in response.headers, (role, url)
            assert response.headers["Cache-Control"] == "no-store", (role, url)


def test_an_answer_that_sets_a_cookie_is_never_marked_cacheable(client) -> None:
    merchant = _shop()
    switched = client.get(f"/m/{merchant.badge_code}?lang=en")
    assert "lang=en" in switched.headers["Set-Cookie"]
    assert "X-Accel-Expires" not in switched.headers
    # With the cookie kept, the same page in English may be kept again (the key carries it).
    again = client.get(f"/m/{merchant.badge_code}")
    assert "Set-Cookie" not in again.headers and again.headers["X-Accel-Expires"] == "1"


def test_a_tracking_page_is_never_marked_cacheable(client, app) -> None:
    merchant = make_merchant()
    complaint = filed(client, merchant)
    shopper = english_browser(app)
    opened = track(shopper, complaint.tracking_code, SHOPPER_PHONE[-4:])
    page = shopper.get(opened.headers["Location"])
    assert page.status_code == 200
    assert "X-Accel-Expires" not in page.headers and page.headers["Cache-Control"] == "no-store"


def test_pages_not_marked_stay_uncached(client) -> None:
    for url in ("/account/login", "/healthz"):
        response = client.get(url)
        assert "X-Accel-Expires" not in response.headers, url
