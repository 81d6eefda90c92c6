"""The PDF results sheet (成绩公示表) of a published results version, drawn with ReportLab.

What it shows is exactly the public view of that version (``competitions.services.results.public_row``): entrant
code, rank (shared ranks marked), the worker's name only with publicity consent (masked otherwise), the enterprise
only with consent, module scores, total and awards. The organizer can print any version (old ones stay
available); anyone can print the latest published one.

Layout: title, the competition's organizer / venue / dates, the version and its publication time (and the reason
of a correction), then one table whose header row repeats on every page; every page has a footer with
"page x of y" and the version. Landscape when the table has many columns. Chinese text is drawn with the shared
CJK font (``app.pdf.register_cjk_font``: embedded and subset when a TrueType CJK font exists). The document
carries title, author, subject and creator metadata.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from app.db import db
from app.errors import NotFound
from app.pdf import register_cjk_font
from competitions.models import Competition
from competitions.services import results as results_services

LANDSCAPE_FROM_COLUMNS = 8  # rank, code, name, enterprise, total, awards + modules


def _numbered_canvas(footer: str, font: str):
    """A canvas class that writes "page x of y" on every page once the page count is known."""

    class NumberedCanvas(rl_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._footer(total)
                super().showPage()
            super().save()

        def _footer(self, total: int) -> None:
            width, _height = self._pagesize
            self.saveState()
            self.setFont(font, 8)
            self.setFillColor(colors.HexColor("#6b7280"))
            self.drawString(15 * mm, 10 * mm, footer)
            self.drawRightString(width - 15 * mm, 10 * mm,
                                 _("Page %(page)d of %(pages)d", page=self._pageNumber, pages=total))
            self.restoreState()

    return NumberedCanvas


def _when(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def render_sheet(competition: Competition, data: dict[str, Any]) -> bytes:
    """The PDF of one published version. ``data``: ``version``, ``published_at``, ``reason``, ``modules`` (heads)
    and ``entries`` (public rows)."""
    font = register_cjk_font().name
    modules = data.get("modules") or []
    rows = data.get("entries") or []
    columns = 6 + len(modules)
    pagesize = landscape(A4) if columns >= LANDSCAPE_FROM_COLUMNS else A4

    base = ParagraphStyle("jx", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    cell = ParagraphStyle("jx-cell", parent=base)
    num = ParagraphStyle("jx-num", parent=base, alignment=TA_RIGHT)
    head = ParagraphStyle("jx-head", parent=base, textColor=colors.white)
    head_num = ParagraphStyle("jx-head-num", parent=head, alignment=TA_RIGHT)
    title = ParagraphStyle("jx-title", parent=base, fontSize=17, leading=22, alignment=TA_CENTER, spaceAfter=4)
    subtitle = ParagraphStyle("jx-subtitle", parent=base, fontSize=12, leading=16, alignment=TA_CENTER, spaceAfter=6)
    meta = ParagraphStyle("jx-meta", parent=base, fontSize=9, leading=13, alignment=TA_CENTER,
                          textColor=colors.HexColor("#374151"))

    def p(text: Any, style=cell) -> Paragraph:
        return Paragraph(escape("" if text is None else str(text)), style)

    version = data.get("version")
    published_at = _when(data.get("published_at"))
    story: list[Any] = [p(competition.name, title), p(_("Results sheet"), subtitle)]
    facts = []
    if competition.organizer_name:
        facts.append(_("Organizer: %(name)s", name=competition.organizer_name))
    if competition.venue:
        facts.append(_("Venue: %(venue)s", venue=competition.venue))
    if competition.starts_on:
        dates = format_date(competition.starts_on, "yyyy-MM-dd")
        if competition.ends_on and competition.ends_on != competition.starts_on:
            dates += " – " + format_date(competition.ends_on, "yyyy-MM-dd")
        facts.append(_("Dates: %(dates)s", dates=dates))
    if facts:
        story.append(p("　".join(facts), meta))
    story.append(p(_("Version %(version)d, published %(when)s", version=version or 0, when=published_at), meta))
    if data.get("reason") and (version or 0) > 1:
        story.append(p(_("Correction: %(reason)s", reason=data["reason"]), meta))
    story.append(Spacer(1, 5 * mm))

    header = [p(_("Rank"), head), p(_("Code"), head), p(_("Full name"), head), p(_("Enterprise"), head)]
    header += [p(m["name"], head_num) for m in modules]
    header += [p(_("Total"), head_num), p(_("Awards"), head)]
    table_rows: list[list[Any]] = [header]
    for e in rows:
        scores = {s["module_id"]: s["score"] for s in e.get("modules") or []}
        if e.get("rank") is None:
            rank_text = _("Absent") if e.get("status") == "absent" else _("Unranked")
        else:
            rank_text = f"{e['rank']}=" if e.get("shared") else str(e["rank"])
        table_rows.append(
            [p(rank_text), p(e.get("code") or "—"), p(e.get("name") or "—"), p(e.get("enterprise_name") or "—")]
            + [p(scores.get(m["id"]) or "—", num) for m in modules]
            + [p(e.get("total") or "—", num),
               p("、".join(results_services.award_label(a["code"]) for a in e.get("awards") or []) or "")])
    if len(table_rows) == 1:
        table_rows.append([p(_("No entries."))] + [p("") for _c in range(columns - 1)])

    width = pagesize[0] - 30 * mm
    fixed = {"rank": 14 * mm, "code": 18 * mm, "total": 18 * mm}
    module_w = 18 * mm
    rest = width - sum(fixed.values()) - module_w * len(modules)
    name_w, ent_w, award_w = rest * 0.24, rest * 0.44, rest * 0.32
    col_widths = [fixed["rank"], fixed["code"], name_w, ent_w] + [module_w] * len(modules) + [fixed["total"], award_w]
    table = LongTable(table_rows, colWidths=col_widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#b91c1c")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f8fafc")]),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#cbd5e1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    story.append(table)
    story.append(Spacer(1, 4 * mm))
    story.append(p(_("Names are shown only for workers who consented to publicity (masked otherwise); "
                     "enterprises only with consent. = marks a shared rank."),
                   ParagraphStyle("jx-note", parent=base, fontSize=8, textColor=colors.HexColor("#6b7280"))))

    buf = io.BytesIO()
    doc_title = f"{competition.name} — {_('Results sheet')}"
    doc = SimpleDocTemplate(
        buf, pagesize=pagesize, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=18 * mm,
        title=doc_title, author=competition.organizer_name or _("Jiangxin"),
        subject=_("Results version %(version)d", version=version or 0), creator=_("Jiangxin"),
        keywords=[competition.name, _("Results sheet")], lang="zh-CN")
    footer = f"{competition.name} · " + _("Version %(version)d, published %(when)s", version=version or 0,
                                          when=published_at)
    doc.build(story, canvasmaker=_numbered_canvas(footer, font))
    return buf.getvalue()


def _filename(competition: Competition, version: int) -> str:
    return f"results-{competition.id}-v{version}.pdf"


def version_sheet(actor, competition_id: int, number: int) -> tuple[bytes, str]:
    """Organizers: the sheet of any published version (public view of that version)."""
    data = results_services.get_version(actor, competition_id, number)  # checks the organizer role
    competition = db.session.get(Competition, competition_id)
    if competition is None:
        raise NotFound(_("No such competition."))
    sheet = {**data, "entries": results_services.public_rows(competition_id, data["entries"])}
    return render_sheet(competition, sheet), _filename(competition, number)


def published_sheet(competition_id: int) -> tuple[bytes, str]:
    """Anyone: the sheet of the latest published version (404 while nothing is published)."""
    data = results_services.published_results(competition_id)
    competition = db.session.get(Competition, competition_id)
    return render_sheet(competition, data), _filename(competition, data["version"])


__all__ = ["published_sheet", "render_sheet", "version_sheet"]
