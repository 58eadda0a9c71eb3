"""The words of every notification, per template key: Chinese first, then English.

A message is rendered at delivery time from the context stored with it. Text messages
stay short and never carry the complaint's account or the shopper's name; they point to
the tracking page instead. Pure module: no Flask, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class UnknownTemplate(KeyError):
    """No text exists for this template key (a programming error: never retried)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


_OUTCOMES = {
    "resolved": ("已调解成功", "resolved by agreement"),
    "not_resolved": ("未能调解成功，建议通过仲裁或诉讼解决", "not resolved: arbitration or court advised"),
    "rejected": ("不予受理", "not accepted"),
    "withdrawn": ("已撤回", "withdrawn"),
}

# key → (subject, body); both are str.format templates over the context plus `base_url`.
# Shopper messages go by SMS: one short sentence in each language, the tracking code, a link.
TEXTS: dict[str, tuple[str, str]] = {
    "complaint_received": (
        "投诉已收到 Complaint received",
        "您对{shop}的投诉已收到，查询码{tracking_code}，可在 {base_url}/track 查询进度。"
        "Complaint received, tracking code {tracking_code}.",
    ),
    "complaint_accepted": (
        "投诉已受理 Complaint accepted",
        "您对{shop}的投诉（查询码{tracking_code}）已受理。"
        "Your complaint {tracking_code} has been accepted.",
    ),
    "merchant_answered": (
        "商户已答复 The merchant answered",
        "{shop}已答复您的投诉（查询码{tracking_code}），请到 {base_url}/track 查看并回复。"
        "The merchant answered complaint {tracking_code}: please reply online.",
    ),
    "complaint_closed": (
        "投诉已办结 Complaint closed",
        "您的投诉（查询码{tracking_code}）已办结：{outcome_zh}。"
        "Complaint {tracking_code} closed: {outcome_en}.",
    ),
    "survey": (
        "满意度回访 Satisfaction survey",
        "请对投诉（查询码{tracking_code}）的处理作出评价：{survey_url} "
        "Please rate how complaint {tracking_code} was handled.",
    ),
    "merchant_new_complaint": (
        "新投诉待答复 New complaint to answer",
        "{shop}收到一件消费投诉（编号{complaint_id}），请登录 {base_url}/portal/complaints 按期答复。"
        "New complaint no. {complaint_id}: please answer it online in time.",
    ),
    "merchant_reply_reminder": (
        "投诉答复即将到期 Complaint answer due soon",
        "提醒：{shop}的投诉（编号{complaint_id}）须在{due}前答复，请登录 {base_url}/portal/complaints 处理。"
        "Reminder: complaint no. {complaint_id} must be answered by {due}.",
    ),
    "publication_notice": (
        "消费投诉公示告知 Complaint publication notice",
        "{shop}将列入{period}消费投诉公示。公示前（{notice_ends}前）可登录 {base_url}/portal 查看数据并添加说明。"
        "{shop} is in the complaint publication for {period}; you may add a statement online by {notice_ends}.",
    ),
    "officer_deadline_reminder": (
        "投诉{deadline_zh}期限将至（编号{complaint_id}）Complaint {deadline_en} due soon (no. {complaint_id})",
        "您负责的投诉（编号{complaint_id}）须在{due}前{deadline_zh}。\n"
        "案件：{base_url}/staff/complaints/{complaint_id}\n\n"
        "Complaint no. {complaint_id}, assigned to you, is due for {deadline_en} by {due} "
        "(Asia/Shanghai).\n",
    ),
    # A shop owner whose account a town's import opened: the link works once, for {hours} hours.
    "owner_invite": (
        "商户账号已开通 Your shop account is open",
        "{name}您好，市场监管部门已为您登记店铺并开通商户账号，请在{hours}小时内打开链接设置密码：{url} "
        "Your shop account is open: set your password within {hours} hours at the link above.",
    ),
    # Officers of a town: a spike alert (analysis/alerts.py); the link opens its evidence.
    "spike_alert": (
        "投诉异常预警：{subject_zh} Spike alert: {subject_en}",
        "{subject_zh}：自{week}当周起投诉明显增多（当周{observed}件，此前每周平均{baseline}件），请查看并确认处置。\n"
        "{url}\n\n"
        "{subject_en}: complaints rose from the week of {week} ({observed} that week, {baseline} a week "
        "before). Please look and acknowledge it with a note.\n",
    ),
    # Officers of a town: a forged or revoked sticker still hangs somewhere and someone must visit.
    "scan_alert_unknown": (
        "疑似伪造的承诺码被反复扫描 A badge code nobody issued keeps being scanned",
        "未登记的承诺码{code}在{hours}小时内被扫描{scans}次，疑似伪造标识仍在张贴，请核查。\n"
        "{base_url}/staff/scans?code={code}\n\n"
        "The badge code {code}, never issued, was scanned {scans} times in {hours} hours: a forged "
        "sticker may be on display. Please check.\n",
    ),
    "scan_alert_revoked": (
        "已撤销的承诺码仍被扫描 A revoked badge is still being scanned",
        "{shop}（{address}）的承诺已撤销，其标识{code}在{hours}小时内仍被扫描{scans}次，请上门核查并督促撤下。\n"
        "{base_url}/staff/scans?code={code}\n\n"
        "The pledge of {shop} ({address}) was revoked, yet its badge {code} was scanned {scans} times in "
        "{hours} hours: the sticker still hangs. Please visit.\n",
    ),
}

_DEADLINES = {
    "acceptance": ("受理", "acceptance"),
    "completion": ("办结", "completion"),
}


def render(template: str, context: dict[str, Any], channel: str, base_url: str = "",
           sender: str = "") -> Rendered:
    """The subject and text of one message. SMS texts start with the sender's signature
    (【bureau】), which Chinese gateways require; e-mails end with it.

    Raises UnknownTemplate for a key without text and KeyError for a missing context value.
    """
    try:
        subject, body = TEXTS[template]
    except KeyError:
        raise UnknownTemplate(template) from None
    values: dict[str, Any] = {"base_url": base_url, **context}
    if "outcome" in context:
        values["outcome_zh"], values["outcome_en"] = _OUTCOMES.get(context["outcome"], (context["outcome"],) * 2)
    if "deadline" in context:
        values["deadline_zh"], values["deadline_en"] = _DEADLINES.get(context["deadline"], (context["deadline"],) * 2)
    text = body.format(**values)
    if sender:
        text = f"【{sender}】{text}" if channel == "sms" else f"{text}\n\n{sender}\n"
    return Rendered(subject=subject.format(**values), text=text)
