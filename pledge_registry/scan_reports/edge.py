"""Suspicious scans counted at the edge (SCAN_COUNT_AT_EDGE): what the app, nginx and the
import job agree on, and the reading of nginx's scans log. No Flask and no database here.

Counted by the app (the default), every scan of a suspicious badge must reach it, so nginx may
never keep those pages. Counted at the edge, the page is kept like any other: the app names
what it saw in two response headers (STATE_HEADER, MERCHANT_HEADER), nginx writes one log line
for every answer that carries them, from its cache too (`$sent_http_*`; deploy/nginx.conf),
and `flask scans import-edge-log` (edge_import.py) turns the lines into suspicious_scan rows.
The app hands a scan to the edge only when the request came through that nginx: the server
that writes the scans log sets EDGE_HEADER on every request it proxies and never passes on a
client's header of that name. Asked directly, the app counts the scan itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .rules import SUSPICIOUS_STATES

EDGE_HEADER = "X-Edge-Counts-Scans"  # "1" from deploy/nginx/pledge-proxy.conf ($pledge_logs_scans)
_EDGE_ENVIRON = "HTTP_" + EDGE_HEADER.upper().replace("-", "_")
STATE_HEADER = "X-Scan-State"  # the badge's state as the page showed it
MERCHANT_HEADER = "X-Scan-Merchant"  # its shop's id (public: the API names shops by it); absent if unknown
SCAN_PATH = "/m/"  # the scan page's path before the code ($uri in the log)

# The JSON fields of a line, as deploy/nginx/pledge-cache-http.conf's log_format writes them.
LINE_FIELDS = ("t", "uri", "addr", "state", "merchant")
_MERCHANT_ID = re.compile(r"[1-9][0-9]{0,9}")
MAX_MERCHANT_ID = 2**31 - 1  # merchant.id is an INTEGER
# A time outside these years is no nginx clock's: the line is damaged.
_EARLIEST, _LATEST = datetime(2000, 1, 1, tzinfo=UTC).timestamp(), datetime(2100, 1, 1, tzinfo=UTC).timestamp()


def counted_at_edge(config: Mapping[str, Any], environ: Mapping[str, Any]) -> bool:
    """Whether this request's suspicious scan is left to the edge: the flag is on, counting is
    on, and the request came through the nginx that logs the scans."""
    return bool(config["SCAN_COUNT_AT_EDGE"] and config["SCAN_LOG"]) and environ.get(_EDGE_ENVIRON) == "1"


def response_headers(state: str, merchant_id: int | None) -> tuple[tuple[str, str], ...]:
    """What the edge logs of a scan: the state, and the shop unless the code is unknown."""
    if merchant_id is None:
        return ((STATE_HEADER, state),)
    return (STATE_HEADER, state), (MERCHANT_HEADER, str(merchant_id))


@dataclass(frozen=True)
class EdgeScan:
    """One scan as nginx logged it, checked: the values of a suspicious_scan row, but the code
    is whole and the address not yet hashed (the import bounds and hashes them as the recorder
    does)."""

    scanned_at: datetime
    code: str
    state: str
    merchant_id: int | None
    address: str


class BadLine(ValueError):
    """A line that is not imported: `unreadable` (not a scans line at all) or `malformed` (a
    scans line whose values are not a scan's; its URI is the client's, whatever nginx wrote)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind}: {reason}")
        self.kind, self.reason = kind, reason


def parse_line(raw: bytes) -> EdgeScan:
    """The scan a line of the scans log stands for; BadLine when it stands for none.

    nginx's escape=json escapes quotes, backslashes and control characters but writes the
    bytes of a non-ASCII URI as they came: they are decoded as the app decodes a path (UTF-8,
    an invalid byte replaced), so the code is the one the app would have recorded."""
    try:
        fields = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError as err:
        raise BadLine("unreadable", f"not JSON ({err.__class__.__name__})") from None
    if not isinstance(fields, dict) or any(not isinstance(fields.get(name), str) for name in LINE_FIELDS):
        raise BadLine("unreadable", "not a scans line (fields " + ", ".join(LINE_FIELDS) + ")")
    try:
        seconds = float(fields["t"])
    except ValueError:
        raise BadLine("malformed", "time is not a number") from None
    if not (math.isfinite(seconds) and _EARLIEST <= seconds < _LATEST):
        raise BadLine("malformed", "time out of range")
    return EdgeScan(datetime.fromtimestamp(seconds, UTC), _code(fields["uri"]), *_standing(fields),
                    address=fields["addr"])


def _code(uri: str) -> str:
    if not uri.startswith(SCAN_PATH):
        raise BadLine("malformed", "not a scan page's path")
    code = uri[len(SCAN_PATH):]
    # The scan page's code is one path segment. NUL: PostgreSQL stores no such text (and the
    # page could not have been answered there).
    if not code or "/" in code or "\x00" in code:
        raise BadLine("malformed", "not a badge code")
    return code  # bounded when stored, as the recorder bounds it (models.scans.CODE_LENGTH)


def _standing(fields: dict[str, str]) -> tuple[str, int | None]:
    state, merchant = fields["state"], fields["merchant"]
    if state not in SUSPICIOUS_STATES:
        raise BadLine("malformed", "not a suspicious state")
    if state == "unknown":  # suspicious_scan's CHECK: a shop exactly when the code is known
        if merchant:
            raise BadLine("malformed", "an unknown code with a shop")
        return state, None
    if not _MERCHANT_ID.fullmatch(merchant) or int(merchant) > MAX_MERCHANT_ID:
        raise BadLine("malformed", "not a shop id")
    return state, int(merchant)


# --- following the log ---------------------------------------------------------------------

@dataclass(frozen=True)
class FileState:
    inode: int
    size: int


@dataclass(frozen=True)
class Cursor:
    """Where the import stopped: the file (by inode, so a rotated log is told from its
    successor at the same path) and the byte after the last line imported; and, after a
    rotation, the same for the generation before while it may still hold lines not imported
    (nginx writes to it until it reopens its logs; logrotate's delaycompress keeps it readable)."""

    inode: int | None = None
    offset: int = 0
    rotated_inode: int | None = None
    rotated_offset: int = 0

    def as_dict(self) -> dict[str, int | None]:
        return {"inode": self.inode, "offset": self.offset,
                "rotated_inode": self.rotated_inode, "rotated_offset": self.rotated_offset}

    @classmethod
    def from_dict(cls, value: Any) -> Cursor:
        """A stored cursor; a damaged one as none (the log is then read from its start)."""
        if not isinstance(value, dict):
            return cls()

        def number(name: str) -> int | None:
            item = value.get(name)
            return item if isinstance(item, int) and not isinstance(item, bool) and item >= 0 else None

        inode, rotated = number("inode"), number("rotated_inode")
        offset = (number("offset") or 0) if inode is not None else 0
        rotated_offset = (number("rotated_offset") or 0) if rotated is not None else 0
        return cls(inode, offset, rotated, rotated_offset)


def follow(cursor: Cursor, current: FileState | None, rotated: FileState | None) -> Cursor:
    """The cursor once the files as they are now are taken into account.

    - The same file at the path, grown: unchanged.
    - The same file, shorter than the offset (truncated in place, e.g. copytruncate): from 0.
    - Another file at the path (rotated: logrotate moved ours away and nginx reopened): the new
      one from 0, and ours, if it is the rotated file now, kept to finish from where we stopped.
    - No file at the path (between logrotate's move and nginx's reopen): unchanged.
    The rotated generation is forgotten once the rotated file is no longer it (compressed,
    removed, rotated again)."""
    if current is not None and cursor.inode != current.inode:
        if cursor.inode is not None and rotated is not None and rotated.inode == cursor.inode:
            cursor = Cursor(current.inode, 0, cursor.inode, cursor.offset)
        else:  # the first run, or a file we never read to its end is gone
            cursor = Cursor(current.inode, 0)
    elif current is not None and current.size < cursor.offset:
        cursor = Cursor(cursor.inode, 0, cursor.rotated_inode, cursor.rotated_offset)
    if cursor.rotated_inode is not None and (
            rotated is None or rotated.inode != cursor.rotated_inode or rotated.size < cursor.rotated_offset):
        cursor = Cursor(cursor.inode, cursor.offset)
    return cursor


def complete_lines(data: bytes) -> tuple[list[bytes], int]:
    """The whole lines at the start of `data` (without their newline), and the bytes they take.
    What follows the last newline is a line nginx has not finished writing: left for next time."""
    end = data.rfind(b"\n") + 1
    return data[:end].split(b"\n")[:-1], end  # only "\n" ends a line (nginx escapes a "\r")
