"""Spike alerts (研判预警): the daily scan, the officers' message, the acknowledgement.

The scan reads the complaint tallies only (never the complaint table): for each town and
each of DIMENSIONS, one grouped query finds the keys with at least MIN_COUNT complaints in
the last COOLDOWN_WEEKS weeks (the only ones a high week could come from), and one more
reads those keys' weekly counts over WINDOW_WEEKS weeks. Each series goes through the rule
(`spike_rule.current_episode`); an episode still running raises a SpikeAlert the first time
and extends it (`last_week`, the series) afterwards, so running the job twice a day, or
every day of an episode, raises one alert.

The current week is counted as far as it has gone: a week that is already high on its
Wednesday raises its alert that day, and later days of the week only add to it (the alert's
evidence and first-week count follow the tallies; nothing new is raised).

A new alert is messaged, through the outbox, to the bureau's officers of its town (staff
whose town it is); city-wide staff see it on the staff pages. Supervision stations are not
messaged: their accounts handle the cases routed to them, and an alert is the bureau's
analysis, not a case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update

from ..domain import DomainError
from ..extensions import db
from ..labels import label
from ..localtime import local_date
from ..models import (
    AlertStatus,
    CommercialArea,
    ComplaintTally,
    Merchant,
    Role,
    SpikeAlert,
    SpikeAlertEvent,
    Town,
    User,
)
from ..outbox import enqueue
from ..urls import absolute_url
from . import spike_rule, tally

# The cuts the daily job watches: the jurisdiction-wide ones (category, problem type) are
# read in each town's own rows, so every alert belongs to one town and its officers.
DIMENSIONS = ("category", "problem_type", "area", "merchant")
# Weeks of history read per key: the rule's baseline and enough before it that an episode
# that began months ago is still recognised as the same one.
WINDOW_WEEKS = 26
_CHUNK = 500


class AlertError(DomainError):
    """An acknowledgement the rules refuse (codes: other_town, not_open, note_required)."""


@dataclass
class Run:
    """What one run of the job did."""

    keys: int = 0          # keys whose series were read
    raised: int = 0
    extended: int = 0
    notified: int = 0      # messages queued


def week_of(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


# --- reading the tallies -------------------------------------------------------------------

def _rows(town_id: int, dimension: str, first: date, last: date) -> Any:
    t = ComplaintTally
    return (t.grain == "day", t.dimension == dimension, t.request_type == "complaint",
            t.scope_town_id == town_id, t.period >= first, t.period <= last, t.key != "")


def _candidates(town_id: int, dimension: str, first: date, today: date) -> list[str]:
    """Keys with at least MIN_COUNT complaints from `first` to today: a week of the last
    COOLDOWN_WEEKS can only be high for them."""
    t = ComplaintTally
    total = func.sum(t.received)
    query = (select(t.key).where(*_rows(town_id, dimension, first, today)).group_by(t.key)
             .having(total >= spike_rule.MIN_COUNT).order_by(t.key))
    return list(db.session.scalars(query))


def _weekly(town_id: int, dimension: str, keys: Sequence[str], first_week: date, today: date,
            weeks: int) -> dict[str, list[int]]:
    """Each key's complaints per week from `first_week` (a Monday), `weeks` weeks, oldest first."""
    t = ComplaintTally
    dialect = db.session.get_bind().dialect.name
    bucket = tally.period_of(t.period, "week", dialect).label("week")
    found = {key: [0] * weeks for key in keys}
    for start in range(0, len(keys), _CHUNK):
        chunk = list(keys[start:start + _CHUNK])
        query: Select[Any] = (select(t.key, bucket, func.sum(t.received))
                              .where(*_rows(town_id, dimension, first_week, today), t.key.in_(chunk))
                              .group_by(t.key, bucket))
        for key, week, count in db.session.execute(query):
            day = week if isinstance(week, date) else date.fromisoformat(week)
            index = (day - first_week).days // 7
            if 0 <= index < weeks:
                found[key][index] += int(count)
    return found


# --- the daily job -------------------------------------------------------------------------

def detect(now: datetime | None = None, notify: bool = True) -> Run:
    """Raise or extend the alerts of every town as of `now`, and commit. Safe to run again."""
    now = now or datetime.now(UTC)
    today = local_date(now)
    this_week = week_of(today)
    first_week = this_week - timedelta(weeks=WINDOW_WEEKS - 1)
    recent = this_week - timedelta(weeks=spike_rule.COOLDOWN_WEEKS - 1)
    run = Run()
    for town_id in list(db.session.scalars(select(Town.id).order_by(Town.id))):
        for dimension in DIMENSIONS:
            keys = _candidates(town_id, dimension, recent, today)
            if not keys:
                continue
            run.keys += len(keys)
            for key, series in _weekly(town_id, dimension, keys, first_week, today, WINDOW_WEEKS).items():
                episode = spike_rule.current_episode(series)
                if episode is not None:
                    _record(run, town_id, dimension, key, series, first_week, episode, now, notify)
    db.session.commit()
    return run


def _record(run: Run, town_id: int, dimension: str, key: str, series: list[int], first_week: date,
            episode: spike_rule.Episode, now: datetime, notify: bool) -> None:
    start = first_week + timedelta(weeks=episode.spike.week)
    last = first_week + timedelta(weeks=episode.last_high)
    latest = db.session.scalar(
        select(SpikeAlert).where(SpikeAlert.town_id == town_id, SpikeAlert.dimension == dimension,
                                 SpikeAlert.key == key)
        .order_by(SpikeAlert.week_start.desc()).limit(1))
    # The same episode: an alert whose last high week is not COOLDOWN_WEEKS normal weeks away.
    if latest is not None and latest.last_week >= start - timedelta(weeks=spike_rule.COOLDOWN_WEEKS):
        if last > latest.last_week:
            latest.last_week = last
            run.extended += 1
        # The evidence as the tallies count it now: a week raised on its Wednesday keeps growing.
        counts = _evidence(latest.week_start, latest.last_week, series, first_week, latest.series)
        if counts != latest.series:
            latest.series = counts
            first_high = counts[spike_rule.BASELINE_WEEKS]
            if first_high != latest.observed:
                latest.observed = first_high
                latest.p_value = spike_rule.poisson_tail(first_high, max(latest.baseline_mean, spike_rule.MIN_BASELINE))
        return
    spike = episode.spike
    alert = SpikeAlert(town_id=town_id, dimension=dimension, key=key, week_start=start, last_week=last,
                       observed=spike.observed, baseline_mean=round(spike.baseline_mean, 4),
                       p_value=spike.p_value, series=_evidence(start, last, series, first_week, []),
                       rule=spike_rule.RULE[:200], status=AlertStatus.OPEN, created_at=now)
    db.session.add(alert)
    db.session.flush()
    db.session.add(SpikeAlertEvent(alert_id=alert.id, from_status=None, to_status=AlertStatus.OPEN,
                                   created_at=now))
    run.raised += 1
    if notify:
        run.notified += _notify(alert)


def _evidence(week_start: date, last: date, series: list[int], first_week: date, kept: list[int]) -> list[int]:
    """The weekly counts from BASELINE_WEEKS weeks before the first high week to the last
    one; weeks before the window read are taken from what the alert already kept."""
    base = week_start - timedelta(weeks=spike_rule.BASELINE_WEEKS)
    weeks = (last - base).days // 7 + 1
    values = []
    for i in range(weeks):
        index = (base + timedelta(weeks=i) - first_week).days // 7
        if 0 <= index < len(series):
            values.append(series[index])
        else:
            values.append(kept[i] if i < len(kept) else 0)
    return values


# --- who hears of it -----------------------------------------------------------------------

def town_officers(town_id: int) -> list[User]:
    """The bureau's officers of a town (staff whose town it is), active ones only."""
    return list(db.session.scalars(select(User).where(
        User.role.in_((Role.STAFF, Role.ADMIN)), User.town_id == town_id, User.disabled.is_(False))
        .order_by(User.id)))


def _notify(alert: SpikeAlert) -> int:
    """Message the town's officers; returns how many messages were queued."""
    context: dict[str, Any] = {
        "alert_id": alert.id, "url": absolute_url("alerts.show", alert_id=alert.id),
        "week": alert.week_start.isoformat(), "observed": alert.observed,
        "baseline": f"{alert.baseline_mean:.1f}",
    }
    for language in ("zh", "en"):
        with force_locale(language):
            context[f"subject_{language}"] = subject(alert)
    sent = 0
    for officer in town_officers(alert.town_id):
        channel, recipient = ("email", officer.email) if officer.email else ("sms", officer.phone or "")
        if not recipient:
            continue
        enqueue(channel, recipient, "spike_alert", context, dedupe_key=f"spike_alert:{alert.id}:{officer.id}")
        sent += 1
    return sent


# --- words -------------------------------------------------------------------------------

def _english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def dimension_label(dimension: str) -> str:
    from .alert_labels import DIMENSION_LABELS

    return label(DIMENSION_LABELS, dimension)


def key_label(dimension: str, key: str) -> str:
    """What the alert is about, in the current language: an industry, a problem, an area, a shop."""
    from ..complaints.labels import complaint_label
    from ..registry.labels import CATEGORY_LABELS

    if dimension == "category":
        return label(CATEGORY_LABELS, key)
    if dimension == "problem_type":
        return complaint_label("problem", key)
    if not key.isdigit() or len(key) > 10:
        return key
    if dimension == "area":
        area = db.session.get(CommercialArea, int(key))
        return (area.name_en if _english() else area.name) if area else key
    if dimension == "merchant":
        shop = db.session.get(Merchant, int(key))
        return shop.shop_name if shop else key
    return key


def town_label(town: Town | None) -> str:
    if town is None:
        return ""
    return town.name_en if _english() else town.name


def subject(alert: SpikeAlert) -> str:
    """"Problem type: contract terms · 高新区"."""
    return _("%(dimension)s: %(key)s · %(town)s", dimension=dimension_label(alert.dimension),
             key=key_label(alert.dimension, alert.key), town=town_label(db.session.get(Town, alert.town_id)))


def rule_in_words() -> str:
    """The rule, as staff read it."""
    return _("A week raises an alert when it has at least %(minimum)s complaints and, if the usual number were "
             "the average of the %(weeks)s weeks before it, so many or more would happen by chance less than "
             "once in %(odds)s weeks (a one-sided Poisson test, p < %(alpha)s). The weeks after it belong to the "
             "same episode and raise no second alert until %(cooldown)s weeks in a row are normal again; "
             "meanwhile the usual number stays the one from before the rise.",
             minimum=spike_rule.MIN_COUNT, weeks=spike_rule.BASELINE_WEEKS, odds=round(1 / spike_rule.ALPHA),
             alpha=spike_rule.ALPHA, cooldown=spike_rule.COOLDOWN_WEEKS)


def p_value_text(p: float) -> str:
    return "< 0.000001" if p < 1e-6 else f"{p:.6f}"


@dataclass(frozen=True)
class EvidenceRow:
    week: date              # its Monday
    count: int
    baseline: float | None  # the usual number the week was measured against (None: a baseline week)
    high: bool


def evidence(alert: SpikeAlert) -> list[EvidenceRow]:
    """The series behind the alert, one row per week: the baseline weeks, then the episode."""
    base = alert.week_start - timedelta(weeks=spike_rule.BASELINE_WEEKS)
    rows = []
    for i, count in enumerate(alert.series or []):
        week = base + timedelta(weeks=i)
        in_episode = week >= alert.week_start
        rows.append(EvidenceRow(week, int(count), alert.baseline_mean if in_episode else None,
                                in_episode and spike_rule.is_high(int(count), alert.baseline_mean)[0]))
    return rows


# --- the officers' pages -------------------------------------------------------------------

@dataclass(frozen=True)
class AlertFilter:
    status: str = ""        # "" for every status
    town_id: int | None = None
    dimension: str = ""

    def args(self) -> dict[str, Any]:
        values = {"status": self.status, "town": self.town_id, "dimension": self.dimension}
        return {k: v for k, v in values.items() if v}


def alerts_query(f: AlertFilter, status: str) -> Select[Any]:
    """The alerts of one status matching the filter (paged by created_at, id)."""
    query = select(SpikeAlert).where(SpikeAlert.status == status)
    if f.town_id is not None:
        query = query.where(SpikeAlert.town_id == f.town_id)
    if f.dimension:
        query = query.where(SpikeAlert.dimension == f.dimension)
    return query


def open_alerts(town_id: int | None = None, limit: int = 10) -> list[SpikeAlert]:
    """The newest open alerts (of one town, or all): the dashboard's list."""
    query = alerts_query(AlertFilter(town_id=town_id), AlertStatus.OPEN)
    return list(db.session.scalars(query.order_by(SpikeAlert.created_at.desc(), SpikeAlert.id.desc()).limit(limit)))


def may_acknowledge(user: Any, alert: SpikeAlert) -> bool:
    """Bureau staff of the alert's town, or city-wide staff (no town of their own)."""
    return bool(getattr(user, "is_staff", False)) and user.town_id in (None, alert.town_id)


def acknowledge(alert: SpikeAlert, officer: User, note: str, now: datetime | None = None) -> None:
    """An officer has seen the alert and says what is done about it; commits."""
    if not may_acknowledge(officer, alert):
        raise AlertError("other_town")
    note = (note or "").strip()
    if not note:
        raise AlertError("note_required", field="note")
    now = now or datetime.now(UTC)
    # Conditional on the alert still being open: of two officers acknowledging at once, one wins.
    done = db.session.execute(
        update(SpikeAlert).where(SpikeAlert.id == alert.id, SpikeAlert.status == AlertStatus.OPEN)
        .values(status=AlertStatus.ACKNOWLEDGED, acknowledged_by_id=officer.id, acknowledged_at=now,
                note=note[:500])
        .execution_options(synchronize_session=False))
    if not getattr(done, "rowcount", 0):
        raise AlertError("not_open")
    db.session.add(SpikeAlertEvent(alert_id=alert.id, from_status=AlertStatus.OPEN,
                                   to_status=AlertStatus.ACKNOWLEDGED, actor_id=officer.id, note=note[:500],
                                   created_at=now))
    db.session.commit()
    db.session.refresh(alert)


def history(alert: SpikeAlert) -> list[SpikeAlertEvent]:
    return list(db.session.scalars(select(SpikeAlertEvent).where(SpikeAlertEvent.alert_id == alert.id)
                                   .order_by(SpikeAlertEvent.created_at, SpikeAlertEvent.id)))


# --- the report --------------------------------------------------------------------------

def in_period(first: date, last: date) -> list[SpikeAlert]:
    """Alerts whose episode touched the days `first` to `last`, oldest first."""
    return list(db.session.scalars(
        select(SpikeAlert).where(SpikeAlert.week_start <= last,
                                 SpikeAlert.last_week >= week_of(first))
        .order_by(SpikeAlert.week_start, SpikeAlert.id)))
