"""The pure rules of scan reports: which scans are kept, how an address becomes a source,
which alert window a moment falls in, and when a count raises an alert. No Flask here."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

# The standings of a badge whose scans are kept (valid and pending badges write nothing).
SUSPICIOUS_STATES = frozenset({"unknown", "suspended", "revoked", "expired", "closed"})
SOURCE_LENGTH = 16  # hex characters of the keyed hash kept per scan
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Codes an alert may name: a printed sticker's code is letters and digits (real ones are 13
# of them). Anything else (a probe for /m/wp-login.php, a typo with spaces) is counted on the
# staff page but never put into an officer's text message or link.
_ALERTABLE_CODE = re.compile(r"[0-9A-Za-z_-]{4,40}")


def alertable(code: str) -> bool:
    return _ALERTABLE_CODE.fullmatch(code) is not None


_IPV4 = re.compile(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})")


def truncate_address(address: str | None) -> str:
    """The network an address belongs to: /24 for IPv4, /48 for IPv6; "" when unreadable.
    Enough to tell one crowd from another, not one phone from its neighbours."""
    plain = _IPV4.fullmatch(address or "")
    if plain and all(int(octet) <= 255 and (octet == "0" or octet[0] != "0") for octet in plain.groups()):
        # the common case without ipaddress's parsing (a quarter of its cost), same result
        return f"{plain[1]}.{plain[2]}.{plain[3]}.0"
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


@lru_cache(maxsize=4096)  # a crowd's phones share few networks: most scans hash nothing
def source_of(address: str | None, key: bytes) -> str:
    """What a scan keeps of its address: a keyed hash of the truncated address, shortened.
    Without the key it cannot be reversed by trying every network."""
    network = truncate_address(address)
    return hmac.new(key, network.encode(), hashlib.sha256).hexdigest()[:SOURCE_LENGTH]


def source_key(secret: str | bytes) -> bytes:
    """The hashing key, derived from the app's secret (never the secret itself)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(b"pledge-registry scan source\x00" + raw).digest()


def alert_period(moment: datetime, window_hours: int) -> int:
    """The alert window a moment falls in: alerts are raised at most once per code and window."""
    hours = int((moment.astimezone(UTC) - _EPOCH).total_seconds() // 3600)
    return hours // max(1, window_hours)


@dataclass(frozen=True)
class Thresholds:
    """When scans within the window raise an alert (configuration: SCAN_ALERT_*)."""

    window_hours: int = 24
    unknown_scans: int = 5
    revoked_scans: int = 3
    min_sources: int = 2

    def unknown_alert(self, scans: int, sources: int) -> bool:
        return scans >= self.unknown_scans and sources >= self.min_sources

    def revoked_alert(self, scans: int, sources: int) -> bool:
        return scans >= self.revoked_scans and sources >= self.min_sources
