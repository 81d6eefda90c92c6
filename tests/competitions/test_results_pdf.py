"""The PDF results sheet: Chinese text drawn with the shared CJK font (extractable), the public view of the version
(names per consent, masked otherwise), header repeated on every page, page numbers, metadata."""

from __future__ import annotations

import io

import pytest

from app.db import db
from app.people.domain import mask_name
from competitions.services import results as results_services
from competitions.services import results_pdf
from tests.competitions.results_fixtures import rw  # noqa: F401

pypdf = pytest.importorskip("pypdf")


def _text(pdf: bytes) -> tuple[list[str], object]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [p.extract_text() for p in reader.pages], reader


def _published(rw):  # noqa: F811
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish").status_code == 201


def test_sheet_has_the_chinese_name_an_awardee_and_masks_without_consent(rw, app):  # noqa: F811
    _published(rw)
    rw.competition.organizer_name = "市总工会"
    rw.competition.venue = "市职业技能公共实训基地"
    db.session.commit()
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        from flask_babel import gettext

        pdf, filename = results_pdf.published_sheet(rw.competition.id)
        title, page_1 = gettext("Results sheet"), gettext("Page %(page)d of %(pages)d", page=1, pages=1)
    assert pdf.startswith(b"%PDF") and filename == f"results-{rw.competition.id}-v1.pdf"
    pages, reader = _text(pdf)
    text = "\n".join(pages)
    assert "数控车工技能比武" in text
    assert "张帅坤" in text and "甲机械厂" in text, "the first prize winner consented: name and enterprise"
    assert "一等奖" in text
    assert "李建国" not in text and "乙汽车厂" not in text
    assert mask_name("李建国") in text
    assert "市总工会" in text and "市职业技能公共实训基地" in text and title in text
    assert "第 1 页，共 1 页" == page_1 and page_1 in text
    meta = reader.metadata
    assert "数控车工技能比武" in meta.title and meta.author == "市总工会"
    from app.pdf import register_cjk_font

    font = register_cjk_font()
    if font.embedded:  # the glyphs travel with the file
        fonts = str(reader.pages[0]["/Resources"]["/Font"])
        assert "/F" in fonts


def test_long_sheet_repeats_the_header_and_numbers_every_page(rw, app):  # noqa: F811
    _published(rw)
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("en"):
            data = results_services.published_results(rw.competition.id)
            rows = data["entries"]
            many = [dict(rows[i % len(rows)], code=f"B{i:03d}") for i in range(150)]
            pdf = results_pdf.render_sheet(rw.competition, {**data, "entries": many})
    pages, _reader = _text(pdf)
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):
        assert "Rank" in page and "Code" in page and "Total" in page, f"header on page {n}"
        assert f"Page {n} of {len(pages)}" in page
        assert "Version 1, published" in page
    assert "B149" in pages[-1]


def test_organizer_sheet_of_an_old_version_is_that_version(rw, app):  # noqa: F811
    _published(rw)
    rw.mark("A104", rw.p2, "j1", 20)
    db.session.commit()
    assert rw.call("organizer", "POST", "/results/publish", json={"reason": "复核改判"}).status_code == 201
    with app.test_request_context():
        old, _ = results_pdf.version_sheet(rw.users["organizer"], rw.competition.id, 1)
        new, _ = results_pdf.version_sheet(rw.users["organizer"], rw.competition.id, 2)
    old_text, new_text = "\n".join(_text(old)[0]), "\n".join(_text(new)[0])
    assert "55.33" in old_text and "78.67" not in old_text
    assert "78.67" in new_text and "复核改判" in new_text
    assert "李建国" not in old_text + new_text, "the sheet is the public view even for organizers"
