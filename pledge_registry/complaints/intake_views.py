"""Other channels' requests: an officer records one (`/staff/complaints/new`), staff export
the cases 12315 does not know yet, an admin edits how a channel's export file is read.

Thin views: the rules are complaints.intake's and complaints.channel_import's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from .. import refusals, spreadsheets
from ..extensions import db
from ..localtime import LOCAL_TZ, local_today
from ..models import Channel, Complaint, PhoneReveal
from ..refusals import bad_input, conflict
from ..search.directory import DirectoryQuery, search_directory
from ..security import admin_required, no_store, officer_required, security_event, staff_required
from . import channel_import, intake, staff_bp, workflow
from .intake_forms import IntakeForm, MappingForm
from .labels import complaint_label

SEARCH_RESULTS = 10
EXPORT_LIMIT = spreadsheets.MAX_ROWS

# What recording a channel's request can be refused, as officers read it.
REFUSALS: refusals.Table = {
    # The workflow's rules for every new case.
    "request_type": bad_input(_l("Not a valid choice."), "request_type"),
    "problem_type": bad_input(_l("Choose the kind of problem."), "problem_type"),
    "wants": bad_input(_l("Not a valid choice."), "wants"),
    "purchased_in_future": bad_input(_l("The date cannot be in the future."), "purchased_on"),
    # A channel's request.
    "channel": bad_input(_l("Not a valid choice."), "channel"),
    "channel_ref": bad_input(_l("A reference number has letters, digits and - _ . / : # only (at most 64)."),
                             "channel_ref"),
    "received_at": bad_input(_l("Enter the date and time it was received."), "received_at"),
    "received_in_future": bad_input(_l("The time it was received cannot be in the future."), "received_at"),
    "received_too_old": bad_input(_l("Received more than three years ago: check the date."), "received_at"),
    "consent_method": bad_input(_l("This kind of consent cannot be given on this channel."), "consent_method"),
    "duplicate": conflict(_l("This channel's reference number was recorded before."), "channel_ref"),
    "no_merchant": bad_input(_l("No shop taking complaints has this badge code."), "badge_code"),
    "no_shop": bad_input(_l("Give the shop's badge code, or find the shop and choose it."), "badge_code"),
}


def _default_channel() -> str:
    return Channel.STATION_DESK.value if current_user.is_station else ""


def _intake_page(form: IntakeForm, status: int = 200, results: list[Any] | None = None,
                 duplicate_of: int | None = None) -> Any:
    form.received_at.render_kw = {"max": datetime.now(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")}
    form.purchased_on.render_kw = {"max": local_today().isoformat()}
    return render_template("complaints/staff/new_request.html", form=form, results=results,
                           duplicate_of=duplicate_of), status


def _channel_request(form: IntakeForm, merchant_id: int) -> intake.ChannelRequest:
    return intake.ChannelRequest(
        channel=form.channel.data, channel_ref=intake.normalise_ref(form.channel_ref.data),
        received_at=form.received_at.data.replace(tzinfo=LOCAL_TZ), merchant_id=merchant_id,
        request_type=form.request_type.data, item=form.item.data, purchased_on=form.purchased_on.data,
        amount_paid_cents=form.amount_cents, problem_type=form.problem_type.data, account=form.account.data,
        wants=tuple(form.wants.data or ()), shopper_name=form.shopper_name.data or None,
        shopper_phone=form.shopper_phone.data or None, consent_method=form.consent_method.data,
        recorded_by=current_user._get_current_object())


@staff_bp.route("/new", methods=["GET", "POST"])
@officer_required
@no_store  # a re-rendered form holds the shopper's details
def record_request():
    """Record a request another channel received; the case then runs the normal workflow."""
    if request.method == "GET":
        badge = request.args.get("badge", "")[:40]
        return _intake_page(IntakeForm(formdata=None, channel=_default_channel(), badge_code=badge))
    form = IntakeForm()
    if form.searching:
        # Finding or choosing the shop: the same form back, as typed; nothing recorded.
        if form.pick.data:
            form.badge_code.data = form.pick.data.strip().lower()[:40]
        query = (form.shop_query.data or "").strip()[:50]
        results = search_directory(DirectoryQuery(text=query), 1, SEARCH_RESULTS).items if query else []
        return _intake_page(form, results=results)
    if not form.validate_on_submit():
        return _intake_page(form, 400)
    merchant_id = intake.complainable_merchant(form.badge_code.data or "")
    try:
        if merchant_id is None:
            raise intake.IntakeError("no_merchant" if form.badge_code.data else "no_shop")
        filed = intake.record(_channel_request(form, merchant_id))
    except (intake.IntakeError, workflow.WorkflowError) as err:
        status = refusals.refuse(err, form, REFUSALS, "channel_request_refused", channel=form.channel.data)
        return _intake_page(form, status, duplicate_of=getattr(err, "case_id", None))
    security_event("channel_request_recorded", complaint_id=filed.id, channel=form.channel.data)
    c = db.session.get_one(Complaint, filed.id)
    if workflow.can_handle(current_user, c):
        flash(_("Request recorded as case #%(id)d.", id=c.id), "success")
        return redirect(url_for("staff_complaints.case_detail", complaint_id=c.id))
    # A station's desk took a request about a shop outside its area: the case goes where the
    # shop's complaints go, and the station does not see it.
    flash(_("Request recorded as case #%(id)d. It is handled by the bureau or the shop's own station.",
            id=c.id), "success")
    return redirect(url_for("staff_complaints.record_request"))


# --- cases to register on 12315 ---------------------------------------------------------------

# Our own layout (the 12315 platform publishes no import format): bilingual, fixed headers.
EXPORT_HEADER = (
    "本平台案件号 case number", "查询码 tracking code", "来源渠道 channel", "渠道编号 channel reference",
    "收到时间 received at", "类型 request type", "问题类别 problem type", "经营者名称 legal name",
    "店铺名称 shop name", "统一社会信用代码 credit code", "经营地址 shop address", "商品或服务 item",
    "消费日期 bought on", "涉及金额（元）amount paid (yuan)", "诉求 wants", "投诉内容 account",
    "消费者姓名 shopper's name", "消费者电话 shopper's mobile", "同意方式 consent", "状态 status",
)


def _export_rows(cases: list[Complaint]) -> list[list[Any]]:
    rows = []
    for c in cases:
        m = c.merchant
        rows.append([
            c.id, c.tracking_code, c.channel, c.channel_ref or "",
            c.received_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"), c.request_type, c.problem_type,
            m.legal_name, m.shop_name, m.credit_code, m.address, c.item,
            c.purchased_on.isoformat() if c.purchased_on else "",
            f"{c.amount_paid_cents / 100:.2f}" if c.amount_paid_cents is not None else "",
            " ".join(c.wants or ()), c.account, c.shopper_name or "", c.shopper_phone or "",
            c.consent_method, complaint_label("status", c.status),
        ])
    return rows


@staff_bp.route("/12315-export.xlsx")
@staff_required
@no_store
def export_12315_xlsx():
    return _export_12315("xlsx")


@staff_bp.route("/12315-export.csv")
@staff_required
@no_store
def export_12315_csv():
    return _export_12315("csv")


def _export_12315(kind: str) -> Response:
    """The cases filed here that are not registered on 12315 yet, oldest first, with the
    shopper's details 12315 needs: every exported phone number is an audited reveal."""
    cases = list(db.session.scalars(intake.to_register_on_12315().limit(EXPORT_LIMIT)
                                    .options(selectinload(Complaint.merchant))))
    now = datetime.now(UTC)
    db.session.add_all(PhoneReveal(complaint_id=c.id, officer_id=current_user.id, created_at=now)
                       for c in cases if c.shopper_phone)
    db.session.commit()
    security_event("export_12315", cases=len(cases), kind=kind)
    rows = _export_rows(cases)
    stamp = local_today().isoformat()
    if kind == "xlsx":
        body = spreadsheets.write_xlsx(EXPORT_HEADER, rows, title="12315")
        mimetype = spreadsheets.XLSX_MIMETYPE
    else:
        body = spreadsheets.write_csv(EXPORT_HEADER, rows)
        mimetype = spreadsheets.CSV_MIMETYPE
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="to-register-12315-{stamp}.{kind}"'})


# --- import mappings (admins) -------------------------------------------------------------------

@staff_bp.route("/settings/channel-mappings", methods=["GET", "POST"])
@admin_required
def channel_mappings():
    """The column mappings `flask complaints import-channel` reads a channel's export with."""
    stored = channel_import.mappings()
    if request.method == "GET":
        name = request.args.get("name", "")[:30]
        form = MappingForm(formdata=None, name=name,
                           lines=channel_import.as_lines(stored[name]) if name in stored else "")
        return _mappings_page(form, stored)
    form = MappingForm()
    if not form.validate_on_submit():
        return _mappings_page(form, stored, 400)
    try:
        value = channel_import.parse_lines(form.lines.data)
        channel_import.save_mapping(form.name.data, value, current_user)
    except channel_import.MappingError as err:
        db.session.rollback()
        form.lines.errors.append(channel_import.describe_mapping_error(err))
        return _mappings_page(form, stored, 400)
    security_event("channel_mapping_changed", name=form.name.data, columns=len(value))
    flash(_("Mapping %(name)s saved. Imports read files with it from now on.", name=form.name.data), "success")
    return redirect(url_for("staff_complaints.channel_mappings", name=form.name.data))


def _mappings_page(form: MappingForm, stored: dict[str, dict[str, str]], status: int = 200) -> Any:
    return render_template("complaints/staff/channel_mappings.html", form=form, mappings=stored,
                           fields=channel_import.FIELDS, field_labels=channel_import.FIELD_LABELS,
                           required=channel_import.REQUIRED, as_lines=channel_import.as_lines), status

