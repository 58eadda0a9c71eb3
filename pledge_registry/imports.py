"""The record of an import: one `ImportRun` row per file an importer loaded.

The three importers (merchants, inspections and penalties, a channel's export) call
`record_run` in the transaction of their load, so the row commits with the rows it counts
and rolls back with them. A file without errors that brings nothing new is recorded
too, and so is a dry run from the command line, flagged as such; a file refused for its
errors is not, nor the staff page's check step before a merchant import (the confirmation
reads the file again and is recorded then).
"""

from __future__ import annotations

import os
import unicodedata

from .extensions import db
from .models import FILENAME_LENGTH, IMPORT_KINDS, ImportRun, User
from .models.imports import CHANNEL_PREFIX


def channel_kind(channel: str) -> str:
    return CHANNEL_PREFIX + channel


def clean_filename(name: str) -> str:
    """The file's own name (no directories), without control or format characters, cut short."""
    base = os.path.basename((name or "").replace("\\", "/"))
    kept = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    return " ".join(kept.split())[:FILENAME_LENGTH]


def record_run(kind: str, *, filename: str, rows_read: int, created: int, skipped: int = 0, errors: int = 0,
               officer: User | None = None, town_id: int | None = None, dry_run: bool = False) -> ImportRun:
    """Add the run to the session; the caller's commit writes it with the load."""
    if kind not in IMPORT_KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    run = ImportRun(kind=kind, town_id=town_id, officer_id=officer.id if officer is not None else None,
                    filename=clean_filename(filename), rows_read=max(rows_read, 0), created=max(created, 0),
                    skipped=max(skipped, 0), errors=max(errors, 0), dry_run=dry_run)
    db.session.add(run)
    return run
