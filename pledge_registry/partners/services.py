"""Partners and their API keys: added, issued, rotated and revoked by an admin (the page
/staff/partners/, partners.views, and `flask partners`); checked on every key-authenticated
request.

A key reads `prk_<prefix>_<secret>`: the prefix (48 random bits) finds the key's row and
names it in logs and lists; the whole key (prefix and 256-bit secret) is stored only as its
SHA-256, so the database never holds anything that authenticates. A key is shown once, when
it is issued; nothing else ever writes it anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from ..domain import DomainError
from ..extensions import db
from ..models import Partner, PartnerKey
from ..models.partners import PARTNER_CODE_RE

log = logging.getLogger("pledge_registry.partners")

KEY_RE = re.compile(r"^prk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# A key's last use is written at most this often: a busy partner does not write a row per request.
LAST_USED_STEP = timedelta(minutes=10)


class PartnerError(DomainError):
    """A partner or key operation was refused; `code` says which."""


@dataclass(frozen=True)
class IssuedKey:
    """A key just issued: `key` is shown to the admin once and never stored."""

    partner: Partner
    prefix: str
    key: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def add_partner(code: str, name: str) -> Partner:
    code, name = code.strip().lower(), " ".join(name.split())
    if not re.match(PARTNER_CODE_RE, code):
        raise PartnerError("code")
    if not name or len(name) > 100:
        raise PartnerError("name")
    if db.session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise PartnerError("duplicate")
    partner = Partner(code=code, name=name)
    db.session.add(partner)
    db.session.commit()
    log.warning("partner added code=%s id=%s", partner.code, partner.id)
    return partner


def find_partner(code: str) -> Partner:
    partner = db.session.scalar(select(Partner).where(Partner.code == code.strip().lower()))
    if partner is None:
        raise PartnerError("no_partner")
    return partner


def issue_key(partner: Partner, now: datetime | None = None) -> IssuedKey:
    """A new key for the partner, besides those it has (overlap while it switches)."""
    prefix = secrets.token_hex(6)
    key = f"prk_{prefix}_{secrets.token_urlsafe(32)}"
    db.session.add(PartnerKey(partner_id=partner.id, prefix=prefix, secret_hash=_digest(key),
                              created_at=now or datetime.now(UTC)))
    db.session.commit()
    log.warning("partner key issued partner=%s prefix=%s", partner.code, prefix)
    return IssuedKey(partner, prefix, key)


def rotate_key(partner: Partner, now: datetime | None = None) -> IssuedKey:
    """A new key, and every older key of the partner revoked in the same transaction: no
    grace period (a rotation is also what is done when a key may have leaked). To switch
    over without a gap, issue_key a second key and revoke_key the old one once it is in use."""
    now = now or datetime.now(UTC)
    for old in live_keys(partner):
        old.revoked_at = now
        log.warning("partner key revoked partner=%s prefix=%s (rotated)", partner.code, old.prefix)
    return issue_key(partner, now)


def revoke_key(prefix: str, now: datetime | None = None) -> PartnerKey:
    found = db.session.scalar(select(PartnerKey).where(PartnerKey.prefix == prefix.strip().lower()))
    if found is None:
        raise PartnerError("no_key")
    if found.revoked_at is None:
        found.revoked_at = now or datetime.now(UTC)
        db.session.commit()
        log.warning("partner key revoked partner=%s prefix=%s", found.partner.code, found.prefix)
    return found


def live_keys(partner: Partner) -> list[PartnerKey]:
    return [k for k in partner.keys if k.revoked_at is None]


def authenticate(key: str) -> Partner | None:
    """The active partner whose live key this is, or None (a malformed, unknown, revoked or
    wrong key, or a partner switched off: the caller cannot tell which)."""
    match = KEY_RE.match(key)
    if match is None:
        return None
    found = db.session.execute(
        select(PartnerKey.secret_hash, PartnerKey.last_used_at, Partner)
        .join(Partner, Partner.id == PartnerKey.partner_id)
        .where(PartnerKey.prefix == match.group(1), PartnerKey.revoked_at.is_(None))).first()
    if found is None or not hmac.compare_digest(found[0], _digest(key)):
        return None
    partner: Partner = found[2]
    if not partner.active:
        return None
    now = datetime.now(UTC)
    if found[1] is None or found[1] < now - LAST_USED_STEP:
        # Written only when stale, so that most requests only read (no write lock on SQLite).
        db.session.execute(update(PartnerKey).where(PartnerKey.prefix == match.group(1))
                           .values(last_used_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    return partner


def partners_and_keys() -> list[Partner]:
    """Every partner, by code, with its keys loaded (the admin's page)."""
    return list(db.session.scalars(select(Partner).options(selectinload(Partner.keys)).order_by(Partner.code)))


def key_prefix(key: str) -> str | None:
    """The public prefix of a well-formed key (what a log line may name), else None."""
    match = KEY_RE.match(key)
    return match.group(1) if match else None
