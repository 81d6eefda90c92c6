"""Drawing one certificate as a PDF page with the ReportLab canvas (no Flask, no database).

The page is A4 **landscape**, the usual shape of a Chinese 荣誉证书 / 获奖证书: a coloured border
(``none`` / ``single`` / ``double`` / ``ornate``), the title spaced out in the template's colour, the body
with its placeholders filled and broken into lines by :func:`certificates.domain.break_lines` (kinsoku:
no line starts with closing punctuation), the signatories, the issuer with its seal over it and the date
in Chinese numerals (二〇二六年十一月二十二日), and at the bottom left the QR code of the verification
address, the serial and the address in words.

The QR code is **vector**: segno's module matrix, each row's runs of dark modules merged into one
rectangle, all rectangles one path filled once, drawn in module units (``cm`` scales one module to
:data:`QR_MODULE` points) so every coordinate in the page is an integer — scanners get sharp edges at any
zoom, and a test can read the matrix back from the content stream.

Output is deterministic (``invariant=1``: fixed creation date and document id): the same certificate and
template give the same bytes, so a PDF's SHA-256 identifies it (the render cache and the verification's
``pdf_match`` step rely on that). Labels printed on the certificate are Chinese with a small English
gloss, whatever the viewer's language: a certificate is one document, not a page in the reader's locale.

Body placeholders: ``{holder_name}``, ``{achievement}``, ``{subject}`` (what it is for, in words, e.g. the
competition's name), ``{issued_on}`` (2026年11月22日), ``{valid_until}``, ``{serial}``, ``{issuer_name}``
and the kind's details (:data:`KIND_DETAIL_FIELDS`, taken from ``Certificate.details``). ``{{`` and ``}}``
write braces. A paragraph (a line of the body) is indented by two characters unless it ends with a colon
(the salutation, e.g. ``{holder_name} 同志：``).
"""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import segno
from PIL import Image, ImageChops
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase.pdfdoc import PDFImageXObject
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from app.pdf import CJKFont, register_cjk_font
from certificates.domain import break_lines

PAGE_SIZE = landscape(A4)  # 841.89 × 595.28 pt
QR_MODULE = 2.5  # points per QR module: version 3–4 codes come out at 2.6–3.1 cm with the quiet zone
QR_BORDER = 4  # quiet zone, in modules (ISO/IEC 18004)
BORDER_STYLES = ("none", "single", "double", "ornate")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
TEXT_COLOR = HexColor("#1f1f1f")
MUTED_COLOR = HexColor("#555555")

#: Placeholders every kind can use.
BASE_PLACEHOLDERS = ("holder_name", "achievement", "subject", "issued_on", "valid_until", "serial", "issuer_name")
#: Kind-specific placeholders, read from ``Certificate.details`` (label for the template editor).
KIND_DETAIL_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "award": (("competition", "竞赛名称"), ("trade", "职业（工种）"), ("rank", "名次（数字）")),
    "participation": (("competition", "竞赛名称"), ("trade", "职业（工种）")),
    "skill_level": (("occupation", "职业名称"), ("direction", "工种/职业方向"), ("skill_level", "职业技能等级"),
                    ("evaluator", "评价机构")),
    "apprentice_graduation": (("master_name", "师傅姓名"), ("trade", "职业（工种）"), ("period", "带徒期限")),
    "craftsman_title": (("title_name", "称号"), ("year", "年度")),
    "studio_honor": (("studio_name", "工作室名称"), ("level", "级别")),
}

_PLACEHOLDER_RE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_CN_DIGITS = "〇一二三四五六七八九"


# --- placeholders --------------------------------------------------------------------------------------


def allowed_placeholders(kind: str) -> tuple[str, ...]:
    return BASE_PLACEHOLDERS + tuple(name for name, _ in KIND_DETAIL_FIELDS.get(kind, ()))


def placeholder_problems(body: str, kind: str) -> list[tuple[str, str]]:
    """``(code, text)`` for each problem of a template body: ``unknown`` placeholder or ``brace`` (a lone
    ``{`` or ``}``; write ``{{`` / ``}}`` for a brace)."""
    allowed = set(allowed_placeholders(kind))
    problems: list[tuple[str, str]] = []
    for m in _PLACEHOLDER_RE.finditer(body or ""):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        if m.group(1) is None:
            problems.append(("brace", token))
        elif m.group(1).strip() not in allowed:
            problems.append(("unknown", token))
    return problems


def fill_placeholders(body: str, values: Mapping[str, Any]) -> str:
    """The body with ``{name}`` replaced by ``values[name]`` (empty when missing), ``{{``/``}}`` by braces."""

    def repl(m: re.Match) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        if m.group(1) is None:
            return token
        value = values.get(m.group(1).strip())
        return "" if value is None else str(value)

    return _PLACEHOLDER_RE.sub(repl, body or "")


def date_cn(day: date) -> str:
    """``2026年11月22日``."""
    return f"{day.year}年{day.month}月{day.day}日"


def _cn_number(n: int) -> str:
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def date_cn_numerals(day: date) -> str:
    """``二〇二六年十一月二十二日`` — the formal date under a seal."""
    year = "".join(_CN_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_cn_number(day.month)}月{_cn_number(day.day)}日"


# --- QR code -------------------------------------------------------------------------------------------


def qr_matrix(url: str) -> tuple[bytearray, ...]:
    """segno's module matrix (no quiet zone) for ``url``: error correction M, regular QR (not Micro QR)."""
    return segno.make(url, error="m", micro=False, boost_error=False).matrix


def qr_runs(matrix: Sequence[Sequence[int]]) -> list[tuple[int, int, int]]:
    """``(row, first column, length)`` of each horizontal run of dark modules, row by row."""
    runs = []
    for r, row in enumerate(matrix):
        c, n = 0, len(row)
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return runs


def qr_size(url: str, module: float = QR_MODULE) -> float:
    """Side of the drawn QR code with its quiet zone, in points."""
    return (len(qr_matrix(url)) + 2 * QR_BORDER) * module


def draw_qr(canvas: Canvas, url: str, x: float, y: float, module: float = QR_MODULE) -> float:
    """Draw the QR code of ``url`` with its lower left corner (quiet zone included) at ``(x, y)``.

    One path of rectangles in module units, filled once; returns the side in points."""
    matrix = qr_matrix(url)
    n = len(matrix)
    canvas.saveState()
    canvas.setFillColorRGB(1, 1, 1)
    side = (n + 2 * QR_BORDER) * module
    canvas.rect(x, y, side, side, stroke=0, fill=1)  # the quiet zone stays white on a tinted page
    canvas.translate(x + QR_BORDER * module, y + QR_BORDER * module)
    canvas.scale(module, module)
    canvas.setFillColorRGB(0, 0, 0)
    # The path operators written directly: whole numbers need no float formatting, and a version 10 code
    # has ~1,500 runs. Matrix row 0 is the top; PDF y grows upwards.
    ops = [f"{c} {n - 1 - r} {length} 1 re" for r, c, length in qr_runs(matrix)]
    ops.append("f")
    canvas._code.append("\n".join(ops))
    canvas.restoreState()
    return side


# --- the seal ------------------------------------------------------------------------------------------

SEAL_MAX_PIXELS = 600  # a side: 118 pt (4.2 cm) at ~360 dpi; larger uploads are scaled down once


@dataclass(frozen=True)
class PreparedImage:
    """An RGB image with its alpha channel, Flate-compressed once, ready to go into any number of PDFs."""

    name: str
    width: int
    height: int
    rgb: bytes  # zlib-compressed DeviceRGB samples
    alpha: bytes | None  # zlib-compressed DeviceGray soft mask


@lru_cache(maxsize=16)  # a few seals per installation; ≤ 512 KB each (checked on upload)
def prepare_seal(png: bytes) -> PreparedImage:
    """Decode, scale down and compress a seal PNG once per process (a batch prints the same seal thousands
    of times; ReportLab's ``drawImage`` would decode and compress it again for every document)."""
    with Image.open(io.BytesIO(png)) as img:
        img = img.convert("RGBA")
    if max(img.size) > SEAL_MAX_PIXELS:
        img.thumbnail((SEAL_MAX_PIXELS, SEAL_MAX_PIXELS), Image.Resampling.LANCZOS)
    rgb, alpha = img.convert("RGB"), img.getchannel("A")
    if alpha.getextrema() == (255, 255):
        # A scanned seal on white paper: paper becomes transparent, ink stays (alpha from the darkest channel),
        # so the seal does not blank out the issuer's name it is stamped over.
        r, g, b = rgb.split()
        darkest = ImageChops.darker(ImageChops.darker(r, g), b)
        alpha = darkest.point(lambda v: max(0, min(255, (255 - v) * 3 // 2)))
    opaque = alpha.getextrema() == (255, 255)
    digest = hashlib.sha256(png).hexdigest()[:16]
    return PreparedImage(name=f"seal{digest}", width=img.width, height=img.height,
                         rgb=zlib.compress(rgb.tobytes(), 6), alpha=None if opaque else zlib.compress(alpha.tobytes(), 6))


class _PreparedXObject(PDFImageXObject):
    """An image XObject whose stream is already compressed (no loading, no re-compression)."""

    def __init__(self, name: str, width: int, height: int, stream: bytes, color_space: str) -> None:
        self.name = name
        self.width, self.height = width, height
        self.bitsPerComponent = 8
        self.colorSpace = color_space
        self._filters = ("FlateDecode",)
        self.streamContent = stream
        self.mask = None


def draw_seal(canvas: Canvas, png: bytes, x: float, y: float, side: float) -> None:
    """Draw the seal centred in the square ``side`` × ``side`` at ``(x, y)``, keeping its aspect ratio and
    its transparency (an SMask), like ``canvas.drawImage(..., mask="auto", preserveAspectRatio=True)``."""
    prepared = prepare_seal(png)
    doc = canvas._doc
    reg_name = doc.getXObjectName(prepared.name)
    if doc.idToObject.get(reg_name) is None:
        image = _PreparedXObject(prepared.name, prepared.width, prepared.height, prepared.rgb, "DeviceRGB")
        canvas._setXObjects(image)
        if prepared.alpha is not None:
            mask = _PreparedXObject(prepared.name + "a", prepared.width, prepared.height, prepared.alpha, "DeviceGray")
            mask._decode = [0, 1]
            canvas._setXObjects(mask)
            image.smask = doc.Reference(mask, doc.getXObjectName(mask.name))
        doc.Reference(image, reg_name)
        doc.addForm(prepared.name, image)
    scale = side / max(prepared.width, prepared.height)
    w, h = prepared.width * scale, prepared.height * scale
    canvas.saveState()
    canvas.translate(x + (side - w) / 2, y + (side - h) / 2)
    canvas.scale(w, h)
    canvas._code.append(f"/{reg_name} Do")
    canvas.restoreState()
    canvas._formsinuse.append(prepared.name)


# --- the certificate -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateLook:
    """What a template version decides (plain values)."""

    title: str
    body: str
    issuer_name: str
    signatories: Sequence[Mapping[str, str]] = ()
    seal_png: bytes | None = None
    primary_color: str = "#b22222"
    border_style: str = "double"


@dataclass(frozen=True)
class CertificateContent:
    """What one certificate says (plain values)."""

    kind: str
    serial: str
    holder_name: str
    achievement: str
    issued_on: date
    verification_url: str
    subject: str = ""
    valid_until: date | None = None
    issuer_name: str = ""  # the signed issuer name; the template's issuer_name is printed when empty
    details: Mapping[str, Any] = field(default_factory=dict)

    def placeholder_values(self, look: CertificateLook) -> dict[str, Any]:
        values: dict[str, Any] = {k: v for k, v in self.details.items() if isinstance(v, str | int)}
        values.update(
            holder_name=self.holder_name, achievement=self.achievement, subject=self.subject,
            issued_on=date_cn(self.issued_on), valid_until=date_cn(self.valid_until) if self.valid_until else "",
            serial=self.serial, issuer_name=self.issuer_name or look.issuer_name,
        )
        return values


KIND_TITLES_EN = {
    "award": "CERTIFICATE OF HONOR", "participation": "CERTIFICATE OF PARTICIPATION",
    "skill_level": "VOCATIONAL SKILL LEVEL CERTIFICATE", "apprentice_graduation": "APPRENTICESHIP CERTIFICATE",
    "craftsman_title": "CRAFTSMAN CERTIFICATE", "studio_honor": "CERTIFICATE OF HONOR",
}


class _Page:
    def __init__(self, canvas: Canvas, font: CJKFont, color: Color) -> None:
        self.c = canvas
        self.font = font.name
        self.color = color
        self.width, self.height = PAGE_SIZE

    def width_of(self, text: str, size: float, char_space: float = 0.0) -> float:
        return stringWidth(text, self.font, size) + char_space * max(len(text) - 1, 0)

    def text(self, x: float, y: float, text: str, size: float, *, color: Color = TEXT_COLOR, align: str = "left",
             char_space: float = 0.0) -> None:
        w = self.width_of(text, size, char_space)
        if align == "center":
            x -= w / 2
        elif align == "right":
            x -= w
        t = self.c.beginText(x, y)
        t.setFont(self.font, size)
        t.setFillColor(color)
        if char_space:
            t.setCharSpace(char_space)
        t.textOut(text)
        self.c.drawText(t)

    def border(self, style: str) -> None:
        c, w, h = self.c, self.width, self.height
        if style == "none":
            return
        c.saveState()
        c.setStrokeColor(self.color)
        if style == "single":
            c.setLineWidth(3)
            c.rect(26, 26, w - 52, h - 52)
        else:
            c.setLineWidth(6 if style == "ornate" else 4)
            c.rect(22, 22, w - 44, h - 44)
            c.setLineWidth(1.2)
            c.rect(32, 32, w - 64, h - 64)
        if style == "ornate":
            self._corners()
            c.setLineWidth(0.6)
            c.setDash(2, 3)
            c.rect(38, 38, w - 76, h - 76)
        c.restoreState()

    def _corners(self) -> None:
        """云纹-like corner ornaments: nested quarter arcs and a lozenge in each corner."""
        c, w, h = self.c, self.width, self.height
        c.setFillColor(self.color)
        for cx, cy, sx, sy in ((32, 32, 1, 1), (w - 32, 32, -1, 1), (32, h - 32, 1, -1), (w - 32, h - 32, -1, -1)):
            c.saveState()
            c.translate(cx, cy)
            c.scale(sx, sy)
            c.setLineWidth(1.5)
            for r in (18, 28, 38):
                c.arc(-r, -r, r, r, 0, 90)
            p = c.beginPath()
            p.moveTo(8, 0)
            p.lineTo(16, 8)
            p.lineTo(8, 16)
            p.lineTo(0, 8)
            p.close()
            c.drawPath(p, stroke=0, fill=1)
            c.restoreState()


def _body_lines(page: _Page, body: str, size: float, width: float) -> list[tuple[str, bool]]:
    """``(line, is_first_line_of_paragraph)`` with a two-character indent on paragraphs (not salutations)."""
    out: list[tuple[str, bool]] = []
    indent = "\u3000\u3000"
    for paragraph in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        text = paragraph.strip()
        if not text:
            out.append(("", True))
            continue
        salutation = text.endswith(("：", ":"))
        if not salutation:
            text = indent + text
        lines = break_lines(text, width, lambda s: stringWidth(s, page.font, size))
        for i, line in enumerate(lines):
            out.append((line.rstrip(), i == 0))
    while out and not out[-1][0]:
        out.pop()
    return out


def _fit_body(page: _Page, body: str, width: float, height: float) -> tuple[float, list[tuple[str, bool]]]:
    """The largest font size (22 → 11 pt) at which the body fits the box, and its lines."""
    size = 22.0
    while True:
        lines = _body_lines(page, body, size, width)
        if len(lines) * size * 1.75 <= height or size <= 11:
            return size, lines
        size -= 1


def render_certificate(content: CertificateContent, look: CertificateLook, font: CJKFont | None = None, *,
                       specimen: bool = False) -> bytes:
    """The PDF bytes of one certificate (deterministic for the same input); ``specimen`` marks a preview."""
    font = font or register_cjk_font()
    color = HexColor(look.primary_color if COLOR_RE.match(look.primary_color or "") else "#b22222")
    issuer = content.issuer_name or look.issuer_name  # what was signed is what is printed
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=PAGE_SIZE, invariant=1, pageCompression=1, lang="zh-CN",
               initialFontName=font.name, initialFontSize=12)  # no unused Helvetica in the file
    c.setTitle(f"{look.title} {content.serial}")
    c.setAuthor(issuer)
    c.setSubject(f"{content.holder_name} — {content.achievement}" if content.achievement else content.holder_name)
    c.setKeywords([content.serial, content.kind, "Jiangxin"])
    c.setCreator("Jiangxin 匠心")
    page = _Page(c, font, color)
    w, h = PAGE_SIZE

    page.border(look.border_style if look.border_style in BORDER_STYLES else "double")

    # Title, spaced out like a printed certificate; the English gloss under it.
    title = look.title or ""
    spacing = 14 if len(title) <= 6 else 4
    page.text(w / 2, h - 118, title, 42, color=color, align="center", char_space=spacing)
    gloss = KIND_TITLES_EN.get(content.kind)
    if gloss:
        page.text(w / 2, h - 140, gloss, 10, color=color, align="center", char_space=2)

    # Body.
    left, right = 120.0, w - 120.0
    top, bottom = h - 178.0, 200.0
    body = fill_placeholders(look.body, content.placeholder_values(look))
    size, lines = _fit_body(page, body, right - left, top - bottom)
    y = top - size
    for line, _first in lines:
        if line:
            page.text(left, y, line, size)
        y -= size * 1.75

    # Signatories (left of centre) and issuer + date + seal (right).
    for i, person in enumerate(list(look.signatories)[:3]):
        label = f"{person.get('title', '')}：{person.get('name', '')}".strip("：")
        page.text(w / 2 - 50, 168 - i * 22, label, 14)
    issuer_x = w - 200.0
    page.text(issuer_x, 150, issuer, 16, align="center")
    page.text(issuer_x, 122, date_cn_numerals(content.issued_on), 14, align="center")
    if look.seal_png:
        side = 118.0
        draw_seal(c, look.seal_png, issuer_x - side / 2, 140 - side / 2, side)

    # Verification: QR code, serial and address (bottom left).
    qr_x, qr_y = 52.0, 46.0
    qr_side = draw_qr(c, content.verification_url, qr_x, qr_y)
    tx = qr_x + qr_side + 6
    page.text(tx, qr_y + qr_side - 22, f"证书编号 No. {content.serial}", 10.5)
    page.text(tx, qr_y + qr_side - 38, "扫码或访问下列地址验证 Scan or visit to verify:", 8, color=MUTED_COLOR)
    page.text(tx, qr_y + qr_side - 50, content.verification_url, 8, color=MUTED_COLOR)
    if content.valid_until:
        page.text(tx, qr_y + qr_side - 66, f"有效期至 Valid until {date_cn(content.valid_until)}", 9)

    if specimen:
        c.saveState()
        c.translate(w / 2, h / 2)
        c.rotate(25)
        page.text(0, -30, "样张 SPECIMEN", 96, color=Color(0.6, 0.6, 0.6, alpha=0.35), align="center")
        c.restoreState()

    c.showPage()
    c.save()
    return buf.getvalue()
