"""The PDF font (app/pdf.py): an embedded CJK TrueType font found once per process, the STSong-Light
fallback with a warning, and missing_glyphs() for both."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from app import pdf
from tests.conftest import require

WQY = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
UKAI = "/usr/share/fonts/truetype/arphic/ukai.ttc"


@pytest.fixture(autouse=True)
def fresh_fonts(monkeypatch):
    """Every test chooses the font anew and leaves no choice behind for the rest of the run."""
    monkeypatch.delenv("PDF_CJK_FONT", raising=False)
    monkeypatch.delenv("PDF_CJK_FONT_INDEX", raising=False)
    pdf.reset_font_cache()
    yield
    pdf.reset_font_cache()


@pytest.fixture
def no_system_fonts(monkeypatch):
    monkeypatch.setattr(pdf, "_candidates", lambda configured: iter(()))


def test_system_font_is_embedded_truetype():
    require(Path(WQY).is_file(), "fonts-wqy-zenhei is not installed (.ci/run installs it)")
    font = pdf.register_cjk_font()
    assert font.embedded and font.path == WQY and font.subfont_index == 0
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    assert isinstance(pdfmetrics.getFont(font.name), TTFont)
    assert pdf.string_width("中文", 10, font) == pytest.approx(20.0)


def test_registered_once_per_process_even_from_many_threads(monkeypatch):
    calls = []
    real_load = pdf._load

    def counting_load(configured):
        calls.append(configured)
        return real_load(configured)

    monkeypatch.setattr(pdf, "_load", counting_load)
    barrier = threading.Barrier(8)
    results = []

    def worker():
        barrier.wait()
        results.append(pdf.register_cjk_font())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert pdf.register_cjk_font() is results[0]


def test_configured_font_file_and_collection_face(monkeypatch):
    require(Path(WQY).is_file(), "fonts-wqy-zenhei is not installed (.ci/run installs it)")
    monkeypatch.setenv("PDF_CJK_FONT", WQY + "#1")  # the collection's second face (Zen Hei Mono)
    font = pdf.register_cjk_font()
    assert (font.path, font.subfont_index, font.embedded) == (WQY, 1, True)
    monkeypatch.setenv("PDF_CJK_FONT", WQY)
    monkeypatch.setenv("PDF_CJK_FONT_INDEX", "2")
    assert pdf.register_cjk_font().subfont_index == 2
    if Path(UKAI).is_file():  # another system font, when installed
        monkeypatch.setenv("PDF_CJK_FONT", UKAI)
        assert pdf.register_cjk_font().path == UKAI


def test_configured_font_from_the_app_config(app, monkeypatch):
    require(Path(WQY).is_file(), "fonts-wqy-zenhei is not installed (.ci/run installs it)")
    monkeypatch.setitem(app.config, "PDF_CJK_FONT", WQY)
    monkeypatch.setitem(app.config, "PDF_CJK_FONT_INDEX", 1)
    with app.app_context():
        font = pdf.register_cjk_font()
    assert (font.path, font.subfont_index) == (WQY, 1)


def test_configured_file_missing_or_not_a_font_falls_back_to_the_search(monkeypatch, tmp_path, caplog):
    require(Path(WQY).is_file(), "fonts-wqy-zenhei is not installed (.ci/run installs it)")
    monkeypatch.setenv("PDF_CJK_FONT", str(tmp_path / "nowhere.ttf"))
    with caplog.at_level(logging.WARNING, logger="app.pdf"):
        font = pdf.register_cjk_font()
    assert font.path == WQY
    assert any("does not exist" in r.getMessage() for r in caplog.records)

    pdf.reset_font_cache()
    bogus = tmp_path / "bogus.ttf"
    bogus.write_bytes(b"OTTO" + b"\0" * 200)  # the tag of a CFF (OpenType-PS) font: ReportLab cannot embed it
    monkeypatch.setenv("PDF_CJK_FONT", str(bogus))
    assert pdf.register_cjk_font().path == WQY


def test_fallback_to_stsong_light_with_a_warning(no_system_fonts, caplog):
    with caplog.at_level(logging.WARNING, logger="app.pdf"):
        font = pdf.register_cjk_font()
    assert font == pdf.CJKFont(name="STSong-Light", path=None, embedded=False)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "app.pdf"]
    assert warnings and "STSong-Light" in warnings[0].getMessage() and "PDF_CJK_FONT" in warnings[0].getMessage()


def test_fallback_pdf_names_the_cid_font_without_embedding_it(no_system_fonts):
    from datetime import date

    from certificates.pdf import CertificateContent, CertificateLook, render_certificate

    data = render_certificate(
        CertificateContent(kind="award", serial="C2500010001231", holder_name="张三", achievement="一等奖",
                           issued_on=date(2026, 1, 2), verification_url="https://x.example/v/C2500010001231"),
        CertificateLook(title="荣誉证书", body="{holder_name}：\n荣获{achievement}。", issuer_name="工会"))
    assert b"STSong-Light" in data and b"FontFile2" not in data


def test_missing_glyphs_of_the_embedded_font():
    require(Path(WQY).is_file(), "fonts-wqy-zenhei is not installed (.ci/run installs it)")
    font = pdf.register_cjk_font()
    assert pdf.missing_glyphs("张三 欧阳娜娜·买买提\n", font) == []
    assert pdf.missing_glyphs("吉𠮷𠮷王", font) == ["𠮷"]  # U+20BB7 (CJK Extension B), once
    assert pdf.missing_glyphs("\U0002A6A5") == ["\U0002A6A5"]  # 𪚥, a rare 生僻字 (Extension B)
    assert pdf.missing_glyphs("") == []


def test_missing_glyphs_rule_of_the_cid_fallback(no_system_fonts):
    font = pdf.register_cjk_font()
    assert not font.embedded
    assert pdf.missing_glyphs("张三 Li·王", font) == []  # GBK and ASCII
    assert pdf.missing_glyphs("𠮷", font) == ["𠮷"]  # outside the BMP: UCS-2 cannot address it
    assert pdf.missing_glyphs("\u3400", font) == ["\u3400"]  # Extension A: not in GBK, depends on the viewer
