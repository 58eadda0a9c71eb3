"""The kept scan page is every anonymous visitor's: it never carries a signed-in user's header,
sign-out token or messages, and a signed-in visitor still sees their own."""

from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import signed_in_client, text


def _shop():
    merchant = make_merchant()
    make_pledge(merchant, "genuine")
    make_pledge(merchant, "returns")
    return merchant


def test_a_staff_scan_first_leaves_nothing_of_theirs_in_the_shared_page(app, client) -> None:
    merchant = _shop()
    staff = signed_in_client(app, make_user("staff"))
    own = text(staff.get(f"/m/{merchant.badge_code}?lang=en"))
    assert "Sign out" in own and "csrf_token" in own  # their own header, rendered for them

    anonymous = text(client.get(f"/m/{merchant.badge_code}?lang=en"))
    assert "verdict-valid" in anonymous
    assert "csrf_token" not in anonymous
    assert "Sign out" not in anonymous and "Review queue" not in anonymous
    assert "Merchant sign-in" in anonymous


def test_a_waiting_message_is_not_kept_in_the_shared_page(app, client) -> None:
    merchant = _shop()
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "only for this visitor")]
    first = text(client.get(f"/m/{merchant.badge_code}"))
    assert "only for this visitor" not in first
    other = app.test_client()
    assert "only for this visitor" not in text(other.get(f"/m/{merchant.badge_code}"))
    # The message was not used up by the shared page: the visitor's next own page shows it.
    assert "only for this visitor" in text(client.get("/track"))
