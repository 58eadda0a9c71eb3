"""Printable QR badge (承诺牌) for a merchant's shop window, as PNG and as A6 PDF.

Pure module: no Flask, no database. One layout, computed in millimetres on an A6 page,
is painted twice: by Pillow into a PNG and onto a ``pledge_registry.pdf.Document`` (fpdf2,
which embeds a per-badge subset of Noto Sans CJK SC), so the PDF text is real, selectable
text. Both outputs are cached per ``BadgeContent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from io import BytesIO

import qrcode
from fpdf.drawing import DeviceRGB
from fpdf.enums import PathPaintRule
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_Q

from pledge_registry.localtime import LOCAL_TZ
from pledge_registry.pdf import CJK_FONT, PT_PER_MM, Document, FaceMetrics, face_metrics

PAGE_WIDTH_MM = 105.0  # A6
PAGE_HEIGHT_MM = 148.0
# The PDF is the print master (vector QR, real text, any printer resolution). The PNG is for
# on-screen preview, sharing and quick desk-printer prints: 200 dpi (827 x 1165 px) gives QR
# modules of ~10 whole pixels and the smallest text ~19 px, and renders in ~20 ms, where
# 300 dpi (1240 x 1748) costs ~40 ms, mostly in PNG compression.
PNG_DPI = 200
CACHE_SIZE = 256  # per format; a badge PNG is ~95 kB, a PDF ~20 kB

_PX_PER_MM = PNG_DPI / 25.4

RED = (200, 22, 29)  # 中国红, the colour of official seals and notices
INK = (26, 26, 26)
GREY = (96, 96, 96)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)

_LINE_HEIGHT = 1.22  # em
_IDEOGRAPHIC_CENTRE = 0.38  # em above the baseline: middle of the CJK ideographic em box
_BULLET = "◆ "
_ELLIPSIS = "…"


@dataclass(frozen=True)
class BadgeContent:
    """Everything printed on a badge, already translated and formatted by the caller."""

    shop_name: str
    pledge_labels: tuple[str, ...]
    return_line: str | None  # e.g. "购物15天内无理由退货"; None when no returns pledge
    serial: str
    issue_date: str
    instruction: str
    url: str  # what the QR code encodes
    title: str = "放心消费承诺单位"
    footer: str = ""


# --- layout -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    width: float
    height: float
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class _Text:
    x: float  # left end of the baseline
    baseline: float
    size: float  # em size in mm
    text: str
    colour: tuple[int, int, int]


@dataclass(frozen=True)
class _QRCode:
    x: float  # top-left corner of the symbol, quiet zone included
    y: float
    side: float
    modules: tuple[tuple[bool, ...], ...]  # quiet zone included


_Shape = _Box | _Text | _QRCode


def _layout(content: BadgeContent, face: FaceMetrics) -> list[_Shape]:
    """Place everything on the page, in millimetres from the top-left corner."""
    shapes: list[_Shape] = []
    margin, frame = 3.0, 0.8
    inner_width = PAGE_WIDTH_MM - 16.0

    # A red frame and a red title band, like official notices.
    page_w, page_h = PAGE_WIDTH_MM, PAGE_HEIGHT_MM
    shapes += [
        _Box(margin, margin, page_w - 2 * margin, frame, RED),
        _Box(margin, page_h - margin - frame, page_w - 2 * margin, frame, RED),
        _Box(margin, margin, frame, page_h - 2 * margin, RED),
        _Box(page_w - margin - frame, margin, frame, page_h - 2 * margin, RED),
    ]
    band_top, band_height = margin, 16.0
    shapes.append(_Box(margin, band_top, page_w - 2 * margin, band_height, RED))
    size, lines = _fit(content.title, face, inner_width, 7.5, 4.0, max_lines=1)
    baseline = band_top + band_height / 2 + _IDEOGRAPHIC_CENTRE * size
    shapes += _centred_lines(lines, face, size, baseline, WHITE)

    # Top stack: shop name (shrinks, then wraps, then is cut with an ellipsis), labels, returns.
    y = band_top + band_height + 4.5
    size, lines = _fit(content.shop_name, face, inner_width, 8.5, 4.2, max_height=21.0)
    shapes += _centred_lines(lines, face, size, y + 0.88 * size, INK)
    y += _block_height(len(lines), size) + 3.0
    shapes.append(_Box(page_w / 2 - 15, y, 30, 0.35, RED))
    y += 3.0
    for label in content.pledge_labels[:3]:
        size, lines = _fit(_BULLET + label, face, inner_width, 4.6, 3.4, max_lines=1)
        shapes += _centred_lines(lines, face, size, y + 0.88 * size, INK)
        y += size * 1.45
    if content.return_line:
        y += 0.8
        size, lines = _fit(content.return_line, face, inner_width, 5.8, 3.6, max_lines=1)
        shapes += _centred_lines(lines, face, size, y + 0.88 * size, RED)
        y += size * 1.2
    qr_top = y + 2.5

    # Bottom stack, from the frame upwards: footer, serial and date, instruction.
    baseline = page_h - margin - frame - 3.2
    if content.footer:
        size, lines = _fit(content.footer, face, inner_width, 3.4, 2.6, max_lines=1)
        shapes += _centred_lines(lines, face, size, baseline, GREY)
        baseline -= 5.0
    serial_line = f"{content.serial} · {content.issue_date}"
    size, lines = _fit(serial_line, face, inner_width, 3.0, 2.4, max_lines=1)
    shapes += _centred_lines(lines, face, size, baseline, GREY)
    baseline -= 7.0
    size, lines = _fit(content.instruction, face, inner_width, 4.8, 3.2, max_lines=1)
    shapes += _centred_lines(lines, face, size, baseline, INK)
    qr_bottom = baseline - 0.88 * size - 1.5

    # The QR code takes the room left in the middle; its quiet zone doubles as white space.
    modules = _qr_modules(content.url)
    side = min(64.0, qr_bottom - qr_top)
    shapes.append(_QRCode((page_w - side) / 2, qr_top, side, modules))
    return shapes


@lru_cache(maxsize=CACHE_SIZE)  # a badge's PNG and PDF share it
def _qr_modules(url: str) -> tuple[tuple[bool, ...], ...]:
    # Level Q (25% recovery) because window stickers get glare, dirt and scratches;
    # a 4-module quiet zone as ISO/IEC 18004 requires.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return tuple(tuple(row) for row in qr.get_matrix())


def _fit(
    text: str,
    face: FaceMetrics,
    width: float,
    max_size: float,
    min_size: float,
    *,
    max_lines: int | None = None,
    max_height: float | None = None,
) -> tuple[float, list[str]]:
    """Largest size (mm) at which ``text`` wraps within the limits; at the smallest, cut it."""
    text = " ".join(text.split())
    size = max_size
    while True:
        lines = _wrap(text, face, width / size)
        allowed = _allowed_lines(size, max_lines, max_height)
        if len(lines) <= allowed:
            return size, lines
        if size <= min_size:
            kept = lines[:allowed]
            kept[-1] = _truncate(kept[-1] + "".join(lines[allowed:]), face, width / size)
            return size, kept
        size = max(min_size, round(size - 0.25, 2))


def _allowed_lines(size: float, max_lines: int | None, max_height: float | None) -> int:
    allowed = max_lines or 99
    if max_height is not None:
        allowed = min(allowed, 1 + int((max_height - size) // (size * _LINE_HEIGHT)))
    return max(1, allowed)


def _wrap(text: str, face: FaceMetrics, width_em: float) -> list[str]:
    """Break anywhere (Chinese has no spaces), but never before closing punctuation."""
    lines: list[str] = []
    line, line_width = "", 0.0
    for char in text:
        advance = face.text_width(char)
        if line and line_width + advance > width_em and char not in "，。、；：？！）》」』”’,.;:?!)":
            lines.append(line.rstrip())
            line, line_width = "", 0.0
            if char == " ":
                continue
        line += char
        line_width += advance
    return [*lines, line] if line or not lines else lines


def _truncate(text: str, face: FaceMetrics, width_em: float) -> str:
    while text and face.text_width(text + _ELLIPSIS) > width_em:
        text = text[:-1]
    return text + _ELLIPSIS


def _block_height(line_count: int, size: float) -> float:
    return size + (line_count - 1) * size * _LINE_HEIGHT


def _centred_lines(
    lines: list[str], face: FaceMetrics, size: float, first_baseline: float, colour
) -> list[_Text]:
    return [
        _Text(
            (PAGE_WIDTH_MM - face.text_width(line) * size) / 2,
            first_baseline + i * size * _LINE_HEIGHT,
            size,
            line,
            colour,
        )
        for i, line in enumerate(lines)
    ]


# --- PNG ----------------------------------------------------------------------------------


@lru_cache(maxsize=CACHE_SIZE)
def render_png(content: BadgeContent) -> bytes:
    """The badge as an A6 PNG at ``PNG_DPI``."""
    face = face_metrics()
    width, height = _px(PAGE_WIDTH_MM), _px(PAGE_HEIGHT_MM)
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    for shape in _layout(content, face):
        if isinstance(shape, _Box):
            x0, y0 = _px(shape.x), _px(shape.y)
            x1, y1 = _px(shape.x + shape.width), _px(shape.y + shape.height)
            draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), fill=shape.colour)
        elif isinstance(shape, _Text):
            font = _pil_font(face, _px(shape.size))
            draw.text(
                (shape.x * _PX_PER_MM, shape.baseline * _PX_PER_MM),
                shape.text,
                font=font,
                fill=shape.colour,
                anchor="ls",
            )
        else:
            image.paste(*_qr_image(shape))
    return _png_bytes(image)


def _px(mm: float) -> int:
    return round(mm * _PX_PER_MM)


@lru_cache(maxsize=64)
def _pil_font(face: FaceMetrics, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        str(face.path), size_px, index=face.face_index, layout_engine=ImageFont.Layout.BASIC
    )


def _qr_image(qr: _QRCode) -> tuple[Image.Image, tuple[int, int]]:
    # Whole pixels per module keep every module the same size, hence crisp edges.
    count = len(qr.modules)
    module_px = max(1, _px(qr.side) // count)
    symbol = Image.new("1", (count, count), 1)
    symbol.putdata([0 if dark else 1 for row in qr.modules for dark in row])
    symbol = symbol.resize((count * module_px,) * 2, Image.Resampling.NEAREST)
    x = round((_px(PAGE_WIDTH_MM) - symbol.width) / 2)
    y = _px(qr.y) + (_px(qr.side) - symbol.height) // 2
    return symbol, (x, y)


def _png_bytes(image: Image.Image) -> bytes:
    buffer = BytesIO()
    # Level 1: a badge is mostly flat colour, so higher levels shrink it little and cost a lot.
    image.save(buffer, format="PNG", compress_level=1, dpi=(PNG_DPI, PNG_DPI))
    return buffer.getvalue()


# --- PDF ----------------------------------------------------------------------------------


@lru_cache(maxsize=CACHE_SIZE)
def render_pdf(content: BadgeContent) -> bytes:
    """The badge as a one-page A6 PDF, its text selectable (a subset of the CJK face)."""
    document = Document(
        page_format=(PAGE_WIDTH_MM, PAGE_HEIGHT_MM),
        title=content.shop_name,
        language="zh-CN",
        # The issue date, not the clock: the same badge is the same bytes until it changes.
        created=datetime.combine(date.fromisoformat(content.issue_date), time(), LOCAL_TZ),
    )
    document.set_auto_page_break(False)
    document.set_margin(0)
    document.add_page()
    for shape in _layout(content, face_metrics()):
        if isinstance(shape, _Box):
            document.set_fill_color(*shape.colour)
            document.rect(shape.x, shape.y, shape.width, shape.height, style="F")
        elif isinstance(shape, _Text):
            document.set_text_color(*shape.colour)
            document.set_font(CJK_FONT, size=shape.size * PT_PER_MM)
            document.text(shape.x, shape.baseline, shape.text)
        else:
            _draw_qr(document, shape)
    return document.to_bytes()


def clear_cache() -> None:
    """Forget every rendered badge (e.g. after a template change)."""
    render_png.cache_clear()
    render_pdf.cache_clear()
    _qr_modules.cache_clear()


def _draw_qr(document: Document, qr: _QRCode) -> None:
    """The dark modules as one filled path, a rectangle per horizontal run (vector, so sharp).

    One path, not a rectangle each: separately filled neighbours show hairline seams where
    viewers anti-alias their shared edges.
    """
    document.set_fill_color(*WHITE)
    document.rect(qr.x, qr.y, qr.side, qr.side, style="F")
    module = qr.side / len(qr.modules)
    with document.new_path(paint_rule=PathPaintRule.FILL_NONZERO) as path:
        path.style.fill_color = DeviceRGB(*(c / 255 for c in BLACK))
        path.style.stroke_color = None
        for row_index, row in enumerate(qr.modules):
            start = None
            for col, dark in enumerate((*row, False)):
                if dark and start is None:
                    start = col
                elif not dark and start is not None:
                    path.rectangle(qr.x + start * module, qr.y + row_index * module,
                                   (col - start) * module, module)
                    start = None
