"""The daily open-data files of the public registry: every listed (approved) merchant with
its pledges' standing, current grade and titles, as gzipped CSV and gzipped JSON Lines,
with a manifest (licence, schema, size and SHA-256 of each file), a SHA256SUMS file and a
README.txt beside them (the licence, every field, how to check a download).

Written by `flask api open-data` (a daily cron job) into OPEN_DATA_FOLDER: each file is
written beside its final name and renamed into place, so a download never sees half a
file; the manifest is replaced last. Only what the scan page already shows is exported:
no contact person, no phone, nothing about complaints. The columns are SCHEMA below, the
same in both files, and documented in docs/open-data.md.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..localtime import local_today
from ..models import Merchant, MerchantStatus, Nomination, NominationStatus
from ..pledges.standing import shop_standing
from ..ratings.services import current_grades

_STATES = "valid | suspended | revoked | expired"
# (name, type, description): the CSV's columns in this order, the JSON objects' keys. In the
# JSON an empty value is null, in the CSV an empty cell.
SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("id", "integer", "The merchant's id in the registry, stable (as in /api/v1/merchants/{id})."),
    ("badge_code", "string", "The code on the shop's QR badge (13 characters)."),
    ("shop_name", "string", "The shop's name as shown on its scan page."),
    ("legal_name", "string", "The registered name of the business."),
    ("credit_code", "string", "The unified social credit code (18 characters)."),
    ("address", "string", "The shop's address."),
    ("town_id", "integer", "Its town or subdistrict (GET /api/v1/towns)."),
    ("area_id", "integer or empty", "Its commercial area (GET /api/v1/areas), if any."),
    ("category", "string", "The kind of business, a code of GET /api/v1/categories."),
    ("state", "string", f"The badge's standing: {_STATES} (the worst of its pledges), or pending."),
    ("genuine_pledge", "string or empty", f"The genuine-goods pledge's standing: {_STATES}; empty: none."),
    ("returns_pledge", "string or empty", f"The no-reason-returns pledge's standing: {_STATES}; empty: none."),
    ("return_days", "integer or empty", "Days within which goods are taken back under the returns pledge."),
    ("grade", "string or empty", "The current safe-consumption grade: A, B, C, D, or NR (not rated)."),
    ("unit_title", "string or empty", "A current unit title: demonstration or participant (the higher one)."),
    ("unit_title_expires_on", "date or empty", "The last day of that title (YYYY-MM-DD)."),
    ("scan_page", "URL", "The shop's public page, where its badge leads."),
)
FIELDS = tuple(name for name, _, _ in SCHEMA)
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
README = "README.txt"
BATCH = 2000


def _rows(now: datetime, base_url: str) -> Iterator[dict[str, Any]]:
    today = local_today(now)
    last = 0
    while True:
        shops = list(db.session.scalars(select(Merchant).where(
            Merchant.status == MerchantStatus.APPROVED, Merchant.id > last).order_by(Merchant.id).limit(BATCH)))
        if not shops:
            return
        ids = [m.id for m in shops]
        grades = current_grades(ids)
        titles: dict[int, tuple[str, date]] = {}
        for merchant_id, level, until in db.session.execute(select(
                Nomination.merchant_id, Nomination.level, Nomination.title_expires_on).where(
                Nomination.merchant_id.in_(ids), Nomination.status == NominationStatus.APPROVED,
                Nomination.title_expires_on >= today)):
            if merchant_id not in titles or level == "demonstration":
                titles[merchant_id] = (level, until)
        for m in shops:
            standing = shop_standing(m, now)
            pledges = {kind: (state, pledge) for kind, pledge, state in standing.pledges}
            title = titles.get(m.id)
            yield {
                "id": m.id, "badge_code": m.badge_code, "shop_name": m.shop_name, "legal_name": m.legal_name,
                "credit_code": m.credit_code, "address": m.address, "town_id": m.town_id, "area_id": m.area_id,
                "category": m.category, "state": standing.state,
                "genuine_pledge": pledges["genuine"][0] if "genuine" in pledges else None,
                "returns_pledge": pledges["returns"][0] if "returns" in pledges else None,
                "return_days": pledges["returns"][1].return_days if "returns" in pledges else None,
                "grade": grades.get(m.id), "unit_title": title[0] if title else None,
                "unit_title_expires_on": title[1].isoformat() if title else None,
                "scan_page": f"{base_url}/m/{m.badge_code}",
            }
        last = ids[-1]
        db.session.expunge_all()  # a province is 500,000 shops: keep the session small


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def export(folder: Path, base_url: str, licence: str, licence_url: str, now: datetime | None = None) -> dict:
    """Write today's files and the manifest into `folder`; returns the manifest. Streamed:
    a province's registry is never held in memory."""
    now = now or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"registry-{local_today(now):%Y-%m-%d}"
    csv_path, json_path = folder / f"{stem}.csv.gz.part", folder / f"{stem}.jsonl.gz.part"
    records = 0
    # mtime=0: the same registry gives byte-identical files (and checksums) any day
    with gzip.GzipFile(csv_path, "wb", mtime=0) as csv_gz, gzip.GzipFile(json_path, "wb", mtime=0) as json_gz:
        csv_text = io.TextIOWrapper(csv_gz, encoding="utf-8", newline="")
        json_text = io.TextIOWrapper(json_gz, encoding="utf-8")
        writer = csv.DictWriter(csv_text, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in _rows(now, base_url):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
            json_text.write(json.dumps(row, ensure_ascii=False) + "\n")
            records += 1
        csv_text.flush()
        json_text.flush()
        csv_text.detach()
        json_text.detach()
    files = []
    for partial, fmt in ((csv_path, "csv"), (json_path, "jsonl")):
        final = partial.with_name(partial.name.removesuffix(".part"))
        os.replace(partial, final)
        files.append({"name": final.name, "format": fmt, "bytes": final.stat().st_size, "sha256": _digest(final)})
    manifest = {"licence": licence, "licence_url": licence_url, "generated_at": now.isoformat(timespec="seconds"),
                "records": records, "fields": list(FIELDS), "files": files}
    _write(folder / SUMS, "".join(f"{f['sha256']}  {f['name']}\n" for f in files).encode("ascii"))
    _write(folder / README, readme(licence, licence_url, base_url, now).encode("utf-8"))
    _write(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    for old in folder.glob("registry-*.gz"):  # yesterday's files go once today's are in place
        if not old.name.startswith(stem):
            old.unlink()
    return manifest


def readme(licence: str, licence_url: str, base_url: str, now: datetime) -> str:
    """The README.txt beside the files: who publishes them, their licence, every field, and
    how to check a download against SHA256SUMS."""
    width = max(len(name) for name in FIELDS)
    lines = [
        "Public registry of pledged merchants: open data",
        "放心消费承诺商户公开名录：开放数据",
        "",
        f"Licence / 许可协议: {licence} ({licence_url})",
        f"Attribution / 署名: the market supervision bureau's pledge registry, {base_url}",
        f"Generated / 生成时间: {now.isoformat(timespec='seconds')}",
        "",
        "Files, written every day (the previous day's are then removed):",
        "  registry-YYYY-MM-DD.csv.gz    CSV (RFC 4180, UTF-8, header row, LF line ends), gzipped",
        "  registry-YYYY-MM-DD.jsonl.gz  JSON Lines (one JSON object per line, UTF-8), gzipped",
        f"  {SUMS}                    the SHA-256 of each file",
        "",
        "Check a download (both lines must say OK):",
        f"  sha256sum -c {SUMS} --ignore-missing",
        "",
        "One record per listed merchant; the CSV's columns and the JSON's keys, in order",
        "(empty CSV cell = JSON null):",
    ]
    lines += [f"  {name:<{width}}  {kind}: {text}" for name, kind, text in SCHEMA]
    lines += ["", f"Today's files and their checksums: {base_url}/api/v1/open-data"]
    return "\n".join(lines) + "\n"


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
