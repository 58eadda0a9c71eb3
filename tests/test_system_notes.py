"""The notes the application writes itself on a timeline (a pledge's term ended, a pledge
superseded, a shop imported or sent for review again) and the roles beside the names are
shown in the reader's language on every page that shows them, never as stored codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pledge_registry.extensions import db
from pledge_registry.models import MerchantEvent
from pledge_registry.pledges import services as pledges
from pledge_registry.registry import labels as registry_labels
from tests.factories import make_filed_complaint, make_merchant, make_pledge, make_user
from tests.helpers import login, text


def _expired_shop() -> tuple[Any, Any]:
    shop = make_merchant()
    pledge = make_pledge(shop, "genuine")
    pledge.expires_at = datetime.now(UTC) - timedelta(days=1)
    db.session.add(MerchantEvent(merchant_id=shop.id, from_status="approved", to_status="pending",
                                 actor_id=shop.owner_id, note=registry_labels.RESUBMITTED))
    db.session.commit()
    assert pledges.expire_due() == 1
    return shop, pledge


def test_staff_read_the_system_notes_and_roles_in_chinese(client: Any, app: Any) -> None:
    shop, pledge = _expired_shop()
    login(client, make_user("staff"))
    for url in (f"/staff/pledges/{pledge.id}", f"/staff/shops/{shop.id}"):
        page = text(client.get(url))
        assert "承诺期限届满" in page and "term ended" not in page, url
    page = text(client.get(f"/staff/shops/{shop.id}"))
    assert "已更正并重新提交审核" in page and "corrected and resubmitted" not in page
    assert "(商户)" in page and "(merchant)" not in page


def test_the_merchant_reads_them_in_either_language(client: Any, app: Any) -> None:
    shop, pledge = _expired_shop()
    login(client, shop.owner)
    assert "承诺期限届满" in text(client.get(f"/portal/pledges/{pledge.id}"))
    assert "已更正并重新提交审核" in text(client.get(f"/portal/shops/{shop.id}"))
    client.set_cookie("lang", "en")
    assert "The term of the pledge ended." in text(client.get(f"/portal/pledges/{pledge.id}"))
    assert "Corrected and sent for review again." in text(client.get(f"/portal/shops/{shop.id}"))


def test_a_person_s_own_note_is_shown_as_written(app: Any) -> None:
    from pledge_registry.pledges.labels import pledge_note

    with app.test_request_context():
        assert pledge_note("superseded by pledge 12") == "已由承诺 #12 取代。"
        assert pledge_note("superseded by pledge twelve") == "superseded by pledge twelve"
        assert pledge_note("抽查发现问题") == "抽查发现问题"


def test_a_case_s_timeline_names_who_moved_it_in_the_reader_s_language(client: Any, app: Any) -> None:
    case = make_filed_complaint(make_merchant())   # filed by the shopper: no account
    login(client, make_user("staff"))
    page = text(client.get(f"/staff/complaints/{case.id}"))
    assert "<td>消费者</td>" in page and "<td>shopper</td>" not in page
