"""The partners' complaint intake (Open311 GeoReport v2), on the web form's own workflow:
a partner's request is a NewComplaint, checked by workflow.validate_new and filed by
filing.plan_complaint / record_complaint like any other; it only says where it came from
(channel partner_api, the partner, the partner's own id) and that the partner collected the
shopper's consent.

Idempotent by the partner's own id: it makes the case's idempotency key, so a retry (or
the same request sent twice at once) files one case and answers it again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select

from ..complaints import filing
from ..complaints.labels import PROBLEM_TYPE_LABELS
from ..complaints.workflow import NewComplaint, WorkflowError
from ..extensions import db
from ..localtime import LOCAL_TZ
from ..models import (
    PROBLEM_TYPES,
    Channel,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    ConsentMethod,
    Merchant,
    MerchantStatus,
    Partner,
)
from ..models.complaints import TRACKING_ALPHABET

COMPLAINABLE = (MerchantStatus.APPROVED, MerchantStatus.CLOSED)  # as on the web form
MAX_IDS = 20


def services() -> list[dict[str, Any]]:
    """Our problem types as GeoReport services (every one files a complaint)."""
    names: dict[str, dict[str, str]] = {}
    for lang in ("zh", "en"):
        with force_locale(lang):
            names[lang] = {code: str(PROBLEM_TYPE_LABELS[code]) for code in PROBLEM_TYPES}
    return [{"service_code": code, "service_name": names["zh"][code], "description": names["en"][code],
             "metadata": False, "type": "realtime", "keywords": code, "group": "complaint"}
            for code in PROBLEM_TYPES]


def channel_ref(partner: Partner, partner_request_id: str) -> str:
    """The case's reference in the partner_api channel: unique per partner, as the channel's
    reference must be unique across all of them."""
    return f"{partner.code}:{partner_request_id}"


def _idempotency_key(partner: Partner, partner_request_id: str) -> str:
    return f"partner:{partner.id}:{partner_request_id}"


def complaint_from(partner: Partner, form: dict[str, Any], merchant_id: int) -> NewComplaint:
    amount = form.get("amount_paid")
    name = " ".join(part for part in (form.get("last_name", ""), form.get("first_name", "")) if part)
    return NewComplaint(
        idempotency_key=_idempotency_key(partner, form["partner_request_id"]), merchant_id=merchant_id,
        request_type=form["request_type"], item=form["item"], purchased_on=form.get("purchased_on"),
        amount_paid_cents=int(Decimal(amount) * 100) if amount else None, problem_type=form["service_code"],
        account=form["description"], wants=tuple(dict.fromkeys(form.get("wants") or ())),
        shopper_name=name or None, shopper_phone=form["phone"], consent=bool(form["consent"]),
        channel=Channel.PARTNER_API, channel_ref=channel_ref(partner, form["partner_request_id"]),
        consent_method=ConsentMethod.CHANNEL, partner_id=partner.id)


def complainable_merchant(badge_code: str) -> int | None:
    row = db.session.execute(select(Merchant.id, Merchant.status).where(Merchant.badge_code == badge_code)).first()
    return row.id if row is not None and row.status in COMPLAINABLE else None


def file(partner: Partner, form: dict[str, Any]) -> tuple[Complaint, bool]:
    """File the partner's request (or find the one its id filed before): (case, created).
    Raises workflow.WorkflowError("no_merchant") for an unknown or unlisted badge code, and
    the workflow's refusals as the web form gets them."""
    earlier = filing.existing(_idempotency_key(partner, form["partner_request_id"]))
    if earlier is not None:
        return db.session.get_one(Complaint, earlier.id), False
    merchant_id = complainable_merchant(form["address_id"])
    if merchant_id is None:
        raise WorkflowError("no_merchant", field="address_id")
    return filing.file_complaint(complaint_from(partner, form, merchant_id))


def partner_request_id(partner: Partner, c: Complaint) -> str:
    return (c.channel_ref or "").removeprefix(f"{partner.code}:")


def _updated(c: Complaint) -> datetime:
    last = db.session.scalar(select(func.max(ComplaintEvent.created_at)).where(ComplaintEvent.complaint_id == c.id))
    return last or c.received_at


def request_view(partner: Partner, c: Complaint) -> dict[str, Any]:
    """The request as the partner that filed it sees it: where it stands and what is next;
    nothing of what the shopper said or who they are."""
    closed = c.status == ComplaintStatus.CLOSED
    if closed:
        expected = None
    else:
        expected = c.acceptance_due_at if c.status == ComplaintStatus.RECEIVED else c.completion_due_at
    with force_locale("zh"):
        service_name = str(PROBLEM_TYPE_LABELS[c.problem_type])
    return {
        "service_request_id": c.tracking_code, "partner_request_id": partner_request_id(partner, c),
        "status": "closed" if closed else "open",
        "status_notes": f"{c.status}: {c.outcome}" if closed and c.outcome else str(c.status),
        "service_code": c.problem_type, "service_name": service_name,
        "agency_responsible": current_app.config["BUREAU_NAME"],
        "requested_datetime": c.received_at, "updated_datetime": _updated(c), "expected_datetime": expected,
        "address": c.merchant.address, "address_id": c.merchant.badge_code,
    }


def own_request(partner: Partner, service_request_id: str) -> Complaint | None:
    """The partner's case with this tracking code; None when there is none *of this partner's*
    (another partner's or a web-form case answers exactly like a missing one)."""
    code = service_request_id.replace("-", "").strip().upper()
    if not code or any(c not in TRACKING_ALPHABET for c in code):
        return None  # not a tracking code (a NUL in a URL would otherwise reach PostgreSQL)
    return db.session.scalar(select(Complaint).where(Complaint.tracking_code == code,
                                                     Complaint.partner_id == partner.id))


def _aware(moment: datetime) -> datetime:
    """A date-time without a zone is local time (what a partner in the city means)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TZ)


def own_requests(partner: Partner, args: dict[str, Any]) -> list[Complaint]:
    """The partner's cases, newest first, filtered as GeoReport's GET requests.json asks."""
    query = select(Complaint).where(Complaint.partner_id == partner.id)
    if args.get("service_request_id"):
        codes = [c.replace("-", "").strip().upper() for c in args["service_request_id"].split(",")][:MAX_IDS]
        query = query.where(Complaint.tracking_code.in_(codes))
    if args.get("service_code"):
        query = query.where(Complaint.problem_type == args["service_code"])
    if args.get("status") == "open":
        query = query.where(Complaint.status != ComplaintStatus.CLOSED)
    elif args.get("status") == "closed":
        query = query.where(Complaint.status == ComplaintStatus.CLOSED)
    if args.get("start_date"):
        query = query.where(Complaint.received_at >= _aware(args["start_date"]))
    if args.get("end_date"):
        query = query.where(Complaint.received_at < _aware(args["end_date"]))
    offset = (args["page"] - 1) * args["per_page"]
    return list(db.session.scalars(query.order_by(Complaint.id.desc()).limit(args["per_page"]).offset(offset)))
