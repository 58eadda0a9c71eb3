"""DEMO ONLY: the spike alerts of the demo city. The daily job is run as it would have run
once a week over the demo year's last months, then today, so that the planted rising
problem shows as an open alert (and earlier spikes, if the year's noise made any, as older
ones). One alert is acknowledged by its town's officer with a note: the oldest that has
ended, or else one of two alerts that show the same rise through two cuts (the planted
problem and the commercial area its shops are in), the other staying open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import AlertStatus, SpikeAlert
from . import alerts, spike_rule

BACKFILL_WEEKS = 40
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
    ended = alerts.week_of(now.date()) - timedelta(weeks=spike_rule.COOLDOWN_WEEKS + 1)
    for alert in db.session.scalars(select(SpikeAlert).where(SpikeAlert.status == AlertStatus.OPEN,
                                                             SpikeAlert.last_week < ended)
                                    .order_by(SpikeAlert.week_start, SpikeAlert.id)):
        officers = alerts.town_officers(alert.town_id)
        if officers:
            alerts.acknowledge(alert, officers[0], NOTE, now=alert.created_at + timedelta(days=1))
            return
    current = list(db.session.scalars(select(SpikeAlert).where(SpikeAlert.status == AlertStatus.OPEN)
                                      .order_by(SpikeAlert.week_start, SpikeAlert.id)))
    order = {d: i for i, d in enumerate(alerts.DIMENSIONS)}
    for alert in current:
        first = [a for a in current if a.town_id == alert.town_id and a.week_start == alert.week_start
                 and order[a.dimension] < order[alert.dimension]]
        officers = alerts.town_officers(alert.town_id)
        if first and officers:
            alerts.acknowledge(alert, officers[0], SAME_RISE_NOTE.format(alert=first[0].id), now=now)
            return
