"""The one way this project makes a PDF: fpdf2 documents in Noto Sans CJK SC (no Flask).

Badges and analysis reports are both drawn on a ``Document``: an ``fpdf.FPDF`` in millimetres
with the Simplified Chinese face of the ``noto-cjk[sans]`` collection registered as
``CJK_FONT``. fpdf2 embeds only the glyphs a document uses (a fontTools subset, as a
CID-keyed CFF) with a ToUnicode map, so every character is real, selectable, searchable text
in either language. Parsing the 19 MB collection and subsetting it costs about 0.3 s per
document; callers that serve the same document again cache the bytes.

``face_metrics()`` gives the same face's advance widths without a document, for layouts that
are also painted elsewhere (the badge's PNG) and must break lines where the PDF does.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path

from fontTools import ttLib
from fpdf import FPDF

CJK_FONT = "NotoSansCJKsc"
SIMPLIFIED_CHINESE_FACE = 2  # index of the SC face in NotoSansCJK-Regular.ttc
PT_PER_MM = 72 / 25.4


def noto_sans_cjk_path() -> Path:
    """Path of the Noto Sans CJK collection installed by the ``noto-cjk[sans]`` package."""
    import noto_cjk  # imported here so that importing this module stays cheap

    return Path(noto_cjk.otc_path("sans"))


class FaceMetrics:
    """Advance widths of one face of the collection, read once (about 0.2 s) and shared."""

    def __init__(self, path: Path, face_index: int) -> None:
        self.path = path
        self.face_index = face_index
        font = ttLib.TTFont(str(path), fontNumber=face_index, lazy=True)
        units_per_em = font["head"].unitsPerEm
        advances = {name: advance for name, (advance, _lsb) in font["hmtx"].metrics.items()}
        self._missing = advances.get(".notdef", units_per_em) / units_per_em
        self._em: dict[int, float] = {
            code: advances.get(name, units_per_em) / units_per_em
            for code, name in font.getBestCmap().items()
        }

    def covers(self, char: str) -> bool:
        return ord(char) in self._em

    def text_width(self, text: str) -> float:
        """Width of ``text`` in em, as fpdf2 lays it out (no kerning, no shaping)."""
        return sum(self._em.get(ord(char), self._missing) for char in text)


@cache
def face_metrics() -> FaceMetrics:
    """The process-wide metrics of Noto Sans CJK SC (read on first call)."""
    return FaceMetrics(noto_sans_cjk_path(), SIMPLIFIED_CHINESE_FACE)


class Document(FPDF):
    """An fpdf2 document in millimetres with the CJK face registered and fixed metadata.

    The creation date is the caller's (not the clock's), so the same content gives the same
    bytes: the badge cache and its tests rely on that.
    """

    def __init__(
        self,
        *,
        page_format: str | tuple[float, float] = "A4",
        orientation: str = "portrait",
        title: str,
        language: str,
        created: datetime,
        author: str = "",
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format=page_format)
        self.add_font(CJK_FONT, fname=noto_sans_cjk_path(), collection_font_number=SIMPLIFIED_CHINESE_FACE)
        self.set_font(CJK_FONT, size=10)
        self.set_title(title)
        self.set_lang(language)
        if author:
            self.set_author(author)
        self.set_producer("pledge_registry (fpdf2)")
        self.set_creation_date(created)

    def to_bytes(self) -> bytes:
        return bytes(self.output())
