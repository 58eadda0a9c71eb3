"""Staff: the list of import runs (merchants, inspections and penalties, channel exports).

Newest first, one keyset page at a time, filtered by kind, town and the local days of the
run. A town's officer sees the runs of its own town only; admins and city staff see all.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, select
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from .. import paging
from ..complaints.intake import STAFF_CHANNELS
from ..complaints.labels import CHANNEL_LABELS
from ..extensions import db
from ..forms import BaseForm
from ..i18n import select_locale
from ..localtime import LOCAL_TZ
from ..models import ImportRun, Town, User
from ..models.imports import CHANNEL_PREFIX
from ..security import staff_required
from . import bp

# The kinds a run can have: no file comes in from the web form or the partner API.
SHOWN_KINDS = ("merchants", "inspections", "penalties", *(CHANNEL_PREFIX + c for c in STAFF_CHANNELS))
KIND_LABELS = {"merchants": _l("Merchants"), "inspections": _l("Inspections"), "penalties": _l("Penalties")}


def kind_label(kind: str) -> str:
    if kind.startswith(CHANNEL_PREFIX):
        channel = kind.removeprefix(CHANNEL_PREFIX)
        return str(_l("Channel export: %(channel)s", channel=CHANNEL_LABELS.get(channel, channel)))
    return str(KIND_LABELS.get(kind, kind))


class ImportFilterForm(BaseForm):
    """The filters of the import list (GET)."""

    class Meta:
        csrf = False

    kind = SelectField(_l("Kind"), validators=[Optional()])
    town = SelectField(_l("Town"), validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("to"), validators=[Optional()])

    def validate_end(self, field: Any) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The end date cannot be before the start date."))


def _towns(user: User) -> list[Town]:
    query = select(Town).order_by(Town.sort_order, Town.id)
    if not user.is_admin and user.town_id is not None:
        query = query.where(Town.id == user.town_id)
    return list(db.session.scalars(query))


def _local_midnight(day: Any) -> datetime:
    return datetime.combine(day, time(), LOCAL_TZ).astimezone(UTC)


def runs_query(user: User, kind: str | None, town_id: int | None, start: Any, end: Any) -> Select[Any]:
    query = select(ImportRun)
    if not user.is_admin and user.town_id is not None:
        query = query.where(ImportRun.town_id == user.town_id)
    if town_id is not None:
        query = query.where(ImportRun.town_id == town_id)
    if kind:
        query = query.where(ImportRun.kind == kind)
    if start:
        query = query.where(ImportRun.created_at >= _local_midnight(start))
    if end:
        query = query.where(ImportRun.created_at < _local_midnight(end + timedelta(days=1)))
    return query


@bp.route("/imports")
@staff_required
def imports():
    towns = _towns(current_user)
    english = select_locale() == "en"
    form = ImportFilterForm(request.args)
    form.kind.choices = [SelectChoice("", _l("All kinds")),
                         *(SelectChoice(k, kind_label(k)) for k in SHOWN_KINDS)]
    form.town.choices = [SelectChoice("", _l("All towns")),
                         *(SelectChoice(str(t.id), t.name_en if english else t.name) for t in towns)]
    status = 200
    if request.args and not form.validate():
        status = 400
        query = None
    else:
        town_id = int(form.town.data) if form.town.data else None
        query = runs_query(current_user, form.kind.data or None, town_id, form.start.data, form.end.data)
    page = paging.keyset_page(query if query is not None else select(ImportRun).where(ImportRun.id < 0),
                              ImportRun.created_at, ImportRun.id, descending=True)
    runs = page.items
    people = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({r.officer_id for r in runs if r.officer_id})))} if runs else {}
    town_names = {t.id: (t.name_en if english else t.name) for t in db.session.scalars(
        select(Town).where(Town.id.in_({r.town_id for r in runs if r.town_id})))} if runs else {}
    filters = {k: v for k, v in request.args.items()
               if k in ("kind", "town", "start", "end") and v and status == 200}
    return render_template("staff/imports.html", form=form, page=page, runs=runs, people=people,
                           town_names=town_names, filters=filters, kind_label=kind_label), status
