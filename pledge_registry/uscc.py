"""The unified social credit code (统一社会信用代码), national standard GB 32100-2015.

Eighteen characters from a 31-character alphabet (digits and capitals without I, O, Z,
S, V):

    position 1      registration-management authority (登记管理部门码)
    position 2      organisation type within that authority (机构类别码)
    positions 3-8   administrative region of the registering office (GB/T 2260)
    positions 9-17  organisation code (主体标识码, GB 11714)
    position 18     check character over the first 17 (weights mod 31)

``validate`` accepts what people paste from a licence photo or a web page (spaces,
lower case, full-width characters), returns the canonical 18 characters, or raises
``CreditCodeError`` saying what is wrong and where. The structural checks lean towards
accepting: a code is issued once and kept for life, so a real merchant must never be
turned away because a table here is older or stricter than the registries.

Pure module: no Flask, no database.
"""

from __future__ import annotations

from typing import Literal

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

_VALUE = {char: index for index, char in enumerate(ALPHABET)}

# Organisation types allowed under each authority: GB 32100-2015 table 1, including
# the authorities A and N added after the 2015 text.
ORGANISATION_TYPES: dict[str, frozenset[str]] = {
    # 机构编制: 机关, 事业单位, 中央编办直管的群众团体, 其他
    "1": frozenset("1239"),
    # 外交: 外国常驻新闻机构, 其他
    "2": frozenset("19"),
    # 司法行政: 律师执业机构, 公证处, 基层法律服务所, 司法鉴定机构, 仲裁委员会, 其他
    "3": frozenset("123459"),
    # 文化: 外国在华文化中心, 其他
    "4": frozenset("19"),
    # 民政: 社会团体, 民办非企业单位, 基金会, 其他. The standard stops there. 4 and 5
    # are also accepted, unconfirmed: village and residents' committees (村/居民委员会)
    # have held credit codes since the 2017 Civil Code made them special legal persons,
    # and no published source found here says which type digit they carry. Accepting a
    # few odd codes whose check character is right costs less than refusing a real one.
    "5": frozenset("123459"),
    # 旅游: 外国旅游部门常驻代表机构, 港澳台地区旅游部门常驻内地代表机构, 其他
    "6": frozenset("129"),
    # 宗教: 宗教活动场所, 宗教院校, 其他
    "7": frozenset("129"),
    # 工会: 基层工会, 其他
    "8": frozenset("19"),
    # 工商 (now market supervision): 企业, 个体工商户, 农民专业合作社. No "other" here.
    "9": frozenset("123"),
    # 中央军委改革和编制办公室: 军队事业单位, 其他
    "A": frozenset("19"),
    # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "N": frozenset("1239"),
    # 其他: the standard does not subdivide it and always uses 1.
    "Y": frozenset("1"),
}

# First two digits of the region code. GB/T 2260 provinces, plus 10 for
# national-level registrations (region 100000, e.g. universities registered by the
# central staffing office) and 66, which GB/T 2260 lacks: accepted in case registries
# of the Xinjiang Production and Construction Corps use it, unconfirmed, for the same
# reason as the extra civil-affairs types. Only the province is checked: regions are
# renamed and merged every year, but a code keeps the region it was issued under for life.
PROVINCE_PREFIXES = frozenset(
    ["10"]
    + [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["66", "71", "81", "82"]
)

# Removed by normalize() besides whitespace: invisible characters that copying from
# web pages and chat apps leaves behind, and that would otherwise show up as a
# "charset" error at a position the user cannot see.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

# Full-width digits and Latin letters (U+FF10-FF19, FF21-FF3A, FF41-FF5A) to ASCII.
_FULL_WIDTH = {
    code: code - 0xFEE0
    for code in [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]
}

# Upper-casing only ASCII keeps one character for one character, so error positions
# still match what the user typed ("ß".upper() would be two characters).
_ASCII_UPPER = {code: code - 32 for code in range(ord("a"), ord("z") + 1)}

ErrorKind = Literal["empty", "length", "charset", "authority", "type", "region", "check"]


class CreditCodeError(ValueError):
    """A credit code that fails validation: what is wrong (`kind`) and where."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        position: int | None = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.position = position  # 1-based
        self.expected = expected  # for "check": the character the first 17 call for

    def __reduce__(self):
        # Keyword-only arguments are lost by the default pickling of exceptions.
        return (_rebuild_error, (self.args[0], self.kind, self.position, self.expected))


def _rebuild_error(message, kind, position, expected):
    return CreditCodeError(message, kind=kind, position=position, expected=expected)


def normalize(raw: str) -> str:
    """Remove whitespace and invisible characters; make digits and letters ASCII upper case."""
    text = "".join(raw.split()).translate(_INVISIBLE)
    return text.translate(_FULL_WIDTH).translate(_ASCII_UPPER)


def check_character(first17: str) -> str:
    """The GB 32100 check character for a normalized 17-character body."""
    if len(first17) != LENGTH - 1:
        raise CreditCodeError(
            f"the body must have {LENGTH - 1} characters, not {len(first17)}",
            kind="length",
        )
    _require_alphabet(first17)
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate(raw: str) -> str:
    """Return the normalized 18-character code, or raise CreditCodeError."""
    code = normalize(raw)
    if not code:
        raise CreditCodeError("no credit code was given", kind="empty")
    if len(code) != LENGTH:
        raise CreditCodeError(
            f"a credit code has {LENGTH} characters, this one has {len(code)}",
            kind="length",
        )
    _require_alphabet(code)

    authority, org_type, region = code[0], code[1], code[2:8]
    if authority not in ORGANISATION_TYPES:
        raise CreditCodeError(
            f"{authority!r} is not a registration authority", kind="authority", position=1
        )
    if org_type not in ORGANISATION_TYPES[authority]:
        raise CreditCodeError(
            f"{org_type!r} is not an organisation type under authority {authority!r}",
            kind="type",
            position=2,
        )
    for offset, char in enumerate(region):
        if not char.isdigit():
            raise CreditCodeError(
                "the region code (positions 3-8) must be digits",
                kind="region",
                position=3 + offset,
            )
    if region[:2] not in PROVINCE_PREFIXES:
        raise CreditCodeError(
            f"{region[:2]!r} is not a province-level region code", kind="region", position=3
        )

    # The check character catches every single-character error and every swap of
    # two neighbours, so it is what rejects a mistyped code.
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(
            f"the check character should be {expected!r}, not {code[17]!r}",
            kind="check",
            position=LENGTH,
            expected=expected,
        )
    # The organisation code (positions 9-17) has a GB 11714 check digit of its own.
    # It is deliberately not enforced: every real code collected for the tests
    # satisfies it, but that sample cannot cover codes assigned locally by every
    # registry since 2015, and the check character above already guards against typos.
    # See org_code_check_character().
    return code


def parts(code: str) -> dict[str, str]:
    """Split a credit code into its fields; validates (and normalizes) it first."""
    code = validate(code)
    return {
        "authority": code[0],
        "type": code[1],
        "region": code[2:8],
        "org_code": code[8:17],
        "check": code[17],
    }


def org_code_check_character(first8: str) -> str:
    """The GB 11714 check character for the first 8 characters of an organisation code.

    Informational: validate() does not require it to match (see the note there).
    """
    if len(first8) != 8:
        raise CreditCodeError(
            f"the organisation-code body must have 8 characters, not {len(first8)}",
            kind="length",
        )
    _require_alphabet(first8)
    # GB 11714 values digits as themselves and letters A-Z as 10-35.
    total = sum(
        (int(char) if char.isdigit() else ord(char) - ord("A") + 10) * weight
        for char, weight in zip(first8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)
    )
    remainder = 11 - total % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def _require_alphabet(text: str) -> None:
    for position, char in enumerate(text, start=1):
        if char not in _VALUE:
            raise CreditCodeError(
                f"{char!r} at position {position} is not allowed in a credit code",
                kind="charset",
                position=position,
            )
