from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import form_post


def test_scan_page_of_a_valid_shop(client):
    merchant = make_merchant()
    make_pledge(merchant, "genuine")
    make_pledge(merchant, "returns")
    page = client.get(f"/m/{merchant.badge_code}")
    assert page.status_code == 200
    assert "verdict-valid" in page.get_data(as_text=True)


def test_signup_and_register(client):
    response = form_post(client, "/account/signup", {
        "login": "13912345678", "display_name": "李四", "password": "a long enough pass",
        "confirm": "a long enough pass"})
    assert response.status_code == 302
    page = client.get("/portal/shops/new")
    assert page.status_code == 200
    staff = make_user("staff")
    assert staff.id
