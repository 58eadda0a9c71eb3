"""Badge rendering timings: PNG and PDF, uncached and cached, against a plain-QR baseline.

Targets: a badge (PNG or PDF) under 1 s uncached and under 2 ms from the cache; the PDF is
drawn through the shared fpdf2 path (pledge_registry/pdf.py), like the analysis report.

Run from anywhere: python bench/bench_badges.py [--runs N]
"""

import argparse
import dataclasses
import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qrcode

from pledge_registry import pdf
from pledge_registry.badges.render import BadgeContent, clear_cache, render_pdf, render_png

# Characters of real Taicang shop signs; names are drawn from them so that every uncached
# badge needs its own font subset, as a real badge run would.
SIGN_CHARS = (
    "太仓城厢沙溪浏河浮桥璜泾双凤华发月星南洋广场古镇老街鑫隆服饰店超市便利餐饮小吃面馆"
    "茶食烘焙水果生鲜电动车家电家居装饰美容美发理发眼镜药房书店文具五金建材通讯手机母婴"
    "烟酒副食品酒店宾馆汽车维修培训教育健身金银珠宝钟表鞋帽箱包烧烤火锅奶茶咖啡花店宠物"
)


def sample_contents(count: int, rng: random.Random) -> list[BadgeContent]:
    base = BadgeContent(
        shop_name="",
        pledge_labels=("正版正货承诺", "线下无理由退货承诺"),
        return_line="购物15天内无理由退货",
        serial="",
        issue_date="2026-11-29",
        instruction="扫码查看承诺 / 投诉",
        url="",
        footer="太仓市市场监督管理局",
    )
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    return [
        dataclasses.replace(
            base,
            shop_name="".join(rng.choices(SIGN_CHARS, k=rng.randint(4, 20))),
            serial=f"TC-2026-{i:06d}",
            url="https://pledge.example.gov.cn/m/" + "".join(rng.choices(alphabet, k=8)),
        )
        for i in range(count)
    ]


def timed(function, argument) -> float:
    start = time.perf_counter()
    function(argument)
    return (time.perf_counter() - start) * 1000


def baseline_qr_png(content: BadgeContent) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(content.url).save(buffer)
    return buffer.getvalue()


UNCACHED_TARGET_MS = 1000.0
CACHED_TARGET_MS = 2.0


def summarise(label: str, samples: list[float], baseline: float | None, target_ms: float | None = None) -> None:
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]
    ratio = f"{median / baseline:8.2f}x" if baseline else "     1.00x"
    verdict = f"   target p95 < {target_ms:g} ms: {'PASS' if p95 < target_ms else 'FAIL'}" if target_ms else ""
    print(f"{label:<32} median {median:8.3f} ms   p95 {p95:8.3f} ms   {ratio} baseline{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50, help="badges per measurement")
    runs = parser.parse_args().runs
    rng = random.Random(2026)

    start = time.perf_counter()
    pdf.face_metrics()
    setup_ms = (time.perf_counter() - start) * 1000

    warm_up = sample_contents(3, random.Random(1))
    start = time.perf_counter()
    render_png(warm_up[0])
    render_pdf(warm_up[0])
    first_badge_ms = (time.perf_counter() - start) * 1000

    contents = sample_contents(runs, rng)
    baseline = [timed(baseline_qr_png, c) for c in contents]
    clear_cache()
    png_uncached = [timed(render_png, c) for c in contents]
    pdf_uncached = [timed(render_pdf, c) for c in contents]
    png_cached = [timed(render_png, c) for c in contents]
    pdf_cached = [timed(render_pdf, c) for c in contents]
    clear_cache()
    fresh = sample_contents(runs, random.Random(7))
    pdf_alone = [timed(render_pdf, c) for c in fresh]  # no PNG before it: QR not yet cached

    base_median = statistics.median(baseline)
    print(f"{runs} distinct badges per uncached figure; ratios are medians over the baseline\n")
    print(f"{'font set-up, once per process':<32} {setup_ms:8.1f} ms")
    print(f"{'first badge (PNG+PDF, cold)':<32} {first_badge_ms:8.1f} ms")
    summarise("baseline qrcode.make -> PNG", baseline, None)
    summarise("PNG uncached", png_uncached, base_median, UNCACHED_TARGET_MS)
    summarise("PDF uncached (after its PNG)", pdf_uncached, base_median, UNCACHED_TARGET_MS)
    summarise("PDF uncached (alone)", pdf_alone, base_median, UNCACHED_TARGET_MS)
    summarise("PNG cached", png_cached, base_median, CACHED_TARGET_MS)
    summarise("PDF cached", pdf_cached, base_median, CACHED_TARGET_MS)
    png_size = statistics.median(len(render_png(c)) for c in fresh[:20])
    pdf_size = statistics.median(len(render_pdf(c)) for c in fresh[:20])
    print(f"\nmedian sizes: PNG {png_size / 1000:.0f} kB, PDF {pdf_size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
