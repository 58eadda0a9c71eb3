"""What the API accepts and answers, as marshmallow schemas: webargs validates every request
against the argument schemas, and the OpenAPI document is generated from all of them.

Query strings are lenient about parameters they do not know (a cache-buster, `lang`), strict
about the ones they do: a wrong type, a value outside its list or range, or text with control
characters answers 422 with the field's message, never a guess.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from ..forms import is_control_char
from ..models import CATEGORIES, GRADES, PROBLEM_TYPES, NominationLevel, PledgeKind
from ..search.text import MAX_QUERY
from ..urls import MAX_ID

MAX_PAGE = 10_000
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
UNIT_LEVELS = tuple(level.value for level in NominationLevel)
PLEDGE_KINDS = tuple(kind.value for kind in PledgeKind)
DIMENSIONS = ("town", "area", "category", "problem_type", "channel")
PERIOD_RE = r"^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"


class Text(fields.String):
    """Text from outside: surrounding spaces stripped, control characters refused (PostgreSQL
    refuses NUL in text; no person types the others)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if any(is_control_char(c) for c in text):
            raise ma.ValidationError("Remove the control characters from this field.")
        return text


def _id(description: str) -> fields.Integer:
    return fields.Integer(validate=validate.Range(1, MAX_ID), metadata={"description": description})


class Lenient(ma.Schema):
    """Query strings: a parameter we do not know (a cache-buster, `lang`) is not an error.
    Answers: the document does not close them (additionalProperties), since v1 may add."""

    class Meta:
        unknown = ma.EXCLUDE


QueryArgs = Lenient


class PageArgs(QueryArgs):
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(load_default=DEFAULT_PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE))


class MerchantSearchArgs(PageArgs):
    q = Text(load_default="", validate=validate.Length(max=MAX_QUERY), metadata={
        "description": "Part of the shop name, legal name, address or credit code (Chinese substrings from "
                       "one character)."})
    town = _id("A town's id (see /api/v1/towns).")
    area = _id("A commercial area's id (see /api/v1/areas).")
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    pledge = fields.String(validate=validate.OneOf(PLEDGE_KINDS), metadata={
        "description": "Only shops whose pledge of this kind is in force."})
    grade = fields.String(validate=validate.OneOf(GRADES), metadata={"description": "The current rating's grade."})
    unit = fields.String(validate=validate.OneOf(UNIT_LEVELS), metadata={
        "description": "Only shops holding this title today."})
    sort = fields.String(load_default="newest", validate=validate.OneOf(("newest", "oldest")), metadata={
        "description": "By registration: newest first (default) or oldest first."})


class UnitArgs(QueryArgs):
    level = fields.String(validate=validate.OneOf(UNIT_LEVELS))
    town = _id("A town's id.")


class AreaArgs(QueryArgs):
    town = _id("Only the areas of this town.")


class StatisticsArgs(QueryArgs):
    period = fields.String(required=True, validate=validate.Regexp(PERIOD_RE), metadata={
        "description": "A year (2026), a month (2026-03) or a quarter (2026-Q1), local time."})
    dimension = fields.String(load_default="town", validate=validate.OneOf(DIMENSIONS))
    request_type = fields.String(load_default="complaint",
                                 validate=validate.OneOf(("complaint", "report", "consultation")))


# --- answers ----------------------------------------------------------------------------

class ErrorBody(Lenient):
    status = fields.Integer(required=True)
    message = fields.String(required=True)
    id = fields.String(metadata={"description": "The error's id in the server's log (500 only)."})
    field_errors = fields.Dict(keys=fields.String(), data_key="fields",
                               metadata={"description": "What was wrong, field by field (422)."})


class ErrorSchema(Lenient):
    """The one envelope of every error answer under /api/."""

    error = fields.Nested(ErrorBody, required=True)


class Named(Lenient):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String(required=True)


class Area(Named):
    town_id = fields.Integer(required=True)


class Town(Named):
    pass


class Coded(Lenient):
    code = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "In Chinese."})
    name_en = fields.String(required=True)


class PageLinks(Lenient):
    self = fields.String(required=True)
    first = fields.String(required=True)
    last = fields.String(required=True)
    prev = fields.String(allow_none=True)
    next = fields.String(allow_none=True)


class PageMeta(Lenient):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={
        "description": "Matches counted up to `total_cap`; `total_capped` says there are more."})
    total_capped = fields.Boolean(required=True)
    total_cap = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    links = fields.Nested(PageLinks, required=True)


class MerchantLinks(Lenient):
    self = fields.String(required=True)
    scan_page = fields.String(required=True)
    ratings = fields.String(required=True)


class MerchantSummary(Lenient):
    id = fields.Integer(required=True)
    badge_code = fields.String(required=True)
    shop_name = fields.String(required=True)
    legal_name = fields.String(required=True)
    credit_code = fields.String(required=True)
    address = fields.String(required=True)
    town_id = fields.Integer(required=True)
    area_id = fields.Integer(required=True, allow_none=True)
    category = fields.String(required=True)
    state = fields.String(required=True, metadata={
        "description": "What the badge means now: valid, suspended, revoked, expired, pending or closed."})
    grade = fields.String(required=True, allow_none=True, metadata={"description": "Current rating grade."})
    links = fields.Nested(MerchantLinks, required=True)


class MerchantPage(PageMeta):
    items = fields.List(fields.Nested(MerchantSummary), required=True)


class Terms(Lenient):
    title = fields.String(required=True)
    paragraphs = fields.List(fields.String(), required=True)


class PledgeOut(Lenient):
    kind = fields.String(required=True)
    state = fields.String(required=True)
    template_version = fields.Integer(required=True)
    activated_at = fields.DateTime(required=True, allow_none=True)
    expires_at = fields.DateTime(required=True, allow_none=True)
    return_days = fields.Integer(required=True, allow_none=True)
    refund_method = fields.String(required=True, allow_none=True)
    refund_days = fields.Integer(required=True, allow_none=True)
    conditions = fields.String(required=True)
    excluded_goods = fields.List(fields.String(), required=True)
    terms = fields.Dict(keys=fields.String(), values=fields.Nested(Terms), required=True, metadata={
        "description": "The pledge's words by language (zh, en)."})


class Factor(Lenient):
    key = fields.String(required=True)
    points = fields.Float(required=True)
    max_points = fields.Float(required=True)
    detail = fields.Dict(keys=fields.String(), required=True, metadata={
        "description": "The figures the factor was scored from (counts and shares)."})


class RatingOut(Lenient):
    grade = fields.String(required=True)
    score = fields.Float(required=True)
    cap = fields.String(required=True, allow_none=True, metadata={"description": "The rule that capped the grade."})
    model_version = fields.String(required=True)
    computed_at = fields.DateTime(required=True)
    factors = fields.List(fields.Nested(Factor), required=True)


class RatingHistoryItem(Lenient):
    grade = fields.String(required=True)
    score = fields.Float(required=True)
    cap = fields.String(required=True, allow_none=True)
    model_version = fields.String(required=True)
    computed_at = fields.DateTime(required=True)
    current = fields.Boolean(required=True)


class RatingHistoryPage(PageMeta):
    items = fields.List(fields.Nested(RatingHistoryItem), required=True)


class Reply(Lenient):
    text = fields.String(required=True)
    published_at = fields.DateTime(required=True)


class Title(Lenient):
    level = fields.String(required=True)
    title_expires_on = fields.Date(required=True)


class MerchantDetail(MerchantSummary):
    opening_hours = fields.String(required=True)
    town = fields.Nested(Town, required=True)
    area = fields.Nested(Area, required=True, allow_none=True)
    pledges = fields.List(fields.Nested(PledgeOut), required=True)
    rating = fields.Nested(RatingOut, required=True, allow_none=True)
    reply = fields.Nested(Reply, required=True, allow_none=True, metadata={
        "description": "The merchant's public reply to its rating."})
    titles = fields.List(fields.Nested(Title), required=True)


class Unit(Lenient):
    level = fields.String(required=True)
    title_expires_on = fields.Date(required=True)
    merchant = fields.Nested(MerchantSummary, required=True)


class UnitList(Lenient):
    items = fields.List(fields.Nested(Unit), required=True)


class TownList(Lenient):
    items = fields.List(fields.Nested(Town), required=True)


class AreaList(Lenient):
    items = fields.List(fields.Nested(Area), required=True)


class CodedList(Lenient):
    items = fields.List(fields.Nested(Coded), required=True)


class Measures(Lenient):
    """One cell of the statistics. Every figure is null when the cell is suppressed."""

    count = fields.Integer(required=True, allow_none=True)
    suppressed = fields.Boolean(required=True)
    share_accepted_on_time = fields.Float(required=True, allow_none=True)
    share_finished_on_time = fields.Float(required=True, allow_none=True)
    satisfaction_rate = fields.Float(required=True, allow_none=True)
    amount_recovered_yuan = fields.Float(required=True, allow_none=True)


class StatisticsRow(Measures):
    key = fields.String(required=True, allow_none=True, metadata={
        "description": "The dimension's value: a town or area id, a category, problem-type or channel code; "
                       "null for merchants outside any commercial area."})


class Statistics(Lenient):
    period = fields.String(required=True)
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    dimension = fields.String(required=True)
    request_type = fields.String(required=True)
    minimum_count = fields.Integer(required=True, metadata={
        "description": "Cells counting fewer cases than this are suppressed, and so is a second cell "
                       "when one alone would be, so that no suppressed count can be worked out."})
    totals = fields.Nested(Measures, required=True)
    rows = fields.List(fields.Nested(StatisticsRow), required=True)


class OpenDataFile(Lenient):
    name = fields.String(required=True)
    format = fields.String(required=True)
    url = fields.String(required=True)
    bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True)


class OpenDataField(Lenient):
    name = fields.String(required=True)
    type = fields.String(required=True)
    description = fields.String(required=True)


class OpenData(Lenient):
    licence = fields.String(required=True)
    licence_url = fields.String(required=True)
    schema_url = fields.String(required=True)
    generated_at = fields.DateTime(required=True, allow_none=True)
    records = fields.Integer(required=True, allow_none=True)
    files = fields.List(fields.Nested(OpenDataFile), required=True)
    # Added in v1: the files' columns (CSV) and keys (JSON Lines), and the README.txt beside them.
    columns = fields.List(fields.Nested(OpenDataField), metadata={"description": "The files' columns, in order."})
    readme_url = fields.String(metadata={"description": "README.txt: licence, fields, how to check SHA256SUMS."})



# --- Open311 GeoReport v2 (the partners' intake) ------------------------------------------

AMOUNT_RE = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
PARTNER_REF_RE = r"^[A-Za-z0-9._:-]{1,40}$"


class Service(Lenient):
    service_code = fields.String(required=True)
    service_name = fields.String(required=True)
    description = fields.String(required=True)
    metadata = fields.Boolean(required=True)
    type = fields.String(required=True)
    keywords = fields.String(required=True)
    group = fields.String(required=True)


class ServiceRequestForm(Lenient):
    """A new request, form-encoded as GeoReport v2 sends it; our details go in `attribute[...]`.
    Fields of the standard we do not use (lat, long, email, media_url ...) are ignored."""

    class Meta:
        unknown = ma.EXCLUDE

    api_key = fields.String(load_only=True, metadata={
        "description": "The partner's key, if not sent in the X-API-Key header."})
    service_code = fields.String(required=True, validate=validate.OneOf(PROBLEM_TYPES), metadata={
        "description": "A problem type, from services.json."})
    address_id = fields.String(required=True, validate=validate.Length(1, 16), metadata={
        "description": "The merchant's badge code (printed on its QR badge)."})
    partner_request_id = fields.String(required=True, validate=validate.Regexp(PARTNER_REF_RE), metadata={
        "description": "The partner's own id of this request: a retry with the same id files nothing new."})
    description = Text(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "What happened, in the shopper's words."})
    phone = fields.String(required=True, validate=validate.Regexp(r"^1[3-9][0-9]{9}$"), metadata={
        "description": "The shopper's mainland mobile number (never shown back)."})
    first_name = Text(load_default="", validate=validate.Length(max=25))
    last_name = Text(load_default="", validate=validate.Length(max=25))
    item = Text(required=True, data_key="attribute[item]", validate=validate.Length(1, 200), metadata={
        "description": "What was bought (or what service)."})
    request_type = fields.String(data_key="attribute[request_type]", load_default="complaint",
                                 validate=validate.OneOf(("complaint", "report", "consultation")))
    purchased_on = fields.Date(data_key="attribute[purchased_on]", load_default=None)
    amount_paid = fields.String(data_key="attribute[amount_paid]", load_default=None,
                                validate=validate.Regexp(AMOUNT_RE), metadata={"description": "In yuan, e.g. 199.50."})
    wants = fields.List(fields.String(validate=validate.OneOf(("refund", "exchange", "repair", "compensation",
                                                                 "apology"))),
                        data_key="attribute[wants][]", load_default=list)
    consent = fields.Boolean(required=True, data_key="attribute[consent]", validate=validate.Equal(True), metadata={
        "description": "The shopper agreed, on the partner's side, to the bureau using these details."})


class RequestListArgs(QueryArgs):
    service_request_id = Text(validate=validate.Length(max=20 * 15), metadata={
        "description": "Comma-separated ids (at most 20)."})
    service_code = fields.String(validate=validate.OneOf(PROBLEM_TYPES))
    status = fields.String(validate=validate.OneOf(("open", "closed")))
    start_date = fields.DateTime(metadata={"description": "Received at or after (ISO 8601)."})
    end_date = fields.DateTime(metadata={"description": "Received before (ISO 8601)."})
    page = fields.Integer(load_default=1, validate=validate.Range(1, MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, MAX_PER_PAGE))


class ServiceRequest(Lenient):
    """A request as its partner may see it: where it stands, never the shopper's details."""

    service_request_id = fields.String(required=True, metadata={"description": "Our tracking code."})
    partner_request_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open or closed."})
    status_notes = fields.String(required=True, metadata={
        "description": "Our status (received, accepted, with_merchant, merchant_answered, mediating, closed) "
                       "and, once closed, the outcome: `closed: resolved`."})
    service_code = fields.String(required=True)
    service_name = fields.String(required=True)
    agency_responsible = fields.String(required=True)
    requested_datetime = fields.DateTime(required=True)
    updated_datetime = fields.DateTime(required=True)
    expected_datetime = fields.DateTime(required=True, allow_none=True, metadata={
        "description": "The next deadline: acceptance while received, then completion; null once closed."})
    address = fields.String(required=True, metadata={"description": "The merchant's shop address."})
    address_id = fields.String(required=True)


class ServiceRequestCreated(Lenient):
    service_request_id = fields.String(required=True)
    partner_request_id = fields.String(required=True)
    service_notice = fields.String(required=True)
    account_id = fields.String(required=True, allow_none=True)
