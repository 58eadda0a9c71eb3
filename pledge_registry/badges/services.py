"""What goes on a shop's badge, from its registry record and active pledges."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..domain import DomainError
from ..models import Merchant, PledgeKind
from ..pledges.standing import shop_standing
from ..urls import absolute_url
from .render import BadgeContent


class BadgeError(DomainError):
    """A refusal of this feature's rules."""


def badge_serial(merchant: Merchant) -> str:
    """Printed on the sticker for staff to quote; not a secret (the QR code's URL is)."""
    return f"{current_app.config['BADGE_SERIAL_PREFIX']}-{merchant.created_at:%Y}-{merchant.id:06d}"


def badge_url(merchant: Merchant) -> str:
    return absolute_url("public.scan", code=merchant.badge_code)


def badge_content(merchant: Merchant, now: datetime | None = None) -> BadgeContent:
    """The badge's content: always Chinese (it hangs in a Chinese shop window)."""
    now = now or datetime.now(UTC)
    standing = shop_standing(merchant, now)
    if not standing.badge_ready:
        raise BadgeError("not_ready")
    active = {kind: pledge for kind, pledge, state in standing.pledges if state == "valid"}
    with force_locale("zh"):
        labels = []
        if PledgeKind.GENUINE in active:
            labels.append(_("Genuine goods pledge"))
        if PledgeKind.RETURNS in active:
            labels.append(_("Offline no-reason returns pledge"))
        returns = active.get(PledgeKind.RETURNS)
        return_line = _("Return within %(days)d days, no reason needed", days=returns.return_days) if returns else None
        # The issue date is the day the newest active pledge came into force, so the same
        # badge renders the same bytes (and hits the cache) until something changes.
        issued = max(p.activated_at for p in active.values() if p.activated_at)
        return BadgeContent(
            shop_name=merchant.shop_name,
            pledge_labels=tuple(labels),
            return_line=return_line,
            serial=badge_serial(merchant),
            issue_date=f"{issued:%Y-%m-%d}",
            instruction=_("Scan to see the pledges / complain"),
            url=badge_url(merchant),
            title=_("Safe consumption pledge shop"),
            footer=current_app.config["BUREAU_NAME"],
        )
