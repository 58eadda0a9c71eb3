"""Every user-facing string is in both catalogues (Chinese first, English second)."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "pledge_registry" / "translations"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> set:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), str(ROOT)],
        check=True, capture_output=True)
    with open(pot, "rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_string_is_translated(extracted: set, lang: str) -> None:
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[message.id] = all(strings)
    missing = sorted(str(m) for m in extracted if not translated.get(m))
    assert not missing, f"{len(missing)} strings untranslated in {lang} (run scripts/i18n): {missing[:15]}"


def test_chinese_is_the_default(client) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'lang="zh-Hans"' in page
    assert "放心消费" in page


def test_english_on_request_and_remembered(client) -> None:
    first = client.get("/?lang=en")
    assert 'lang="en"' in first.get_data(as_text=True)
    assert "lang=en" in first.headers.get("Set-Cookie", "")
    again = client.get("/merchants").get_data(as_text=True)
    assert 'lang="en"' in again
