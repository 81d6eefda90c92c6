"""Reading an upload: the format from the bytes, the text encoding of CSV, the cells of an XLSX sheet, the header
row (``columns``), then the data rows, lazily, with the limits."""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from operator import itemgetter
from typing import Any

from app.tabular.columns import MAX_COLUMNS, FileError, Layout
from app.tabular.formulas import ESCAPED_START

MAX_BYTES = 10 * 1024 * 1024  # the upload limit of the app (MAX_CONTENT_LENGTH)
LOST_DIGITS = "\x00number"  # an identifier that a spreadsheet stored as a (rounded) number

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, .doc
_BINARY_MAGICS = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")


def sniff_format(filename: str, data: bytes) -> str:
    """'xlsx' or 'csv' from the bytes (the name only decides the error message)."""
    head = data[:8192]
    if not data.strip(b" \t\r\n\x00") or data in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        raise FileError("empty")
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        raise FileError("xls")
    if (filename or "").lower().endswith((".xlsx", ".xlsm")):
        raise FileError("bad_xlsx")
    if head.startswith(_BINARY_MAGICS):
        raise FileError("not_spreadsheet")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileError("not_spreadsheet")
    return "csv"


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding label): UTF-8 with or without BOM, UTF-16 with BOM, GBK, then GB18030."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "UTF-8-BOM"
        except UnicodeDecodeError:
            raise FileError("encoding") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise FileError("encoding") from None
    for codec, label in (("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")):
        try:
            return data.decode(codec), label
        except UnicodeDecodeError:
            continue
    raise FileError("encoding")


def _csv_rows(text: str) -> Iterator[list[str]]:
    first = text[: text.find("\n") if "\n" in text else len(text)]
    delimiter = max(",\t;", key=first.count) if any(c in first for c in ",\t;") else ","
    if "\x00" in text:
        raise FileError("not_spreadsheet")
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)


def xlsx_text(v: Any) -> str:
    """One XLSX cell as text: whole numbers as digits, dates as ISO, an escaped formula as it was."""
    if v is None:
        return ""
    if type(v) is str:
        t = v.strip()
        return _unescaped(t) if t[:1] == "'" else t
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == dtime() else v.isoformat(sep=" ")
    if isinstance(v, date):
        return v.isoformat()
    return str(v).strip()


def _xlsx_rows(data: bytes, max_rows: int) -> list[tuple[Any, ...]]:
    """The rows of the first worksheet (read-only mode, values only; formulas come as '=…').

    Reading stops after the header and ``max_rows`` + 1 non-blank rows: enough to say "too many".
    """
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it ignores
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
        except Exception as exc:  # any failure to open means: not a workbook we can read
            raise FileError("bad_xlsx") from exc
        try:
            if not wb.worksheets:
                raise FileError("bad_xlsx")
            rows, filled = [], 0
            for row in wb.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS):
                rows.append(row)
                if any(c is not None for c in row):
                    filled += 1
                    if filled > max_rows + 1:
                        break
            return rows
        except FileError:
            raise
        except Exception as exc:
            raise FileError("bad_xlsx") from exc
        finally:
            wb.close()


@dataclass
class Table:
    """A file read into its header mapping and an iterator of (row number, cells in the layout's order)."""

    file_format: str
    encoding: str | None
    headers: dict[str, str]  # key → header text as in the file
    rows: Iterator[tuple[int, list[str]]]
    ignored_headers: list[str] = field(default_factory=list)
    header_row: int = 1
    header: list[str] = field(default_factory=list)  # the header row's texts (without fix_file's error column)
    source: dict[int, list[str]] = field(default_factory=dict)  # row → every cell's text (``keep_source``)


def read_table(filename: str, data: bytes, layout: Layout, *, max_rows: int, max_bytes: int | None = MAX_BYTES,
               keep_source: bool = False) -> Table:
    """Detect the format (and encoding), map the header row; rows are read lazily.

    More than ``max_rows`` data rows raise ``too_many_rows`` while reading. ``keep_source``: ``Table.source``
    collects every data row's cells as text while the rows are read (for :func:`fix_file`).
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise FileError("too_large", max_mb=max(1, max_bytes // (1024 * 1024)))
    fmt = sniff_format(filename, data)
    if fmt == "xlsx":
        encoding, raw, to_text, escaped = None, _xlsx_rows(data, max_rows), xlsx_text, False
    else:
        text, encoding = decode_text(data)
        raw, to_text, escaped = _csv_rows(text), None, "'" in text
    it = iter(enumerate(raw, start=1))
    header = None
    try:
        for number, row in it:
            if any((c.strip() if isinstance(c, str) else c is not None) for c in row):
                header_row, header = number, row
                break
    except csv.Error as exc:
        raise FileError("not_spreadsheet") from exc
    if header is None:
        raise FileError("empty")
    texts = [(to_text or _strip)(c) for c in header]
    index, headers, ignored, error_column = layout.map_header(texts)
    texts = _trimmed(_without(error_column, texts))
    lost = [k for k, c in enumerate(layout.columns) if c.numeric_id and index[k] >= 0] if to_text else []
    table = Table(fmt, encoding, headers, iter(()), ignored, header_row, texts)
    table.rows = _data_rows(it, index, to_text, max_rows, lost=lost, escaped=escaped, error_column=error_column,
                            source=table.source if keep_source else None)
    return table


def _strip(v: Any) -> str:
    return v.strip() if isinstance(v, str) else ("" if v is None else str(v))


def _unescaped(text: str) -> str:
    """A stripped cell text as it was before an export escaped it (then stripped, as the reader strips cells)."""
    return text[1:].strip() if text[:1] == "'" and text[1:2] and text[1] in ESCAPED_START else text


def _without(position: int, cells: list[str]) -> list[str]:
    return cells if position < 0 else cells[:position] + cells[position + 1:]


def _trimmed(cells: list[str]) -> list[str]:
    """Without the empty cells at the end (a sheet's rows come padded to MAX_COLUMNS)."""
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


def _data_rows(it: Iterator[tuple[int, Any]], index: list[int], to_text: Callable[[Any], str] | None, max_rows: int,
               *, lost: list[int], escaped: bool, error_column: int, source: dict[int, list[str]] | None
               ) -> Iterator[tuple[int, list[str]]]:
    width = max(max(index), error_column) + 1
    # An absent column has index -1: every row gets one empty cell appended, which row[-1] then reads.
    get = itemgetter(*index) if len(index) > 1 else (lambda row: (row[index[0]],))
    strip = str.strip
    count = 0
    try:
        for number, row in it:
            if error_column >= 0 and error_column < len(row):  # a corrected fix_file: its error column is no data
                row = list(row)
                row[error_column] = "" if to_text is None else None
            if to_text is None:  # CSV: a list of strings
                if not row or not "".join(row).strip():
                    continue
                if len(row) < width:
                    row.extend([""] * (width - len(row)))
                row.append("")
                cells = list(map(strip, get(row)))
                if escaped:
                    cells = [_unescaped(c) for c in cells]
                if source is not None:
                    source[number] = _trimmed(_without(error_column, [_unescaped(strip(c)) for c in row[:-1]]))
            else:
                if all(c is None or (type(c) is str and not c.strip()) for c in row):
                    continue
                row = list(row)
                if len(row) < width:
                    row.extend([None] * (width - len(row)))
                row.append(None)
                cells = list(map(to_text, get(row)))
                for k in lost:
                    v = row[index[k]]
                    if isinstance(v, float | int) and not isinstance(v, bool) and abs(v) >= 1e15:
                        cells[k] = LOST_DIGITS  # 18 digits do not survive a double
                if source is not None:
                    source[number] = _trimmed(_without(error_column, [to_text(c) for c in row[:-1]]))
            count += 1
            if count > max_rows:
                raise FileError("too_many_rows", max=max_rows)
            yield number, cells
    except csv.Error as exc:
        raise FileError("not_spreadsheet") from exc
