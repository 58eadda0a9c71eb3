"""`flask scans import-edge-log`: the suspicious scans nginx logged (SCAN_COUNT_AT_EDGE, see
edge.py) become suspicious_scan rows, as the recorder would have written them.

The import resumes from a cursor kept in the `setting` table (key CURSOR_KEY, one entry per
log path): the file's inode and the byte after the last line imported. Each batch reads the
cursor under a lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE), reads the
lines after it, and writes their rows and the moved cursor in one transaction: a batch is
imported entirely or not at all, and a rerun, or a second import running at the same time,
never counts a line twice.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Merchant, Setting, SuspiciousScan
from ..models.scans import CODE_LENGTH
from .edge import BadLine, Cursor, EdgeScan, FileState, complete_lines, follow, parse_line
from .rules import source_key, source_of

log = logging.getLogger(__name__)

CURSOR_KEY = "scan_edge_log_cursor"
BATCH_BYTES = 1 << 20  # about 6,000 lines a transaction
MAX_SECONDS = 50.0  # a run of the every-minute job ends before the next one starts
WARNINGS_PER_RUN = 20  # each skipped line is counted; only the first ones are logged one by one


@dataclass
class EdgeImport:
    """What a run did: rows written, lines skipped, and where it stopped."""

    imported: int = 0
    unreadable: int = 0
    malformed: int = 0
    cursor: Cursor = field(default_factory=Cursor)

    @property
    def skipped(self) -> int:
        return self.unreadable + self.malformed


def import_log(path: Path, rotated_path: Path | None = None, batch_bytes: int = BATCH_BYTES,
               max_seconds: float = MAX_SECONDS) -> EdgeImport:
    """Import the lines added to the log at `path` since the last run. `rotated_path` is where
    logrotate moves it (default: `path` + ".1"): the end of the generation before a rotation
    is read from there. A run stops after the batch that ends past `max_seconds`, so that a
    backlog never makes runs of the every-minute job pile up behind each other's lock; the
    next run goes on from there."""
    rotated_path = rotated_path or path.with_name(path.name + ".1")
    run = EdgeImport()
    key = source_key(current_app.config["SECRET_KEY"])
    deadline = time.monotonic() + max_seconds
    for generation in ("rotated", "current"):  # the older lines first
        while _batch(path, rotated_path, generation, batch_bytes, key, run) and time.monotonic() < deadline:
            pass
    return run


def _batch(path: Path, rotated_path: Path, generation: str, batch_bytes: int, key: bytes,
           run: EdgeImport) -> bool:
    """One transaction: the next lines of one generation; whether it read any."""
    row = _locked_cursor_row(path)
    entries = dict(row.value) if isinstance(row.value, dict) else {}  # a damaged value: read from the start
    stored = Cursor.from_dict(entries.get(str(path)))
    with _opened(path) as current, _opened(rotated_path) as rotated:
        cursor = follow(stored, _state(current), _state(rotated))
        if generation == "rotated":
            handle, offset = (rotated, cursor.rotated_offset) if cursor.rotated_inode is not None else (None, 0)
        else:
            handle, offset = current, cursor.offset
        data = b""
        if handle is not None:
            handle.seek(offset)
            data = handle.read(batch_bytes)
    lines, used = complete_lines(data)
    if not lines and len(data) == batch_bytes:
        # No newline in a whole batch: no line nginx writes is that long (a URI is at most a
        # few kB). Skipped as unreadable, a batch at a time, so the import never sticks on it.
        lines, used = [data], len(data)
    scans = _checked(lines, path, offset, run)
    _insert(scans, key)
    run.imported += len(scans)
    if generation == "rotated" and used:
        cursor = Cursor(cursor.inode, cursor.offset, cursor.rotated_inode, offset + used)
    elif used:
        cursor = Cursor(cursor.inode, offset + used, cursor.rotated_inode, cursor.rotated_offset)
    if cursor != stored:
        entries[str(path)] = cursor.as_dict()
        row.value = entries
    db.session.commit()
    run.cursor = cursor
    return used > 0


def _locked_cursor_row(path: Path) -> Setting:
    """The setting row holding the cursors, locked until the transaction ends (created the
    first time; two first runs at once: one insert wins, the other reads its row)."""
    statement = select(Setting).where(Setting.key == CURSOR_KEY).with_for_update() \
        .execution_options(populate_existing=True)
    row = db.session.scalar(statement)
    if row is None:
        db.session.add(Setting(key=CURSOR_KEY, value={}))
        try:
            db.session.commit()
        except IntegrityError:  # a concurrent first run made it: read that one below
            db.session.rollback()
        row = db.session.scalar(statement)
        if row is None:
            raise RuntimeError(f"the setting {CURSOR_KEY} could not be created")
    return row


@contextmanager
def _opened(path: Path) -> Iterator[IO[bytes] | None]:
    """The file at `path` open for reading, or None when there is none: its inode is then read
    from the open file, so a rotation between a stat and the read cannot mix two files."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        yield None
        return
    with handle:
        yield handle


def _state(handle: IO[bytes] | None) -> FileState | None:
    if handle is None:
        return None
    st = os.fstat(handle.fileno())
    return FileState(st.st_ino, st.st_size)


def _checked(lines: list[bytes], path: Path, offset: int, run: EdgeImport) -> list[EdgeScan]:
    """The scans of these lines; every other line counted and, up to a limit, logged with
    where it starts, so that none is skipped silently."""
    scans: list[tuple[EdgeScan, int]] = []
    position = offset
    for line in lines:
        try:
            scans.append((parse_line(line), position))
        except BadLine as bad:
            _skip(run, bad, path, position)
        position += len(line) + 1
    # A shop id the log names but the registry lacks (a damaged or forged line): the row's
    # foreign key would refuse the whole batch.
    wanted = {scan.merchant_id for scan, _ in scans if scan.merchant_id is not None}
    known = set(db.session.scalars(select(Merchant.id).where(Merchant.id.in_(wanted)))) if wanted else set()
    kept = []
    for scan, at in scans:
        if scan.merchant_id is None or scan.merchant_id in known:
            kept.append(scan)
        else:
            _skip(run, BadLine("malformed", "no such shop"), path, at)
    return kept


def _skip(run: EdgeImport, bad: BadLine, path: Path, at: int) -> None:
    if bad.kind == "unreadable":
        run.unreadable += 1
    else:
        run.malformed += 1
    if run.skipped <= WARNINGS_PER_RUN:
        log.warning("%s, byte %d: %s line skipped (%s)", path, at, bad.kind, bad.reason)
        if run.skipped == WARNINGS_PER_RUN:
            log.warning("%s: further skipped lines are counted, not logged one by one", path)


def _insert(scans: list[EdgeScan], key: bytes) -> None:
    if scans:
        db.session.execute(insert(SuspiciousScan), [
            {"scanned_at": s.scanned_at, "code": s.code[:CODE_LENGTH], "state": s.state, "merchant_id": s.merchant_id,
             "source": source_of(s.address, key)} for s in scans])
