"""Staff export the registry (the directory's shops and filters) to CSV and Excel; contact
details in full only for admins and the shop's town officer."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from pledge_registry.extensions import db
from pledge_registry.models import Town
from tests.factories import make_merchant, make_user
from tests.helpers import signed_in_client

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def shops(app: Any) -> dict[str, Any]:
    towns = db.session.scalars(sa.select(Town).order_by(Town.id)).all()
    here = make_merchant(shop_name="导出鲜果", contact_name="李四", contact_phone="13911112222", category="food")
    there = make_merchant(shop_name="导出电器", contact_phone="13933334444", category="appliances", town_id=towns[1].id,
                          area_id=None)
    make_merchant(shop_name="待审小店", status="pending")
    return {"here": here, "there": there, "towns": towns}


def test_csv_with_filters_and_masked_contacts(app: Any, shops: dict[str, Any]) -> None:
    city_staff = signed_in_client(app, make_user("staff"))
    response = city_staff.get("/staff/registry/export?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data().decode("utf-8-sig")
    assert "导出鲜果" in body and "导出电器" in body and "待审小店" not in body  # the directory's shops
    assert "13911112222" not in body and "139****2222" in body and "李*" in body
    filtered = city_staff.get(f"/staff/registry/export?format=csv&town={shops['towns'][1].id}").get_data()
    assert "导出电器" in filtered.decode("utf-8-sig") and "导出鲜果" not in filtered.decode("utf-8-sig")
    assert "导出鲜果" in city_staff.get("/staff/registry/export?q=鲜果").get_data().decode("utf-8-sig")


def test_town_officer_and_admin_see_contacts(app: Any, shops: dict[str, Any]) -> None:
    officer = signed_in_client(app, make_user("staff", town_id=shops["here"].town_id))
    body = officer.get("/staff/registry/export?format=csv").get_data().decode("utf-8-sig")
    assert "13911112222" in body and "李四" in body     # its own town's shop
    assert "13933334444" not in body                    # another town's
    admin = signed_in_client(app, make_user("admin"))
    data = admin.get("/staff/registry/export?format=xlsx").get_data()
    sheet = load_workbook(io.BytesIO(data)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][-1] == "联系手机"  # a signed-in client without a language choice: Chinese
    assert {"13911112222", "13933334444"} <= {row[-1] for row in values[1:]}


def test_merchants_cannot_export(app: Any, shops: dict[str, Any]) -> None:
    merchant = signed_in_client(app, shops["here"].owner)
    assert merchant.get("/staff/registry/export").status_code == 403


def _csv(client: Any, query: str = "") -> str:
    response = client.get(f"/staff/registry/export?format=csv{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.get_data().decode("utf-8-sig")


def test_personal_data_per_role(app: Any, shops: dict[str, Any]) -> None:
    """Each role, both formats: full contacts for the admin and the shop's own town officer,
    masked for other staff; stations, merchants and visitors get no export at all."""
    from tests.factories import make_station, make_station_officer

    here, there = shops["here"], shops["there"]
    full = {"13911112222", "李四"}
    cases = {
        "admin": (make_user("admin"), {here.id: True, there.id: True}),
        "town officer": (make_user("staff", town_id=here.town_id), {here.id: True, there.id: False}),
        "other town's officer": (make_user("staff", town_id=there.town_id), {here.id: False, there.id: True}),
        "city staff": (make_user("staff"), {here.id: False, there.id: False}),
    }
    for role, (user, sees) in cases.items():
        client = signed_in_client(app, user)
        body = _csv(client)
        sheet = load_workbook(io.BytesIO(client.get("/staff/registry/export?format=xlsx").get_data())).active
        cells = {str(c.value) for row in sheet.iter_rows() for c in row}
        for text_ in (body, "\n".join(cells)):
            assert (full <= set(_words(text_))) is sees[here.id], role
            assert ("13933334444" in text_) is sees[there.id], role
            if not sees[here.id]:
                assert "139****2222" in text_ and "李*" in text_, role
    station = make_station_officer(make_station(here.area_id))
    for user in (station, here.owner):
        for fmt in ("csv", "xlsx"):
            assert signed_in_client(app, user).get(f"/staff/registry/export?format={fmt}").status_code == 403
    anonymous = app.test_client().get("/staff/registry/export?format=csv")
    assert anonymous.status_code == 302 and "/account/login" in anonymous.headers["Location"]


def _words(body: str) -> list[str]:
    import re

    return re.split(r"[,\n\r]+", body)


def test_every_directory_filter_is_carried(app: Any, shops: dict[str, Any]) -> None:
    from tests.factories import make_pledge

    make_pledge(shops["here"], kind="returns")
    admin = signed_in_client(app, make_user("admin"))
    assert "导出鲜果" in _csv(admin, f"&area={shops['here'].area_id}")
    assert "导出电器" not in _csv(admin, f"&area={shops['here'].area_id}")
    assert "导出电器" in _csv(admin, "&category=appliances") and "导出鲜果" not in _csv(admin, "&category=appliances")
    by_pledge = _csv(admin, "&pledge=returns")
    assert "导出鲜果" in by_pledge and "导出电器" not in by_pledge
    both = _csv(admin, f"&q=导出&town={shops['towns'][0].id}&category=food")
    assert "导出鲜果" in both and "导出电器" not in both


@pytest.mark.parametrize("query", ["&town=abc", "&town=99999999999999", "&area=-1", "&category=<x>", "&pledge=%00",
                                   "&q=" + "长" * 500, "&q=%00%01", "&format=pdf"])
def test_odd_filters_never_fail(app: Any, shops: dict[str, Any], query: str) -> None:
    admin = signed_in_client(app, make_user("admin"))
    response = admin.get(f"/staff/registry/export?format=csv{query}")
    assert response.status_code in (200, 400), response.status_code
