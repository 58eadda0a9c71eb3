"""Suspicious scans counted at the edge (SCAN_COUNT_AT_EDGE): the app leaves a scan that came
through the sample nginx to nginx's scans log and lets its page be kept; `flask scans
import-edge-log` turns the log into the rows the app would have written, each line once.
Through a real nginx: tests/test_edge_scans_nginx.py."""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from pledge_registry.extensions import db
from pledge_registry.models import Setting, SuspiciousScan
from pledge_registry.scan_reports import edge, edge_import, rules
from pledge_registry.scan_reports.edge import BadLine, Cursor, FileState, follow, parse_line
from pledge_registry.security import MICRO_CACHE_SECONDS
from tests.factories import make_merchant, make_pledge, make_user
from tests.helpers import missing_id, signed_in_client

THROUGH_NGINX = {edge.EDGE_HEADER: "1"}
UNKNOWN = "fake2345abcde"
WHEN = datetime(2026, 3, 15, 10, 30, 1, 250000, tzinfo=UTC)


def scans() -> list[SuspiciousScan]:
    db.session.rollback()  # rows written by another connection (the recorder's): read afresh
    return list(db.session.scalars(sa.select(SuspiciousScan).order_by(SuspiciousScan.id)))


def revoked_shop() -> Any:
    merchant = make_merchant()
    make_pledge(merchant, status="revoked")
    return merchant


def scan(client: Any, code: str, headers: dict[str, str] | None = None, address: str = "203.0.113.77") -> Any:
    return client.get(f"/m/{code}", headers=headers or {}, environ_base={"REMOTE_ADDR": address})


def line(code: str = UNKNOWN, state: str = "unknown", merchant: int | str | None = None, when: datetime = WHEN,
         address: str = "203.0.113.77", **fields: Any) -> bytes:
    """A line as deploy/nginx/pledge-cache-http.conf's log_format writes it."""
    values = {"t": f"{when.timestamp():.3f}", "uri": f"/m/{code}", "addr": address, "state": state,
              "merchant": "" if merchant is None else str(merchant), **fields}
    return json.dumps(values, separators=(",", ":")).encode() + b"\n"


# --- the pure half ---------------------------------------------------------------------------

def test_a_scan_goes_to_the_edge_only_with_the_flag_counting_on_and_through_nginx() -> None:
    on = {"SCAN_COUNT_AT_EDGE": True, "SCAN_LOG": True}
    through = {"HTTP_X_EDGE_COUNTS_SCANS": "1"}
    assert edge.counted_at_edge(on, through)
    assert not edge.counted_at_edge({**on, "SCAN_COUNT_AT_EDGE": False}, through)
    assert not edge.counted_at_edge({**on, "SCAN_LOG": False}, through)  # nothing counts: as before
    assert not edge.counted_at_edge(on, {})
    assert not edge.counted_at_edge(on, {"HTTP_X_EDGE_COUNTS_SCANS": ""})
    assert edge.response_headers("revoked", 7) == (("X-Scan-State", "revoked"), ("X-Scan-Merchant", "7"))
    assert edge.response_headers("unknown", None) == (("X-Scan-State", "unknown"),)


def test_a_line_becomes_the_scan_the_recorder_would_have_kept() -> None:
    scan = parse_line(line("TC0000000012345", "revoked", 42).rstrip(b"\n"))
    assert scan == edge.EdgeScan(WHEN, "TC0000000012345", "revoked", 42, "203.0.113.77")
    assert parse_line(line()).merchant_id is None
    # nginx writes a URI's non-ASCII bytes raw: decoded as the app decodes a path.
    raw = line("假码").replace("假码".encode("unicode_escape").decode().encode(), "假码".encode())
    assert parse_line(line("假码")).code == parse_line(raw).code == "假码"
    broken = b'{"t":"1773570601.250","uri":"/m/ab\xffcd","addr":"1.2.3.4","state":"unknown","merchant":""}'
    assert parse_line(broken).code == "ab\ufffdcd"
    assert parse_line(line("a\u0001b")).code == "a\u0001b"  # escape=json's \u0001, as the app saw it


@pytest.mark.parametrize(("raw", "kind"), [
    (b"", "unreadable"),
    (b"GET /m/abc HTTP/1.1", "unreadable"),
    (b'["t", "uri"]', "unreadable"),
    (b'{"t":"1773570601.250","uri":"/m/abc","addr":"1.2.3.4","state":"unknown"}', "unreadable"),
    (b'{"t":1773570601.25,"uri":"/m/abc","addr":"1.2.3.4","state":"unknown","merchant":""}', "unreadable"),
    (line(t="yesterday"), "malformed"),
    (line(t="nan"), "malformed"),
    (line(t="inf"), "malformed"),
    (line(when=WHEN + timedelta(days=365 * 200)), "malformed"),
    (line(t="-1"), "malformed"),
    (line(state="valid", merchant=3), "malformed"),
    (line(state="REVOKED", merchant=3), "malformed"),
    (line(state="unknown", merchant=3), "malformed"),
    (line(state="revoked"), "malformed"),
    (line(state="revoked", merchant="0"), "malformed"),
    (line(state="revoked", merchant="-3"), "malformed"),
    (line(state="revoked", merchant="03"), "malformed"),
    (line(state="revoked", merchant="1e3"), "malformed"),
    (line(state="revoked", merchant=" 3"), "malformed"),
    (line(state="revoked", merchant=2**31), "malformed"),
    (line(state="revoked", merchant="3; DROP TABLE merchant"), "malformed"),
    (line(uri="/merchants"), "malformed"),
    (line(uri="/m/"), "malformed"),
    (line(uri="/m/abc/rating"), "malformed"),
    (line(uri="/m/ab\u0000c"), "malformed"),
])
def test_a_line_that_is_no_scan_is_refused_with_its_kind(raw: bytes, kind: str) -> None:
    with pytest.raises(BadLine) as refused:
        parse_line(raw.rstrip(b"\n"))
    assert refused.value.kind == kind


def test_the_cursor_follows_rotation_and_truncation() -> None:
    at = Cursor(inode=10, offset=500)
    assert follow(Cursor(), FileState(10, 800), None) == Cursor(10, 0)              # the first run
    assert follow(at, FileState(10, 800), None) == at                               # grown
    assert follow(at, FileState(10, 500), None) == at                               # nothing new
    assert follow(at, FileState(10, 120), None) == Cursor(10, 0)                    # truncated in place
    assert follow(at, None, None) == at                                             # moved, not yet recreated
    # Rotated: the new file from 0, ours kept to finish from where we stopped...
    assert follow(at, FileState(11, 40), FileState(10, 900)) == Cursor(11, 0, 10, 500)
    assert follow(Cursor(11, 40, 10, 500), FileState(11, 90), FileState(10, 950)) == Cursor(11, 40, 10, 500)
    # ... until the rotated file is no longer it (compressed, rotated again).
    assert follow(Cursor(11, 40, 10, 500), FileState(11, 90), None) == Cursor(11, 40)
    assert follow(Cursor(11, 40, 10, 500), FileState(11, 90), FileState(12, 900)) == Cursor(11, 40)
    # Rotated while the rotated file is not ours (removed, or named otherwise): the new one from 0.
    assert follow(at, FileState(11, 40), None) == Cursor(11, 0)
    assert follow(at, FileState(11, 40), FileState(9, 900)) == Cursor(11, 0)


def test_a_damaged_stored_cursor_reads_as_none() -> None:
    assert Cursor.from_dict(Cursor(3, 40, 2, 10).as_dict()) == Cursor(3, 40, 2, 10)
    for damaged in (None, "x", [], {"inode": "3", "offset": 40}, {"inode": True, "offset": 4}):
        assert Cursor.from_dict(damaged) == Cursor()
    assert Cursor.from_dict({"inode": 3, "offset": -5}) == Cursor(3, 0)
    assert edge.complete_lines(b"a\nb\r\nc") == ([b"a", b"b\r"], 5)


# --- the app: which scans it leaves to the edge ------------------------------------------------

@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SCAN_COUNT_AT_EDGE": True}


def test_through_nginx_a_revoked_badges_page_names_the_scan_and_may_be_kept(client) -> None:
    merchant = revoked_shop()
    first = scan(client, merchant.badge_code, THROUGH_NGINX)
    assert first.status_code == 200
    assert first.headers["X-Scan-State"] == "revoked"
    assert first.headers["X-Scan-Merchant"] == str(merchant.id)
    assert first.headers["X-Accel-Expires"] == str(MICRO_CACHE_SECONDS)
    assert first.headers["Cache-Control"] == "no-cache"
    again = scan(client, merchant.badge_code, {**THROUGH_NGINX, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.headers["X-Scan-State"] == "revoked"
    assert scans() == []  # the app wrote nothing: the edge logs these


def test_through_nginx_an_unknown_code_names_no_shop(client) -> None:
    response = scan(client, UNKNOWN, THROUGH_NGINX)
    assert response.status_code == 404 and response.headers["X-Scan-State"] == "unknown"
    assert "X-Scan-Merchant" not in response.headers
    assert scans() == []


def test_asked_directly_the_app_counts_the_scan_itself(client) -> None:
    merchant = revoked_shop()
    for headers in ({}, {edge.EDGE_HEADER: "yes"}):
        response = scan(client, merchant.badge_code, headers)
        assert response.status_code == 200
        assert "X-Scan-State" not in response.headers and "X-Accel-Expires" not in response.headers
    assert scan(client, UNKNOWN).headers.get("X-Scan-State") is None
    assert [(r.state, r.merchant_id) for r in scans()] == [("revoked", merchant.id)] * 2 + [("unknown", None)]


@pytest.mark.parametrize("config", [{"SCAN_COUNT_AT_EDGE": False}, {"SCAN_LOG": False}])
def test_without_the_flag_nothing_changes_even_through_nginx(client, app, config) -> None:
    app.config.update(config)
    merchant = revoked_shop()
    response = scan(client, merchant.badge_code, THROUGH_NGINX)
    assert response.status_code == 200
    assert "X-Scan-State" not in response.headers and "X-Accel-Expires" not in response.headers
    assert len(scans()) == (1 if app.config["SCAN_LOG"] else 0)


def test_a_signed_in_scan_is_counted_by_the_app_and_never_kept(app) -> None:
    merchant = revoked_shop()
    staff = signed_in_client(app, make_user(role="staff"))
    response = scan(staff, merchant.badge_code, THROUGH_NGINX)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "X-Scan-State" not in response.headers and "X-Accel-Expires" not in response.headers
    assert [r.state for r in scans()] == ["revoked"]


def test_the_json_and_a_valid_badge_are_as_before(client) -> None:
    merchant, valid = revoked_shop(), make_merchant()
    make_pledge(valid)
    for url in (f"/m/{merchant.badge_code}.json", f"/m/{valid.badge_code}", "/m/nosuchbadge.json"):
        response = client.get(url, headers=THROUGH_NGINX)
        assert response.status_code in (200, 404), url
        assert "X-Scan-State" not in response.headers, url
        assert response.headers["X-Accel-Expires"] == "1", url
    assert scans() == []


# --- the import --------------------------------------------------------------------------------

def run_import(log: Path, **kwargs: Any) -> edge_import.EdgeImport:
    result = edge_import.import_log(log, **kwargs)
    db.session.rollback()
    return result


def append(log: Path, *lines: bytes) -> None:
    with log.open("ab") as fh:
        fh.write(b"".join(lines))


def test_the_log_becomes_the_rows_the_recorder_writes(client, app, tmp_path) -> None:
    merchant = revoked_shop()
    app.config["SCAN_COUNT_AT_EDGE"] = False
    scan(client, merchant.badge_code, address="198.51.100.9")  # the app's own row, to compare with
    [recorded] = scans()
    log = tmp_path / "scans.log"
    append(log, line(merchant.badge_code, "revoked", merchant.id, address="198.51.100.200"),
           line(UNKNOWN, address="2001:db8:abcd:12::1"))
    result = run_import(log)
    assert (result.imported, result.unreadable, result.malformed) == (2, 0, 0)
    _, revoked, unknown = scans()
    assert (revoked.scanned_at, revoked.code, revoked.state, revoked.merchant_id) == \
        (WHEN, merchant.badge_code, "revoked", merchant.id)
    assert revoked.source == recorded.source  # the same /24, hashed with the same key
    assert (unknown.code, unknown.state, unknown.merchant_id) == (UNKNOWN, "unknown", None)
    key = rules.source_key(app.config["SECRET_KEY"])
    assert unknown.source == rules.source_of("2001:db8:abcd:12::1", key) != revoked.source


def test_each_run_resumes_where_the_last_stopped(app, tmp_path) -> None:
    log = tmp_path / "scans.log"
    append(log, line("AAAA1"), line("AAAA2" + "x" * 300))
    assert run_import(log).imported == 2
    assert run_import(log).imported == 0  # a rerun counts nothing twice
    append(log, line("AAAA3"))
    result = run_import(log)
    assert result.imported == 1 and result.cursor == Cursor(os.stat(log).st_ino, log.stat().st_size)
    assert [r.code for r in scans()] == ["AAAA1", ("AAAA2" + "x" * 300)[:40], "AAAA3"]  # bounded as the app's
    stored = db.session.get(Setting, edge_import.CURSOR_KEY).value
    assert stored == {str(log): result.cursor.as_dict()}


def test_a_line_nginx_is_still_writing_waits_for_the_next_run(app, tmp_path) -> None:
    log = tmp_path / "scans.log"
    whole = line("BBBB2")
    append(log, line("BBBB1"), whole[:20])
    assert run_import(log).imported == 1
    append(log, whole[20:])
    assert run_import(log).imported == 1
    assert [r.code for r in scans()] == ["BBBB1", "BBBB2"]


def test_many_batches_and_two_imports_at_once_count_each_line_once(app, tmp_path) -> None:
    log = tmp_path / "scans.log"
    append(log, *(line(f"CCCC{i:04}") for i in range(300)))
    results: list[int] = []
    start = threading.Barrier(2)

    def importer() -> None:
        with app.app_context():
            start.wait()
            results.append(edge_import.import_log(log, batch_bytes=2000).imported)
            db.session.remove()

    threads = [threading.Thread(target=importer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(results) == 300 and len(results) == 2
    assert sorted(r.code for r in scans()) == [f"CCCC{i:04}" for i in range(300)]


def test_a_backlog_is_imported_over_several_runs(app, tmp_path) -> None:
    log = tmp_path / "scans.log"
    append(log, *(line(f"KKKK{i:03}") for i in range(40)))
    first = run_import(log, batch_bytes=1000, max_seconds=0)  # one batch, then the time is up
    assert 0 < first.imported < 40
    assert run_import(log, batch_bytes=1000).imported == 40 - first.imported
    assert sorted(r.code for r in scans()) == [f"KKKK{i:03}" for i in range(40)]


def test_a_rotated_log_is_finished_then_the_new_one_read_from_its_start(app, tmp_path) -> None:
    log, rotated = tmp_path / "scans.log", tmp_path / "scans.log.1"
    append(log, line("DDDD1"))
    assert run_import(log).imported == 1
    append(log, line("DDDD2"))
    log.rename(rotated)                 # logrotate moves it away ...
    append(rotated, line("DDDD3"))      # ... nginx writes on until it reopens its logs ...
    assert run_import(log).imported == 0  # (nothing at the path meanwhile: nothing lost either)
    append(log, line("DDDD4"))          # ... and then writes to the new file
    assert run_import(log).imported == 3
    append(rotated, line("DDDD5"))      # a late line in the old file still counts
    assert run_import(log).imported == 1
    assert run_import(log).imported == 0
    assert sorted(r.code for r in scans()) == [f"DDDD{i}" for i in range(1, 6)]
    # Rotated again, the old one compressed (gone): the new file from its start.
    rotated.unlink()
    log.rename(rotated)
    append(log, line("DDDD6"))
    rotated.unlink()
    assert run_import(log).imported == 1
    assert sorted(r.code for r in scans())[-1] == "DDDD6"


def test_a_rotated_log_elsewhere_is_named_with_rotated(app, tmp_path) -> None:
    log, rotated = tmp_path / "scans.log", tmp_path / "old" / "scans-20261203.log"
    rotated.parent.mkdir()
    append(log, line("EEEE1"))
    run_import(log, rotated_path=rotated)
    append(log, line("EEEE2"))
    log.rename(rotated)
    append(log, line("EEEE3"))
    assert run_import(log, rotated_path=rotated).imported == 2
    assert sorted(r.code for r in scans()) == ["EEEE1", "EEEE2", "EEEE3"]


def test_a_truncated_log_is_read_from_its_start(app, tmp_path) -> None:
    log = tmp_path / "scans.log"
    append(log, line("FFFF1"), line("FFFF2"), line("FFFF3"))
    assert run_import(log).imported == 3
    inode = log.stat().st_ino
    log.write_bytes(line("FFFF4"))  # truncated in place (copytruncate), shorter than the offset
    assert log.stat().st_ino == inode
    assert run_import(log).imported == 1
    assert sorted(r.code for r in scans()) == ["FFFF1", "FFFF2", "FFFF3", "FFFF4"]


def test_lines_that_are_no_scan_are_skipped_counted_and_logged(app, tmp_path, caplog) -> None:
    merchant = revoked_shop()
    log = tmp_path / "scans.log"
    append(log, line("GGGG1"), b"garbage\n", b'{"half": \n',
           line(merchant.badge_code, "revoked", merchant.id),
           line(merchant.badge_code, "revoked", missing_id(type(merchant))),  # no such shop
           line(merchant.badge_code, "valid", merchant.id), line(uri="/m/a\u0000b"),
           line(state="unknown", merchant=merchant.id), line("GGGG2"))
    with caplog.at_level("WARNING", logger="pledge_registry.scan_reports.edge_import"):
        result = run_import(log)
    assert (result.imported, result.unreadable, result.malformed) == (3, 2, 4)
    assert [r.code for r in scans()] == ["GGGG1", merchant.badge_code, "GGGG2"]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 6 and all(str(log) in w for w in warned)
    assert any("unreadable line skipped (not JSON" in w for w in warned)
    assert any("byte " in w and "no such shop" in w for w in warned)


def test_a_line_longer_than_a_batch_never_stops_the_import(app, tmp_path) -> None:
    log = tmp_path / "scans.log"
    append(log, b"x" * 5000 + b"\n", line("HHHH1"))
    result = run_import(log, batch_bytes=1024)
    assert result.imported == 1 and result.unreadable >= 1
    assert [r.code for r in scans()] == ["HHHH1"]


def test_a_failed_batch_leaves_nothing_and_the_rerun_counts_it_once(app, tmp_path, monkeypatch) -> None:
    log = tmp_path / "scans.log"
    append(log, line("IIII1"), line("IIII2"))
    real = edge_import._insert

    def then_fail(*args: Any) -> None:
        real(*args)
        raise RuntimeError("the server went away")

    monkeypatch.setattr(edge_import, "_insert", then_fail)
    with pytest.raises(RuntimeError):
        edge_import.import_log(log)
    db.session.rollback()
    assert scans() == []
    monkeypatch.setattr(edge_import, "_insert", real)
    assert run_import(log).imported == 2
    assert run_import(log).imported == 0
    assert len(scans()) == 2


def test_the_command_says_what_it_imported_and_skipped(runner, tmp_path) -> None:
    log = tmp_path / "scans.log"
    missing = runner.invoke(args=["scans", "import-edge-log", str(log)])
    assert missing.exit_code == 0, missing.output
    assert "0 suspicious scan(s) imported" in missing.output and "no log there yet" in missing.output
    append(log, line("JJJJ1"), b"not a line\n", line(state="expired"))
    result = runner.invoke(args=["scans", "import-edge-log", str(log)])
    assert result.exit_code == 0, result.output
    assert "1 suspicious scan(s) imported" in result.output
    assert "1 unreadable and 1 malformed line(s) skipped (see the warnings)" in result.output
    assert f"next from byte {log.stat().st_size}" in result.output
    assert len(scans()) == 1


# --- the sample deployment says the same ---------------------------------------------------------

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _nginx_variable(header: str) -> str:
    return "$sent_http_" + header.lower().replace("-", "_")


def test_nginx_logs_what_the_app_names_and_the_import_reads() -> None:
    http = (DEPLOY / "nginx" / "pledge-cache-http.conf").read_text(encoding="utf-8")
    proxy = (DEPLOY / "nginx" / "pledge-proxy.conf").read_text(encoding="utf-8")
    site = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    fmt = "".join(re.findall(r"'([^']*)'", http[http.index("log_format pledge_scans escape=json"):]))
    assert json.loads(fmt.replace('"$msec"', '"0"').replace("$", "")).keys() == set(edge.LINE_FIELDS)
    for field, variable in (("t", "$msec"), ("uri", "$uri"), ("addr", "$remote_addr"),
                            ("state", _nginx_variable(edge.STATE_HEADER)),
                            ("merchant", _nginx_variable(edge.MERCHANT_HEADER))):
        assert f'"{field}":"{variable}"' in fmt
    assert (f"access_log /var/log/nginx/pledge-scans.log pledge_scans if={_nginx_variable(edge.STATE_HEADER)};"
            in site)
    # The header telling the app that the scans are logged: set by the server that logs them.
    assert f"proxy_set_header {edge.EDGE_HEADER} $pledge_logs_scans;" in proxy
    main = site[site.index("listen 443 ssl http2;"):]
    assert "set $pledge_logs_scans 1;" in main and "access_log /var/log/nginx/access.log;" in main


def test_the_import_is_scheduled_every_minute() -> None:
    cron = (DEPLOY / "pledge-registry.cron").read_text(encoding="utf-8")
    [job] = [row for row in cron.splitlines() if "scans import-edge-log" in row and not row.startswith("#")]
    assert job.startswith("* * * * *") and "/var/log/nginx/pledge-scans.log" in job
    env = (DEPLOY / "pledge_registry.env.example").read_text(encoding="utf-8")
    assert "SCAN_COUNT_AT_EDGE=true" in env.splitlines()
