"""What an analysis report (研判报告) says, as plain data: built from the database by
`reports/content.py`, drawn by `reports/pdf_render.py` and `reports/workbook.py`.

Pure (no Flask, no database), so both renderings can be tested on data built in the test.
Every text is already in the reader's language; numbers stay numbers (the workbook keeps
them as figures, the PDF formats them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

Number = int | float
Cell = str | int | float | None


@dataclass(frozen=True)
class KeyFigure:
    """One headline measure for the period, set against the period before and a year earlier."""

    label: str
    value: Number | None          # None: nothing to measure (no survey answered, say)
    previous: Number | None
    year_before: Number | None
    unit: str = ""                # "%", "元", "件" ...: shown after the value
    decimals: int = 0


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[Number, ...]


@dataclass(frozen=True)
class Chart:
    """A bar chart: one bar group per category label, one bar per series."""

    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class AlertLine:
    """A spike alert raised in the period, with what became of it."""

    subject: str                  # what drew the complaints: "餐饮 · 沙溪镇"
    town: str
    weeks: str                    # "2026-11-02 – 2026-11-16"
    observed: int
    baseline: float
    p_value: float
    outcome: str                  # "Acknowledged by 张三 on 2026-11-20: ..." or "Open"


@dataclass(frozen=True)
class Texts:
    """The report's fixed wording, in its language."""

    key_figures: str
    measure: str
    this_period: str
    previous_period: str
    year_before: str
    change: str
    charts: str
    tables: str
    alerts: str
    no_alerts: str
    alert_columns: tuple[str, str, str, str, str, str, str]
    page: str                     # "第 {page} 页" / "Page {page}"
    method: str


@dataclass(frozen=True)
class Report:
    language: str                 # "zh" or "en"
    title: str                    # "2026年11月消费投诉研判报告"
    period_code: str              # "2026-11"
    period_label: str             # "2026年11月" / "November 2026"
    bureau: str
    made_line: str                # "Made by 张三, 2026-12-01 09:30"
    texts: Texts
    key_figures: tuple[KeyFigure, ...]
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    alerts: tuple[AlertLine, ...] = ()
    alerts_note: str = ""         # what the alert section cannot show yet, if anything
    sheet_names: dict[str, str] = field(default_factory=dict)


def change(value: Number | None, before: Number | None) -> float | None:
    """Relative change from `before` to `value` (0.25 = +25%); None if it cannot be said."""
    if value is None or before is None or before == 0:
        return None
    return (value - before) / before
