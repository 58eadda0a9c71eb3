"""Issue #2 end to end on a phone: sign up, register, sign, staff approve, badge, scan, revoke."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.helpers import PASSWORD, sign_in

pytestmark = pytest.mark.e2e

CREDIT_CODE = "91440300708461136T"      # a real published code (Tencent Computer Systems)


def _decode_qr(image: Any) -> str:
    import zxingcpp

    results = zxingcpp.read_barcodes(image)
    assert len(results) == 1, f"expected one QR code, found {len(results)}"
    return results[0].text


def test_merchant_to_scan_and_revocation(live_app: Any, phone: Any, desk: Any, tmp_path: Any) -> None:
    from PIL import Image

    from pledge_registry.auth.services import create_user
    from pledge_registry.models import Role

    base = live_app.config["BASE_URL"]
    with live_app.app_context():
        create_user("officer@bureau.test", PASSWORD, "王科长", role=Role.STAFF)

    # The merchant signs up and registers its shop on a phone.
    phone.goto(f"{base}/account/signup")
    phone.fill("input[name=login]", "13912345678")
    phone.fill("input[name=display_name]", "李老板")
    phone.fill("input[name=password]", PASSWORD)
    phone.fill("input[name=confirm]", PASSWORD)
    phone.locator("form input[type=submit], form button[type=submit]").last.click()
    phone.wait_for_url(re.compile(r"/portal/shops/new"))
    phone.fill("input[name=credit_code]", CREDIT_CODE.lower())  # typed in lower case: normalised
    phone.fill("input[name=legal_name]", "太仓市鑫华服饰有限公司")
    phone.fill("input[name=shop_name]", "鑫华服饰")
    phone.fill("input[name=address]", "城厢镇人民南路88号")
    phone.select_option("select[name=town_id]", index=1)
    phone.select_option("select[name=category]", "clothing")
    phone.fill("input[name=contact_name]", "李老板")
    phone.fill("input[name=contact_phone]", "13912345678")
    phone.locator("form input[type=submit], form button[type=submit]").last.click()
    phone.wait_for_url(re.compile(r"/portal/shops/\d+$"))
    shop_id = int(phone.url.rsplit("/", 1)[1])

    # It signs the genuine-goods pledge.
    phone.goto(f"{base}/portal/shops/{shop_id}/pledges/genuine/sign")
    phone.check("input[name=agree]")
    phone.click("input[name=submit]")
    phone.wait_for_url(re.compile(r"/portal/pledges/\d+$"))
    pledge_id = int(phone.url.rsplit("/", 1)[1])

    # Staff approve the registration, then the pledge.
    sign_in(desk, base, "officer@bureau.test", r"/staff/")
    desk.goto(f"{base}/staff/shops/{shop_id}")
    desk.click("input[name=approve], button[name=approve]")
    desk.goto(f"{base}/staff/pledges/{pledge_id}")
    desk.click("button[name=action][value=approve]")
    desk.wait_for_load_state()

    # The merchant downloads the badge; both the PNG and the printed PDF decode.
    phone.goto(f"{base}/portal/shops/{shop_id}/badge")
    with phone.expect_download() as png_download:
        phone.click(f"a[href$='/shops/{shop_id}/badge.png']")
    png_path = tmp_path / "badge.png"
    png_download.value.save_as(png_path)
    url_from_png = _decode_qr(Image.open(png_path))
    with phone.expect_download() as pdf_download:
        phone.click(f"a[href$='/shops/{shop_id}/badge.pdf']")
    pdf_path = tmp_path / "badge.pdf"
    pdf_download.value.save_as(pdf_path)
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    assert "鑫华服饰" in pdf[0].get_textpage().get_text_range()  # real text, not a picture
    url_from_pdf = _decode_qr(pdf[0].render(scale=3).to_pil())
    assert url_from_png == url_from_pdf
    assert url_from_png.startswith(f"{base}/m/")

    # A shopper scans it: the page says valid, in Chinese, in green.
    phone.goto(url_from_png)
    verdict = phone.locator(".verdict")
    assert "verdict-valid" in (verdict.get_attribute("class") or "")
    assert "有效" in verdict.inner_text()
    assert "鑫华服饰" in phone.content()
    phone.screenshot(path=str(tmp_path / "scan-valid.png"), full_page=True)

    # Staff revoke the pledge; the same printed code now says revoked, at the next scan.
    desk.goto(f"{base}/staff/pledges/{pledge_id}")
    desk.fill("textarea[name=reason]", "抽查发现销售假冒商品")
    desk.click("button[name=action][value=revoke]")
    desk.wait_for_load_state()
    phone.goto(url_from_png)
    verdict = phone.locator(".verdict")
    assert "verdict-revoked" in (verdict.get_attribute("class") or "")
    assert "已撤销" in verdict.inner_text()
    assert "抽查发现销售假冒商品" in phone.content()


def test_unknown_badge_is_an_obvious_404(live_app: Any, phone: Any) -> None:
    response = phone.goto(f"{live_app.config['BASE_URL']}/m/forgedsticker1")
    assert response is not None and response.status == 404
    assert "verdict-unknown" in (phone.locator(".verdict").get_attribute("class") or "")
