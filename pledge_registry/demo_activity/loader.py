"""Write the DEMO city's year of activity: the planned cases with their events, messages
and surveys (bulk INSERTs: the workflow commits per step and would take minutes), then
inspections and penalties, ratings, nominations and an appeal through the services.

Everything written here is fake: shoppers' names and phones (170 numbers), their
accounts, inspections, penalties (case numbers marked 演示), nominations.
"""

from __future__ import annotations

import random
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update

from ..complaints import deadlines
from ..complaints.workflow import CONSENT_VERSION, survey_url
from ..compliance import services as compliance
from ..extensions import db
from ..localtime import local_date
from ..models import (
    Complaint,
    ComplaintEvent,
    Merchant,
    MerchantStatus,
    OutboxMessage,
    Pledge,
    PledgeStatus,
    SurveyResponse,
    Town,
    User,
    new_tracking_code,
)
from ..nominations import services as nominations
from ..nominations.services import NominationError
from ..workdays import WorkCalendar
from . import schedule

RISE = schedule.Rise(town="高新区", problem_type="contract_terms")  # home decoration contracts

ITEMS = {
    "food": ["蛋糕", "套餐", "预制菜"], "clothing": ["羽绒服", "运动鞋", "童装"], "property": ["物业服务"],
    "vehicles": ["二手车", "汽车保养"], "appliances": ["空调", "洗衣机", "手机"], "ebikes": ["电动自行车", "电池"],
    "furniture": ["全屋定制", "沙发", "装修工程"], "beauty": ["美容卡", "护肤品"], "education": ["培训课程"],
    "prepaid": ["健身卡", "洗衣卡", "储值卡"], "telecoms": ["宽带套餐", "手机套餐"], "other": ["商品"],
}
ACCOUNTS = {
    "quality": "购买后不久出现质量问题，商家拒绝退换。",
    "genuine_doubt": "怀疑所购商品不是正品，商家无法出示来源凭证。",
    "refused_return": "商品完好并有小票，在承诺期限内要求无理由退货被拒。",
    "contract_terms": "合同中有不公平格式条款，商家拒绝解除合同并退还定金。",
    "advertising": "宣传内容与实际不符。",
    "price": "结账价格高于标价。",
    "service": "服务态度差，承诺的服务未兑现。",
    "safety": "商品存在安全隐患。",
    "other": "其他消费纠纷。",
}
WANTS = {"quality": ["refund", "exchange"], "genuine_doubt": ["refund", "compensation"],
         "refused_return": ["refund"], "contract_terms": ["refund"], "advertising": ["refund", "apology"],
         "price": ["refund"], "service": ["apology"], "safety": ["refund", "compensation"], "other": ["refund"]}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱马胡郭"
REPLIES = "已与消费者联系，同意按规定处理。"
REJECT_REASONS = ("outside_scope", "court_or_arbitration", "too_old")
INSPECTION_SUBJECTS = ("商品质量抽检", "明码标价检查", "无理由退货承诺落实检查")


@dataclass(frozen=True)
class People:
    """The demo's officers: the city staff member, and the town officers by town id."""

    city: User
    towns: dict[int, User]


@dataclass
class ShopRow:
    """What the loader needs of a merchant."""

    id: int
    status: str
    category: str
    town_id: int
    owner_id: int
    contact_phone: str
    shop_name: str
    town: str


@dataclass
class ActivityReport:
    cases: int = 0
    inspections: int = 0
    penalties: int = 0
    nominations: int = 0
    appeals: int = 0


def load_year(people: People, seed: int, now: datetime | None = None,
              merchant_login: User | None = None) -> ActivityReport:
    """A year of activity ending `now`, scaled to the merchants in the database; the same
    counts for the same seed and merchants. Commits."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    report = ActivityReport()
    merchants = [ShopRow(*row) for row in db.session.execute(
        select(Merchant.id, Merchant.status, Merchant.category, Merchant.town_id, Merchant.owner_id,
               Merchant.contact_phone, Merchant.shop_name, Town.name)
        .join(Town, Town.id == Merchant.town_id).order_by(Merchant.id))]
    live = [m for m in merchants if m.status in (MerchantStatus.APPROVED, MerchantStatus.CLOSED)]
    exemplary = _exemplary(people)
    featured = _featured_shops(merchants, exemplary)
    shops = [schedule.Shop(m.id, m.town, m.category, exemplary=m.id in exemplary) for m in live]
    plan = schedule.plan_year(shops, seed, now, deadlines.calendar(), rise=RISE)
    cases = _feature(plan.cases, featured)
    if merchant_login is not None and featured:
        _give_shops(merchant_login, list(featured.values()))
        for m in merchants:
            if m.id in featured.values():
                m.owner_id = merchant_login.id
    by_id = {m.id: m for m in merchants}
    report.cases = _write_cases(cases, by_id, people, rng, now)
    report.inspections, report.penalties = _compliance(live, exemplary, featured, people, rng, now)
    from ..ratings.services import recompute_all

    recompute_all(cause="demo")
    report.nominations = _nominations(exemplary, people, now)
    if merchant_login is not None and featured.get("main"):
        report.appeals = _appeal(merchant_login, featured["main"], now)
    compliance.propose_suspensions(now)
    return report


# --- who is in the demo --------------------------------------------------------------------

def _exemplary(people: People, per_town: int = 3) -> set[int]:
    """Shops kept clean for nominations: approved, both pledges active the longest, in the
    towns that have an officer (the first step of a nomination is theirs)."""
    active: dict[int, list[datetime]] = {}
    rows = db.session.execute(
        select(Merchant.id, Merchant.town_id, Pledge.activated_at).join(Pledge, Pledge.merchant_id == Merchant.id)
        .where(Merchant.town_id.in_(list(people.towns)), Merchant.status == MerchantStatus.APPROVED,
               Pledge.status == PledgeStatus.ACTIVE, Pledge.activated_at.is_not(None)))
    town_of = {}
    for merchant_id, town_id, activated in rows:
        active.setdefault(merchant_id, []).append(activated)
        town_of[merchant_id] = town_id
    both = sorted((max(days), m) for m, days in active.items() if len(days) == 2)
    chosen: set[int] = set()
    for town_id in people.towns:
        chosen.update([m for _, m in both if town_of[m] == town_id][:per_town])
    return chosen


def _featured_shops(merchants: Sequence[ShopRow], exemplary: set[int]) -> dict[str, int]:
    """The merchant login's shops, one in each state worth showing: an approved shop with a
    complaint to answer ("main"), one with a suspended pledge, one waiting for review, one
    rejected."""
    suspended = set(db.session.scalars(select(Pledge.merchant_id).where(Pledge.status == PledgeStatus.SUSPENDED)))
    active = set(db.session.scalars(select(Pledge.merchant_id).where(Pledge.status == PledgeStatus.ACTIVE)))
    wanted = {
        "main": lambda m: m.status == MerchantStatus.APPROVED and m.id in active and m.id not in suspended,
        "suspended": lambda m: m.status == MerchantStatus.APPROVED and m.id in suspended,
        "pending": lambda m: m.status == MerchantStatus.PENDING,
        "rejected": lambda m: m.status == MerchantStatus.REJECTED,
    }
    found: dict[str, int] = {}
    for name, fits in wanted.items():
        shop = next((m.id for m in merchants if fits(m) and m.id not in exemplary
                     and m.id not in found.values()), None)
        if shop is not None:
            found[name] = shop
    return found


def _feature(cases: list[schedule.Case], featured: dict[str, int]) -> list[schedule.Case]:
    """The main shop of the merchant login gets the case waiting for a merchant's answer."""
    main = featured.get("main")
    if main is None:
        return cases
    waiting = next((i for i, c in enumerate(cases) if c.request_type == "complaint" and c.status == "with_merchant"),
                   None)
    if waiting is not None:
        cases = [*cases]
        cases[waiting] = replace(cases[waiting], shop=main)
    return cases


def _give_shops(owner: User, merchant_ids: list[int]) -> None:
    db.session.execute(update(Merchant).where(Merchant.id.in_(merchant_ids)).values(owner_id=owner.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(Pledge).where(Pledge.merchant_id.in_(merchant_ids)).values(signed_by_id=owner.id)
                       .execution_options(synchronize_session=False))
    db.session.commit()


# --- cases ---------------------------------------------------------------------------------

def _table(model: Any) -> Table:
    """A model's table: Core INSERTs of many rows are one executemany each (the ORM's bulk
    INSERT splits the rows wherever their NULLs differ)."""
    return cast(Table, model.__table__)


def _officer_for(people: People, town_id: int) -> User:
    return people.towns.get(town_id, people.city)


def _write_cases(cases: Sequence[schedule.Case], merchants: dict[int, ShopRow], people: People,
                 rng: random.Random, now: datetime, chunk: int = 2000) -> int:
    cal = deadlines.calendar()
    limits = deadlines.current_deadlines()
    for first in range(0, len(cases), chunk):
        part = cases[first:first + chunk]
        rows = [_complaint_row(c, merchants[c.shop], people, rng, cal, limits) for c in part]
        ids = dict(db.session.execute(
            insert(_table(Complaint)).returning(_table(Complaint).c.idempotency_key, _table(Complaint).c.id),
            rows).tuples().all())
        events, messages, surveys = [], [], []
        for case, row in zip(part, rows, strict=True):
            complaint_id = ids[row["idempotency_key"]]
            m = merchants[case.shop]
            officer = _officer_for(people, m.town_id)
            case_events = _event_rows(case, complaint_id, officer.id, m.owner_id)
            if row["channel"] != "web" and case_events and case_events[0]["kind"] == "received":
                # Another channel's request: entered here by the town's officer.
                case_events[0].update(kind="recorded", actor_role="staff", actor_id=row["recorded_by_id"],
                                      note=f"{row['channel']} {row['channel_ref']}")
            events += case_events
            messages += _message_rows(case, complaint_id, row, m)
            answered = _survey_row(case, complaint_id, rng, now)
            if answered is not None:
                surveys.append(answered)
        db.session.execute(insert(_table(ComplaintEvent)), events)
        if messages:
            db.session.execute(insert(_table(OutboxMessage)), messages)
        if surveys:
            db.session.execute(insert(_table(SurveyResponse)), surveys)
        db.session.commit()
    return len(cases)


def _complaint_row(case: schedule.Case, m: ShopRow, people: People, rng: random.Random, cal: WorkCalendar,
                   limits: deadlines.Deadlines) -> dict[str, Any]:
    at = {s.kind: s.at for s in case.steps}
    outcome = case.outcome
    closed = case.steps[-1].at if outcome else None
    accepted = at.get("accepted")
    forwarded = at.get("forwarded")
    replied = at.get("merchant_reply")
    complaint = case.request_type == "complaint"
    resolved = outcome == "resolved" and complaint
    purchased = local_date(case.received) - timedelta(days=rng.randint(0, 40))
    return {
        "tracking_code": new_tracking_code(), "idempotency_key": f"demo-{uuid.uuid4().hex}",
        "request_type": case.request_type, "merchant_id": m.id, "station_id": None,
        "item": rng.choice(ITEMS.get(m.category, ITEMS["other"])),
        "purchased_on": purchased if complaint else None,
        "amount_paid_cents": case.amount_paid_cents if complaint else None,
        "problem_type": case.problem_type, "account": ACCOUNTS[case.problem_type],
        "wants": WANTS[case.problem_type] if complaint else [],
        "shopper_name": rng.choice(SURNAMES) + rng.choice(("先生", "女士")),
        "shopper_phone": f"170{rng.randrange(10 ** 8):08d}",
        "consent_version": CONSENT_VERSION, "consent_at": case.received,
        "status": case.status, "outcome": outcome,
        "outcome_note": {"not_resolved": "双方未达成一致，建议通过仲裁或诉讼解决。",
                         "rejected": "不属于受理范围。"}.get(outcome or "", ""),
        "reject_reason": rng.choice(REJECT_REASONS) if outcome == "rejected" else None,
        "amount_recovered_cents": case.recoverable_cents if resolved else 0,
        "upheld": True if resolved else (rng.random() < 0.5 if outcome == "not_resolved" and complaint else None),
        "assigned_officer_id": _officer_for(people, m.town_id).id if accepted or closed else None,
        "duplicate_of_id": None, "possible_duplicate": False,
        "merchant_reply": REPLIES if replied else "",
        "proposal_kind": "refund" if replied else None,
        "proposal_amount_cents": case.recoverable_cents if replied else None,
        "proposal_response": ("accepted" if case.path == "merchant" and outcome else
                              "rejected" if "proposal_rejected" in at else None),
        "received_at": case.received, **_channel_of(case, _officer_for(people, m.town_id).id),
        "acceptance_due_at": cal.add_workdays(case.received, limits.acceptance_days),
        "completion_due_at": cal.add_workdays(case.received, limits.completion_days),
        "accepted_at": accepted, "forwarded_at": forwarded,
        "merchant_reply_due_at": cal.add_workdays(forwarded, limits.merchant_reply_days) if forwarded else None,
        "merchant_replied_at": replied, "closed_at": closed, "anonymised_at": None,
    }


# Where the year's requests came in (全口径归集): about half on this platform, the rest by the
# other channels, with each channel's consent; drawn from the case itself, not from the
# year's generator, so the same seed still gives the same counts.
CHANNEL_SHARES = (("web", 45), ("12315", 25), ("12345", 15), ("phone", 6), ("walk_in", 4), ("referral", 3),
                  ("letter", 2))
CHANNEL_CONSENT = {"web": "web_form", "12315": "channel", "12345": "channel", "referral": "channel",
                   "phone": "oral", "walk_in": "oral", "letter": "written"}
_CHANNEL_DRAW = [name for name, share in CHANNEL_SHARES for _ in range(share)]


def _channel_of(case: schedule.Case, officer_id: int) -> dict[str, Any]:
    """The case's channel, its reference there, the consent given there, who entered it."""
    draw = random.Random(f"{case.shop}-{case.received.isoformat()}")
    channel = draw.choice(_CHANNEL_DRAW)
    web = channel == "web"
    ref = None if web else f"{channel.upper()[:4]}{local_date(case.received):%Y%m%d}{draw.randrange(10 ** 8):08d}"
    return {"channel": channel, "channel_ref": ref, "consent_method": CHANNEL_CONSENT[channel],
            "recorded_by_id": None if web else officer_id}


def _event_rows(case: schedule.Case, complaint_id: int, officer_id: int, owner_id: int) -> list[dict[str, Any]]:
    rows, previous = [], None
    for step in case.steps:
        actor = {"officer": officer_id, "merchant": owner_id}.get(step.actor)
        note = REPLIES if step.kind == "merchant_reply" else ""
        rows.append({"complaint_id": complaint_id, "kind": step.kind, "from_status": previous,
                     "to_status": step.to_status, "actor_role": step.actor, "actor_id": actor, "note": note,
                     "public": True, "created_at": step.at})
        previous = step.to_status
    return rows


def _message(channel: str, recipient: str, template: str, context: dict[str, Any], dedupe_key: str,
             at: datetime) -> dict[str, Any]:
    """An outbox row as the workflow writes it, already delivered at its step's time."""
    return {"channel": channel, "recipient": recipient, "template": template, "context": context,
            "dedupe_key": dedupe_key, "status": "sent", "attempts": 1, "next_attempt_at": at,
            "claimed_until": None, "last_error": "", "created_at": at, "sent_at": at}


def _message_rows(case: schedule.Case, complaint_id: int, row: dict[str, Any], m: ShopRow) -> list[dict[str, Any]]:
    """The notifications each step sends (workflow._notify_shopper/_notify_merchant)."""
    phone, code, shop = row["shopper_phone"], row["tracking_code"], m.shop_name
    key = f"complaint:{complaint_id}"
    shopper = {"tracking_code": code, "shop": shop}
    out = []
    for step in case.steps:
        if step.kind == "received":
            out.append(_message("sms", phone, "complaint_received", shopper, f"{key}:complaint_received:", step.at))
        elif step.kind == "accepted":
            out.append(_message("sms", phone, "complaint_accepted", shopper, f"{key}:complaint_accepted:", step.at))
        elif step.kind == "forwarded":
            stamp = step.at.isoformat()
            out.append(_message("sms", m.contact_phone, "merchant_new_complaint",
                                {"shop": shop, "complaint_id": complaint_id, "step": stamp},
                                f"{key}:merchant_new_complaint:{stamp}", step.at))
        elif step.kind == "merchant_reply":
            stamp = step.at.isoformat()
            out.append(_message("sms", phone, "merchant_answered", {**shopper, "step": stamp},
                                f"{key}:merchant_answered:{stamp}", step.at))
        elif step.to_status == "closed":
            out.append(_message("sms", phone, "complaint_closed", {**shopper, "outcome": step.kind},
                                f"{key}:complaint_closed:", step.at))
            if step.kind != "withdrawn" and case.request_type == "complaint":
                url = survey_url(Complaint(id=complaint_id))
                out.append(_message("sms", phone, "survey", {**shopper, "survey_url": url},
                                    f"{key}:survey:", step.at))
    return out


def _survey_row(case: schedule.Case, complaint_id: int, rng: random.Random, now: datetime) -> dict[str, Any] | None:
    if case.request_type != "complaint" or case.outcome in (None, "withdrawn") or case.survey_answer is None:
        return None
    answered = case.steps[-1].at + timedelta(hours=rng.randint(1, 48))
    if answered >= now:
        return None
    return {"complaint_id": complaint_id, "answer": case.survey_answer, "comment": "", "created_at": answered}


# --- compliance, nominations, an appeal ------------------------------------------------------

def _compliance(live: Sequence[ShopRow], exemplary: set[int], featured: dict[str, int], people: People,
                rng: random.Random, now: datetime) -> tuple[int, int]:
    """Spot checks for about a third of the live shops (one in six failed) and penalties for
    a few, through the import service (validated, one transaction)."""
    today = local_date(now)
    inspections, penalties = [], []
    for m in live:
        if m.id in exemplary:
            inspections.append((m.id, compliance.InspectionData(
                today - timedelta(days=rng.randint(20, 300)), INSPECTION_SUBJECTS[0], "passed")))
            continue
        failed_main = m.id == featured.get("main")
        if failed_main or rng.random() < 0.35:
            failed = failed_main or rng.random() < 1 / 6
            inspections.append((m.id, compliance.InspectionData(
                today - timedelta(days=rng.randint(5, 300)), rng.choice(INSPECTION_SUBJECTS),
                "failed" if failed else "passed", "抽检不合格：标签标识不规范。" if failed else "")))
        if not failed_main and rng.random() < 0.03:
            penalties.append((m.id, compliance.PenaltyData(
                f"太市监处罚〔演示〕{secrets.token_hex(4)}号", today - timedelta(days=rng.randint(10, 330)),
                "销售不合格商品", rng.choice((2000, 5000, 10000)) * 100)))
    if not penalties and live:  # a small demo still shows a penalty
        shop = next((m for m in live if m.id not in exemplary and m.id != featured.get("main")), None)
        if shop is not None:
            penalties.append((shop.id, compliance.PenaltyData(
                f"太市监处罚〔演示〕{secrets.token_hex(4)}号", today - timedelta(days=40), "虚假宣传", 500000)))
    compliance.load_imported(people.city, inspections, penalties)
    return len(inspections), len(penalties)


def _nominations(exemplary: set[int], people: People, now: datetime) -> int:
    """Nominations at every step, through the services: named units (one later delisted),
    waiting for the city, waiting for the town, rejected, withdrawn; and one title that
    ran out last year. Each application is made only where the rules allow it."""
    shops = [db.session.get_one(Merchant, m) for m in sorted(exemplary)]
    if not shops:
        return 0
    made = 0
    wanted = ["approved", "approved", "delisted", "town_approved", "submitted", "rejected", "withdrawn"]
    for target in wanted:
        for shop in shops:
            for level in ("demonstration", "participant"):
                if _nominate(shop, level, target, people, now):
                    made += 1
                    break
            else:
                continue
            break
    made += _expired_title(shops[0], people, now)
    return made


def _nominate(shop: Merchant, level: str, target: str, people: People, now: datetime) -> bool:
    town_officer = people.towns.get(shop.town_id)
    if town_officer is None:
        return False
    try:
        n = nominations.apply(shop.owner, shop, level, "诚信经营，欢迎监督。", now=now)
    except NominationError:
        return False
    if target == "withdrawn":
        nominations.withdraw(shop.owner, n, now=now)
    elif target != "submitted":
        approve = target != "rejected"
        reason = "经营规范，同意推荐。" if approve else "近期投诉较多，暂不推荐。"
        nominations.town_decide(town_officer, n, approve, reason, now=now)
        if target in ("approved", "delisted"):
            nominations.city_decide(people.city, n, True, "符合示范单位条件，同意命名。", now=now)
        if target == "delisted":
            nominations.delist(people.city, n, "演示：复查发现问题，摘牌。", now=now)
    return True


def _expired_title(shop: Merchant, people: People, now: datetime) -> int:
    """A participant title named 13 months ago that ran out a month ago (written as history:
    the services decide in the present)."""
    from ..models import Nomination, NominationEvent

    town_officer = people.towns.get(shop.town_id)
    if town_officer is None:
        return 0
    start = now - timedelta(days=400)
    n = Nomination(merchant_id=shop.id, level="participant", status="expired", applied_by_id=shop.owner_id,
                   statement="诚信经营。", eligibility={}, town_decided_by_id=town_officer.id,
                   town_reason="同意推荐。", town_decided_at=start + timedelta(days=3),
                   city_decided_by_id=people.city.id, city_reason="同意命名。",
                   city_decided_at=start + timedelta(days=6),
                   title_expires_on=local_date(start + timedelta(days=6)) + timedelta(days=364), created_at=start)
    db.session.add(n)
    db.session.flush()
    steps = [(None, "submitted", shop.owner_id, start),
             ("submitted", "town_approved", town_officer.id, n.town_decided_at),
             ("town_approved", "approved", people.city.id, n.city_decided_at),
             ("approved", "expired", None, start + timedelta(days=371))]
    db.session.add_all(NominationEvent(nomination_id=n.id, from_status=a, to_status=b, actor_id=who, note="",
                                       created_at=at) for a, b, who, at in steps)
    db.session.commit()
    return 1


def _appeal(owner: User, merchant_id: int, now: datetime) -> int:
    """The merchant login appeals its failed spot check."""
    from ..models import Inspection

    merchant = db.session.get_one(Merchant, merchant_id)
    inspection = db.session.scalar(select(Inspection.id).where(
        Inspection.merchant_id == merchant_id, Inspection.result == "failed").limit(1))
    try:
        compliance.file_appeal(owner, merchant, "抽检样品并非本店销售的批次，申请复核。", inspection_id=inspection,
                               now=now)
    except compliance.ComplianceError:
        return 0
    return 1
