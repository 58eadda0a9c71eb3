"""Demo only: two supervision stations with an officer login and a few cases at one of
them, so that `scripts/run` shows a station's queue. Deterministic from the seed."""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ..auth import services as auth_services
from ..complaints import filing
from ..complaints.workflow import NewComplaint
from ..extensions import db
from ..models import CommercialArea, Merchant, Role, SupervisionStation

DEMO_STATIONS = (("华发广场", "华发广场消费维权监督站"), ("南洋广场", "南洋广场消费维权监督站"))
DEMO_LOGIN = "station@demo.invalid"
_ITEMS = (("羽绒服", "quality", "穿了一周就跑绒，商家不给换。"),
          ("运动鞋", "refused_return", "七天内未穿过，商场承诺无理由退货，店员拒绝退。"),
          ("电饭煲", "quality", "用了三天内胆涂层脱落。"),
          ("面包券", "contract_terms", "预付卡说明写着不退不换，但店要关门了。"))


def load(seed: int = 315, now: datetime | None = None) -> list[str]:
    """Create the demo stations, the officer login of the first and its cases; returns the
    login line to print (empty when the login exists already)."""
    now = now or datetime.now(UTC)
    stations = []
    for area_name, station_name in DEMO_STATIONS:
        area = db.session.scalar(select(CommercialArea).where(CommercialArea.name == area_name))
        if area is None:
            continue
        station = db.session.scalar(select(SupervisionStation).where(SupervisionStation.area_id == area.id))
        if station is None:
            station = SupervisionStation(name=station_name, area_id=area.id, active=True)
            db.session.add(station)
            db.session.commit()
        stations.append(station)
    if not stations or auth_services.find_by_login(DEMO_LOGIN) is not None:
        return []
    first = stations[0]
    password = secrets.token_urlsafe(12)
    auth_services.create_user(DEMO_LOGIN, password, "示例监督站工作人员", role=Role.STATION, station_id=first.id)
    _file_cases(first, random.Random(seed), now)
    return [f"{Role.STATION.value:6} login: {DEMO_LOGIN}  password: {password}  ({first.name})"]


def _file_cases(station: SupervisionStation, rng: random.Random, now: datetime) -> None:
    merchants = list(db.session.scalars(select(Merchant).where(Merchant.area_id == station.area_id)
                                        .order_by(Merchant.id).limit(len(_ITEMS))))
    for i, (merchant, (item, problem, account)) in enumerate(zip(merchants, _ITEMS, strict=False)):
        filing.file_complaint(NewComplaint(
            idempotency_key=f"demo-station-{station.id}-{i}", merchant_id=merchant.id, request_type="complaint",
            item=item, purchased_on=None, amount_paid_cents=rng.randrange(5000, 90000),
            problem_type=problem, account=account, wants=("refund",), shopper_name="示例顾客",
            shopper_phone=f"139{rng.randrange(10**8):08d}", consent=True),
            now=now - timedelta(hours=6 * (i + 1)))
