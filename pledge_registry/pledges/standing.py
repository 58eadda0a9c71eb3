"""What a shop's badge means right now: the shop's standing, worst pledge first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..models import Merchant, MerchantStatus, Pledge, PledgeKind, PledgeStatus

# Worst first: one revoked pledge makes the whole badge read "revoked".
_SEVERITY = ("revoked", "suspended", "expired", "valid")
_STANDING = {PledgeStatus.ACTIVE, PledgeStatus.SUSPENDED, PledgeStatus.REVOKED, PledgeStatus.EXPIRED}


@dataclass(frozen=True)
class ShopStanding:
    state: str                                  # valid | suspended | revoked | expired | pending | closed
    # (kind, pledge, that pledge's standing: valid | suspended | revoked | expired | closed)
    pledges: tuple[tuple[str, Pledge, str], ...]

    @property
    def badge_ready(self) -> bool:
        return self.state == "valid"


def current_pledges(merchant: Merchant) -> list[Pledge]:
    """The latest decided pledge of each kind (active, suspended, revoked or expired)."""
    latest: dict[str, Pledge] = {}
    for pledge in merchant.pledges:
        if pledge.status in _STANDING and (
            pledge.kind not in latest or pledge.id > latest[pledge.kind].id
        ):
            latest[pledge.kind] = pledge
    return [latest[k] for k in (PledgeKind.GENUINE, PledgeKind.RETURNS) if k in latest]


def shop_standing(merchant: Merchant, now: datetime | None = None) -> ShopStanding:
    now = now or datetime.now(UTC)
    pledges = current_pledges(merchant)
    rows = []
    for pledge in pledges:
        status = pledge.standing(now)
        rows.append((pledge.kind, pledge, "valid" if status == PledgeStatus.ACTIVE else status))
    if merchant.status == MerchantStatus.CLOSED:
        # A closed shop keeps no promise: none of its pledges reads as valid any more.
        return ShopStanding("closed", tuple((kind, pledge, "closed") for kind, pledge, _ in rows))
    if merchant.status != MerchantStatus.APPROVED or not rows:
        return ShopStanding("pending", tuple(rows))
    state = min((r[2] for r in rows), key=_SEVERITY.index)
    return ShopStanding(state, tuple(rows))
