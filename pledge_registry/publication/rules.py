"""The rules of complaint publication: which quarter, who is included, how shares are stated.

Pure module (no Flask, no database): the services and the pages read their rules here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar


@dataclass(frozen=True)
class PublicationRules:
    """What admins configure. A merchant is included in a quarter's publication when at least
    `min_accepted` of its complaints received in the quarter were accepted; merchants are
    told and have `notice_workdays` working days to add a statement before it can be published."""

    min_accepted: int = 3
    notice_workdays: int = 5

    LIMITS: ClassVar[dict[str, tuple[int, int]]] = {"min_accepted": (1, 10_000), "notice_workdays": (0, 30)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PublicationRules:
        """Raises ValueError for a value out of its range."""
        fields = {k: int(v) for k, v in raw.items() if k in cls.__dataclass_fields__}
        value = cls(**fields)
        for name, (low, high) in cls.LIMITS.items():
            if not low <= getattr(value, name) <= high:
                raise ValueError(name)
        return value

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    """The quarter's first day and the first day after it."""
    if not 1 <= quarter <= 4:
        raise ValueError(quarter)
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, end


def last_ended_quarter(today: date) -> tuple[int, int]:
    """The most recent quarter that has ended by `today`."""
    current = (today.month - 1) // 3 + 1
    return (today.year - 1, 4) if current == 1 else (today.year, current - 1)


def has_ended(year: int, quarter: int, today: date) -> bool:
    return quarter_bounds(year, quarter)[1] <= today


def share(part: int, whole: int) -> Decimal | None:
    """part/whole as a percentage with one decimal (half up); None when there is no whole."""
    if whole <= 0:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
