"""Demo only: one shop imported as a town office would, its owner sent a sign-in link, so
that the development messages page shows the invitation. The same registry.bulk code as
the staff page and `flask merchants import`; docs/sample_merchants.csv stays unimported,
for trying the import by hand."""

from __future__ import annotations

import random

from sqlalchemy import select

from .. import demo
from ..extensions import db
from ..models import Town
from . import bulk

DEMO_TOWN = "沙溪镇"
DEMO_OWNER_PHONE = "13900000199"


def import_invited_owner(seed: int = 11) -> int:
    """Import the demo shop (once: the import is idempotent); how many sign-in links were sent."""
    town = db.session.scalar(select(Town).where(Town.name == DEMO_TOWN))
    if town is None:
        return 0
    code = demo.random_credit_code(random.Random(seed))
    table = ("统一社会信用代码,经营者名称,店铺名称,经营地址,行业类别,联系人,联系电话,状态,发送登录链接\r\n"
             f"{code},太仓市示例茶叶商行,示例茶叶,沙溪镇东市街12号,食品,示例丁,{DEMO_OWNER_PHONE},已通过,是\r\n")
    result = bulk.parse(town, "demo.csv", table.encode("utf-8"))
    bulk.load(result, None)
    return result.invited
