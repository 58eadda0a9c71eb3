"""Display labels of the stored complaint codes.

A case reads differently to the two sides, on purpose: officers and merchants read a case
file in the bureau's terms ("Withdrawn by the shopper"), while shoppers read their own
case addressed to them, in plainer words ("Withdrawn by you", "You filed the case"). So
status, outcome, rejection reason, request type and timeline events have an officer's table
(STATUS_LABELS ...) and a shopper's (SHOPPER_STATUS_LABELS ...); the rest have one wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..labels import label
from ..models import (
    PAUSE_REASONS,
    PROBLEM_TYPES,
    PROPOSAL_KINDS,
    REJECT_REASONS,
    REQUEST_TYPES,
    SURVEY_ANSWERS,
    WANTS,
    Channel,
    ComplaintStatus,
    ConsentMethod,
    Outcome,
)

# --- one wording for both sides ----------------------------------------------------------

PROBLEM_TYPE_LABELS = {
    "quality": _l("Product quality"),
    "genuine_doubt": _l("Doubt that goods are genuine"),
    "refused_return": _l("Return refused"),
    "contract_terms": _l("Contract terms"),
    "advertising": _l("Advertising"),
    "price": _l("Price"),
    "service": _l("Service"),
    "safety": _l("Safety"),
    "other": _l("Other"),
}
WANT_LABELS = {
    "refund": _l("Refund"),
    "exchange": _l("Exchange"),
    "repair": _l("Repair"),
    "compensation": _l("Compensation"),
    "apology": _l("Apology"),
}
SURVEY_LABELS = {
    "satisfied": _l("Satisfied"),
    "neutral": _l("Neither satisfied nor dissatisfied"),
    "dissatisfied": _l("Dissatisfied"),
}
PROPOSAL_LABELS = {
    "refund": _l("Refund"),
    "exchange": _l("Exchange"),
    "repair": _l("Repair"),
    "other": _l("Other"),
}

CHANNEL_LABELS = {
    "web": _l("This platform's complaint form"),
    "12315": _l("12315 platform or hotline"),
    "12345": _l("12345 city hotline"),
    "phone": _l("Telephone call to the bureau"),
    "letter": _l("Letter"),
    "walk_in": _l("In person at the bureau"),
    "referral": _l("Referred by a superior authority"),
    "station_desk": _l("Supervision station desk"),
    "partner_api": _l("Partner system"),
}
PAUSE_REASON_LABELS = {
    "testing": _l("Waiting for a test"),
    "appraisal": _l("Waiting for an appraisal"),
    "expert_review": _l("Waiting for an expert review"),
    "other": _l("Other reason the rules do not count"),
}
CONSENT_METHOD_LABELS = {
    "web_form": _l("Ticked on the complaint form"),
    "oral": _l("Given orally, noted by the officer"),
    "written": _l("Given in writing"),
    "channel": _l("Collected by the channel that passed the case on"),
}

# --- officers and merchants --------------------------------------------------------------

STATUS_LABELS = {
    "received": _l("Received, waiting for acceptance"),
    "accepted": _l("Accepted"),
    "with_merchant": _l("With the merchant"),
    "merchant_answered": _l("Merchant answered"),
    "mediating": _l("Mediation by the bureau"),
    "closed": _l("Closed"),
}
OUTCOME_LABELS = {
    "resolved": _l("Resolved by agreement"),
    "not_resolved": _l("Not resolved"),
    "rejected": _l("Not accepted"),
    "withdrawn": _l("Withdrawn by the shopper"),
}
REJECT_REASON_LABELS = {
    "outside_scope": _l("Outside the bureau's scope"),
    "court_or_arbitration": _l("Already before a court or an arbitrator"),
    "no_merchant": _l("No identifiable merchant"),
    "too_old": _l("Older than 3 years"),
    "no_contact": _l("Contact details missing"),
}
REQUEST_TYPE_LABELS = {
    "complaint": _l("Complaint"),
    "report": _l("Report of a violation"),
    "consultation": _l("Consultation"),
}
EVENT_LABELS = {
    "received": _l("Complaint received"),
    "accepted": _l("Accepted by the bureau"),
    "forwarded": _l("Forwarded to the merchant"),
    "merchant_reply": _l("The merchant answered"),
    "mediating": _l("Mediation started"),
    "proposal_rejected": _l("The shopper did not accept the proposal"),
    "resolved": _l("Closed: resolved"),
    "not_resolved": _l("Closed: not resolved"),
    "rejected": _l("Not accepted"),
    "withdrawn": _l("Withdrawn"),
    "shopper_info": _l("The shopper added information"),
    "reassigned": _l("Reassigned"),
    "linked_duplicate": _l("Linked as a duplicate"),
    "handed_to_bureau": _l("Handed by the station to the bureau"),
    "clock_paused": _l("Deadlines stopped"),
    "clock_resumed": _l("Deadlines running again"),
    "recorded": _l("Recorded from another channel"),
    "registered_12315": _l("Registered on 12315"),
}

# --- the shopper, about their own case ---------------------------------------------------

# Also the choices of the filing form.
SHOPPER_REQUEST_TYPE_LABELS = {
    "complaint": _l("Complaint: I want the bureau to help me get a remedy"),
    "report": _l("Report: the shop breaks the rules (no personal remedy)"),
    "consultation": _l("Question: I want advice"),
}
SHOPPER_STATUS_LABELS = {
    "received": _l("Received: waiting for the bureau to accept it"),
    "accepted": _l("Accepted by the bureau"),
    "with_merchant": _l("Sent to the shop for an answer"),
    "merchant_answered": _l("The shop has answered"),
    "mediating": _l("The bureau is mediating"),
    "closed": _l("Closed"),
}
SHOPPER_OUTCOME_LABELS = {
    "resolved": _l("Resolved by agreement"),
    "not_resolved": _l("Not resolved"),
    "rejected": _l("Not accepted"),
    "withdrawn": _l("Withdrawn by you"),
}
SHOPPER_REJECT_REASON_LABELS = {
    "outside_scope": _l("The matter is outside the bureau's remit."),
    "court_or_arbitration": _l("The matter is already before a court or an arbitration body."),
    "no_merchant": _l("The shop could not be identified."),
    "too_old": _l("The purchase was too long ago."),
    "no_contact": _l("We could not reach you."),
}
SHOPPER_EVENT_LABELS = {
    "received": _l("You filed the case"),
    "accepted": _l("The bureau accepted the case"),
    "forwarded": _l("The case was sent to the shop for an answer"),
    "merchant_reply": _l("The shop answered"),
    "mediating": _l("The bureau started mediating"),
    "shopper_info": _l("You added information"),
    "proposal_rejected": _l("You rejected the shop's proposal"),
    "resolved": _l("Closed: resolved by agreement"),
    "not_resolved": _l("Closed: no agreement was reached"),
    "rejected": _l("Closed: not accepted by the bureau"),
    "withdrawn": _l("Closed: you withdrew the case"),
    "clock_paused": _l("The deadlines are stopped while a test or an appraisal is done"),
    "clock_resumed": _l("The deadlines are running again"),
    "recorded": _l("The bureau recorded your request"),
}

# Who moved a case, when no account is named (complaint_event.actor_role).
ACTOR_LABELS = {
    "shopper": _l("the shopper"),
    "merchant": _l("the merchant"),
    "staff": _l("bureau staff"),
    "station": _l("station officer"),
    "system": _l("automatic"),
}

LABEL_TABLES: dict[str, Mapping[str, Any]] = {
    "actor": ACTOR_LABELS, "request_type": REQUEST_TYPE_LABELS, "status": STATUS_LABELS, "outcome": OUTCOME_LABELS,
    "reject_reason": REJECT_REASON_LABELS,
    "proposal": PROPOSAL_LABELS, "problem": PROBLEM_TYPE_LABELS, "want": WANT_LABELS, "event": EVENT_LABELS,
    "channel": CHANNEL_LABELS, "consent_method": CONSENT_METHOD_LABELS, "pause_reason": PAUSE_REASON_LABELS,
}
SHOPPER_LABEL_TABLES: dict[str, Mapping[str, Any]] = {
    **LABEL_TABLES,
    "request_type": SHOPPER_REQUEST_TYPE_LABELS, "status": SHOPPER_STATUS_LABELS,
    "outcome": SHOPPER_OUTCOME_LABELS, "reject_reason": SHOPPER_REJECT_REASON_LABELS,
    "event": SHOPPER_EVENT_LABELS, "survey": SURVEY_LABELS,
}

for _tables in (LABEL_TABLES, SHOPPER_LABEL_TABLES):
    assert set(_tables["status"]) == {s.value for s in ComplaintStatus}
    assert set(_tables["outcome"]) == {o.value for o in Outcome}
    assert set(_tables["reject_reason"]) == set(REJECT_REASONS)
    assert set(_tables["request_type"]) == set(REQUEST_TYPES)
assert set(PROPOSAL_LABELS) == set(PROPOSAL_KINDS)
assert set(PROBLEM_TYPE_LABELS) == set(PROBLEM_TYPES)
assert set(WANT_LABELS) == set(WANTS)
assert set(SURVEY_LABELS) == set(SURVEY_ANSWERS)
assert set(PAUSE_REASON_LABELS) == set(PAUSE_REASONS)
assert set(CHANNEL_LABELS) == {c.value for c in Channel}
assert set(CONSENT_METHOD_LABELS) == {m.value for m in ConsentMethod}


def complaint_label(table: str, code: str | None) -> str:
    """An officer's or merchant's label of a stored complaint code (`table`: "status" ...)."""
    return label(LABEL_TABLES[table], code)


def shopper_label(table: str, code: str | None) -> str:
    """The shopper's label of a stored code of their own case."""
    return label(SHOPPER_LABEL_TABLES[table], code)


def shopper_event_label(event: Any) -> str:
    """A line of the shopper's timeline: the event's own label, else the status it reached."""
    return str(SHOPPER_EVENT_LABELS.get(event.kind) or SHOPPER_STATUS_LABELS.get(event.to_status) or _("Update"))


# --- the legal rule sets (complaints.legal_rules) ------------------------------------------------

RULE_SET_NAMES = {
    "samr-20": _l("Interim Measures for Handling Complaints and Reports in Market Regulation "
                  "(SAMR Order No. 20 of 2019)"),
    "samr-121": _l("Measures for Handling Complaints and Reports in Market Regulation (SAMR Order No. 121)"),
}
# What could and could not be checked of each text, as staff read it on the admin page.
RULE_SET_SOURCES = {
    "samr-20": _l("In force from 2020-01-01 to 2026-04-14. Articles 14 and 21 were checked against published "
                  "quotations of the text. The article that leaves testing and appraisal time out of the limits "
                  "could not be checked here."),
    "samr-121": _l("In force from 2026-04-15, replacing Order No. 20. No published copy of the articles that set "
                   "these limits could be found here, so no article number is given: check them against the text "
                   "published on samr.gov.cn before citing one."),
}
LEGAL_STEP_LABELS = {
    "acceptance": _l("Decide on acceptance, from receipt"),
    "mediation": _l("Mediation ends without agreement, from acceptance"),
    "termination_notice": _l("Notify both sides that mediation ended"),
    "violation_check": _l("Check a violation found during mediation"),
}
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1-99 as written in the number of an article (14: 十四, 21: 二十一)."""
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _DIGITS[tens]) + "十" if tens else "") + (_DIGITS[ones] if ones or not tens else "")


def article_label(number: int | None) -> str:
    if number is None:
        return _("not checked")
    from ..i18n import select_locale

    return _("Article %(n)s", n=str(number) if select_locale() == "en" else chinese_number(number))


def limit_label(amount: int, unit: str, extension: int = 0) -> str:
    text = ngettext("%(num)d working day", "%(num)d working days", amount) if unit == "workdays" \
        else ngettext("%(num)d calendar day", "%(num)d calendar days", amount)
    if extension:
        text = _("%(limit)s, extendable once by %(n)d", limit=text, n=extension)
    return text


TEMPLATE_GLOBALS: dict[str, Callable[..., str]] = {
    "rule_set_name": lambda code: label(RULE_SET_NAMES, code),
    "rule_set_source": lambda code: label(RULE_SET_SOURCES, code),
    "legal_step_label": lambda code: label(LEGAL_STEP_LABELS, code),
    "article_label": article_label,
    "limit_label": limit_label,
    "complaint_label": complaint_label,
    "shopper_label": shopper_label,
    "shopper_event_label": shopper_event_label,
}
