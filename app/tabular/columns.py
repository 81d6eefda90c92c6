"""The columns a reader knows (:class:`Column`, :class:`Layout`) and the matching of a header row against them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

MAX_COLUMNS = 64  # columns read from a sheet; a header beyond this is ignored


class FileError(Exception):
    """The file as a whole cannot be read; ``code`` names why, ``params`` fill the message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def normalize_header(text: Any) -> str:
    """'证件号码*' / ' ID_Number ' / '姓名（必填）' → a lookup key."""
    t = unicodedata.normalize("NFKC", str(text if text is not None else "")).strip().lower()
    t = re.sub(r"\((必填|选填|可选|required|optional)\)", "", t)
    t = t.replace("_", " ").replace("*", "").replace("：", "").replace(":", "")
    return " ".join(t.split())


@dataclass(frozen=True)
class Column:
    """One column a reader knows: its key, the header texts it accepts, the header a "missing" message names."""

    key: str
    aliases: tuple[str, ...]
    label: str = ""  # the template's header; the first alias when empty
    numeric_id: bool = False  # digits a spreadsheet number cannot hold: a number ≥ 10^15 reads as LOST_DIGITS

    @property
    def header(self) -> str:
        return self.label or self.aliases[0]


# The error column that fix_file adds (its title in every language of the app); read_table skips it.
ERROR_HEADERS = frozenset({"错误", "errors"})
ERROR_TITLE = _l("Errors")


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of file. ``required``: groups of keys, each needs one of its columns;
    ``unknown``: "ignore" other columns (listed in ``Table.ignored_headers``) or "refuse" them."""

    columns: tuple[Column, ...]
    required: tuple[tuple[str, ...], ...] = ()
    unknown: str = "ignore"
    aliases: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        aliases: dict[str, int] = {}
        for k, column in enumerate(self.columns):
            for alias in column.aliases:
                key = normalize_header(alias)
                if aliases.setdefault(key, k) != k or key in ERROR_HEADERS:
                    raise ValueError(f"header {alias!r} names two columns")
        object.__setattr__(self, "aliases", aliases)
        if self.unknown not in ("ignore", "refuse"):
            raise ValueError(f"unknown={self.unknown!r}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def map_header(self, header: Sequence[str]) -> tuple[list[int], dict[str, str], list[str], int]:
        """(column index per layout column, -1 when absent; key → header text; ignored headers; the index of
        fix_file's error column or -1). Raises ``duplicate_headers``, ``unknown_headers`` or ``missing_headers``."""
        index = [-1] * len(self.columns)
        texts: dict[str, str] = {}
        ignored: list[str] = []
        duplicates: list[str] = []
        error_column = -1
        for i, text in enumerate(header[:MAX_COLUMNS]):
            if not text:
                continue
            normalized = normalize_header(text)
            k = self.aliases.get(normalized)
            if k is None:
                if normalized in ERROR_HEADERS and error_column < 0:
                    error_column = i
                else:
                    ignored.append(text)
            elif index[k] >= 0:
                duplicates.append(text)
            else:
                index[k] = i
                texts[self.columns[k].key] = text
        if duplicates:
            raise FileError("duplicate_headers", columns=duplicates)
        if ignored and self.unknown == "refuse":
            raise FileError("unknown_headers", columns=ignored)
        keys = self.keys
        missing = ["/".join(self.columns[keys.index(key)].header for key in group) for group in self.required
                   if all(index[keys.index(key)] < 0 for key in group)]
        if missing:
            raise FileError("missing_headers", columns=missing, found=[t for t in header if t][:20])
        return index, texts, ignored, error_column
