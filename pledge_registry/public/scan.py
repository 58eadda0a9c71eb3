"""The scan page's facts and its per-process cache.

Peak traffic is many phones scanning the same few badges at once (15 March, mall events),
so the page is rendered once per content and served from memory. Correctness rests on
Merchant.public_version, which every change that alters the page bumps in the same
transaction: each request reads that one integer (an indexed lookup), so a suspension
shows at the very next scan in every worker, and nothing stale is served.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Merchant, Pledge
from ..pledges.standing import ShopStanding, shop_standing

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    etag: str
    valid_until: datetime  # the page changes by itself then (a pledge expires, the date turns)


class PageCache:
    """A bounded LRU of rendered pages, safe across threads of one worker."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, CachedPage] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, now: datetime) -> CachedPage | None:
        with self._lock:
            page = self._items.get(key)
            if page is None:
                return None
            if page.valid_until <= now:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return page

    def put(self, key: tuple, page: CachedPage) -> None:
        with self._lock:
            self._items[key] = page
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def version_of(code: str) -> tuple[int, int] | None:
    """(merchant id, public_version) for a badge code: the only query of a cached scan."""
    row = db.session.execute(
        select(Merchant.id, Merchant.public_version).where(Merchant.badge_code == code)
    ).first()
    return (row[0], row[1]) if row else None


def load_merchant(merchant_id: int) -> Merchant:
    return db.session.scalars(
        select(Merchant).where(Merchant.id == merchant_id).options(
            selectinload(Merchant.pledges).joinedload(Pledge.template),
        )
    ).one()


def page_valid_until(standing: ShopStanding, now: datetime) -> datetime:
    """When the page would change with no edit: the next expiry, or local midnight."""
    local_midnight = datetime.combine(now.astimezone(LOCAL_TZ).date() + timedelta(days=1), time(), LOCAL_TZ)
    moments = [local_midnight.astimezone(UTC)]
    moments += [p.expires_at for _, p, s in standing.pledges if s == "valid" and p.expires_at]
    return min(moments)


def cached_render(cache: PageCache, key: tuple, now: datetime,
                  render: Callable[[], tuple[bytes, datetime]]) -> CachedPage:
    page = cache.get(key, now)
    if page is None:
        body, valid_until = render()
        etag = hashlib.blake2b(body, digest_size=12).hexdigest()
        page = CachedPage(body, etag, valid_until)
        cache.put(key, page)
    return page

