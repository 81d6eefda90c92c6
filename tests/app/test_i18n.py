"""Every user-visible string is translated: the catalogue matches the source and zh_CN is complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "app" / "translations"


def _extract(tmp_path) -> set[str]:
    out = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "-o", str(out), "."],
        check=True, cwd=ROOT, capture_output=True,
    )
    with out.open("rb") as fh:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}


def _catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def test_zh_cn_catalogue_covers_every_string_in_the_source(tmp_path):
    source_ids = _extract(tmp_path)
    assert len(source_ids) > 100, "extraction found too few strings: is babel.cfg still right?"
    catalog = _catalog("zh_CN")
    translated = {}
    for m in catalog:
        if not m.id:
            continue
        key = m.id if isinstance(m.id, str) else m.id[0]
        strings = m.string if isinstance(m.string, tuple | list) else (m.string,)
        translated[key] = all(strings) and not m.fuzzy
    missing = sorted(i for i in source_ids if not translated.get(i))
    assert missing == [], f"{len(missing)} strings lack a zh_CN translation (run make update-translations): {missing[:20]}"


def test_pages_render_in_chinese_by_default_and_english_on_request(client):
    zh = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "登录" in zh
    client.set_cookie("lang", "en")
    en = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in en and "Log in" in en


def test_openapi_document_lists_the_api(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["info"]["title"] == "Jiangxin API"
    paths = set(doc["paths"])
    for path in ("/api/v1/me", "/api/v1/tokens", "/api/v1/workers", "/api/v1/enterprises", "/api/v1/trades",
                 "/api/v1/workers/imports"):
        assert path in paths, path


def test_a_missing_compiled_catalogue_stops_the_start_with_a_clear_message(tmp_path):
    """Found in use: without compiled catalogues the demo ran in English and signed English award words."""
    import pytest

    from app import CataloguesMissing, check_catalogues

    with pytest.raises(CataloguesMissing, match=r"zh_CN are not compiled .*make translations"):
        check_catalogues(str(tmp_path), ("zh_CN", "en"))
    (tmp_path / "zh_CN" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "zh_CN" / "LC_MESSAGES" / "messages.mo").write_bytes(b"")
    check_catalogues(str(tmp_path), ("zh_CN", "en"))  # the source language (en) needs none
