"""What the app accepts as a whole number and as text, wherever it comes in (pure rules: no Flask, no database).

Every way in uses these: the URL converters and the request's query and form values (``app.http``), the API's
fields (``app.fields``) and the HTML forms (``app.forms``).

* **Whole numbers** — ids, page numbers, counts — lie within ``MAX_INT`` = 2^31 − 1, the largest value of the
  database's INTEGER columns. A bigger one is refused where it comes in (a 404 for a URL, a 4xx for a field), never
  handed to the database (SQLite refuses integers past 2^63 with an error, not an answer).
* **Text** is NFC-normalized and refused when it holds a control character (NUL and the rest of C0/C1, except tab
  and line breaks in multi-line text), a bidirectional override or isolate (which make text display in another
  order than it is stored), a lone UTF-16 surrogate (not encodable: the database and UTF-8 refuse it), or nothing but
  invisible characters (zero-width spaces, joiners, the BOM).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

MAX_INT = 2**31 - 1

# Reason codes of refused text (the adapters give each its translated message).
CONTROL = "control"
BIDI = "bidi"
SURROGATE = "surrogate"
INVISIBLE = "invisible"

_LINE_BREAKS = "\t\n\r"
_C0_C1 = "".join(chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0)))
_CONTROL_SINGLE = re.compile(f"[{re.escape(_C0_C1)}]")
_CONTROL_MULTI = re.compile(f"[{re.escape(''.join(c for c in _C0_C1 if c not in _LINE_BREAKS))}]")
# LRE RLE PDF LRO RLO, LRI RLI FSI PDI, and the implicit marks LRM RLM ALM.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Zero-width space / non-joiner / joiner, word joiner, invisible operators, the BOM, and ordinary white space: a
# value made only of these looks empty.
_INVISIBLE_ONLY = re.compile("[\\s\u200b\u200c\u200d\u2060-\u2064\ufeff\u180e]+")


class TextRefused(ValueError):
    """The text cannot be accepted; ``reason`` is one of CONTROL, BIDI, SURROGATE, INVISIBLE."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` is refused as it stands (a reason code), or None. Empty text is not a problem here."""
    if _SURROGATE.search(value):
        return SURROGATE
    if (_CONTROL_MULTI if multiline else _CONTROL_SINGLE).search(value):
        return CONTROL
    if _BIDI.search(value):
        return BIDI
    if value and _INVISIBLE_ONLY.fullmatch(value) and not value.isspace():
        return INVISIBLE
    return None


def clean_text(value: str, *, multiline: bool = False) -> str:
    """``value`` NFC-normalized, or ``TextRefused`` (see the module's docstring). Leading and trailing white space
    is kept: the fields that trim do so themselves."""
    # Fast path (most text, every entrant code and idempotency key): printable text has no control, format (bidi,
    # zero-width), surrogate or separator character at all, so only its normalization is left.
    if not value.isprintable():
        problem = text_problem(value, multiline=multiline)
        if problem:
            raise TextRefused(problem)
    if value.isascii() or unicodedata.is_normalized("NFC", value):
        return value
    return unicodedata.normalize("NFC", value)


def has_control(value: str) -> bool:
    """Whether ``value`` holds a control character other than tab and line breaks (or a lone surrogate): never
    part of a URL's query or a form's field."""
    return _CONTROL_MULTI.search(value) is not None or _SURROGATE.search(value) is not None


def has_surrogate(value: str) -> bool:
    """Whether ``value`` holds a lone UTF-16 surrogate (only a JSON escape such as ``"\\ud800"`` makes one)."""
    return _SURROGATE.search(value) is not None


def whole_number(value: Any) -> int:
    """``value`` (an int, or text of one) as an int within ±MAX_INT; ``ValueError`` otherwise (also for bools)."""
    if isinstance(value, bool):
        raise ValueError("not a whole number")
    number = value if isinstance(value, int) else int(value)
    if not -MAX_INT <= number <= MAX_INT:
        raise ValueError("out of range")
    return number


def parse_id(text: str | None) -> int | None:
    """An id given as text (a form's or a query's value): its int when it is plain digits within ``MAX_INT``, else
    None — for views that read ids from the request themselves."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_INT)):
        return None
    number = int(text)
    return number if number <= MAX_INT else None


def within_int(value: int) -> bool:
    """Whether the database can hold ``value`` (|value| ≤ MAX_INT)."""
    return -MAX_INT <= value <= MAX_INT
