"""Writing spreadsheets: every cell escaped; the list of row errors; the upload with an added error column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from app.tabular.columns import ERROR_TITLE
from app.tabular.formulas import escape_formula
from app.tabular.read import Table

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"


def xlsx_bytes(sheets: Iterable[tuple[str, Iterable[Sequence[Any]]]]) -> bytes:
    """A workbook (write-only) of (sheet title, rows); every cell escaped."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    for title, rows in sheets:
        ws = wb.create_sheet(str(title)[:31])
        for row in rows:
            ws.append([escape_formula(c) for c in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV as Excel opens it (UTF-8 with BOM, CRLF); every cell escaped."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([escape_formula(c) for c in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def error_list(header: Sequence[Any], lines: Iterable[Sequence[Any]], *, fmt: str, stem: str,
               sheet: Any = ERROR_TITLE) -> tuple[bytes, str, str]:
    """(content, mimetype, filename): the row errors as a list — CSV (UTF-8 with BOM) or XLSX."""
    rows = [[str(h) for h in header], *lines]
    if fmt == "xlsx":
        return xlsx_bytes([(str(sheet), rows)]), XLSX_MIMETYPE, stem + ".xlsx"
    return csv_bytes(rows), CSV_MIMETYPE, stem + ".csv"


def fix_file(table: Table, errors: Iterable[Mapping[str, Any]]) -> bytes:
    """The upload as XLSX with an error column: every row where it was (so "row 12" still means row 12), each
    row's messages in the added column, messages about the whole file under the last row. Read with the same
    layout, the corrected file reads like an upload of its own (the error column is skipped)."""
    by_row: dict[int | None, list[str]] = {}
    for e in errors:
        by_row.setdefault(e.get("row"), []).append(str(e.get("message", "")))
    width = len(table.header)

    def rows() -> Iterator[list[Any]]:
        for _number in range(1, table.header_row):
            yield []
        yield [*table.header, str(ERROR_TITLE)]
        last = table.header_row
        for number in sorted(table.source):
            for _gap in range(last + 1, number):
                yield []
            cells = table.source[number][:width]
            yield [*cells, *[""] * (width - len(cells)), "\n".join(by_row.get(number, []))]
            last = number
        if by_row.get(None):
            yield [*[""] * width, "\n".join(by_row[None])]

    return xlsx_bytes([(ERROR_TITLE, rows())])
