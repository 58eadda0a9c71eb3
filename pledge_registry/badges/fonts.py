"""Noto Sans CJK SC for badges: metrics for layout, and small CFF subsets for PDF embedding.

The OpenType collection shipped by the ``noto-cjk`` package is 19 MB; running fontTools'
generic subsetter over it costs ~250 ms per document. Instead the face is parsed once per
process (lazily, ~0.2 s) and each glyph's outline is desubroutinised once, on first use, into
a self-contained Type 2 charstring kept in memory. A badge's font subset is then just those
charstrings assembled into a minimal CID-keyed CFF, which takes well under a millisecond.
Every character the face covers (about 44,800, CJK extension A included) works the same
way: there is no pre-chosen character set and no slow path for rare hanzi.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools import ttLib
from fontTools.cffLib.transforms import desubroutinizeCharString

SIMPLIFIED_CHINESE_FACE = 2  # index of the SC face in NotoSansCJK-Regular.ttc

_PRIVATE_SUBRS_OPERATOR = 19
_NOTDEF_CID = 0


def noto_sans_cjk_path() -> Path:
    """Path of the Noto Sans CJK collection installed by the ``noto-cjk[sans]`` package."""
    import noto_cjk  # imported here so that importing this module stays cheap

    return Path(noto_cjk.otc_path("sans"))


@dataclass(frozen=True)
class FontSubset:
    """An embeddable CFF subset and what a PDF needs to describe it."""

    cff: bytes  # bare CIDFontType0C program (PDF FontFile3)
    cids: tuple[int, ...]  # CIDs present, .notdef excluded, ascending
    tag: str  # six capital letters, the PDF subset prefix


class CJKFace:
    """One face of a CID-keyed OpenType/CFF collection, parsed once and shared."""

    def __init__(self, path: Path, face_index: int) -> None:
        self.path = path
        self.face_index = face_index
        font = ttLib.TTFont(str(path), fontNumber=face_index, lazy=True)
        self.units_per_em: int = font["head"].unitsPerEm
        self.postscript_name: str = font["name"].getDebugName(6) or "NotoSansCJKsc-Regular"
        os2 = font["OS/2"]
        self.ascent: int = os2.sTypoAscender
        self.descent: int = os2.sTypoDescender
        self.cap_height: int = getattr(os2, "sCapHeight", self.ascent)
        self._unicode_to_glyph: dict[int, str] = font.getBestCmap()
        self._advances: dict[str, int] = {
            name: advance for name, (advance, _lsb) in font["hmtx"].metrics.items()
        }
        top = font["CFF "].cff.topDictIndex[0]
        if getattr(top, "ROS", None) is None:
            raise ValueError(f"{path} face {face_index} is not a CID-keyed CFF font")
        self.font_bbox: tuple[int, ...] = tuple(int(v) for v in top.FontBBox)
        self._cid_count: int = int(top.CIDCount)
        self._charstrings = top.CharStrings
        self._fd_select = top.FDSelect
        # Private DICTs are copied byte for byte (hinting zones, nominal widths), minus the
        # local-subroutine pointer: the charstrings we embed no longer call subroutines.
        cff_table = font.reader["CFF "]
        self._private_dicts: list[bytes] = []
        for font_dict in top.FDArray:
            size, offset = font_dict.rawDict["Private"]
            raw = cff_table[offset : offset + size]
            self._private_dicts.append(_drop_dict_operator(raw, _PRIVATE_SUBRS_OPERATOR))
        self._font = font
        self._outlines: dict[int, bytes] = {}
        self._lock = threading.Lock()  # fontTools objects are not safe to share across threads

    def cid(self, char: str) -> int:
        """CID (= glyph id in this font) drawing ``char``; 0 (.notdef) if the face lacks it."""
        name = self._unicode_to_glyph.get(ord(char))
        return _cid_of(name) if name else _NOTDEF_CID

    def advance(self, cid: int) -> float:
        """Advance width of a CID in 1/1000 em."""
        name = f"cid{cid:05d}" if cid else ".notdef"
        return self._advances.get(name, self.units_per_em) * 1000 / self.units_per_em

    def text_width(self, text: str) -> float:
        """Width of ``text`` in em (no kerning: CJK text has none worth applying)."""
        return sum(self.advance(self.cid(ch)) for ch in text) / 1000

    def subset(self, cids: set[int]) -> FontSubset:
        """Build a CID-keyed CFF holding .notdef and ``cids``."""
        wanted = sorted(c for c in cids if c != _NOTDEF_CID)
        glyph_cids = [_NOTDEF_CID, *wanted]
        with self._lock:
            outlines = [self._outline(cid) for cid in glyph_cids]
            font_dict_ids = [self._fd_select[cid] for cid in glyph_cids]
        return FontSubset(
            cff=_build_cid_cff(
                name=self.postscript_name,
                cid_count=self._cid_count,
                font_bbox=self.font_bbox,
                glyph_cids=glyph_cids,
                outlines=outlines,
                font_dict_ids=font_dict_ids,
                private_dicts=self._private_dicts,
            ),
            cids=tuple(wanted),
            tag=_subset_tag(wanted),
        )

    def _outline(self, cid: int) -> bytes:
        outline = self._outlines.get(cid)
        if outline is None:
            charstring = self._charstrings[f"cid{cid:05d}" if cid else ".notdef"]
            desubroutinizeCharString(charstring)
            charstring.compile()
            outline = self._outlines[cid] = bytes(charstring.bytecode)
        return outline


@cache
def simplified_chinese_face() -> CJKFace:
    """The process-wide Noto Sans CJK SC face (parsed on first call)."""
    return CJKFace(noto_sans_cjk_path(), SIMPLIFIED_CHINESE_FACE)


def _cid_of(glyph_name: str) -> int:
    # In CID-keyed fonts fontTools names glyphs "cidNNNNN"; Noto's CIDs equal glyph ids.
    return int(glyph_name[3:]) if glyph_name.startswith("cid") else _NOTDEF_CID


def _subset_tag(cids: list[int]) -> str:
    """Deterministic six-letter subset prefix (PDF 32000-1, 9.6.4), derived from the glyph set."""
    value = 0
    for cid in cids:
        value = (value * 65_599 + cid) % (26**6)
    letters = []
    for _ in range(6):
        value, digit = divmod(value, 26)
        letters.append(chr(ord("A") + digit))
    return "".join(letters)


# --- minimal CFF writer (Adobe TN #5176) -------------------------------------------------


def _index(items: list[bytes]) -> bytes:
    if not items:
        return b"\x00\x00"
    offsets = [1]
    for item in items:
        offsets.append(offsets[-1] + len(item))
    off_size = next(n for n in (1, 2, 3, 4) if offsets[-1] < 1 << (8 * n))
    packed = b"".join(offset.to_bytes(off_size, "big") for offset in offsets)
    return struct.pack(">HB", len(items), off_size) + packed + b"".join(items)


def _int(value: int) -> bytes:
    # Always the 5-byte form, so DICT sizes are known before the offsets they hold.
    return b"\x1d" + struct.pack(">i", value)


def _op(code: int) -> bytes:
    return bytes((12, code - 1200)) if code >= 1200 else bytes((code,))


def _drop_dict_operator(data: bytes, operator: int) -> bytes:
    """Copy a CFF DICT without the entries of one (single-byte) operator."""
    out = bytearray()
    start = i = 0
    while i < len(data):
        b0 = data[i]
        if b0 <= 21:  # an operator ends the entry started at `start`
            end = i + (2 if b0 == 12 else 1)
            if b0 != operator:
                out += data[start:end]
            start = i = end
        elif b0 == 28:
            i += 3
        elif b0 == 29:
            i += 5
        elif b0 == 30:  # real number: nibbles up to the 0xF terminator
            i += 1
            while data[i] >> 4 != 0xF and data[i] & 0xF != 0xF:
                i += 1
            i += 1
        elif b0 <= 246:
            i += 1
        elif b0 <= 254:
            i += 2
        else:
            raise ValueError(f"unexpected byte {b0} in CFF DICT")
    return bytes(out)


_ROS, _CID_COUNT, _FD_ARRAY, _FD_SELECT = 1230, 1234, 1236, 1237
_FONT_BBOX, _CHARSET, _CHARSTRINGS, _PRIVATE = 5, 15, 17, 18
_STANDARD_STRING_COUNT = 391


def _build_cid_cff(
    *,
    name: str,
    cid_count: int,
    font_bbox: tuple[int, ...],
    glyph_cids: list[int],
    outlines: list[bytes],
    font_dict_ids: list[int],
    private_dicts: list[bytes],
) -> bytes:
    used_dicts = sorted(set(font_dict_ids))
    new_dict_id = {old: new for new, old in enumerate(used_dicts)}
    strings = _index([b"Adobe", b"Identity"])
    registry_sid, ordering_sid = _STANDARD_STRING_COUNT, _STANDARD_STRING_COUNT + 1

    def top_dict(charset: int, fd_select: int, charstrings: int, fd_array: int) -> bytes:
        return b"".join(
            (
                _int(registry_sid), _int(ordering_sid), _int(0), _op(_ROS),
                *(_int(v) for v in font_bbox), _op(_FONT_BBOX),
                _int(cid_count), _op(_CID_COUNT),
                _int(charset), _op(_CHARSET),
                _int(fd_select), _op(_FD_SELECT),
                _int(charstrings), _op(_CHARSTRINGS),
                _int(fd_array), _op(_FD_ARRAY),
            )
        )  # fmt: skip

    header = b"\x01\x00\x04\x04"
    name_index = _index([name.encode("ascii", "replace")])
    top_index_size = len(_index([top_dict(0, 0, 0, 0)]))
    global_subrs = _index([])
    charset = b"\x00" + struct.pack(f">{len(glyph_cids) - 1}H", *glyph_cids[1:])
    fd_select = b"\x00" + bytes(new_dict_id[fd] for fd in font_dict_ids)
    charstrings = _index(outlines)

    charset_at = len(header) + len(name_index) + top_index_size + len(strings) + len(global_subrs)
    fd_select_at = charset_at + len(charset)
    charstrings_at = fd_select_at + len(fd_select)
    fd_array_at = charstrings_at + len(charstrings)
    privates = [private_dicts[old] for old in used_dicts]
    font_dict_size = len(_int(0) * 2 + _op(_PRIVATE))
    private_at = fd_array_at + len(_index([b"\x00" * font_dict_size] * len(privates)))
    font_dicts = []
    for private in privates:
        font_dicts.append(_int(len(private)) + _int(private_at) + _op(_PRIVATE))
        private_at += len(private)

    top_index = _index([top_dict(charset_at, fd_select_at, charstrings_at, fd_array_at)])
    return b"".join(
        (header, name_index, top_index, strings, global_subrs, charset, fd_select,
         charstrings, _index(font_dicts), *privates)
    )  # fmt: skip
