"""The certificate PDF (certificates/pdf.py): text, embedded subset font, the vector QR code read back from
the content stream and compared with segno's matrix, kinsoku line breaking, metadata, determinism."""

from __future__ import annotations

import io
import re
import zlib
from datetime import date
from pathlib import Path

import pytest
import segno
from PIL import Image, ImageDraw
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.pdfbase.pdfmetrics import stringWidth

from app.pdf import register_cjk_font
from certificates import pdf as cpdf
from certificates.domain import NO_LINE_START
from tests.conftest import require

URL = "https://jx.example.org/v/C2600420000010"


@pytest.fixture(scope="module", autouse=True)
def embedded_font():
    require(Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc").is_file(),
            "fonts-wqy-zenhei is not installed (.ci/run installs it)")
    font = register_cjk_font()
    assert font.embedded
    return font


def seal_png(size: int = 300) -> bytes:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((8, 8, size - 8, size - 8), outline=(200, 0, 0, 220), width=10)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def content(**overrides) -> cpdf.CertificateContent:
    values = dict(kind="award", serial="C2600420000010", holder_name="欧阳娜娜", achievement="一等奖",
                  issued_on=date(2026, 11, 22), verification_url=URL, subject="2026年全市职工焊工技能竞赛",
                  issuer_name="甲机械厂工会", details={"trade": "焊工"})
    values.update(overrides)
    return cpdf.CertificateContent(**values)


def look(**overrides) -> cpdf.CertificateLook:
    values = dict(title="荣誉证书", body="{holder_name} 同志：\n在{subject}中成绩优异，荣获{achievement}。\n特发此证，以资鼓励。",
                  issuer_name="模板里的发证单位", signatories=({"title": "主任", "name": "王建国"},),
                  seal_png=seal_png(), primary_color="#b22222", border_style="ornate")
    values.update(overrides)
    return cpdf.CertificateLook(**values)


def reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def page_text(data: bytes) -> str:
    return reader(data).pages[0].extract_text()


# --- text and font -----------------------------------------------------------------------------------


def test_text_extraction_returns_the_chinese_name_and_the_serial():
    text = page_text(cpdf.render_certificate(content(), look()))
    assert "欧阳娜娜" in text
    assert "C2600420000010" in text
    assert "荣获一等" in text and "焊工技能竞赛" in text
    assert "甲机械厂工会" in text  # the signed issuer is printed, not the template's
    assert "模板里的发证单位" not in text
    assert "二〇二六年十一月二十二日" in text
    assert "主任：王建国" in text


def test_font_is_embedded_and_subset():
    r = reader(cpdf.render_certificate(content(), look()))
    fonts = r.pages[0]["/Resources"]["/Font"]
    names = []
    for ref in fonts.values():
        font = ref.get_object()
        names.append(str(font["/BaseFont"]))
        descriptor = font["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor  # an embedded TrueType program
        assert "/ToUnicode" in font  # so the text can be searched and copied
    assert names and all(re.fullmatch(r"/[A-Z]{6}\+\S+", n) for n in names), names  # subset tags
    embedded = b"".join(ref.get_object()["/FontDescriptor"].get_object()["/FontFile2"].get_object().get_data()
                        for ref in fonts.values())
    assert len(embedded) < 200_000  # a subset, not the 16 MB collection


def test_metadata():
    meta = reader(cpdf.render_certificate(content(), look())).metadata
    assert meta.title == "荣誉证书 C2600420000010"
    assert meta.author == "甲机械厂工会"
    assert meta.subject == "欧阳娜娜 — 一等奖"
    assert "C2600420000010" in meta["/Keywords"]


def test_output_is_deterministic():
    first = cpdf.render_certificate(content(), look())
    assert cpdf.render_certificate(content(), look()) == first
    assert cpdf.render_certificate(content(serial="C2600420000029"), look()) != first


# --- the QR code ---------------------------------------------------------------------------------------


def drawn_qr(data: bytes) -> tuple[set[tuple[int, int]], int, int]:
    """Dark cells (row from the top, column) of the QR path as drawn, the number of rectangles and of fills.

    The code is drawn after a ``cm`` that scales one module to QR_MODULE points: collect the ``re`` operands
    from there to the fill (``f``)."""
    r = reader(data)
    ops = ContentStream(r.pages[0].get_contents(), r).operations
    start = next(i for i, (args, op) in enumerate(ops)
                 if op == b"cm" and [float(a) for a in args[:4]] == [cpdf.QR_MODULE, 0, 0, cpdf.QR_MODULE])
    rects, fills = [], 0
    for args, op in ops[start + 1:]:
        if op == b"re":
            rects.append(tuple(float(a) for a in args))
        elif op in (b"f", b"f*"):
            fills += 1
            break
        elif op not in (b"rg", b"g", b"n"):  # the fill colour is set before the path
            raise AssertionError(f"unexpected operator {op!r} inside the QR path")
    assert all(v == int(v) for rect in rects for v in rect), "module coordinates must be whole numbers"
    top = max(int(y) for _, y, _, _ in rects)
    cells = set()
    for x, y, w, h in rects:
        assert h == 1
        for dx in range(int(w)):
            cells.add((top - int(y), int(x) + dx))
    return cells, len(rects), fills


def segno_cells(url: str) -> tuple[set[tuple[int, int]], int]:
    qr = segno.make(url, error="m", micro=False, boost_error=False)
    cells = {(r, c) for r, row in enumerate(qr.matrix) for c, dark in enumerate(row) if dark}
    return cells, len(qr.matrix)


@pytest.mark.parametrize("url", [URL, "http://localhost:5000/v/P2612345999999X"])
def test_qr_path_is_segnos_matrix_of_the_verification_url(url):
    drawn, rect_count, fills = drawn_qr(cpdf.render_certificate(content(verification_url=url), look()))
    expected, n = segno_cells(url)
    assert fills == 1  # one path, filled once
    # The top row of a QR code always has dark modules (finder patterns), so "top" aligns both matrices.
    assert drawn == expected
    assert rect_count < len(expected)  # runs merged into rectangles, not one square per module
    assert rect_count == len(cpdf.qr_runs(segno.make(url, error="m", micro=False, boost_error=False).matrix))
    # The address is printed in words too.
    assert url in page_text(cpdf.render_certificate(content(verification_url=url), look()))


def test_qr_of_another_url_does_not_match():
    drawn, _, _ = drawn_qr(cpdf.render_certificate(content(), look()))
    other, _ = segno_cells(URL.replace("0010", "0029"))
    assert drawn != other


# --- line breaking ----------------------------------------------------------------------------------


def _naive_lines(text: str, width: float, size: float, font: str) -> list[str]:
    lines, current = [], ""
    for ch in text:
        if current and stringWidth(current + ch, font, size) > width:
            lines.append(current)
            current = ""
        current += ch
    return lines + [current]


def test_no_line_starts_with_closing_punctuation(embedded_font):
    # 25 characters fill the first line after the two-character indent, so a naive break would start the
    # second line with "。" — and with "，" a line further on.
    paragraph = "测" * 25 + "。" + "续" * 26 + "，" + "尾" * 5
    width, size = cpdf.PAGE_SIZE[0] - 240, 22.0
    naive = _naive_lines("\u3000\u3000" + paragraph, width, size, embedded_font.name)
    assert any(line[0] in NO_LINE_START for line in naive[1:]), naive  # the test would catch a naive renderer

    data = cpdf.render_certificate(content(), look(body=paragraph))
    lines = [line.strip() for line in page_text(data).splitlines() if line.strip()]
    body = [line for line in lines if set(line) & set("测续尾")]
    assert len(body) >= 3
    assert "".join(body) == paragraph
    assert all(line[0] not in NO_LINE_START for line in body), body
    assert body[1].startswith("测。")  # the character before moved down with the full stop


def test_long_body_shrinks_to_fit():
    long_body = "\n".join(["这是一段很长的证书正文，用于检查字号会自动缩小以适合版面。" * 3] * 5)
    data = cpdf.render_certificate(content(), look(body=long_body))
    text = page_text(data)
    assert "证书编号" in text and text.count("自动缩小") == 15


# --- template parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", cpdf.BORDER_STYLES)
def test_every_border_style_renders(style):
    data = cpdf.render_certificate(content(), look(border_style=style, seal_png=None, signatories=()))
    assert data.startswith(b"%PDF-") and "欧阳娜娜" in page_text(data)


def test_seal_is_drawn_as_an_image_with_transparency():
    with_seal = reader(cpdf.render_certificate(content(), look()))
    xobjects = with_seal.pages[0]["/Resources"]["/XObject"]
    [image] = [x.get_object() for x in xobjects.values()]
    assert image["/Subtype"] == "/Image" and "/SMask" in image  # the alpha channel survives
    without = reader(cpdf.render_certificate(content(), look(seal_png=None)))
    assert "/XObject" not in without.pages[0]["/Resources"]


def test_scanned_seal_on_white_paper_gets_a_transparent_background():
    img = Image.new("RGB", (300, 300), (255, 255, 255))
    ImageDraw.Draw(img).ellipse((8, 8, 292, 292), outline=(200, 0, 0), width=12)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    prepared = cpdf.prepare_seal(buf.getvalue())
    assert prepared.alpha is not None
    alpha = zlib.decompress(prepared.alpha)
    assert alpha[0] == 0  # the white corner is transparent
    assert alpha[150 * 300 + 10] == 255  # the red ring (row 150, column 10) is opaque
    r = reader(cpdf.render_certificate(content(), look(seal_png=buf.getvalue())))
    [image] = [x.get_object() for x in r.pages[0]["/Resources"]["/XObject"].values()]
    assert "/SMask" in image


def test_large_seal_is_scaled_down_once():
    big = seal_png(1600)
    prepared = cpdf.prepare_seal(big)
    assert max(prepared.width, prepared.height) == cpdf.SEAL_MAX_PIXELS
    assert cpdf.prepare_seal(big) is prepared  # cached per process


def test_specimen_mark_on_previews():
    assert "SPECIMEN" in page_text(cpdf.render_certificate(content(), look(), specimen=True))
    assert "SPECIMEN" not in page_text(cpdf.render_certificate(content(), look()))


def test_valid_until_is_printed_when_set():
    text = page_text(cpdf.render_certificate(content(valid_until=date(2029, 11, 21)), look()))
    assert "2029年11月21日" in text


# --- pure helpers -----------------------------------------------------------------------------------


def test_fill_placeholders():
    values = {"holder_name": "张三", "achievement": "一等奖", "trade": "焊工"}
    assert cpdf.fill_placeholders("{holder_name}荣获{ achievement }（{trade}）{{原样}}{unknown}", values) == \
        "张三荣获一等奖（焊工）{原样}"


@pytest.mark.parametrize(("body", "problems"), [
    ("{holder_name}荣获{achievement}。", []),
    ("{holder_name}：{competition}{rank}", []),  # the award kind's details
    ("{holder_name}{occupation}", [("unknown", "{occupation}")]),  # a skill-level field on an award
    ("{holdr_name}", [("unknown", "{holdr_name}")]),
    ("括号{ 和 }", [("unknown", "{ 和 }")]),
    ("单个{括号", [("brace", "{")]),
    ("写成{{这样}}可以", []),
])
def test_placeholder_problems(body, problems):
    assert cpdf.placeholder_problems(body, "award") == problems


def test_skill_level_placeholders():
    assert cpdf.placeholder_problems("{occupation}{direction}{skill_level}{evaluator}", "skill_level") == []


@pytest.mark.parametrize(("day", "text"), [
    (date(2026, 11, 22), "二〇二六年十一月二十二日"),
    (date(2030, 1, 10), "二〇三〇年一月十日"),
    (date(2025, 10, 31), "二〇二五年十月三十一日"),
])
def test_date_in_chinese_numerals(day, text):
    assert cpdf.date_cn_numerals(day) == text


def test_qr_runs_merge_horizontal_runs():
    assert cpdf.qr_runs([bytearray([1, 1, 0, 1]), bytearray([0, 0, 0, 0]), bytearray([1, 1, 1, 1])]) == [
        (0, 0, 2), (0, 3, 1), (2, 0, 4)]


def test_rendering_from_many_threads_gives_the_same_bytes():
    """Bulk issuing renders on a thread pool: the shared font and seal cache must not mix documents."""
    from concurrent.futures import ThreadPoolExecutor

    contents = [content(serial=f"C26004200000{n:02d}", holder_name=name)
                for n, name in enumerate(["欧阳娜娜", "张三", "李四", "王五", "赵六", "孙七", "周八", "吴九"])]
    expected = [cpdf.render_certificate(c, look()) for c in contents]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            assert list(pool.map(lambda c: cpdf.render_certificate(c, look()), contents)) == expected
