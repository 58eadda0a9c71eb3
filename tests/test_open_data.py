"""The daily open-data files: really gzipped CSV and JSON Lines with the documented fields,
a SHA256SUMS that `sha256sum -c` accepts, the licence beside them (README.txt and the
listing), every field documented in docs/open-data.md, no personal data."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pledge_registry.api import opendata
from tests.factories import make_merchant, make_pledge, make_rating

DOC = Path(__file__).resolve().parents[1] / "docs" / "open-data.md"


@pytest.fixture
def exported(app: Any, client: Any, runner: Any, tmp_path: Path) -> dict[str, Any]:
    app.config["OPEN_DATA_FOLDER"] = str(tmp_path / "open-data")
    shop = make_merchant(shop_name="逗号,引号\"商店", contact_name="联系人赵六", contact_phone="13700001111")
    make_pledge(shop, "returns")
    make_rating(shop, "B")
    make_merchant()
    make_merchant(status="pending")
    result = runner.invoke(args=["api", "open-data"])
    assert result.exit_code == 0, result.output
    listing = client.get("/api/v1/open-data").get_json()
    files = {f["format"]: client.get(f["url"].removeprefix("http://localhost")).get_data() for f in listing["files"]}
    return {"listing": listing, "files": files, "shop": shop, "folder": tmp_path / "open-data"}


def test_the_files_are_gzipped_csv_and_json_lines_with_the_documented_columns(exported) -> None:
    files = exported["files"]
    assert set(files) == {"csv", "jsonl"}
    for data in files.values():
        assert data[:2] == b"\x1f\x8b"  # gzip's magic number
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(files["csv"]).decode("utf-8"), newline="")))
    records = [json.loads(line) for line in gzip.decompress(files["jsonl"]).decode("utf-8").splitlines()]
    assert len(rows) == len(records) == exported["listing"]["records"] == 2
    header = gzip.decompress(files["csv"]).decode("utf-8").split("\n", 1)[0]
    assert header.split(",") == list(opendata.FIELDS)
    assert all(list(r) == list(opendata.FIELDS) for r in records)
    shop = exported["shop"]
    mine = next(r for r in rows if r["id"] == str(shop.id))
    assert mine["shop_name"] == shop.shop_name  # the comma and the quote survive the CSV
    record = next(r for r in records if r["id"] == shop.id)
    assert (record["returns_pledge"], record["return_days"], record["grade"], record["genuine_pledge"]) == \
        ("valid", 15, "B", None)
    assert mine["genuine_pledge"] == ""
    for data in files.values():
        text = gzip.decompress(data).decode("utf-8")
        assert "赵六" not in text and "13700001111" not in text


def test_the_checksums_verify_with_sha256sum(exported, client, tmp_path) -> None:
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum (coreutils) is not installed")
    download = tmp_path / "download"
    download.mkdir()
    for entry in exported["listing"]["files"]:
        (download / entry["name"]).write_bytes(exported["files"][entry["format"]])
    sums = client.get("/api/v1/open-data/SHA256SUMS")
    assert sums.status_code == 200
    (download / "SHA256SUMS").write_bytes(sums.get_data())
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=download, capture_output=True, text=True,
                             check=False)
    assert checked.returncode == 0 and checked.stdout.count(": OK") == 2, checked.stdout + checked.stderr
    name = exported["listing"]["files"][0]["name"]
    data = bytearray((download / name).read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte changed
    (download / name).write_bytes(bytes(data))
    tampered = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=download, capture_output=True, check=False)
    assert tampered.returncode != 0


def test_the_licence_and_the_schema_are_stated_beside_the_files(exported, client) -> None:
    listing = exported["listing"]
    assert listing["licence"] == "CC BY 4.0" and listing["licence_url"].startswith("https://creativecommons.org/")
    assert [c["name"] for c in listing["columns"]] == list(opendata.FIELDS)
    readme = client.get(listing["readme_url"].removeprefix("http://localhost"))
    assert readme.status_code == 200
    text = readme.get_data(as_text=True)
    assert "CC BY 4.0" in text.splitlines()[3] and listing["licence_url"] in text
    assert "sha256sum -c SHA256SUMS" in text
    for name in opendata.FIELDS:
        assert re.search(rf"^  {name} +\S", text, re.M), name
    assert client.get("/api/v1/open-data/manifest.json").status_code == 404


def test_every_field_is_documented_in_docs_open_data() -> None:
    doc = DOC.read_text(encoding="utf-8")
    table = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", doc.split("## Fields", 1)[1], re.M)
    assert [name for name, _, _ in table] == list(opendata.FIELDS)
    for (name, kind, text), (_, doc_kind, doc_text) in zip(opendata.SCHEMA, table, strict=True):
        assert doc_kind.strip() == kind and doc_text.strip() == text.replace("|", "&#124;"), name
    for heading in ("## The files", "## Schedule", "## Licence", "## Checking a download"):
        assert heading in doc
    assert "CC BY 4.0" in doc.split("## Licence", 1)[1]
