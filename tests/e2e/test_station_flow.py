"""A supervision station's officer, on a phone: signs in, lands on its queue, handles a case
of its mall (accepts, forwards it to the merchant, mediates, closes it as resolved) and is
refused another area's case, by URL and by a forged POST."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.helpers import PASSWORD, click_and_wait, sign_in

pytestmark = pytest.mark.e2e


def test_a_station_handles_its_malls_case_and_no_other(live_app: Any, phone: Any) -> None:
    from pledge_registry.auth.services import create_user
    from pledge_registry.extensions import db
    from pledge_registry.models import CommercialArea, Complaint, Role
    from tests.factories import make_filed_complaint, make_merchant, make_station

    base = live_app.config["BASE_URL"]
    with live_app.app_context():
        ours_area, other_area = db.session.scalars(select(CommercialArea).order_by(CommercialArea.id)).all()[:2]
        station = make_station(ours_area.id, "南洋广场站")
        make_station(other_area.id, "华发广场站")
        create_user("nanyang@station.test", PASSWORD, "南洋站孙站长", role=Role.STATION, station_id=station.id)
        ours = make_filed_complaint(make_merchant(area_id=ours_area.id, shop_name="南洋鲜果"))
        theirs = make_filed_complaint(make_merchant(area_id=other_area.id, shop_name="华发电器"))
        assert ours.station_id == station.id and theirs.station_id != station.id
        ours_id, theirs_id = ours.id, theirs.id

    sign_in(phone, base, "nanyang@station.test", r"/staff/complaints/$")
    queue = phone.content()
    assert f'href="/staff/complaints/{ours_id}"' in queue and f'href="/staff/complaints/{theirs_id}"' not in queue
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll

    phone.goto(f"{base}/staff/complaints/{ours_id}")
    assert "南洋鲜果" in phone.content()
    click_and_wait(phone, f"form[action$='/{ours_id}/accept'] button[type=submit]")
    assert "南洋站孙站长" in phone.content()  # the station officer now handles it
    click_and_wait(phone, f"form[action$='/{ours_id}/forward'] button[type=submit]")
    click_and_wait(phone, f"form[action$='/{ours_id}/mediate'] button[type=submit]")
    phone.select_option("select[name=outcome]", "resolved")
    phone.fill("input[name=amount_recovered]", "88")
    phone.select_option("select[name=upheld]", "yes")
    phone.fill("textarea[name=close_note]", "商家当场退款")
    click_and_wait(phone, f"form[action$='/{ours_id}/close'] button[type=submit]")
    assert phone.locator(f"form[action$='/{ours_id}/close']").count() == 0
    with live_app.app_context():
        closed = db.session.get(Complaint, ours_id)
        assert (closed.status, closed.outcome, closed.amount_recovered_cents) == ("closed", "resolved", 8800)

    # Another area's case: not found, by its page or by a POST with this session's CSRF token.
    response = phone.goto(f"{base}/staff/complaints/{theirs_id}")
    assert response is not None and response.status == 404
    phone.goto(f"{base}/staff/complaints/{ours_id}")
    token = phone.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = phone.request.post(f"{base}/staff/complaints/{theirs_id}/accept", form={"csrf_token": token or ""},
                                headers={"Referer": f"{base}/staff/complaints/{ours_id}"}, max_redirects=0)
    assert forged.status == 404
    with live_app.app_context():
        assert db.session.get(Complaint, theirs_id).status == "received"
