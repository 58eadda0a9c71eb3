"""Demo only: a partner system with a key, so that the intake API can be tried at once."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Partner
from .services import add_partner, issue_key

DEMO_PARTNER = "demo-kiosk"


def demo_partner() -> list[str]:
    """The demo partner's login line (its key, shown with the demo logins) when it is new."""
    if db.session.scalar(select(Partner.id).where(Partner.code == DEMO_PARTNER)) is not None:
        return []
    issued = issue_key(add_partner(DEMO_PARTNER, "示例商场自助机"))
    return [f"partner key ({DEMO_PARTNER}, /api/v1/open311/): {issued.key}"]
