"""A town's merchant file kept between its dry run and the officer's confirmation.

The file is written under IMPORT_FOLDER (outside the web root) with a random name; the
page carries only that name, and the confirmation is taken only from the officer who
uploaded it, for the town it was checked for, within STASH_MAX_AGE seconds. Confirming
reads the file again and checks every row again (the registry may have changed in the
meantime), so what is imported is what the same checks pass at that moment. A file is
deleted once imported, and any older than STASH_MAX_AGE at the next upload.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

STASH_MAX_AGE = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class Stashed:
    token: str
    town_id: int
    filename: str
    data: bytes


def _folder() -> Path:
    folder = Path(current_app.config["IMPORT_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _purge(folder: Path, now: float) -> None:
    for path in folder.glob("*.json"):
        try:
            if now - path.stat().st_mtime > STASH_MAX_AGE:
                path.unlink(missing_ok=True)
                path.with_suffix(".bin").unlink(missing_ok=True)
        except OSError:
            pass


def stash(user_id: int, town_id: int, filename: str, data: bytes) -> str:
    """Keep the file; the token that names it."""
    folder = _folder()
    _purge(folder, time.time())
    token = secrets.token_urlsafe(24)
    (folder / f"{token}.bin").write_bytes(data)
    meta = {"user": user_id, "town": town_id, "filename": filename[-200:], "at": time.time()}
    (folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    return token


def fetch(token: str, user_id: int) -> Stashed | None:
    """The file the token names, if this user uploaded it and it has not expired."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    folder = _folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        data = (folder / f"{token}.bin").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("user") != user_id or time.time() - float(meta.get("at", 0)) > STASH_MAX_AGE:
        return None
    return Stashed(token, int(meta["town"]), str(meta.get("filename", "")), data)


def discard(token: str) -> None:
    if _TOKEN.match(token):
        folder = _folder()
        for suffix in (".bin", ".json"):
            (folder / f"{token}{suffix}").unlink(missing_ok=True)
