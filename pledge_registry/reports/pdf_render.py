"""The analysis report as an A4 PDF, drawn on the project's one PDF path (``pdf.Document``).

Pure (no Flask): a ``Report`` in, PDF bytes out. The text is real, selectable text in the
embedded Noto Sans CJK SC subset, in the report's language. Charts are drawn here with
fpdf2's own rectangles and lines from the same numbers the tables and the workbook hold
(horizontal bars: long Chinese labels read on the left, and a printed page needs no colour
to be legible: the series differ in shade as well as hue).
"""

from __future__ import annotations

from datetime import datetime

from fpdf.enums import Align, TableBordersLayout, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from ..pdf import CJK_FONT, Document
from .model import Chart, KeyFigure, Number, Report, Table, change

RED = (200, 22, 29)
INK = (26, 26, 26)
GREY = (110, 110, 110)
RULE = (200, 200, 200)
HEAD_FILL = (242, 242, 242)
WHITE = (255, 255, 255)
SERIES_COLOURS = ((200, 22, 29), (120, 120, 120), (40, 90, 160), (230, 150, 40))
MARGIN = 16.0
_HEADINGS = FontFace(family=CJK_FONT, emphasis="", fill_color=HEAD_FILL, color=INK)


class _ReportDocument(Document):
    """A4 pages with the report's title and page number in the margins."""

    def __init__(self, report: Report, created: datetime) -> None:
        super().__init__(page_format="A4", title=report.title, language=_pdf_language(report.language),
                         created=created, author=report.bureau)
        self.report = report
        # Chinese breaks between any two characters; English between words.
        self.wrap = WrapMode.CHAR if report.language == "zh" else WrapMode.WORD
        self.set_margins(MARGIN, MARGIN + 4, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 2)

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(CJK_FONT, size=8)
        self.set_text_color(*GREY)
        self.set_xy(MARGIN, 8)
        self.cell(0, 5, f"{self.report.title}", align=Align.L)
        self.set_draw_color(*RULE)
        self.line(MARGIN, 14, self.w - MARGIN, 14)
        self.set_y(MARGIN + 4)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(CJK_FONT, size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, self.report.texts.page.format(page=self.page_no()), align=Align.C)


def render_pdf(report: Report, created: datetime) -> bytes:
    """The report as a PDF; `created` (the time it was made) is its creation date."""
    doc = _ReportDocument(report, created)
    doc.add_page()
    _title_block(doc, report)
    _heading(doc, report.texts.key_figures)
    _key_figures(doc, report)
    if report.charts:
        _heading(doc, report.texts.charts)
        for chart in report.charts:
            _chart(doc, chart)
    _heading(doc, report.texts.alerts)
    _alerts(doc, report)
    if report.tables:
        _heading(doc, report.texts.tables)
        for table in report.tables:
            _table(doc, table)
    _paragraph(doc, report.texts.method, size=8, colour=GREY)
    return doc.to_bytes()


def _pdf_language(language: str) -> str:
    return "zh-CN" if language == "zh" else "en"


def _title_block(doc: _ReportDocument, report: Report) -> None:
    doc.set_fill_color(*RED)
    doc.rect(0, 0, doc.w, 6, style="F")
    doc.set_text_color(*RED)
    doc.set_font(CJK_FONT, size=11)
    doc.cell(0, 7, report.bureau, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_text_color(*INK)
    doc.set_font(CJK_FONT, size=20)
    doc.multi_cell(0, 10, report.title, wrapmode=doc.wrap, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(CJK_FONT, size=9)
    doc.set_text_color(*GREY)
    doc.cell(0, 6, report.made_line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_draw_color(*RED)
    doc.set_line_width(0.6)
    doc.line(MARGIN, doc.get_y() + 2, doc.w - MARGIN, doc.get_y() + 2)
    doc.set_line_width(0.2)
    doc.ln(6)


def _heading(doc: Document, text: str) -> None:
    if doc.get_y() > doc.h - 50:  # a heading never ends a page
        doc.add_page()
    doc.ln(3)
    doc.set_fill_color(*RED)
    doc.rect(MARGIN, doc.get_y() + 1.2, 1.4, 5.2, style="F")
    doc.set_x(MARGIN + 3.5)
    doc.set_text_color(*INK)
    doc.set_font(CJK_FONT, size=13)
    doc.cell(0, 7.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.ln(1.5)


def _paragraph(doc: _ReportDocument, text: str, *, size: float = 9.5, colour: tuple[int, int, int] = INK) -> None:
    if not text:
        return
    doc.ln(2)
    doc.set_font(CJK_FONT, size=size)
    doc.set_text_color(*colour)
    doc.multi_cell(0, size * 0.55, text, wrapmode=doc.wrap, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def format_number(value: Number | None, decimals: int = 0, unit: str = "") -> str:
    """Thousands separated, with the unit; an en dash where there is nothing to show."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return f"{text}{unit}" if unit in ("%", "") else f"{text} {unit}"


def format_change(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f}%"


def _key_figures(doc: _ReportDocument, report: Report) -> None:
    t = report.texts
    rows: list[tuple[str, ...]] = [(t.measure, t.this_period, t.previous_period, t.change, t.year_before, t.change)]
    for figure in report.key_figures:
        rows.append(_figure_row(figure))
    _grid(doc, rows, col_widths=(3.2, 1.5, 1.5, 1.1, 1.5, 1.1), numeric_from=1)


def _figure_row(f: KeyFigure) -> tuple[str, ...]:
    return (f.label, format_number(f.value, f.decimals, f.unit), format_number(f.previous, f.decimals, f.unit),
            format_change(change(f.value, f.previous)), format_number(f.year_before, f.decimals, f.unit),
            format_change(change(f.value, f.year_before)))


def _table(doc: _ReportDocument, table: Table) -> None:
    doc.set_font(CJK_FONT, size=10.5)
    doc.set_text_color(*INK)
    doc.cell(0, 7, table.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rows = [table.columns, *(tuple(_cell_text(c) for c in row) for row in table.rows)]
    widths = (1.6, *([1.0] * (len(table.columns) - 1)))
    _grid(doc, rows, col_widths=widths, numeric_from=1)
    if table.note:
        _paragraph(doc, table.note, size=8, colour=GREY)
    doc.ln(3)


def _cell_text(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _grid(doc: _ReportDocument, rows: list[tuple[str, ...]], *, col_widths: tuple[float, ...], numeric_from: int,
          text_after: int | None = None) -> None:
    """A table: text columns left-aligned, numbers (from `numeric_from` up to `text_after`) right."""
    doc.set_font(CJK_FONT, size=8.5)
    doc.set_text_color(*INK)
    doc.set_draw_color(*RULE)
    doc.set_fill_color(*WHITE)  # body cells are filled with the current colour
    last_number = len(col_widths) if text_after is None else text_after
    aligns = tuple("RIGHT" if numeric_from <= i < last_number else "LEFT" for i in range(len(col_widths)))
    with doc.table(col_widths=col_widths, text_align=aligns, headings_style=_HEADINGS,
                   borders_layout=TableBordersLayout.HORIZONTAL_LINES, wrapmode=doc.wrap,
                   line_height=4.6, padding=(1.2, 1.5), width=doc.epw) as grid:
        for values in rows:
            row = grid.row()
            for value in values:
                row.cell(value)
    doc.ln(2)


def _alerts(doc: _ReportDocument, report: Report) -> None:
    if report.alerts_note:
        _paragraph(doc, report.alerts_note, size=9, colour=GREY)
    if not report.alerts:
        _paragraph(doc, report.texts.no_alerts)
        return
    rows: list[tuple[str, ...]] = [report.texts.alert_columns]
    for a in report.alerts:
        rows.append((a.subject, a.town, a.weeks, f"{a.observed:,}", f"{a.baseline:.1f}",
                     f"{a.p_value:.2g}", a.outcome))
    _grid(doc, rows, col_widths=(1.8, 1.0, 2.0, 0.7, 0.9, 0.7, 2.6), numeric_from=3, text_after=6)


def _chart(doc: Document, chart: Chart) -> None:
    """Horizontal grouped bars, with the value at the end of each bar and a legend."""
    bar, gap, label_width = 3.2, 2.2, 42.0
    group = bar * len(chart.series) + gap
    height = 10 + group * len(chart.categories) + (6 if len(chart.series) > 1 else 0)
    if doc.get_y() + height > doc.h - MARGIN - 4:
        doc.add_page()
    top = doc.get_y()
    doc.set_font(CJK_FONT, size=10.5)
    doc.set_text_color(*INK)
    doc.cell(0, 7, chart.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    largest = max((v for s in chart.series for v in s.values), default=0) or 1
    left = MARGIN + label_width
    span = doc.w - MARGIN - left - 16
    y = top + 8
    doc.set_font(CJK_FONT, size=7.5)
    for index, category in enumerate(chart.categories):
        doc.set_text_color(*INK)
        label = _shorten(doc, category, label_width - 2)
        doc.text(left - 2 - doc.get_string_width(label), y + group / 2 - gap / 2 + 1.2, label)
        for number, series in enumerate(chart.series):
            value = series.values[index]
            doc.set_fill_color(*SERIES_COLOURS[number % len(SERIES_COLOURS)])
            length = span * value / largest
            if length > 0:
                doc.rect(left, y + number * bar, length, bar - 0.5, style="F")
            doc.set_text_color(*GREY)
            doc.text(left + length + 1, y + number * bar + bar - 1, format_number(value))
        y += group
    doc.set_draw_color(*GREY)
    doc.line(left, top + 7.5, left, y - gap + 0.5)
    if len(chart.series) > 1:
        x = left
        for number, series in enumerate(chart.series):
            doc.set_fill_color(*SERIES_COLOURS[number % len(SERIES_COLOURS)])
            doc.rect(x, y + 1, 3, 3, style="F")
            doc.set_text_color(*INK)
            doc.text(x + 4, y + 3.7, series.name)
            x += 8 + doc.get_string_width(series.name)
        y += 6
    doc.set_y(y + 3)


def _shorten(doc: Document, text: str, width: float) -> str:
    if doc.get_string_width(text) <= width:
        return text
    while text and doc.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"
