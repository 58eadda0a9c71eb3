"""Every staff list pages by keyset (pledge_registry/paging.py): stable pages, combined
filters, bounded numbers, the same access as before; and the indexes the orders need."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry import paging
from pledge_registry.extensions import db
from pledge_registry.models import IS_OPEN, NEXT_DUE, SUBMITTED_AT, CommercialArea, Complaint, Pledge, Town
from tests.factories import (
    make_complaint,
    make_merchant,
    make_pledge,
    make_rating,
    make_station,
    make_station_officer,
    make_user,
)
from tests.helpers import login

QUEUE = "/staff/complaints/"
NEXT = re.compile(r'<a rel="next" href="([^"]+)"')
PREV = re.compile(r'<a rel="prev" href="([^"]+)"')


def case_ids(html: str) -> list[int]:
    return list(dict.fromkeys(int(i) for i in re.findall(r'href="/staff/complaints/(\d+)"', html)))


def walk(client: Any, url: str, ids_of: Any = case_ids) -> tuple[list[list[int]], str]:
    """Every page of a list from `url`, following Next; the pages' ids and the last page's URL."""
    pages = []
    for _ in range(100):
        response = client.get(url)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        pages.append(ids_of(html))
        found = NEXT.search(html)
        if not found:
            return pages, url
        url = unescape(found.group(1))
    raise AssertionError("more than 100 pages")


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(paging, "PER_PAGE", 3)
    monkeypatch.setattr(paging.keyset_page, "__kwdefaults__", {**paging.keyset_page.__kwdefaults__, "per_page": 3})


@pytest.fixture
def staff(app, client):
    user = make_user("staff")
    login(client, user)
    return user


def _tied_cases(merchant, n: int, **fields: Any) -> list[Complaint]:
    """`n` open cases sharing one deadline: ties in the sort key."""
    received = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    return [make_complaint(merchant, received_at=received, status="accepted", accepted_at=received, **fields)
            for _ in range(n)]


def test_pages_of_the_queue_show_each_case_once_in_order_with_ties(client, staff, small_pages):
    shop = make_merchant()
    cases = _tied_cases(shop, 7) + [make_complaint(shop, received_at=datetime(2026, 1, 5, tzinfo=UTC))
                                    for _ in range(4)]
    pages, last = walk(client, QUEUE)
    listed = [i for page in pages for i in page]
    assert sorted(listed) == sorted(c.id for c in cases)  # none twice, none missed
    assert len(pages) == 4 and all(len(p) == 3 for p in pages[:3])
    expected = db.session.scalars(sa.select(Complaint.id).order_by(NEXT_DUE, Complaint.id)).all()
    assert listed == list(expected)
    # Back from the last page, page by page, gives the same pages the other way round.
    back, url = [], last
    for _ in range(3):
        found = PREV.search(client.get(url).get_data(as_text=True))
        url = unescape(found.group(1))
        back.append(case_ids(client.get(url).get_data(as_text=True)))
    assert back == pages[:3][::-1]
    assert PREV.search(client.get(url).get_data(as_text=True)) is None  # the first page again


def test_a_case_closed_between_pages_neither_repeats_nor_hides_another(client, staff, small_pages):
    shop = make_merchant()
    cases = _tied_cases(shop, 6)
    first = client.get(QUEUE).get_data(as_text=True)
    db.session.execute(sa.update(Complaint).where(Complaint.id == cases[0].id)
                       .values(status="closed", outcome="withdrawn", closed_at=datetime.now(UTC)))
    db.session.commit()
    second = client.get(unescape(NEXT.search(first).group(1))).get_data(as_text=True)
    assert case_ids(first) == [c.id for c in cases[:3]]
    assert case_ids(second) == [c.id for c in cases[3:]]


def test_filters_combine(client, staff):
    towns = db.session.scalars(sa.select(Town).order_by(Town.id)).all()
    area = db.session.scalar(sa.select(CommercialArea).where(CommercialArea.town_id == towns[0].id))
    station = make_station(area.id)
    here = make_merchant(town_id=towns[0].id, area_id=area.id)
    there = make_merchant(town_id=towns[1].id, area_id=None)
    now = datetime.now(UTC)
    match = make_complaint(here, received_at=now - timedelta(days=2), station_id=station.id, possible_duplicate=True)
    old = make_complaint(here, received_at=now - timedelta(days=40), station_id=station.id, possible_duplicate=True)
    elsewhere = make_complaint(there, received_at=now - timedelta(days=2), possible_duplicate=True)
    closed = make_complaint(here, received_at=now - timedelta(days=2), station_id=station.id, status="closed",
                            outcome="withdrawn", closed_at=now, possible_duplicate=True)
    plain = make_complaint(here, received_at=now - timedelta(days=2), station_id=station.id)
    since = (now - timedelta(days=10)).astimezone(UTC).date().isoformat()

    def listed(query: str) -> set[int]:
        response = client.get(QUEUE + "?" + query)
        assert response.status_code == 200
        return set(case_ids(response.get_data(as_text=True)))

    assert listed(f"town={towns[0].id}") == {match.id, old.id, plain.id}
    assert listed(f"town={towns[1].id}") == {elsewhere.id}
    assert listed(f"area={area.id}&from={since}") == {match.id, plain.id}
    assert listed(f"station={station.id}&duplicates=1") == {match.id, old.id}
    assert listed(f"station={station.id}&duplicates=1&status=all&from={since}") == {match.id, closed.id}
    assert listed(f"town={towns[0].id}&to={(now - timedelta(days=30)).date().isoformat()}") == {old.id}
    assert listed(f"status=all&q={match.id}") == {match.id}
    assert listed(f"status=all&q=%23{closed.id}") == {closed.id}
    code = match.tracking_code
    assert listed(f"status=all&q={code[:4]}-{code[4:8].lower()}-{code[8:]}") == {match.id}
    assert listed(f"q={match.id}&town={towns[1].id}") == set()
    assert listed("q=%E7%89%A9") == set()  # neither a number nor a code: nothing, not everything


@pytest.mark.parametrize("query", [
    "after=99999999999999999999&after_id=1", f"after={2**62}&after_id={2**31 - 1}", f"before=-{2**62}&before_id=1",
    "after=-5&after_id=-5", "after=abc&after_id=1", "before=1&before_id=99999999999", "page=999999999",
    "q=99999999999999999999", "station=99999999999&town=-1&area=x&from=2026-13-45&to=yesterday",
])
def test_huge_or_odd_numbers_answer_200(client, staff, query):
    make_complaint(make_merchant())
    assert client.get(QUEUE + "?" + query).status_code == 200
    assert client.get("/staff/?" + query.replace("after", "shops_after").replace("before", "pledges_before")) \
        .status_code == 200


def test_station_officer_sees_only_their_station_on_every_page(app, client, small_pages):
    area = db.session.scalar(sa.select(CommercialArea).order_by(CommercialArea.id))
    station = make_station(area.id)
    shop = make_merchant(area_id=area.id)
    mine = _tied_cases(shop, 5, station_id=station.id)
    others = _tied_cases(shop, 5)
    officer = make_station_officer(station)
    login(client, officer)
    other_station = make_station(db.session.scalars(sa.select(CommercialArea.id).order_by(CommercialArea.id))
                                 .all()[1])
    pages, _ = walk(client, f"{QUEUE}?status=all&station={other_station.id}")  # not a filter of theirs
    assert sorted(i for p in pages for i in p) == sorted(c.id for c in mine)
    assert not {c.id for c in others} & {i for p in pages for i in p}


@pytest.mark.parametrize("url", [QUEUE, "/staff/", "/staff/complaints/stations", "/staff/nominations",
                                 "/staff/appeals", "/staff/suspension-proposals"])
def test_lists_are_for_staff_only(app, client, url):
    assert client.get(url).status_code == 302  # to the login page
    login(client, make_user())
    assert client.get(url).status_code == 403


def test_review_queue_pages_registrations_and_pledges_each_on_its_own(client, staff, small_pages):
    towns = db.session.scalars(sa.select(Town).order_by(Town.id)).all()
    created = datetime(2026, 5, 1, tzinfo=UTC)
    shops = [make_merchant(status="pending", created_at=created, town_id=towns[i % 2].id) for i in range(7)]
    pledges = [make_pledge(shops[i], kind="returns" if i % 3 else "genuine",
                           status="submitted", submitted_at=created if i < 4 else None) for i in range(6)]

    def shop_ids(html: str) -> list[int]:
        part = html.split('id="shops-title"')[1].split('id="pledges-title"')[0]
        return list(dict.fromkeys(int(i) for i in re.findall(r'href="/staff/shops/(\d+)"', part)))

    def pledge_ids(html: str) -> list[int]:
        part = html.split('id="pledges-title"')[1]
        return list(dict.fromkeys(int(i) for i in re.findall(r'href="/staff/pledges/(\d+)"', part)))

    def walk_section(url: str, ids_of: Any, rel: str) -> list[int]:
        seen = []
        for _ in range(20):
            html = client.get(url).get_data(as_text=True)
            seen += ids_of(html)
            links = [unescape(h) for h in NEXT.findall(html) if rel in h]
            if not links:
                return seen
            url = links[0]
        raise AssertionError("too many pages")

    assert walk_section("/staff/", shop_ids, "shops_after") == [s.id for s in shops]
    expected = db.session.scalars(sa.select(Pledge.id).where(Pledge.status == "submitted")
                                  .order_by(SUBMITTED_AT, Pledge.id)).all()
    assert walk_section("/staff/", pledge_ids, "pledges_after") == list(expected)
    assert walk_section(f"/staff/?town={towns[1].id}", shop_ids, "shops_after") == [s.id for s in shops[1::2]]
    assert set(walk_section("/staff/?kind=returns", pledge_ids, "pledges_after")) == \
        {p.id for p in pledges if p.kind == "returns"}
    assert set(walk_section(f"/staff/?town={towns[1].id}", pledge_ids, "pledges_after")) == \
        {p.id for p in pledges if p.merchant.town_id == towns[1].id}
    assert set(walk_section(f"/staff/?town={towns[1].id}&kind=returns", pledge_ids, "pledges_after")) == \
        {p.id for p in pledges if p.merchant.town_id == towns[1].id and p.kind == "returns"}


def test_review_queue_search_finds_shops_of_every_status_newest_first(client, staff, monkeypatch):
    from pledge_registry.staff import views

    monkeypatch.setattr(views, "SEARCH_LIMIT", 3)
    shops = [make_merchant(status=status, shop_name=f"南门烧饼{'甲乙丙丁戊'[i]}铺")
             for i, status in enumerate(["approved", "pending", "rejected", "closed", "pending"])]
    make_merchant(shop_name="别的店")

    def results(q: str) -> tuple[list[int], str]:
        html = client.get("/staff/", query_string={"q": q}).get_data(as_text=True)
        part = html.split('id="results-title"')[1].split('id="shops-title"')[0]
        return list(dict.fromkeys(int(i) for i in re.findall(r'href="/staff/shops/(\d+)"', part))), part

    found, part = results("烧饼")
    assert found == [s.id for s in reversed(shops)][:3]
    assert "仅显示最新的 3 条" in part
    found, part = results("饼乙铺")  # one shop, waiting for review
    assert found == [shops[1].id] and "仅显示" not in part
    found, _ = results(shops[2].credit_code.lower())
    assert found == [shops[2].id]
    shops[1].status = "approved"  # it moves to the directory's rows: still found, once
    db.session.commit()
    assert results("饼乙铺")[0] == [shops[1].id]


def test_rating_history_pages_keep_the_move_from_the_rating_before(client, staff, small_pages):
    shop = make_merchant()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i, grade in enumerate("ABCDAB"):
        make_rating(shop, grade, computed_at=start + timedelta(days=i))
    pages, _ = walk(client, f"/staff/ratings/shops/{shop.id}",
                    lambda html: re.findall(r'<td><span class="grade grade-\w+">([A-D])</span>', html))
    assert pages == [list("BAD"), list("CBA")]


def test_the_orders_are_served_by_their_indexes(app):
    """The queue's expression must be the indexed one: a parameter instead of the literal
    'received' (or another spelling of the expression) would make every page a full sort."""
    checks = [
        (sa.select(Complaint.id).where(datetime(2026, 1, 1, tzinfo=UTC) <= NEXT_DUE)
         .order_by(NEXT_DUE, Complaint.id).limit(51), "ix_complaint_next_due"),
        (sa.select(Pledge.id).where(Pledge.status == "submitted").order_by(SUBMITTED_AT, Pledge.id).limit(51),
         "ix_pledge_status_submitted"),
        (sa.select(Pledge.id).where(Pledge.status == "submitted", Pledge.town_id == 1)
         .order_by(SUBMITTED_AT, Pledge.id).limit(51), "ix_pledge_status_town_submitted"),
        (sa.select(Pledge.id).where(Pledge.status == "submitted", Pledge.town_id == 1, Pledge.kind == "returns")
         .order_by(SUBMITTED_AT, Pledge.id).limit(51), "ix_pledge_status_town_kind_submitted"),
    ]
    with db.engine.connect() as conn:
        for query, index in checks:
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            if conn.dialect.name == "sqlite":
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            else:
                conn.exec_driver_sql("SET enable_seqscan = off; SET enable_sort = off")
                plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
            assert index in plan, plan


def test_the_open_queue_walks_the_open_cases_only(app):
    """With the planner's statistics of a registry where most cases are closed, the open
    queue (its page and its capped count, filtered) reads the index of the open cases: the
    closed ones are never walked. The condition must be IS_OPEN, literals like the index's."""
    shop = make_merchant()
    received = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    for i in range(120):
        fields: dict[str, Any] = {"status": "accepted", "accepted_at": received} if i % 10 == 0 else {
            "status": "closed", "outcome": "resolved", "closed_at": received}
        make_complaint(shop, received_at=received + timedelta(hours=i), **fields)
    since = datetime(2026, 3, 1, tzinfo=UTC)
    filtered = (IS_OPEN, Complaint.assigned_officer_id.is_(None), Complaint.received_at >= since, since <= NEXT_DUE)
    checks = [
        sa.select(Complaint.id).where(IS_OPEN).order_by(NEXT_DUE, Complaint.id).limit(51),
        sa.select(Complaint.id).where(*filtered).order_by(NEXT_DUE, Complaint.id).limit(51),
        sa.select(sa.func.count()).select_from(sa.select(Complaint.id).where(*filtered).limit(1001).subquery()),
    ]
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        for query in checks:
            sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
            if conn.dialect.name == "sqlite":
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            else:
                conn.exec_driver_sql("SET enable_seqscan = off; SET enable_sort = off")
                plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql))
            assert "ix_complaint_open_next_due" in plan, plan
