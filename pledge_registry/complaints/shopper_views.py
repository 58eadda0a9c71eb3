"""The shopper's side of complaints, all without an account: file one from the scan page
(or after a merchant search), follow it with the tracking code and the phone's last 4
digits, answer the shop's proposal, withdraw, and answer the satisfaction survey.

Which cases a browser may see is kept in its (signed) session: the case it just filed,
and every case it looked up with the right code and digits.
"""

from __future__ import annotations

import os
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from .. import refusals
from ..display import language_switch_requested
from ..extensions import db, limiter
from ..forms import query_text
from ..localtime import local_today
from ..models import Complaint, ComplaintPhoto, ComplaintStatus, MerchantStatus, Outcome, SurveyResponse
from ..refusals import bad_input, conflict
from ..search.directory import DirectoryQuery, search_directory
from ..security import no_store, public, security_event
from ..sqlite_tuning import read_phase
from . import deadlines, filing, uploads, workflow
from . import shopper_bp as bp
from .blank_form_cache import blank_form_html
from .filing import COMPLAIN_PAGE_MERCHANT, CONFIRMATION
from .forms import AddInfoForm, ComplaintForm, RespondForm, SurveyForm, TrackForm, WithdrawForm, normalise_tracking_code

SESSION_TRACKED = "tracked_complaints"   # ids of the cases this browser may follow
SESSION_FILED = "filed_complaint"        # the case whose confirmation page it may show
SESSION_SURVEYED = "surveyed_complaint"  # the survey this browser has just answered
MAX_TRACKED = 10
SEARCH_RESULTS = 20
COMPLAINABLE = (MerchantStatus.APPROVED, MerchantStatus.CLOSED)  # a closed shop's past sales count



def _limit(name: str):
    """A rate limit read from the configuration (defaults in config.py)."""
    return lambda: current_app.config[name]


def _phone_key() -> str:
    return "complaint-phone:" + request.form.get("shopper_phone", "").strip()[:11]


def _tracking_code_key() -> str:
    raw = request.form.get("tracking_code", "")
    return "track-code:" + (normalise_tracking_code(raw) or raw.strip()[:40])


def _redirected(response) -> bool:
    return response.status_code == 302


def _not_redirected(response) -> bool:
    """A failed look-up (a language switch of the form is no guess)."""
    return response.status_code != 302 and not language_switch_requested()


def format_tracking_code(code: str) -> str:
    """XXXX-XXXX-XXXX-XX: easier to read out and copy than 14 symbols in a row."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def yuan(cents: int | None) -> str:
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"tracking_code": format_tracking_code, "yuan": yuan, "mask_phone": workflow.mask_phone}


# --- which cases this browser may see ------------------------------------------------------

def _remember(c: Complaint) -> None:
    _remember_id(c.id)


def _remember_id(complaint_id: int) -> None:
    """This browser may see the case (tracked or filed here)."""
    tracked = [i for i in session.get(SESSION_TRACKED, []) if i != complaint_id]
    session[SESSION_TRACKED] = [*tracked, complaint_id][-MAX_TRACKED:]


def shopper_may_see(c: Complaint) -> bool:
    return c.id in session.get(SESSION_TRACKED, [])


def _tracked_case(tracking_code: str) -> Complaint | None:
    """The case for a tracking code in the URL, only if this session looked it up."""
    code = normalise_tracking_code(tracking_code)
    if code is None or not session.get(SESSION_TRACKED):
        return None
    c = db.session.scalar(select(Complaint).where(Complaint.tracking_code == code))
    return c if c is not None and shopper_may_see(c) else None


def _back_to_lookup(tracking_code: str) -> Any:
    """The same answer whether the code exists or not: no oracle."""
    return redirect(url_for(".track", code=normalise_tracking_code(tracking_code) or None))


# --- filing -------------------------------------------------------------------------------

# What a shopper can be refused, in the house's one table shape (refusals.refuse).
FILING_REFUSALS: refusals.Table = {
    "consent_required": bad_input(_l("Tick the box to agree, or we cannot handle your complaint."), "consent"),
    "request_type": bad_input(_l("Not a valid choice."), "request_type"),
    "problem_type": bad_input(_l("Choose the kind of problem."), "problem_type"),
    "wants": bad_input(_l("Not a valid choice."), "wants"),
    "purchased_in_future": bad_input(_l("The date cannot be in the future."), "purchased_on"),
    "no_merchant": conflict(_l("This shop cannot receive complaints here. Call 12315.")),
    "too_large": bad_input(_l("Each photo can be at most %(mb)d MB.", mb=uploads.MAX_PHOTO_BYTES // (1024 * 1024)),
                           "photos"),
    "not_image": bad_input(_l("Only photos (JPEG, PNG or WebP) can be attached."), "photos"),
    "too_many_pixels": bad_input(_l("A photo has too many pixels. Take a smaller one or a screenshot of it."),
                                 "photos"),
    "too_many": bad_input(_l("Attach at most %(n)d photos.", n=uploads.MAX_PHOTOS), "photos"),
}
CASE_REFUSALS: refusals.Table = {
    "closed": conflict(_l("This case is closed: it cannot take more information.")),
    "no_proposal": conflict(_l("There is no proposal to answer on this case any more.")),
}
WITHDRAW_REFUSALS: refusals.Table = {"closed": conflict(_l("This case is already closed."))}


def _new_complaint(form: ComplaintForm, merchant_id: int) -> workflow.NewComplaint:
    return workflow.NewComplaint(
        idempotency_key=form.idempotency_key.data, merchant_id=merchant_id,
        request_type=form.request_type.data, item=form.item.data, purchased_on=form.purchased_on.data,
        amount_paid_cents=form.amount_cents, problem_type=form.problem_type.data,
        account=form.account.data, wants=tuple(form.wants.data or ()),
        shopper_name=form.shopper_name.data or None, shopper_phone=form.shopper_phone.data,
        consent=bool(form.consent.data),
    )


def _record(form: ComplaintForm, plan: filing.ComplaintPlan) -> int | None:
    """Store the photos, then record the planned case; its id, or None (with the form's
    errors set) when a photo is refused. Photos are written before the case's short write
    transaction and deleted again if the case is not recorded (a retried POST: the id is
    the first case's)."""
    try:
        photos = uploads.store_photos(request.files.getlist(form.photos.name))
    except uploads.UploadError as err:
        refusals.refuse(err, form, FILING_REFUSALS, "complaint_refused")
        return None
    try:
        filed = filing.record_complaint(plan, photos=photos)
    except BaseException:
        uploads.discard(photos)
        raise
    if not filed.created:
        uploads.discard(photos)
    return filed.id


@bp.route("/complain")
@public
def choose_merchant() -> str:
    """Find the shop when there is no badge to scan."""
    q = query_text("q")
    # The directory's own search (approved shops only), its first page.
    results = search_directory(DirectoryQuery(text=q), 1, SEARCH_RESULTS).items if q else []
    return render_template("complaints/shopper/choose_merchant.html", q=q, results=results)


@bp.route("/m/<code>/complain", methods=["GET", "POST"])
@public
@no_store  # a re-rendered form holds the shopper's number and account
@limiter.limit(_limit("COMPLAINT_LIMIT_PER_IP"), methods=["POST"])
@limiter.limit(_limit("COMPLAINT_LIMIT_PER_PHONE"), methods=["POST"], key_func=_phone_key,
               deduct_when=_redirected)
def complain(code: str):
    if len(code) > 40 or not code.isascii() or not code.isalnum():
        abort(404)
    # Everything up to the decision to write is read in a deferred transaction: a photo
    # upload or a slow form check never holds SQLite's write lock.
    with read_phase():
        merchant = db.session.execute(COMPLAIN_PAGE_MERCHANT, {"code": code}).first()
        if merchant is None or merchant.status not in COMPLAINABLE:
            abort(404)
        retention_days = deadlines.current_deadlines().retention_days
        if request.method == "GET":
            return render_template("complaints/shopper/complain.html", merchant=merchant,
                                   blank_form_html=blank_form_html(merchant, retention_days))
        form = ComplaintForm()
        plan = earlier = None
        status = 400
        if language_switch_requested():
            status = 200  # the same form in the other language, as typed; nothing recorded
        elif form.validate_on_submit():
            data = _new_complaint(form, merchant.id)
            if uploads.chosen_files(request.files.getlist(form.photos.name)):
                # A retry with photos is answered before they are decoded and stored again
                # (without photos, the INSERT's unique key answers it: one query less).
                earlier = filing.existing(data.idempotency_key)
            try:
                plan = None if earlier else filing.plan_complaint(data)
            except workflow.WorkflowError as err:
                status = refusals.refuse(err, form, FILING_REFUSALS, "complaint_refused")
    if earlier is not None:
        complaint_id: int | None = earlier.id
    else:
        complaint_id = _record(form, plan) if plan is not None else None
    if complaint_id is not None:
        _remember_id(complaint_id)
        session[SESSION_FILED] = complaint_id
        return redirect(url_for(".filed"))
    form.purchased_on.render_kw = {"max": local_today().isoformat()}
    return render_template(
        "complaints/shopper/complain.html", form=form, merchant=merchant, retention_days=retention_days,
        max_photos=uploads.MAX_PHOTOS,
        photos_dropped=bool(uploads.chosen_files(request.files.getlist(form.photos.name))),
    ), status


@bp.route("/complain/done")
@public
@no_store
def filed():
    """The confirmation with the tracking code: only the browser that filed the case sees it."""
    complaint_id = session.get(SESSION_FILED)
    if not isinstance(complaint_id, int) or complaint_id not in session.get(SESSION_TRACKED, []):
        return redirect(url_for(".track"))
    c = db.session.execute(CONFIRMATION, {"complaint_id": complaint_id}).first()  # just what the page shows
    if c is None:
        return redirect(url_for(".track"))
    return render_template("complaints/shopper/filed.html", c=c)


# --- tracking -----------------------------------------------------------------------------

@bp.route("/track", methods=["GET", "POST"])
@public
@no_store
@limiter.limit(_limit("TRACK_LIMIT_PER_IP"), methods=["POST"])
@limiter.limit(_limit("TRACK_LIMIT_PER_CODE"), methods=["POST"], key_func=_tracking_code_key,
               deduct_when=_not_redirected)
def track():
    form = TrackForm()
    if language_switch_requested():  # the same form in the other language, as typed
        return render_template("complaints/shopper/track.html", form=form)
    if request.method == "GET" and not form.tracking_code.data:
        form.tracking_code.data = normalise_tracking_code(request.args.get("code", "")) or ""
        if form.tracking_code.data:
            form.tracking_code.data = format_tracking_code(form.tracking_code.data)
    if form.validate_on_submit():
        code = normalise_tracking_code(form.tracking_code.data)
        c = workflow.find_for_shopper(code, form.phone_last4.data) if code else None
        if c is None:
            security_event("track_failed")
            form.form_errors.append(_("We found no case with this tracking code and these digits. "
                                      "Check both and try again."))
        else:
            _remember(c)
            return redirect(url_for(".case", tracking_code=c.tracking_code))
    return render_template("complaints/shopper/track.html", form=form), 200 if request.method == "GET" else 400


def _render_case(c: Complaint, info_form: AddInfoForm | None = None, respond_form: RespondForm | None = None,
                 status: int = 200) -> Any:
    events = [e for e in c.events if e.public]
    can_respond = (c.status == ComplaintStatus.MERCHANT_ANSWERED and c.proposal_kind is not None
                   and c.proposal_response is None)
    return render_template(
        "complaints/shopper/case.html", c=c, events=events, open=c.status != ComplaintStatus.CLOSED,
        can_respond=can_respond, info_form=info_form or AddInfoForm(formdata=None),
        respond_form=respond_form or RespondForm(formdata=None),
    ), status


@bp.route("/track/<tracking_code>")
@public
@no_store
def case(tracking_code: str):
    c = _tracked_case(tracking_code)
    if c is None:
        return _back_to_lookup(tracking_code)
    return _render_case(c)


@bp.route("/track/<tracking_code>/info", methods=["POST"])
@public
@no_store
def add_info(tracking_code: str):
    c = _tracked_case(tracking_code)
    if c is None:
        return _back_to_lookup(tracking_code)
    form = AddInfoForm()
    status = 400
    if form.validate_on_submit():
        try:
            workflow.shopper_add_info(c, form.text.data)
        except workflow.WorkflowError as err:
            status = refusals.refuse(err, form, CASE_REFUSALS, "complaint_refused", complaint_id=c.id)
        else:
            flash(_("Your information was added to the case."), "success")
            return redirect(url_for(".case", tracking_code=c.tracking_code))
    return _render_case(c, info_form=form, status=status)


@bp.route("/track/<tracking_code>/respond", methods=["POST"])
@public
@no_store
def respond(tracking_code: str):
    c = _tracked_case(tracking_code)
    if c is None:
        return _back_to_lookup(tracking_code)
    form = RespondForm()
    status = 400
    if form.validate_on_submit():
        accepted = bool(form.accept.data)
        try:
            workflow.shopper_respond(c, accepted, form.note.data or "")
        except workflow.WorkflowError as err:
            status = refusals.refuse(err, form, CASE_REFUSALS, "complaint_refused", complaint_id=c.id)
        else:
            flash(_("You accepted the proposal. The case is closed as resolved.") if accepted
                  else _("You rejected the proposal. The bureau will mediate."), "success")
            return redirect(url_for(".case", tracking_code=c.tracking_code))
    return _render_case(c, respond_form=form, status=status)


@bp.route("/track/<tracking_code>/withdraw", methods=["GET", "POST"])
@public
@no_store
def withdraw(tracking_code: str):
    c = _tracked_case(tracking_code)
    if c is None:
        return _back_to_lookup(tracking_code)
    form = WithdrawForm()
    if c.status == ComplaintStatus.CLOSED:
        flash(_("This case is already closed."), "info")
        return redirect(url_for(".case", tracking_code=c.tracking_code))
    status = 200 if request.method == "GET" else 400
    if form.validate_on_submit():
        try:
            workflow.shopper_withdraw(c, form.note.data or "")
        except workflow.WorkflowError as err:
            status = refusals.refuse(err, form, WITHDRAW_REFUSALS, "complaint_refused", complaint_id=c.id)
        else:
            flash(_("You withdrew the case. It is closed."), "success")
            return redirect(url_for(".case", tracking_code=c.tracking_code))
    return render_template("complaints/shopper/withdraw.html", c=c, form=form), status


# --- photos -------------------------------------------------------------------------------

def may_see_photos(c: Complaint) -> bool:
    """The handling officers, the shop's owner once the case was forwarded to it, and the
    shopper's own browser. Nobody else, and never the public."""
    if shopper_may_see(c):
        return True
    if not current_user.is_authenticated:
        return False
    if workflow.can_handle(current_user, c):
        return True
    return workflow.merchant_may_see_photos(current_user, c)


@bp.route("/complaints/photos/<int:photo_id>")
@public
@no_store
def photo(photo_id: int):
    """A complaint photo, to those who may see it; 404 to everybody else (no IDOR)."""
    found = _visible_photo(photo_id)
    return _send_photo(uploads.photo_path(found.stored_name), found.id, "photo")


@bp.route("/complaints/photos/<int:photo_id>/thumb")
@public
@no_store
def photo_thumb(photo_id: int):
    """The photo's thumbnail for the case pages, to the same people as the photo itself."""
    found = _visible_photo(photo_id)
    return _send_photo(uploads.thumbnail_path(found.stored_name), found.id, "thumb")


@bp.app_template_global("photo_thumb_size")
def photo_thumb_size(width: int, height: int) -> tuple[int, int]:
    """The thumbnail's width and height, for the case pages' img tags."""
    return uploads.thumbnail_size(width, height)


def _visible_photo(photo_id: int) -> ComplaintPhoto:
    found = db.session.get(ComplaintPhoto, photo_id)
    if found is None or not may_see_photos(found.complaint):
        if current_user.is_authenticated:
            security_event("denied", endpoint=request.endpoint, photo_id=photo_id)
        abort(404)
    return found


def _send_photo(path: str | None, photo_id: int, kind: str) -> Any:
    if path is None or not os.path.isfile(path):
        abort(404)
    # Personal data: never kept by a browser or a proxy, and named without the stored name.
    response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=False, etag=False,
                         download_name=f"{kind}-{photo_id}.jpg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- survey -------------------------------------------------------------------------------

@bp.route("/survey/<token>", methods=["GET", "POST"])
@public
@no_store
def survey(token: str):
    c = workflow.complaint_from_survey_token(token) if len(token) <= 200 else None
    if c is None or c.status != ComplaintStatus.CLOSED or c.outcome == Outcome.WITHDRAWN:
        abort(404)
    answered = db.session.scalar(select(SurveyResponse.id).where(SurveyResponse.complaint_id == c.id))
    if answered is not None:
        just_now = session.pop(SESSION_SURVEYED, None) == c.id
        return render_template("complaints/shopper/survey_done.html", already=not just_now)
    form = SurveyForm()
    if form.validate_on_submit():
        if workflow.record_survey(c, form.answer.data, form.comment.data or ""):
            session[SESSION_SURVEYED] = c.id
        return redirect(url_for(".survey", token=token))
    return render_template("complaints/shopper/survey.html", c=c, form=form), \
        200 if request.method == "GET" else 400
