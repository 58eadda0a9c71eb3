"""The analysis report's figures as an Excel workbook (openpyxl), pure: a ``Report`` in, bytes out.

One sheet for the key figures, one per chart and per table, one for the alerts. Numbers are
stored as numbers, so staff can sum and chart them; text that looks like a formula (a shop
named "=...") is stored as text, never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from .model import Cell, Report, change

_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_HEAD_FONT = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")
MAX_SHEET_NAME = 31


def render_workbook(report: Report, created: datetime) -> bytes:
    """The workbook; `created` is its creation time (naive local time is what Excel shows)."""
    book = Workbook()
    book.properties.title = report.title
    book.properties.creator = report.bureau
    book.properties.created = created.replace(tzinfo=None)
    book.properties.modified = created.replace(tzinfo=None)
    book.properties.language = report.language
    names: set[str] = set()
    t = report.texts

    summary = book.active
    assert summary is not None  # a new workbook always has its first sheet
    summary.title = _sheet_name(t.key_figures, names)
    _write(summary, [report.title], [report.made_line], [])
    _write_table(summary, (t.measure, t.this_period, t.previous_period, t.change, t.year_before, t.change, ""),
                 [(f.label, f.value, f.previous, change(f.value, f.previous), f.year_before,
                   change(f.value, f.year_before), f.unit) for f in report.key_figures],
                 percent_columns=(4, 6))

    for chart in report.charts:
        sheet = book.create_sheet(_sheet_name(chart.title, names))
        _write(sheet, [chart.title], [])
        _write_table(sheet, ("", *(s.name for s in chart.series)),
                     [(category, *(s.values[i] for s in chart.series)) for i, category in enumerate(chart.categories)])

    for table in report.tables:
        sheet = book.create_sheet(_sheet_name(table.title, names))
        _write(sheet, [table.title], *([[table.note]] if table.note else []), [])
        _write_table(sheet, table.columns, table.rows)

    sheet = book.create_sheet(_sheet_name(t.alerts, names))
    _write(sheet, [t.alerts], *([[report.alerts_note]] if report.alerts_note else []), [])
    if report.alerts:
        _write_table(sheet, t.alert_columns, [(a.subject, a.town, a.weeks, a.observed, a.baseline, a.p_value, a.outcome)
                                              for a in report.alerts])
    else:
        _write(sheet, [t.no_alerts])

    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(title: str, taken: set[str]) -> str:
    base = _FORBIDDEN.sub(" ", title).strip("' ")[:MAX_SHEET_NAME] or "Sheet"
    name, number = base, 2
    while name.lower() in taken:
        suffix = f" ({number})"
        name, number = base[: MAX_SHEET_NAME - len(suffix)] + suffix, number + 1
    taken.add(name.lower())
    return name


def _write(sheet: Worksheet, *rows: Sequence[Cell]) -> None:
    for values in rows:
        sheet.append([None] * len(values))
        for column, value in enumerate(values, start=1):
            _set(sheet, sheet.max_row, column, value)


def _write_table(sheet: Worksheet, header: Sequence[str], rows: Iterable[Sequence[Cell]],
                 percent_columns: tuple[int, ...] = ()) -> None:
    first = sheet.max_row + 1
    _write(sheet, header)
    for column in range(1, len(header) + 1):
        cell = sheet.cell(first, column)
        cell.font, cell.fill = _HEAD_FONT, _HEAD_FILL
    _write(sheet, *rows)
    for column in percent_columns:
        for row in range(first + 1, sheet.max_row + 1):
            sheet.cell(row, column).number_format = "+0.0%;-0.0%;0.0%"
    longest = max((len(str(sheet.cell(r, 1).value or "")) for r in range(first, sheet.max_row + 1)), default=0)
    sheet.column_dimensions["A"].width = min(40, max(14, 2 * longest))


def _set(sheet: Worksheet, row: int, column: int, value: Cell) -> None:
    cell = sheet.cell(row, column)
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, not a formula
