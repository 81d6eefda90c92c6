"""The CJK font of every PDF the app draws (certificates, results sheets): found once per process.

:func:`register_cjk_font` picks a TrueType font that can be **embedded and subset** by ReportLab's
``TTFont`` and registers it with ``reportlab.pdfbase.pdfmetrics``; callers draw with ``font.name``.
Where the font comes from, first match wins:

1. the configured file: ``PDF_CJK_FONT`` in the Flask config (set from the environment variable of the
   same name), or the environment variable when there is no app; a TrueType Collection (``.ttc``) is
   read at face ``PDF_CJK_FONT_INDEX`` (default 0), or a ``#N`` suffix on the path (``…/x.ttc#1``);
2. well-known Debian/Ubuntu/Fedora paths (:data:`FONT_CANDIDATES`: WenQuanYi Zen Hei first — ``.ci/run``
   installs ``fonts-wqy-zenhei`` — then AR PL UKai/UMing, Droid Sans Fallback);
3. any font fontconfig knows for Chinese (``fc-list :lang=zh``), when ``fc-list`` exists.

Only fonts with TrueType (``glyf``) outlines qualify: ReportLab cannot embed CFF/OpenType-PS fonts
(e.g. Noto Sans CJK ``.otf``/``.ttc``), so such files are skipped with a log line. When nothing is found,
the non-embedded Adobe CID font ``STSong-Light`` is used with a **warning** in the log: every PDF viewer
can show it, but the glyphs come from the reader's machine, so prints differ and PDF/A is impossible.

:func:`missing_glyphs` lists the characters of a text that the chosen font cannot draw (e.g. ``𠮷``,
U+20BB7 of CJK Extension B), so a name can be refused *before* a certificate is issued instead of being
printed as a blank box. For an embedded font the answer is exact (the font's cmap). For the
``STSong-Light`` fallback the rule is: a character is drawable when it is ASCII or encodable in GBK
(GB 2312 + the CJK Unified Ideographs of Unicode 1.1 + GBK's symbols) — the Adobe-GB1 character
collection covers GBK fully and the ``UniGB-UCS2-H`` encoding used for it cannot address characters
outside the Basic Multilingual Plane at all; rarer BMP characters (Extension A) depend on the reader's
font and are therefore reported as missing too.

Whitespace and control characters are never reported (the renderer does not draw them).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

FALLBACK_CID_FONT = "STSong-Light"

#: (path, face index in a collection) tried in order after the configured font.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # Debian/Ubuntu fonts-wqy-zenhei
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 0),  # Fedora
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),  # fonts-arphic-ukai (楷体, AR PL UKai CN)
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # fonts-arphic-uming (明体, AR PL UMing CN)
    ("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0),  # fonts-arphic-gbsn00lp (宋体)
    ("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf", 0),  # fonts-arphic-gkai00mp (楷体)
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),  # fonts-droid-fallback
    ("/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf", 0),  # Fedora
)


@dataclass(frozen=True)
class CJKFont:
    """The registered font: draw with ``name``; ``embedded`` is False only for the CID fallback."""

    name: str  # ReportLab font name (pdfmetrics)
    path: str | None  # the font file; None for the CID fallback
    embedded: bool
    subfont_index: int = 0
    # Code points the font maps (embedded fonts only); not part of equality or repr.
    _cmap: frozenset[int] | None = field(default=None, compare=False, repr=False)

    def can_draw(self, ch: str) -> bool:
        if self._cmap is not None:
            return ord(ch) in self._cmap
        return _cid_fallback_can_draw(ch)


_lock = threading.Lock()
_fonts: dict[tuple[str | None, int], CJKFont] = {}  # by configured (path, index): once per process


def register_cjk_font() -> CJKFont:
    """The CJK font for PDFs, found and registered once per process (thread-safe)."""
    configured = _configured_font()
    font = _fonts.get(configured)
    if font is not None:
        return font
    with _lock:
        font = _fonts.get(configured)
        if font is None:
            font = _load(configured)
            _fonts[configured] = font
        return font


def missing_glyphs(text: str, font: CJKFont | None = None) -> list[str]:
    """The distinct characters of ``text`` the font cannot draw, in order of first appearance."""
    font = font or register_cjk_font()
    out: list[str] = []
    for ch in text or "":
        if ch in out or ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        if not font.can_draw(ch):
            out.append(ch)
    return out


def string_width(text: str, size: float, font: CJKFont | None = None) -> float:
    """The width of ``text`` in points at ``size`` in the CJK font."""
    font = font or register_cjk_font()
    return pdfmetrics.stringWidth(text, font.name, size)


def reset_font_cache() -> None:
    """Forget the chosen fonts (tests that change the configuration or the search)."""
    with _lock:
        _fonts.clear()


# --- search ------------------------------------------------------------------------------------------


def _configured_font() -> tuple[str | None, int]:
    path: str | None = None
    index: str | int | None = None
    try:
        from flask import current_app, has_app_context

        if has_app_context():
            path = current_app.config.get("PDF_CJK_FONT")
            index = current_app.config.get("PDF_CJK_FONT_INDEX")
    except ImportError:  # pragma: no cover - flask is a dependency; kept for scripts without it
        pass
    path = path or os.environ.get("PDF_CJK_FONT") or None
    index = index if index not in (None, "") else os.environ.get("PDF_CJK_FONT_INDEX")
    if path and "#" in path and path.rsplit("#", 1)[1].isdigit():
        path, suffix = path.rsplit("#", 1)
        index = int(suffix)
    try:
        return (str(path) if path else None, int(index or 0))
    except (TypeError, ValueError):
        log.warning("PDF_CJK_FONT_INDEX %r is not a number; using face 0", index)
        return (str(path) if path else None, 0)


def _fc_list_candidates() -> list[tuple[str, int]]:
    exe = shutil.which("fc-list")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, ":lang=zh", "file", "index"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in sorted(out.splitlines()):
        # "/usr/share/fonts/x.ttc: :index=1" (the order of the fields varies between versions)
        path, _, rest = line.partition(":")
        index = 0
        for part in rest.split(":"):
            if part.strip().startswith("index="):
                try:
                    index = int(part.strip()[len("index="):])
                except ValueError:
                    pass
        if path.lower().endswith((".ttf", ".ttc")):
            found.append((path.strip(), index))
    return found


def _candidates(configured: tuple[str | None, int]) -> Iterable[tuple[str, int]]:
    """Font files to try, in order (tests replace this to simulate a machine without CJK fonts)."""
    path, index = configured
    if path:
        yield path, index
    yield from FONT_CANDIDATES
    yield from _fc_list_candidates()


def _load(configured: tuple[str | None, int]) -> CJKFont:
    tried: set[tuple[str, int]] = set()
    for path, index in _candidates(configured):
        if (path, index) in tried:
            continue
        tried.add((path, index))
        if not Path(path).is_file():
            if path == configured[0]:
                log.warning("PDF_CJK_FONT %s does not exist; searching the system fonts", path)
            continue
        name = f"JX-{Path(path).stem}-{index}"
        try:
            ttf = TTFont(name, path, subfontIndex=index)
        except (TTFError, OSError, ValueError, IndexError) as exc:
            # CFF outlines ("postscript outlines are not supported"), a corrupt file, a bad index.
            log.info("font %s (face %d) cannot be embedded: %s", path, index, exc)
            continue
        if not _has_cjk(ttf):
            log.info("font %s (face %d) has no Chinese characters", path, index)
            continue
        pdfmetrics.registerFont(ttf)
        log.info("PDF CJK font: %s (face %d) as %s", path, index, name)
        return CJKFont(name=name, path=path, embedded=True, subfont_index=index,
                       _cmap=frozenset(ttf.face.charToGlyph))
    log.warning(
        "No embeddable CJK TrueType font found (set PDF_CJK_FONT or install fonts-wqy-zenhei); PDFs use the "
        "non-embedded CID font %s, whose glyphs depend on the reader's PDF viewer", FALLBACK_CID_FONT,
    )
    if FALLBACK_CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID_FONT))
    return CJKFont(name=FALLBACK_CID_FONT, path=None, embedded=False)


def _has_cjk(ttf: TTFont) -> bool:
    cmap = ttf.face.charToGlyph
    return all(ord(ch) in cmap for ch in "中文证书")


def _cid_fallback_can_draw(ch: str) -> bool:
    if ord(ch) < 0x80:
        return ch.isprintable()
    if ord(ch) > 0xFFFF:
        return False
    try:
        ch.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True
