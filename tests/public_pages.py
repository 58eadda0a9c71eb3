"""Every public page, with shops in every state: what the page tests and the browser tests
walk in both languages and both display modes.

The shops carry ASCII names, addresses and conditions, so that a Han character on an
English page can only come from the page itself, never from shop data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pledge_registry.complaints import workflow
from pledge_registry.compliance import services as compliance
from pledge_registry.extensions import db
from pledge_registry.models import Complaint, Merchant
from tests.factories import make_merchant, make_pledge, make_rating, make_user

# Each state a badge can be in; "unknown" is a code that is not in the registry.
STATES = ("valid", "suspended", "revoked", "expired", "closed", "pending")
UNKNOWN_CODE = "NOSUCHBADGE0001"
REPLY = "We changed the price labels in March. Come and see."


@dataclass
class Shops:
    by_state: dict[str, Merchant] = field(default_factory=dict)

    @property
    def valid(self) -> Merchant:
        return self.by_state["valid"]


def ascii_shop(n: int, state: str, **overrides: object) -> Merchant:
    return make_merchant(shop_name=f"Acme {state.title()} Store", legal_name=f"Acme Trading {n} Ltd",
                         address=f"{n} Renmin Road", opening_hours="09:00-21:00",
                         contact_name="Zhang San", **overrides)


def _pledges(merchant: Merchant, status: str = "active", **overrides: object) -> None:
    make_pledge(merchant, "genuine", status=status, **overrides)
    make_pledge(merchant, "returns", status="active", conditions="Goods intact, with the receipt")


def shops_in_every_state() -> Shops:
    """One shop per state, the valid one rated A with a published reply (needs an app context)."""
    shops = Shops()
    valid = ascii_shop(1, "valid")
    _pledges(valid)
    make_rating(valid, "A")
    compliance.publish_reply(valid.owner, valid, REPLY)
    shops.by_state["valid"] = valid

    suspended = ascii_shop(2, "suspended")
    _pledges(suspended, "suspended", status_note="Fake goods found on inspection")
    shops.by_state["suspended"] = suspended

    revoked = ascii_shop(3, "revoked")
    _pledges(revoked, "revoked", status_note="Repeated breaches")
    shops.by_state["revoked"] = revoked

    expired = ascii_shop(4, "expired")
    past = datetime.now(UTC) - timedelta(days=400)
    _pledges(expired, activated_at=past, expires_at=past + timedelta(days=365))
    shops.by_state["expired"] = expired

    closed = ascii_shop(5, "closed", status="closed")
    _pledges(closed)
    make_rating(closed, "A")  # its last rating: shown without its green
    shops.by_state["closed"] = closed

    shops.by_state["pending"] = ascii_shop(6, "pending")  # approved, no pledge yet
    db.session.commit()
    return shops


def anonymous_pages(shops: Shops) -> dict[str, str]:
    """name -> path of every public page a visitor opens without a case of their own."""
    code = shops.valid.badge_code
    pages = {
        "home": "/",
        "directory": "/merchants",
        "directory search": "/merchants?q=Acme",
        "unknown badge": f"/m/{UNKNOWN_CODE}",
        "rating": f"/m/{code}/rating",
        "named units": "/units",
        "complain without a badge": "/complain",
        "complain search": "/complain?q=Acme",
        "complaint form": f"/m/{code}/complain",
        "track": "/track",
        "sign in": "/account/login",
        "sign up": "/account/signup",
    }
    for state, merchant in shops.by_state.items():
        pages[f"scan {state}"] = f"/m/{merchant.badge_code}"
    return pages


SHOPPER_PHONE = "13912348866"
ENGLISH_COMPLAINT = {
    "request_type": "complaint", "item": "Electric kettle", "amount": "199", "problem_type": "quality",
    "account": "It leaked the day after I bought it; the shop would not take it back.",
    "wants": ["refund"], "shopper_name": "Chen", "shopper_phone": SHOPPER_PHONE, "consent": "y",
}


def closed_case_survey_path(c: Complaint, base_url: str) -> str:
    """Close the case as an officer would and return the path of its survey link."""
    officer = make_user(role="staff")
    case = db.session.get(Complaint, c.id)
    workflow.accept(officer, case)
    workflow.close(officer, case, "resolved", "Refunded", amount_recovered_cents=19900)
    return workflow.survey_url(case)[len(base_url):]
