"""Ratings explained: the public breakdown, the merchant's page, staff's view and the model.

Every screen reads the stored breakdown (``Rating.breakdown``, the model's ``to_dict()``)
and turns each factor's stable key and detail into a sentence here, in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.routing import BuildError

from .. import paging, refusals
from ..extensions import db
from ..forms import EmptyForm
from ..models import Merchant, MerchantStatus, Rating
from ..refusals import bad_input, forbidden
from ..security import admin_required, merchant_required, micro_cached, own_shop_or_404, public, staff_required
from . import bp, services
from .forms import ModelForm
from .labels import CAUSE_LABELS, FACTOR_LABELS

CAP_REASONS = {
    "pledge_suspended": _l("a pledge of this shop is suspended or revoked"),
    "penalty_in_period": _l("the shop received an administrative penalty in the last 12 months"),
    "no_active_pledge": _l("the shop has no pledge in force"),
    "failed_inspection": _l("the shop failed an inspection in the last 12 months"),
    "pledge_breach": _l("the shop broke a pledge (a fake sold, or a valid return refused)"),
}

IMPROVE_HINTS = {
    "pledges.reinstate": _l("Put right what led to the suspension and ask the bureau to reinstate the pledge."),
    "pledges.sign": _l("Sign the genuine goods pledge and the no-reason returns pledge."),
    "pledges.keep_promises": _l("Keep every pledge: sell only genuine goods and accept every valid return."),
    "pledges.sign_second": _l("Sign the second pledge as well."),
    "pledges.keep_active": _l("Keep both pledges in force: the points grow with every month they run, "
                              "up to a year."),
    "complaint_volume.reduce": _l("Fewer complaints: settle problems with shoppers in the shop before "
                                  "they become complaints."),
    "on_time.answer_on_time": _l("Answer every complaint forwarded to you before its deadline."),
    "resolution.resolve_by_agreement": _l("Offer shoppers a fair solution so that complaints end in agreement."),
    "satisfaction.raise": _l("Treat complaining shoppers well: they are asked afterwards whether they "
                             "were satisfied."),
    "inspections.pass": _l("Pass the bureau's inspections: failed inspections count for 12 months."),
    "penalties.avoid": _l("Avoid administrative penalties: each one counts for 12 months."),
}


def _percent(share: float | None) -> int:
    return round((share or 0) * 100)


def factor_sentences(key: str, d: dict) -> list[str]:
    """Plain words for one factor's detail."""
    if key == "pledges":
        if d.get("suspended"):
            out = [_("A pledge of this shop is suspended or revoked: this factor earns nothing.")]
        elif not d.get("active_pledges"):
            out = [_("No pledge of this shop is in force.")]
        else:
            out = [ngettext("%(num)d of the 2 pledges is in force, the longest for %(days)d days.",
                            "%(num)d of the 2 pledges are in force, the longest for %(days)d days.",
                            d["active_pledges"], days=d.get("active_days", 0))]
        if d.get("breaches"):
            out.append(ngettext(
                "%(num)d pledge broken in the last 12 months (a fake sold, or a valid return refused).",
                "%(num)d pledges broken in the last 12 months (a fake sold, or a valid return refused).",
                d["breaches"]))
        return out
    if key == "complaint_volume":
        if d.get("no_data"):
            return [_("No complaint about this shop was accepted in the last 12 months.")]
        return [
            ngettext("%(num)d complaint accepted in the last 12 months,",
                     "%(num)d complaints accepted in the last 12 months,", d["complaints"])
            + " " + _("%(upheld)d found against the shop, %(recent)d in the last 90 days.",
                      upheld=d.get("upheld", 0), recent=d.get("recent", 0)),
            _("Complaints found against the shop and recent ones count more."),
        ]
    if key == "on_time":
        if d.get("no_data"):
            return [_("No complaint needed an answer from the shop in the last 12 months.")]
        return [_("Answered %(num)d of %(den)d complaints before the deadline (%(pct)d%%).",
                  num=d["answered_on_time"], den=d["answer_due"], pct=_percent(d.get("share")))]
    if key == "resolution":
        if d.get("no_data"):
            return [_("No complaint about this shop was closed in the last 12 months.")]
        return [_("%(num)d of %(den)d closed complaints ended in an agreement with the shopper (%(pct)d%%).",
                  num=d["resolved"], den=d["closed"], pct=_percent(d.get("share")))]
    if key == "satisfaction":
        if d.get("no_data"):
            return [_("No shopper has answered the satisfaction survey yet.")]
        return [_("%(num)d of %(den)d shoppers who answered the survey were satisfied (%(pct)d%%).",
                  num=d["satisfied"], den=d["surveyed"], pct=_percent(d.get("share")))]
    if key == "inspections":
        if d.get("no_data"):
            return [_("The bureau has not inspected this shop in the last 12 months.")]
        return [ngettext("%(num)d inspection in the last 12 months,", "%(num)d inspections in the last 12 months,",
                         d["inspections"]) + " " + _("%(failed)d failed.", failed=d.get("failed", 0))]
    if key == "penalties":
        if not d.get("penalties"):
            out = [_("No administrative penalty in the last 12 months.")]
        else:
            out = [ngettext("%(num)d administrative penalty in the last 12 months.",
                            "%(num)d administrative penalties in the last 12 months.", d["penalties"])]
        if d.get("days_since_last_penalty") is not None:
            out.append(_("The last penalty was %(days)d days ago.", days=d["days_since_last_penalty"]))
        return out
    return []


@dataclass(frozen=True)
class FactorView:
    key: str
    label: str
    sentences: list[str]
    points: float
    max_points: float
    hint: str | None

    @property
    def lost(self) -> float:
        return round(self.max_points - self.points, 2)


def explain(breakdown: dict) -> list[FactorView]:
    """The stored breakdown, factor by factor, in words."""
    return [
        FactorView(key=f["key"], label=str(FACTOR_LABELS.get(f["key"], f["key"])),
                   sentences=factor_sentences(f["key"], f.get("detail") or {}),
                   points=f["points"], max_points=f["max_points"],
                   hint=str(IMPROVE_HINTS[f["improve"]]) if f.get("improve") in IMPROVE_HINTS else None)
        for f in breakdown.get("factors", [])
    ]


def cap_sentences(breakdown: dict) -> list[str]:
    """Why the grade is lower than the score alone would give, if it is."""
    cap = breakdown.get("cap")
    out = []
    if cap:
        out.append(_("The score alone would give grade %(uncapped)s, but %(reason)s, so the grade is at most "
                     "%(grade)s.", uncapped=breakdown.get("uncapped_grade", ""), reason=CAP_REASONS.get(cap, cap),
                     grade=breakdown.get("grade", "")))
    for other in breakdown.get("caps_hit", []):
        if other != cap:
            out.append(_("Also limiting the grade while it lasts: %(reason)s.", reason=CAP_REASONS.get(other, other)))
    return out


def history_rows(rows: list[Rating], older: Rating | None = None) -> list[dict]:
    """Newest first, each with what moved since the rating before it (`older`: the one
    before the last of `rows`, when they are a page of a longer history)."""
    out = []
    for i, row in enumerate(rows):
        previous = rows[i + 1] if i + 1 < len(rows) else older
        moves = []
        if previous is not None:
            before = {f["key"]: f["points"] for f in previous.breakdown.get("factors", [])}
            for f in row.breakdown.get("factors", []):
                delta = round(f["points"] - before.get(f["key"], f["points"]), 2)
                if delta:
                    moves.append((str(FACTOR_LABELS.get(f["key"], f["key"])), delta))
        out.append({"rating": row, "moves": moves, "cause": str(CAUSE_LABELS.get(row.cause, row.cause)),
                    "model_changed": previous is not None and previous.model_version != row.model_version})
    return out


# --- template globals ----------------------------------------------------------------------

@bp.app_template_global()
def rating_of(merchant_id: int) -> Rating | None:
    """The merchant's current rating (the scan page's partial)."""
    return services.current_rating(merchant_id)


@bp.app_template_global()
def rating_grades(merchant_ids: list[int]) -> dict[int, str]:
    """Current grades of a page of merchants, in one query (the directory)."""
    return services.current_grades(merchant_ids)


# --- pages ---------------------------------------------------------------------------------

def _page_context(merchant: Merchant) -> dict:
    rating = services.current_rating(merchant.id)
    breakdown = rating.breakdown if rating else {}
    return {
        "merchant": merchant, "rating": rating, "factors": explain(breakdown),
        "caps": cap_sentences(breakdown),
        "min_history_days": services.current_config().min_history_days,
    }


@bp.route("/m/<code>/rating")
@public
@micro_cached
def breakdown(code: str):
    """Why a shop has its grade, factor by factor: one tap from the scan page."""
    merchant = db.session.scalar(select(Merchant).where(Merchant.badge_code == code[:40]))
    if merchant is None or merchant.status != MerchantStatus.APPROVED:
        abort(404)
    return render_template("ratings/breakdown.html", **_page_context(merchant))


def _optional_url(endpoint: str, **values: Any) -> str | None:
    """A link to another feature's page, only once that page exists."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _history(merchant: Merchant) -> dict[str, Any]:
    """A page of the merchant's rating history, newest first."""
    page = paging.keyset_page(services.history_query(merchant.id), Rating.computed_at, Rating.id,
                              descending=True, count=False)
    older = services.rating_before(page.items[-1]) if page.items and page.next_args else None
    return {"history": history_rows(page.items, older), "history_page": page}


@bp.route("/portal/shops/<int:merchant_id>/rating")
@merchant_required
def shop_rating(merchant_id: int):
    """The merchant's own view: the breakdown, what would raise it, and its history."""
    merchant = own_shop_or_404(merchant_id)
    return render_template(
        "ratings/shop.html", **_page_context(merchant), staff_view=False,
        **_history(merchant),
        appeal_url=_optional_url("compliance.appeal_rating", merchant_id=merchant.id),
        reply_url=_optional_url("compliance.reply", merchant_id=merchant.id))


@bp.route("/staff/ratings/shops/<int:merchant_id>")
@staff_required
def staff_shop_rating(merchant_id: int):
    merchant = db.get_or_404(Merchant, merchant_id)
    return render_template("ratings/shop.html", **_page_context(merchant), staff_view=True,
                           **_history(merchant), appeal_url=None, reply_url=None)


# A RatingError's detail (what exactly is invalid) follows the message (refusals.message).
REFUSALS: refusals.Table = {
    "not_admin": forbidden(_l("Only an administrator may change the rating model.")),
    "same_version": bad_input(_l("Give the changed model a new version."), field="version"),
    "version_used": bad_input(_l("This version was used before: give the changed model a new version."),
                              field="version"),
    "invalid": bad_input(_l("The model is not valid:"), field="model"),
    "json": bad_input(_l("This is not valid JSON:"), field="model"),
}


def _model_json(config) -> str:
    values = config.to_dict()
    values.pop("version")
    return json.dumps(values, indent=2, ensure_ascii=False)


def _model_values(form: ModelForm) -> dict:
    """The JSON typed in, with the new version; a RatingError("json") when it is no object."""
    try:
        values = json.loads(form.model.data)
    except ValueError as err:
        raise services.RatingError("json", str(err)) from err
    if not isinstance(values, dict):
        raise services.RatingError("json", "an object {...} is expected")
    values["version"] = form.version.data
    return values


@bp.route("/staff/ratings/config", methods=["GET", "POST"])
@admin_required
def config():
    """The rating model an admin may change; saving needs a new version string."""
    current = services.current_config()
    form = ModelForm()
    if request.method == "GET":
        form.model.data = _model_json(current)
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        try:
            saved = services.save_config(current_user, _model_values(form))
        except services.RatingError as err:
            status = refusals.refuse(err, form, REFUSALS, "rating_model_refused")
        else:
            flash(_("Rating model %(version)s saved. Recompute every rating to apply it.",
                    version=saved.version), "success")
            return redirect(url_for("ratings.config"))
    return render_template("ratings/config.html", form=form, current=current,
                           recompute_form=EmptyForm(), rated=services.rated_count()), status


@bp.route("/staff/ratings/recompute", methods=["POST"])
@admin_required
def recompute():
    """Recompute everyone now (synchronously: seconds for a city, a minute for a province)."""
    form = EmptyForm()
    if form.validate_on_submit():
        result = services.recompute_all(cause="model_change")
        flash(_("%(rated)d merchants rated, %(changed)d ratings changed in %(seconds).1f s.",
                rated=result.rated, changed=result.changed, seconds=result.seconds), "success")
    return redirect(url_for("ratings.config"))
