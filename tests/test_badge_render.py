"""Badge rendering: the QR code scans, the PDF text is real text in an embedded subset font."""

import dataclasses
import io
import re

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from pledge_registry.badges.render import BadgeContent, clear_cache, render_pdf, render_png

A6_POINTS = (105 / 25.4 * 72, 148 / 25.4 * 72)
RARE_HANZI = "叒犇鑫㭎"


def make_content(**overrides) -> BadgeContent:
    fields = {
        "shop_name": "华发广场鑫隆服饰店",
        "pledge_labels": ("正版正货承诺", "线下无理由退货承诺"),
        "return_line": "购物15天内无理由退货",
        "serial": "TC-2026-000123",
        "issue_date": "2026-11-29",
        "instruction": "扫码查看承诺 / 投诉",
        "url": "https://pledge.example.gov.cn/m/Xk3P9aQ2",
        "footer": "太仓市市场监督管理局",
    }
    fields.update(overrides)
    return BadgeContent(**fields)


@pytest.fixture(autouse=True)
def empty_cache():
    clear_cache()
    yield
    clear_cache()


def decode_qr(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    return pdfium.PdfDocument(data)


def pdf_text(data: bytes) -> str:
    page = open_pdf(data)[0]
    return page.get_textpage().get_text_range()


def pdf_image(data: bytes) -> Image.Image:
    return open_pdf(data)[0].render(scale=150 / 72).to_pil()


def test_png_qr_decodes_to_the_url():
    content = make_content()
    image = Image.open(io.BytesIO(render_png(content)))
    assert image.format == "PNG"
    assert decode_qr(image) == [content.url]


def test_png_is_a6_shaped():
    width, height = Image.open(io.BytesIO(render_png(make_content()))).size
    assert height / width == pytest.approx(148 / 105, rel=0.01)


def test_pdf_qr_decodes_to_the_url():
    content = make_content()
    assert decode_qr(pdf_image(render_pdf(content))) == [content.url]


def test_pdf_page_is_a6():
    width, height = open_pdf(render_pdf(make_content()))[0].get_size()
    assert (width, height) == pytest.approx(A6_POINTS, abs=0.1)


def test_pdf_text_is_extractable():
    content = make_content()
    text = pdf_text(render_pdf(content))
    assert content.shop_name in text
    assert content.serial in text
    assert content.instruction in text
    assert content.return_line in text
    for label in content.pledge_labels:
        assert label in text


def test_pdf_embeds_a_subset_font():
    data = render_pdf(make_content())
    assert b"/FontFile3" in data or b"/FontFile2" in data
    assert re.search(rb"/BaseFont /[A-Z]{6}\+NotoSansCJK", data)
    # A subset of a few dozen glyphs, not the 19 MB collection.
    assert len(data) < 100_000


def test_rare_hanzi_survive_in_both_formats():
    content = make_content(shop_name=f"{RARE_HANZI}百货商行")
    assert content.shop_name in pdf_text(render_pdf(content))
    assert decode_qr(Image.open(io.BytesIO(render_png(content)))) == [content.url]


def test_rare_hanzi_are_drawn_not_tofu_in_pdf():
    # Each rare character must paint ink of its own, and differently from the others:
    # a missing glyph would render as blank or as identical .notdef boxes.
    crops = []
    for char in RARE_HANZI:
        content = make_content(shop_name=char * 3, pledge_labels=(), return_line=None)
        image = pdf_image(render_pdf(content)).convert("L")
        band = image.crop((0, int(image.height * 0.15), image.width, int(image.height * 0.3)))
        assert band.getextrema()[0] < 100, f"{char} drew nothing"
        crops.append(band.tobytes())
    assert len(set(crops)) == len(RARE_HANZI)


def test_long_shop_name_stays_on_the_page():
    long_name = "太仓市城厢镇华发广场" * 10  # 100 characters
    content = make_content(shop_name=long_name)
    png = Image.open(io.BytesIO(render_png(content)))
    assert decode_qr(png) == [content.url]
    page = open_pdf(render_pdf(content))[0]
    page_width, page_height = page.get_size()
    text_page = page.get_textpage()
    for index in range(text_page.count_chars()):
        left, bottom, right, top = text_page.get_charbox(index)
        assert left >= 0 and right <= page_width and bottom >= 0 and top <= page_height
    text = text_page.get_text_range()
    assert "…" in text  # cut with an ellipsis once even the smallest size cannot hold it
    assert content.serial in text


def test_cache_returns_the_same_object():
    content = make_content()
    assert render_png(content) is render_png(content)
    assert render_pdf(content) is render_pdf(content)
    assert render_png(dataclasses.replace(content)) is render_png(content)


def test_output_is_deterministic():
    content = make_content()
    png, pdf = render_png(content), render_pdf(content)
    clear_cache()
    assert render_png(content) == png
    assert render_pdf(content) == pdf


@pytest.mark.parametrize(
    "change",
    [
        {"shop_name": "沙溪古镇茶食店"},
        {"serial": "TC-2026-000124"},
        {"url": "https://pledge.example.gov.cn/m/Zz9"},
        {"return_line": None},
    ],
)
def test_different_content_gives_different_output(change):
    base, other = make_content(), make_content(**change)
    assert render_png(base) != render_png(other)
    assert render_pdf(base) != render_pdf(other)
