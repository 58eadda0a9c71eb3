"""The words of a signed pledge: its template version filled in with its terms."""

from __future__ import annotations

import string
from dataclasses import dataclass

from flask_babel import get_locale

from ..models import Pledge
from .labels import REFUND_METHOD_LABELS, STANDARD_EXCLUSIONS

# The placeholders a template body may use; an admin's template is checked against these.
PLACEHOLDERS = ("return_days", "refund_days", "refund_method", "exclusions", "conditions")


@dataclass(frozen=True)
class TermsText:
    title: str
    paragraphs: tuple[str, ...]


def unknown_placeholders(body: str) -> list[str]:
    """Placeholders in a template body that the terms cannot fill (shown as a form error)."""
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(body)
                  if name is not None]
    except ValueError:  # an unmatched brace
        return ["{}"]
    # Only bare names: a format spec ({return_days:>999999999}) or a conversion ({x!r})
    # could blow up or break every scan of every pledge signed on this template.
    return sorted({"{" + name + (":" + spec if spec else "") + ("!" + conversion if conversion else "") + "}"
                   for name, spec, conversion in fields
                   if name not in PLACEHOLDERS or spec or conversion})


def render_terms(pledge: Pledge, lang: str, exclusion_labels: dict[str, str],
                 refund_labels: dict[str, str]) -> TermsText:
    template = pledge.template
    title, body = (template.title_en, template.body_en) if lang == "en" else (template.title_zh, template.body_zh)
    separator = ", " if lang == "en" else "、"
    exclusions = separator.join(exclusion_labels.get(e, e) for e in pledge.excluded_goods or [])
    values = {
        "return_days": pledge.return_days or "",
        "refund_days": pledge.refund_days if pledge.refund_days is not None else "",
        "refund_method": refund_labels.get(pledge.refund_method or "", pledge.refund_method or ""),
        "exclusions": exclusions or ("none" if lang == "en" else "无"),
        "conditions": pledge.conditions or "",
    }
    text = body.format_map(values)
    return TermsText(title, tuple(p.strip() for p in text.split("\n") if p.strip()))


def terms_of(pledge: Pledge) -> TermsText:
    """A pledge's words in the language of this request, with its labels translated."""
    exclusions = {k: str(v) for k, v in STANDARD_EXCLUSIONS.items()}
    refunds = {k: str(v) for k, v in REFUND_METHOD_LABELS.items()}
    return render_terms(pledge, str(get_locale()), exclusions, refunds)
