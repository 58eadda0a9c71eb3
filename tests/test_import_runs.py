"""Import runs: each importer records its run with the counts of its load (and the command
line its dry runs), and the staff list shows them per role, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry.extensions import db
from pledge_registry.imports import clean_filename, record_run
from pledge_registry.localtime import LOCAL_TZ
from pledge_registry.models import ImportRun, Town
from tests import factories
from tests.factories import make_user
from tests.helpers import count_rows, form_post, login, signed_in_client, text
from tests.test_channels import csv_bytes as channel_csv
from tests.test_channels import export_rows
from tests.test_import import INSPECTION_HEADER
from tests.test_import import csv_bytes as compliance_csv
from tests.test_merchant_import import csv_bytes, rows
from tests.test_merchant_import_staff import confirm, upload

pytestmark = pytest.mark.usefixtures("english")
URL = "/staff/imports"


@pytest.fixture
def towns(app: Any) -> list[Town]:
    return list(db.session.scalars(sa.select(Town).order_by(Town.id)))


def browser(app: Any, user: Any) -> Any:
    client = signed_in_client(app, user)
    client.set_cookie("lang", "en")
    return client


def runs() -> list[ImportRun]:
    db.session.rollback()
    return list(db.session.scalars(sa.select(ImportRun).order_by(ImportRun.id)))


def counts(run: ImportRun) -> tuple[Any, ...]:
    return (run.kind, run.rows_read, run.created, run.skipped, run.errors, run.dry_run)


# --- each importer records its run -------------------------------------------------------

def test_merchant_cli_records_the_dry_run_and_the_import(runner: Any, towns: list[Town], tmp_path: Path) -> None:
    officer = make_user("staff", town_id=towns[0].id)
    path = tmp_path / "商户\x07.csv"
    path.write_bytes(csv_bytes(rows(), "gb18030"))
    args = ["merchants", "import", str(path), "--town", towns[0].name, "--recorded-by", officer.login_name]
    assert runner.invoke(args=[*args, "--dry-run"]).exit_code == 0
    assert runner.invoke(args=args).exit_code == 0
    assert runner.invoke(args=args).exit_code == 0  # nothing new: recorded as such
    dry, done, again = runs()
    assert counts(dry) == ("merchants", 3, 0, 0, 0, True)
    assert counts(done) == ("merchants", 3, 3, 0, 0, False)
    assert counts(again) == ("merchants", 3, 0, 3, 0, False)
    assert done.town_id == towns[0].id and done.officer_id == officer.id
    assert done.filename == "商户.csv"  # the directory and the control character are gone


def test_merchant_cli_with_errors_records_nothing(runner: Any, towns: list[Town], tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    table = rows()
    table[1][0] = "bad"
    path.write_bytes(csv_bytes(table, "utf-8"))
    assert runner.invoke(args=["merchants", "import", str(path), "--town", towns[0].name]).exit_code == 1
    assert runner.invoke(args=["merchants", "import", str(path), "--town", towns[0].name,
                               "--dry-run"]).exit_code == 1
    assert runs() == []


def test_merchant_staff_page_records_the_confirmed_import_only(app: Any, towns: list[Town]) -> None:
    officer = make_user("staff", town_id=towns[0].id)
    client = signed_in_client(app, officer)
    client.set_cookie("lang", "en")
    page = upload(client, towns[0], csv_bytes(rows(), "utf-8"), "merchants.csv")
    assert runs() == []  # the check step is not a run
    assert confirm(client, page).status_code == 302
    page = upload(client, towns[0], csv_bytes(rows(), "utf-8"), "merchants.csv")
    (run,) = runs()
    assert counts(run) == ("merchants", 3, 3, 0, 0, False)
    assert (run.town_id, run.officer_id, run.filename) == (towns[0].id, officer.id, "merchants.csv")


def test_compliance_page_and_cli_record_their_runs(client: Any, runner: Any, tmp_path: Path) -> None:
    shop = factories.make_merchant(address="人民南路1号")
    officer = make_user("staff")
    login(client, officer)
    pasted = "\n".join(",".join(r) for r in [INSPECTION_HEADER,
                                             [shop.credit_code, shop.address, "2025-03-05", "进货凭证", "合格", ""],
                                             [shop.credit_code, shop.address, "bad", "价格标签", "合格", ""]])
    assert form_post(client, "/staff/compliance/import", {"kind": "inspections", "csv_text": pasted}).status_code == 400
    assert runs() == []  # nothing loaded, nothing recorded
    assert form_post(client, "/staff/compliance/import",
                     {"kind": "inspections", "csv_text": pasted, "partial": "y"}).status_code == 200
    (run,) = runs()
    assert counts(run) == ("inspections", 2, 1, 0, 1, False)
    assert (run.officer_id, run.filename) == (officer.id, "pasted.csv")
    path = tmp_path / "p.csv"
    path.write_bytes(compliance_csv([["credit code", "shop address", "case number", "decision date", "what for",
                                      "amount"], [shop.credit_code, shop.address, "C-1", "2025-01-02", "x", "10"]]))
    out = runner.invoke(args=["compliance", "import-penalties", str(path)])
    assert out.exit_code == 0, out.output
    assert counts(runs()[-1]) == ("penalties", 1, 1, 0, 0, False)
    assert runs()[-1].officer_id is None


def test_channel_cli_records_dry_run_import_and_repeat(runner: Any, app: Any, tmp_path: Path) -> None:
    merchant = factories.make_merchant()
    path = tmp_path / "12345.csv"
    path.write_bytes(channel_csv(export_rows(merchant.credit_code), "utf-8"))
    args = ["complaints", "import-channel", "--channel", "12345", str(path)]
    assert runner.invoke(args=[*args, "--dry-run"]).exit_code == 0
    assert runner.invoke(args=args).exit_code == 0
    assert runner.invoke(args=args).exit_code == 0  # nothing new: recorded as such
    dry, done, again = runs()
    assert counts(dry) == ("channel:12345", 3, 0, 0, 0, True)
    assert counts(done) == ("channel:12345", 3, 3, 0, 0, False)
    assert counts(again) == ("channel:12345", 3, 0, 3, 0, False)


def test_record_run_refuses_an_unknown_kind_and_cleans_names(app: Any) -> None:
    with pytest.raises(ValueError):
        record_run("gossip", filename="x", rows_read=1, created=1)
    assert clean_filename("C:\\x\\y/文件\u200b\x00name.csv") == "文件name.csv"
    assert len(clean_filename("a" * 500)) == 120
    db.session.add(ImportRun(kind="gossip", filename="x"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- the staff list ----------------------------------------------------------------------

def seed(town: Town | None, n: int = 1, kind: str = "merchants", at: datetime | None = None) -> list[ImportRun]:
    at = at or datetime.now(UTC)
    made = [ImportRun(kind=kind, town_id=town.id if town else None, filename=f"{kind}-{i}.csv", rows_read=i,
                      created=i, created_at=at - timedelta(minutes=i)) for i in range(n)]
    db.session.add_all(made)
    db.session.commit()
    return made


@pytest.mark.parametrize(("role", "status"), [("merchant", 403), ("station", 403)])
def test_the_list_refuses_merchants_and_stations(app: Any, role: str, status: int) -> None:
    extra = {"station_id": factories.make_station(factories.make_merchant().area_id).id} if role == "station" else {}
    client = browser(app, make_user(role, **extra))
    assert client.get(URL).status_code == status


def test_anonymous_goes_to_sign_in(client: Any) -> None:
    assert client.get(URL).status_code == 302


def test_a_town_officer_sees_its_own_town_only(app: Any, towns: list[Town]) -> None:
    seed(towns[0], kind="penalties")
    seed(towns[1], kind="inspections")
    seed(None, kind="channel:12345")
    body = text(browser(app, make_user("staff", town_id=towns[0].id)).get(URL))
    assert "Penalties" in body and "Inspections" not in body.split("<tbody>")[1]
    assert "channel:12345-0.csv" not in body and "inspections-0.csv" not in body
    assert browser(app, make_user("staff", town_id=towns[0].id)).get(
        URL, query_string={"town": towns[1].id}).status_code == 400
    for user in (make_user("admin"), make_user("staff")):
        body = text(browser(app, user).get(URL)).split("<tbody>")[1]
        assert "penalties-0.csv" in body and "inspections-0.csv" in body and "channel:12345-0.csv" in body


def test_filters_by_kind_town_and_local_day(app: Any, towns: list[Town]) -> None:
    client = browser(app, make_user("admin"))
    day = datetime(2026, 11, 30, 23, 30, tzinfo=LOCAL_TZ)  # 15:30 UTC: the local day is the 30th
    seed(towns[0], kind="merchants", at=day)
    seed(towns[1], kind="inspections", at=day + timedelta(days=2))

    def shown(**args: Any) -> str:
        response = client.get(URL, query_string=args)
        assert response.status_code == 200, text(response)[:500]
        return text(response).split("<tbody>")[1]

    assert "merchants-0.csv" in shown(kind="merchants") and "inspections-0.csv" not in shown(kind="merchants")
    assert "inspections-0.csv" in shown(town=towns[1].id) and "merchants-0.csv" not in shown(town=towns[1].id)
    one_day = shown(start="2026-11-30", end="2026-11-30")
    assert "merchants-0.csv" in one_day and "inspections-0.csv" not in one_day
    assert "merchants-0.csv" not in shown(start="2026-12-01")
    assert 'value="2026-12-01"' in text(client.get(URL, query_string={"start": "2026-12-01"}))  # input kept


@pytest.mark.parametrize("args", [
    {"kind": "gossip"}, {"town": "x"}, {"town": "99999999999999999999"}, {"start": "2026-13-40"},
    {"start": "2026-12-02", "end": "2026-12-01"}, {"kind": "\x00"}, {"after": "x", "after_id": "-1"},
    {"after": str(2**70), "after_id": "1"}, {"before": "-99999999999999999999", "before_id": "3"},
])
def test_odd_input_never_500(app: Any, args: dict[str, str]) -> None:
    client = browser(app, make_user("admin"))
    response = client.get(URL, query_string=args)
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert 'class="errors"' in text(response) or "error" in text(response)


def test_pages_newest_first_without_repeats(app: Any, towns: list[Town]) -> None:
    made = seed(towns[0], n=120)
    client = browser(app, make_user("admin"))
    seen: list[str] = []
    response = client.get(URL, query_string={"town": towns[0].id})
    for _ in range(5):
        body = text(response)
        seen += [f"merchants-{i}.csv" for i in range(120) if f">merchants-{i}.csv<" in body]
        if 'rel="next"' not in body:
            break
        href = body.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
        assert f"town={towns[0].id}" in href  # the filter travels with the page
        response = client.get(href)
    assert len(seen) == len(set(seen)) == len(made) == count_rows(ImportRun)
    first_page = text(client.get(URL)).split("<tbody>")[1]
    assert first_page.index(">merchants-0.csv<") < first_page.index(">merchants-1.csv<")


def test_the_nav_links_the_list(app: Any) -> None:
    assert 'href="/staff/imports"' in text(browser(app, make_user("staff")).get("/staff/queue"))


def test_a_refused_compliance_load_leaves_no_run(app: Any) -> None:
    from pledge_registry.compliance import importer, services

    shop = factories.make_merchant(address="人民南路1号")
    data = compliance_csv([INSPECTION_HEADER, [shop.credit_code, shop.address, "2025-03-05", "进货凭证", "合格", ""]])
    result = importer.parse("inspections", "x.csv", data)
    with pytest.raises(services.ComplianceError):
        importer.load(result, make_user("merchant"))
    db.session.commit()  # a later commit of the same session writes no run either
    assert runs() == []
    assert importer.load(result, make_user("staff")) == 1
    assert [r.kind for r in runs()] == ["inspections"]
