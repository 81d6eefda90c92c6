"""Formula cells: what a spreadsheet would run (readers refuse it as a value), and the escape every export applies
(a leading ``'``), with its inverse for reading our own exports back."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_START = "=+-@"
ESCAPED_START = "=+-@\t\r"
# '=…' and '@…' are formulas; '+…'/'-…' are unless the rest is number-like (+86 138 0013 8000, -).
_FORMULA_RE = re.compile(r"[=@]|[+\-](?![\d\s().\-]*$)")


def looks_like_formula(text: str) -> bool:
    """A cell text that a spreadsheet would run as a formula (readers refuse it as a value)."""
    return bool(text) and text[0] in FORMULA_START and _FORMULA_RE.match(text) is not None


def escape_formula(value: Any) -> Any:
    """Neutralize CSV/formula injection in an exported cell: a leading ' makes it plain text."""
    if isinstance(value, str) and value and value[0] in ESCAPED_START:
        return "'" + value
    return value


def escape_row(values: Iterable[Any]) -> list[Any]:
    return [escape_formula(v) for v in values]


def unescape_formula(text: str) -> str:
    """The inverse of :func:`escape_formula` on a cell's text (a text the user typed keeps its apostrophe)."""
    if text[:1] == "'" and text[1:2] and text[1] in ESCAPED_START:
        return text[1:]
    return text
