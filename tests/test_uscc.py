import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pledge_registry import uscc
from pledge_registry.uscc import CreditCodeError

# Published codes of real organisations. Each one's check character was recomputed
# here; sources are public filings, invoice headers and site footers.
REAL_CODES = [
    "914403001922038216",  # 华为技术有限公司 (Huawei Technologies)
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司 (Tencent Technology, Shenzhen)
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司 (Tencent Computer Systems)
    "91330100799655058B",  # 阿里巴巴（中国）有限公司 (Alibaba China)
    "91440300192317458F",  # 比亚迪股份有限公司 (BYD, SZSE 002594; old org code 19231745-8)
    "91110108551385082Q",  # 小米科技有限责任公司 (Xiaomi)
    "91110000802100433B",  # 北京百度网讯科技有限公司 (Baidu)
    "91340111MA2RAD3M4R",  # 蔚来控股有限公司 (NIO Holding): post-2015 "MA" organisation code
    "911100006000650192",  # 北京吉野家快餐有限公司 (Yoshinoya Beijing), from an invoice
    "12100000400000624D",  # 清华大学 (Tsinghua University): public institution, region 100000
    "12440300455752807L",  # 清华大学深圳国际研究生院 (Tsinghua Shenzhen International Graduate School)
    "53100000500019795A",  # 中国社会福利基金会 (China Social Welfare Foundation), Ministry of Civil Affairs
    "92140727MAE8C7WN66",  # 祁县天天开心商贸行, an individual business (个体工商户), from its app's about page
    "92340111MAD2LARQ9N",  # an individual business in Hefei, from its website footer
]


def make_code(body: str) -> str:
    """A code with the right check character for a 17-character body."""
    return body + uscc.check_character(body)


def with_char(code: str, position: int, char: str) -> str:
    """`code` with the character at 1-based `position` replaced."""
    return code[: position - 1] + char + code[position:]


BYD = "91440300192317458F"


# --- real codes --------------------------------------------------------------------


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_validate(code):
    assert uscc.validate(code) == code


@pytest.mark.parametrize("code", REAL_CODES)
def test_check_character_of_real_codes(code):
    assert uscc.check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_satisfy_gb_11714(code):
    # The evidence behind leaving the GB 11714 digit unenforced: every real code
    # collected passes it, yet a sample this size is not all codes ever issued.
    assert uscc.org_code_check_character(code[8:16]) == code[16]


def test_gb_11714_digit_is_not_enforced():
    code = make_code(with_char(BYD, 17, "0")[:17])  # 19231745-0 instead of -8
    assert uscc.org_code_check_character(code[8:16]) != code[16]
    assert uscc.validate(code) == code


def test_parts_of_a_real_code():
    assert uscc.parts(BYD) == {
        "authority": "9",
        "type": "1",
        "region": "440300",
        "org_code": "192317458",
        "check": "F",
    }


def test_parts_normalizes_and_validates():
    assert uscc.parts(" 9144 0300 1923 1745 8f")["check"] == "F"
    with pytest.raises(CreditCodeError):
        uscc.parts(with_char(BYD, 18, "G"))


# --- constructed codes: every combination the standard lists ------------------------

STANDARD_TYPES = [
    ("1", "1239"),
    ("2", "19"),
    ("3", "123459"),
    ("4", "19"),
    ("5", "1239"),
    ("6", "129"),
    ("7", "129"),
    ("8", "19"),
    ("9", "123"),
    ("A", "19"),
    ("N", "1239"),
    ("Y", "1"),
]


@pytest.mark.parametrize(
    "prefix",
    [authority + org_type for authority, types in STANDARD_TYPES for org_type in types],
)
def test_every_standard_authority_and_type_is_accepted(prefix):
    code = make_code(prefix + "320585" + "MA1234567")
    assert uscc.validate(code) == code


@pytest.mark.parametrize(
    "region",
    ["100000", "110108", "320585", "440300", "540100", "650100", "710000", "810000", "820000"],
)
def test_province_level_regions_are_accepted(region):
    code = make_code("91" + region + "MA1234567")
    assert uscc.validate(code) == code


def test_check_character_zero():
    # 31 - 0 maps to "0" rather than to an out-of-range index.
    body = next(
        b for b in (f"91320585MA{n:07d}" for n in range(1000)) if uscc.check_character(b) == "0"
    )
    assert uscc.validate(body + "0") == body + "0"


# --- normalization --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "91440300192317458f",  # lower case
        "  91440300192317458F  ",
        "9144 0300 1923 1745 8F",
        "914403\t00192317458F\n",
        "\u30009144\u30000300192317458F\u3000",  # ideographic space
        "９１４４０３００１９２３１７４５８Ｆ",  # full-width digits and letter
        "９１４４０３００１９２３１７４５８ｆ",  # full-width lower case
        "\ufeff91440300192317458F\u200b",  # BOM and zero-width space from a pasted page
    ],
)
def test_normalize_and_validate_accept_sloppy_input(raw):
    assert uscc.normalize(raw) == BYD
    assert uscc.validate(raw) == BYD


def test_normalize_leaves_other_characters_alone():
    assert uscc.normalize("9144-0300") == "9144-0300"
    assert uscc.normalize("ß") == "ß"  # no one-to-two upper-casing


# --- errors -----------------------------------------------------------------------------


def assert_error(raw, kind, position=None, expected=None):
    with pytest.raises(CreditCodeError) as info:
        uscc.validate(raw)
    error = info.value
    assert (error.kind, error.position, error.expected) == (kind, position, expected)
    assert isinstance(error, ValueError)
    assert str(error)


@pytest.mark.parametrize("raw", ["", "   ", "\u3000", "\t\n", "\u200b"])
def test_empty(raw):
    assert_error(raw, "empty")


@pytest.mark.parametrize("raw", [BYD[:17], BYD + "0", "91440300", "9"])
def test_length(raw):
    assert_error(raw, "length")


@pytest.mark.parametrize(
    ("raw", "position"),
    [
        (with_char(BYD, 1, "Z"), 1),
        (with_char(BYD, 5, "I"), 5),
        (with_char(BYD, 9, "O"), 9),
        (with_char(BYD, 12, "S"), 12),
        (with_char(BYD, 18, "V"), 18),
        (with_char(BYD, 5, "-"), 5),
        (with_char(BYD, 3, "广"), 3),
        (with_char(with_char(BYD, 4, "O"), 10, "I"), 4),  # the first bad one is named
    ],
)
def test_charset(raw, position):
    assert_error(raw, "charset", position)


@pytest.mark.parametrize("authority", ["0", "B", "C", "M", "X"])
def test_authority(authority):
    assert_error(make_code(authority + "1320585MA1234567"), "authority", 1)


@pytest.mark.parametrize("prefix", ["94", "99", "90", "1A", "28", "56", "Y2", "Y9", "A2", "N4"])
def test_type(prefix):
    assert_error(make_code(prefix + "320585MA1234567"), "type", 2)


@pytest.mark.parametrize(
    ("region", "position"),
    [
        ("A40300", 3),
        ("4A0300", 4),
        ("4403A0", 7),
        ("44030X", 8),
        ("000000", 3),
        ("160000", 3),
        ("390000", 3),
        ("720000", 3),
        ("990000", 3),
    ],
)
def test_region(region, position):
    assert_error(make_code("91" + region + "MA1234567"), "region", position)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (with_char(BYD, 18, "G"), "F"),
        (with_char(BYD, 10, "3"), uscc.check_character(with_char(BYD, 10, "3")[:17])),
        ("91440300192317548F", uscc.check_character("91440300192317548")),  # swapped 45
    ],
)
def test_check(raw, expected):
    assert expected != raw[17]
    assert_error(raw, "check", 18, expected)


def test_structural_errors_are_reported_before_the_check():
    # A typo in position 2 is more useful reported as a bad type than as a bad check.
    assert_error(with_char(BYD, 2, "4"), "type", 2)


@pytest.mark.parametrize(
    ("body", "kind"), [(BYD[:16], "length"), (with_char(BYD, 3, "O")[:17], "charset")]
)
def test_check_character_rejects_bad_bodies(body, kind):
    with pytest.raises(CreditCodeError) as info:
        uscc.check_character(body)
    assert info.value.kind == kind


def test_error_survives_pickling():
    with pytest.raises(CreditCodeError) as info:
        uscc.validate(with_char(BYD, 18, "G"))
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.kind, copy.position, copy.expected, str(copy)) == (
        "check",
        18,
        "F",
        str(info.value),
    )


# --- any single-character change is caught --------------------------------------------


@pytest.mark.parametrize("code", REAL_CODES)
def test_every_single_substitution_of_a_real_code_fails(code):
    for position in range(1, 19):
        for char in uscc.ALPHABET:
            if char != code[position - 1]:
                with pytest.raises(CreditCodeError):
                    uscc.validate(with_char(code, position, char))


valid_bodies = st.builds(
    lambda prefix, region, org: prefix + region + org,
    st.sampled_from(
        [authority + org_type for authority, types in STANDARD_TYPES for org_type in types]
    ),
    st.sampled_from(sorted(uscc.PROVINCE_PREFIXES)).flatmap(
        lambda province: st.text("0123456789", min_size=4, max_size=4).map(
            lambda rest: province + rest
        )
    ),
    st.text(uscc.ALPHABET, min_size=9, max_size=9),
)


@given(
    body=valid_bodies,
    position=st.integers(1, 18),
    replacement=st.one_of(
        st.sampled_from(uscc.ALPHABET),
        st.sampled_from("IOSVZ-.#\u00e9\u5e7f"),
    ),
)
def test_any_single_change_of_a_valid_code_fails(body, position, replacement):
    code = make_code(body)
    assert uscc.validate(code) == code
    altered = with_char(code, position, replacement)
    if altered != code:
        with pytest.raises(CreditCodeError):
            uscc.validate(altered)


@given(body=valid_bodies, position=st.integers(1, 17))
def test_any_swap_of_neighbours_fails(body, position):
    code = make_code(body)
    swapped = code[: position - 1] + code[position] + code[position - 1] + code[position + 1 :]
    if swapped != code:
        with pytest.raises(CreditCodeError):
            uscc.validate(swapped)
