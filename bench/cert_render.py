"""cert_render: one certificate PDF rendered by ``certificates.pdf.render_certificate`` vs baseline B3.

Ours: the full page of an award certificate — ornate border, spaced title, body with placeholders filled and
broken into lines by ``break_lines`` (font size fitted), two signatories, issuer, date in Chinese numerals,
a 400 × 400 seal PNG with transparency, the vector QR code of the verification address, serial, address,
validity, metadata; deterministic (``invariant=1``) and compressed.

Baseline B3: a minimal ReportLab page with the same embedded font, the same text lines (already broken, each
one ``drawString``) and the same QR code (``segno.make`` of the same address, as every certificate needs its
own) as one path of merged runs — no border, seal, line breaking, metadata or compression.

Each timed run renders ``RENDERS`` PDFs; medians of 5 runs; value and baseline are per certificate.
ratio = baseline / ours; target 0.5 (at most twice the time of the bare page).
"""

from __future__ import annotations

import io
from datetime import date

from bench._common import Result, compare

NAME = "cert_render"
TARGET = 0.5
RENDERS = 40


class PerPdf(Result):
    def line(self) -> str:
        return (f"BENCH {self.name} value={self.value * 1000:.2f}ms baseline={self.baseline * 1000:.2f}ms "
                f"ratio={self.ratio:.2f} target={self.target:g} {'PASS' if self.passed else 'FAIL'}")


def _seal() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((10, 10, 390, 390), outline=(200, 0, 0, 220), width=14)
    draw.regular_polygon((200, 200, 70), 5, fill=(200, 0, 0, 220))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def run() -> Result:
    import segno
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen.canvas import Canvas

    from app.pdf import register_cjk_font
    from certificates import pdf as cpdf
    from certificates.domain import break_lines

    font = register_cjk_font()
    assert font.embedded, "no embedded CJK font on this machine: install fonts-wqy-zenhei"
    url = "https://jx.example.org/v/C2600420000010"
    content = cpdf.CertificateContent(
        kind="award", serial="C2600420000010", holder_name="欧阳娜娜", achievement="一等奖",
        issued_on=date(2026, 11, 22), verification_url=url, subject="2026年全市职工职业技能大赛（焊工项目）",
        valid_until=date(2029, 11, 21), issuer_name="甲机械厂工会", details={"trade": "焊工"})
    look = cpdf.CertificateLook(
        title="荣誉证书", body="{holder_name} 同志：\n在{subject}中成绩优异，荣获{achievement}。\n特发此证，以资鼓励。",
        issuer_name="甲机械厂工会", signatories=({"title": "厂长", "name": "王建国"}, {"title": "主席", "name": "李红"}),
        seal_png=_seal(), primary_color="#b22222", border_style="ornate")

    # The same text as ours draws, broken into the same lines once (the baseline does no layout work).
    body = cpdf.fill_placeholders(look.body, content.placeholder_values(look))
    body_lines: list[str] = []
    for paragraph in body.split("\n"):
        text = paragraph if paragraph.endswith("：") else "\u3000\u3000" + paragraph
        body_lines += [s.rstrip() for s in break_lines(text, 600, lambda s: stringWidth(s, font.name, 22))]
    lines = ([look.title, "CERTIFICATE OF HONOR"] + body_lines + ["厂长：王建国", "主席：李红", "甲机械厂工会",
             cpdf.date_cn_numerals(content.issued_on), f"证书编号 No. {content.serial}",
             "扫码或访问下列地址验证 Scan or visit to verify:", url, "有效期至 Valid until 2029年11月21日"])
    def baseline_pdf() -> bytes:
        matrix = segno.make(url, error="m", micro=False).matrix  # a QR code is encoded for each certificate
        n = len(matrix)
        runs = cpdf.qr_runs(matrix)
        buf = io.BytesIO()
        c = Canvas(buf, pagesize=landscape(A4))
        c.setFont(font.name, 16)
        y = 500.0
        for line in lines:
            c.drawString(100, y, line)
            y -= 24
        c.saveState()
        c.translate(62, 56)
        c.scale(cpdf.QR_MODULE, cpdf.QR_MODULE)
        path = c.beginPath()
        for r, col, length in runs:
            path.rect(col, n - 1 - r, length, 1)
        c.drawPath(path, stroke=0, fill=1)
        c.restoreState()
        c.showPage()
        c.save()
        return buf.getvalue()

    ours_pdf = cpdf.render_certificate(content, look, font)
    assert ours_pdf == cpdf.render_certificate(content, look, font)  # deterministic
    assert baseline_pdf().startswith(b"%PDF-")

    def ours() -> None:
        for _ in range(RENDERS):
            cpdf.render_certificate(content, look, font)

    def baseline() -> None:
        for _ in range(RENDERS):
            baseline_pdf()

    value, base = compare(ours, baseline, repeat=5)
    return PerPdf(NAME, value / RENDERS, base / RENDERS, TARGET)
