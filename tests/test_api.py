"""The public API /api/v1/: what it answers (the directory's search, a merchant, its
ratings, units, reference lists, statistics) and how (conditional requests, CORS, the one
error envelope, per-client rate limits)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pledge_registry.extensions import db
from pledge_registry.localtime import local_today
from pledge_registry.models import Nomination, RatingReply
from pledge_registry.search.directory import DirectoryQuery, search_directory
from tests.factories import make_complaint, make_merchant, make_pledge, make_rating, make_user


def _units(merchant: Any, level: str = "demonstration", until: date | None = None) -> Nomination:
    nomination = Nomination(merchant_id=merchant.id, level=level, status="approved", applied_by_id=merchant.owner_id,
                            title_expires_on=until or local_today() + timedelta(days=100))
    db.session.add(nomination)
    db.session.commit()
    return nomination


def _shops() -> list[Any]:
    first = make_merchant(shop_name="华发咖啡馆", category="food")
    second = make_merchant(shop_name="华发服装店", category="clothing")
    third = make_merchant(shop_name="浏河电动车", category="ebikes")
    make_pledge(first, "genuine")
    make_pledge(second, "returns")
    make_rating(first, "A")
    make_rating(second, "C")
    _units(second)
    make_merchant(shop_name="华发待审店", status="pending")
    return [first, second, third]


# --- search ------------------------------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    ({"q": "华发"}, [1, 0]),
    ({"q": "华"}, [1, 0]),
    ({"q": "华发", "sort": "oldest"}, [0, 1]),
    ({"category": "ebikes"}, [2]),
    ({"pledge": "genuine"}, [0]),
    ({"grade": "C"}, [1]),
    ({"unit": "demonstration"}, [1]),
    ({"q": "华发", "grade": "A"}, [0]),
])
def test_search_is_the_directory_search_with_its_filters(client, args: dict[str, str], expected: list[int]) -> None:
    shops = _shops()
    body = client.get("/api/v1/merchants", query_string=args).get_json()
    assert [item["id"] for item in body["items"]] == [shops[i].id for i in expected]
    # ... and the same as the directory's own function gives for the text and common filters
    directory = search_directory(DirectoryQuery(args.get("q", ""), category=args.get("category", ""),
                                                pledge_kind=args.get("pledge", ""), grade=args.get("grade", ""),
                                                unit_level=args.get("unit", ""),
                                                oldest_first=args.get("sort") == "oldest"), 1, 20)
    assert [m.id for m in directory.items] == [item["id"] for item in body["items"]]


def test_search_pages_with_metadata_and_links(client) -> None:
    for n in range(5):
        make_merchant(shop_name=f"沙溪小吃{n}")
    body = client.get("/api/v1/merchants?q=沙溪&per_page=2&page=2").get_json()
    assert (body["page"], body["per_page"], body["total"], body["pages"], body["total_capped"]) == (2, 2, 5, 3, False)
    assert len(body["items"]) == 2
    links = body["links"]
    assert links["self"].startswith("http://localhost/api/v1/merchants?")
    assert "page=3" in links["next"] and "page=1" in links["prev"] and "page=3" in links["last"]
    last = client.get(links["last"].removeprefix("http://localhost")).get_json()
    assert len(last["items"]) == 1 and last["links"]["next"] is None


def test_a_summary_names_no_person(client) -> None:
    make_merchant(contact_name="联系人赵六", contact_phone="13700001111")
    body = client.get("/api/v1/merchants").get_data(as_text=True)
    assert "赵六" not in body and "13700001111" not in body


# --- one merchant ------------------------------------------------------------------------

def test_one_merchant_with_pledges_terms_rating_reply_and_titles(client) -> None:
    shop = make_merchant()
    make_pledge(shop, "returns")
    rating = make_rating(shop, "B")
    rating.breakdown = {"factors": [{"key": "pledges", "points": 15.0, "max_points": 15.0,
                                     "detail": {"active": 2}, "improve": None}]}
    db.session.add(RatingReply(merchant_id=shop.id, text="我们已整改"))
    db.session.commit()
    _units(shop, "participant")
    body = client.get(f"/api/v1/merchants/{shop.id}").get_json()
    assert body["state"] == "valid" and body["town"]["id"] == shop.town_id
    pledge = body["pledges"][0]
    assert (pledge["kind"], pledge["return_days"], pledge["refund_method"]) == ("returns", 15, "original")
    assert pledge["terms"]["zh"]["title"] and pledge["terms"]["en"]["paragraphs"]
    assert any("15" in p for p in pledge["terms"]["zh"]["paragraphs"])
    assert body["rating"]["grade"] == "B" and body["rating"]["model_version"] == "test"
    assert body["rating"]["factors"] == [{"key": "pledges", "points": 15.0, "max_points": 15.0,
                                          "detail": {"active": 2}}]
    assert body["reply"]["text"] == "我们已整改"
    assert [t["level"] for t in body["titles"]] == ["participant"]
    assert "contact_name" not in body and "contact_phone" not in body


@pytest.mark.parametrize("status", ["pending", "rejected"])
def test_a_shop_not_listed_is_not_found(client, status: str) -> None:
    shop = make_merchant(status=status)
    response = client.get(f"/api/v1/merchants/{shop.id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


def test_rating_history_newest_first(client) -> None:
    shop = make_merchant()
    now = datetime.now(UTC)
    make_rating(shop, "C", computed_at=now - timedelta(days=60))
    make_rating(shop, "B", computed_at=now - timedelta(days=30))
    make_rating(shop, "A", computed_at=now)
    body = client.get(f"/api/v1/merchants/{shop.id}/ratings?per_page=2").get_json()
    assert [(r["grade"], r["current"]) for r in body["items"]] == [("A", True), ("B", False)]
    assert body["total"] == 3 and body["links"]["next"]


def test_named_units_and_reference_lists(client) -> None:
    shop = make_merchant()
    _units(shop)
    _units(make_merchant(), until=local_today() - timedelta(days=1))  # ran out yesterday
    units = client.get("/api/v1/units").get_json()["items"]
    assert [(u["level"], u["merchant"]["id"]) for u in units] == [("demonstration", shop.id)]
    towns = client.get("/api/v1/towns").get_json()["items"]
    assert towns and {"id", "name", "name_en"} <= set(towns[0])
    areas = client.get(f"/api/v1/areas?town={towns[0]['id']}").get_json()["items"]
    assert areas and all(a["town_id"] == towns[0]["id"] for a in areas)
    categories = client.get("/api/v1/categories").get_json()["items"]
    assert {"code": "food", "name": "餐饮食品", "name_en": "Food and catering"} in categories or \
        any(c["code"] == "food" and c["name_en"] == "Food and catering" for c in categories)
    problems = client.get("/api/v1/problem-types").get_json()["items"]
    assert any(p["code"] == "quality" and p["name_en"] == "Product quality" for p in problems)


# --- statistics --------------------------------------------------------------------------

def test_statistics_suppress_small_counts(client) -> None:
    now = datetime.now(UTC)
    counts = {"clothing": 8, "food": 6, "ebikes": 2, "furniture": 1}
    for category, n in counts.items():
        shop = make_merchant(category=category)
        for _ in range(n):
            make_complaint(shop, received_at=now)
    period = local_today(now).strftime("%Y-%m")
    response = client.get(f"/api/v1/complaints/statistics?period={period}&dimension=category")
    body = response.get_json()
    assert body["totals"]["count"] == 17 and body["minimum_count"] == 5
    rows = {r["key"]: r for r in body["rows"]}
    assert rows["clothing"]["count"] == 8 and not rows["clothing"]["suppressed"]
    assert rows["ebikes"] == {**rows["ebikes"], "count": None, "suppressed": True, "satisfaction_rate": None}
    assert rows["furniture"]["suppressed"]
    # 2 + 1 alone would be given back by the total minus the rest: the next smallest goes too
    assert rows["food"]["suppressed"] and rows["food"]["count"] is None
    text = response.get_data(as_text=True)
    assert "王五" not in text and "13987654321" not in text


def test_statistics_are_read_from_the_tallies_and_never_by_merchant(client) -> None:
    from sqlalchemy import delete

    from pledge_registry.extensions import db
    from pledge_registry.models import ComplaintTally

    now = datetime.now(UTC)
    shop = make_merchant(category="food")
    for _ in range(7):
        make_complaint(shop, received_at=now)
    url = f"/api/v1/complaints/statistics?period={local_today(now):%Y-%m}&dimension=category"
    assert client.get(url).get_json()["totals"]["count"] == 7
    db.session.execute(delete(ComplaintTally))  # the complaints stay: only their tallies go
    db.session.commit()
    body = client.get(url, headers={"Cache-Control": "no-cache"}).get_json()
    assert body["totals"]["suppressed"] and body["rows"] == []
    # one shop's figures are not published: there is no merchant (nor station) dimension
    for dimension in ("merchant", "station"):
        assert client.get(url.replace("category", dimension)).status_code == 422


def test_statistics_are_cut_by_channel(client) -> None:
    now = datetime.now(UTC)
    shop = make_merchant()
    for n, channel in enumerate(("web",) * 6 + ("12345",) * 5):
        make_complaint(shop, received_at=now, channel=channel,
                       channel_ref=None if channel == "web" else f"H{n}", consent_method="channel"
                       if channel != "web" else "web_form")
    body = client.get(f"/api/v1/complaints/statistics?period={local_today(now):%Y-%m}&dimension=channel").get_json()
    assert {r["key"]: r["count"] for r in body["rows"]} == {"web": 6, "12345": 5}


def test_statistics_need_a_well_formed_period(client) -> None:
    for period in ("", "2026-13", "2026-Q5", "26"):
        response = client.get(f"/api/v1/complaints/statistics?period={period}")
        assert response.status_code == 422, period
        assert "period" in response.get_json()["error"]["fields"]


# --- conditional requests ----------------------------------------------------------------

def test_etag_answers_304_until_the_merchant_changes(client) -> None:
    shop = make_merchant()
    pledge = make_pledge(shop, "genuine")
    first = client.get(f"/api/v1/merchants/{shop.id}")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = client.get(f"/api/v1/merchants/{shop.id}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    by_date = client.get(f"/api/v1/merchants/{shop.id}", headers={"If-Modified-Since": modified})
    assert by_date.status_code == 304
    pledge.status = "suspended"
    db.session.commit()
    changed = client.get(f"/api/v1/merchants/{shop.id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["state"] == "suspended"


def test_last_modified_moves_with_every_public_change(client) -> None:
    shop = make_merchant()
    shop.public_changed_at = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.commit()  # the edit itself bumps it: set it back to a known moment
    shop.public_changed_at = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.commit()
    assert client.get(f"/api/v1/merchants/{shop.id}").headers["Last-Modified"] == "Thu, 01 Jan 2026 00:00:00 GMT"
    shop.opening_hours = "10:00-22:00"
    db.session.commit()
    modified = client.get(f"/api/v1/merchants/{shop.id}").headers["Last-Modified"]
    assert modified != "Thu, 01 Jan 2026 00:00:00 GMT"
    stale = client.get(f"/api/v1/merchants/{shop.id}", headers={"If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert stale.status_code == 200


def test_lists_have_etags_too(client) -> None:
    response = client.get("/api/v1/towns")
    assert client.get("/api/v1/towns", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


# --- CORS, errors, limits ----------------------------------------------------------------

def test_reads_allow_any_origin(client) -> None:
    response = client.get("/api/v1/towns", headers={"Origin": "https://map.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    preflight = client.options("/api/v1/merchants", headers={
        "Origin": "https://map.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert "POST" not in preflight.headers["Access-Control-Allow-Methods"]


def test_writes_are_not_opened_to_other_origins(client) -> None:
    response = client.post("/api/v1/open311/requests.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("method,path,status", [
    ("get", "/api/v1/no-such-thing", 404),
    ("get", "/api/v1/merchants/2147483647", 404),
    ("get", "/api/v1/merchants/99999999999999", 404),
    ("post", "/api/v1/merchants", 405),
    ("delete", "/api/v1/towns", 405),
    ("get", "/api/v1/merchants?per_page=1000", 422),
    ("get", "/api/v1/merchants?q=%00x", 422),
    ("get", "/api/v1/merchants?town=abc", 422),
])
def test_every_error_is_the_one_envelope(client, method: str, path: str, status: int) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]


def test_500_under_the_api_is_the_envelope_with_an_id(app, client, monkeypatch) -> None:
    from pledge_registry.api import services

    def boom() -> None:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(services, "towns", boom)
    response = client.get("/api/v1/towns")
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"]["id"] and "secret" not in response.get_data(as_text=True)


def test_signed_in_users_read_the_same_api(client) -> None:
    from tests.helpers import login

    login(client, make_user("staff"))
    assert client.get("/api/v1/towns").status_code == 200


def test_open_data_files_with_licence_and_checksums(app, client, runner, tmp_path) -> None:
    import gzip
    import hashlib
    import json

    app.config["OPEN_DATA_FOLDER"] = str(tmp_path / "open-data")
    assert client.get("/api/v1/open-data").get_json()["files"] == []
    shop = make_merchant(contact_name="联系人赵六", contact_phone="13700001111")
    make_pledge(shop, "returns")
    make_rating(shop, "B")
    make_merchant(status="pending")
    result = runner.invoke(args=["api", "open-data"])
    assert result.exit_code == 0, result.output
    listing = client.get("/api/v1/open-data").get_json()
    assert listing["licence"] == "CC BY 4.0" and listing["records"] == 1
    assert {f["format"] for f in listing["files"]} == {"csv", "jsonl"}
    for entry in listing["files"]:
        data = client.get(entry["url"].removeprefix("http://localhost")).get_data()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
        text = gzip.decompress(data).decode("utf-8")
        assert shop.badge_code in text and "赵六" not in text and "13700001111" not in text
        if entry["format"] == "jsonl":
            row = json.loads(text.splitlines()[0])
            assert (row["id"], row["returns_pledge"], row["return_days"], row["grade"]) == (shop.id, "valid", 15, "B")
    sums = client.get("/api/v1/open-data/SHA256SUMS").get_data(as_text=True)
    assert all(f["sha256"] in sums for f in listing["files"])
    assert client.get("/api/v1/open-data/manifest.json").status_code == 404
    assert client.get("/api/v1/open-data/..%2Finstance").status_code == 404
