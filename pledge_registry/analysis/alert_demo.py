"""DEMO ONLY: the spike alerts of the demo city. The daily job is run as it would have run
once a week over the demo year's last months, then today, so that the planted rising
problem shows as an open alert (and earlier spikes, if the year's noise made any, as older
ones). One alert is acknowledged by its town's officer with a note: the oldest that has
ended, or else an alert that shows the planted rise through another cut (its shops'
industry or commercial area), the planted problem's own alert staying open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ..demo_activity.loader import RISE
from ..extensions import db
from ..localtime import local_date
from ..models import AlertStatus, SpikeAlert, Town
from . import alerts, spike_rule

BACKFILL_WEEKS = 26
# What the demo's officer wrote (data, in the officer's language: not a translated text).
NOTE = "已逐户核查：系季节性高峰，已按件分别处理，无需进一步措施。"
SAME_RISE_NOTE = "与第{alert}号预警为同一波投诉上升（同一批商户），在该预警中统一跟进处置。"


def load(now: datetime | None = None) -> alerts.Run:
    """Run the demo's weeks of the job; returns today's run."""
    now = now or datetime.now(UTC)
    for back in range(BACKFILL_WEEKS, 0, -1):
        alerts.detect(now - timedelta(weeks=back))
    run = alerts.detect(now)
    _acknowledge_one(now)
    return run


def _acknowledge_one(now: datetime) -> None:
    ended = alerts.week_of(local_date(now)) - timedelta(weeks=spike_rule.COOLDOWN_WEEKS + 1)
    for alert in db.session.scalars(select(SpikeAlert).where(SpikeAlert.status == AlertStatus.OPEN,
                                                             SpikeAlert.last_week < ended)
                                    .order_by(SpikeAlert.week_start, SpikeAlert.id)):
        officers = alerts.town_officers(alert.town_id)
        if officers:
            alerts.acknowledge(alert, officers[0], NOTE, now=alert.created_at + timedelta(days=1))
            return
    # Else: the planted problem's alert stays open; the same rise seen through another cut
    # (its shops' industry or commercial area) is acknowledged, pointing to it.
    town_id = db.session.scalar(select(Town.id).where(Town.name == RISE.town))
    planted = db.session.scalar(select(SpikeAlert).where(
        SpikeAlert.town_id == town_id, SpikeAlert.dimension == "problem_type", SpikeAlert.key == RISE.problem_type,
        SpikeAlert.status == AlertStatus.OPEN).order_by(SpikeAlert.week_start.desc()).limit(1))
    officers = alerts.town_officers(town_id) if town_id is not None else []
    if planted is None or not officers:
        return
    same = db.session.scalar(select(SpikeAlert).where(
        SpikeAlert.town_id == town_id, SpikeAlert.week_start >= planted.week_start,
        SpikeAlert.week_start <= planted.last_week, SpikeAlert.id != planted.id,
        SpikeAlert.status == AlertStatus.OPEN).order_by(SpikeAlert.week_start, SpikeAlert.id).limit(1))
    if same is not None:
        alerts.acknowledge(same, officers[0], SAME_RISE_NOTE.format(alert=planted.id), now=now)
