"""Writing spreadsheets — every XLSX and CSV the app hands out is made here, so every cell is escaped the same way:
:func:`xlsx_bytes` (sheets: :class:`Sheet`, with widths, a bold header, text-formatted columns) and :func:`csv_bytes`;
the list of row errors; the upload with an added error column."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from app.tabular.columns import ERROR_TITLE
from app.tabular.formulas import escape_formula
from app.tabular.read import Table

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIMETYPE = "text/csv; charset=utf-8"

_AS_IS = (bool, int, float, Decimal, date, datetime, time)


def cell_value(value: Any) -> Any:
    """What an export writes for ``value``: empty, numbers, dates and booleans as they are; anything else as its
    text (a lazy translation, an enum …) with a formula escaped (:func:`escape_formula`)."""
    if value is None or isinstance(value, _AS_IS):
        return value
    return escape_formula(value if isinstance(value, str) else str(value))


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its title, its rows, and how it looks."""

    title: Any
    rows: Iterable[Sequence[Any]]
    widths: Sequence[float] = ()  # column widths from column A
    bold_header: bool = False  # the first row in bold
    text_columns: Sequence[int] = ()  # columns (0: A) formatted as text, so what is typed there stays text (ID numbers)


def xlsx_bytes(sheets: Iterable[Sheet | tuple[Any, Iterable[Sequence[Any]]]]) -> bytes:
    """A workbook (write-only) of sheets — :class:`Sheet` or (title, rows); every cell through :func:`cell_value`."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = openpyxl.Workbook(write_only=True)
    for sheet in sheets:
        if not isinstance(sheet, Sheet):
            sheet = Sheet(*sheet)
        ws = wb.create_sheet(str(sheet.title)[:31])
        for index, width in enumerate(sheet.widths):
            ws.column_dimensions[get_column_letter(index + 1)].width = width
        for index in sheet.text_columns:
            ws.column_dimensions[get_column_letter(index + 1)].number_format = "@"
        for number, row in enumerate(sheet.rows):
            bold = sheet.bold_header and number == 0
            if not bold and not sheet.text_columns:
                ws.append([cell_value(c) for c in row])
                continue
            cells = []
            for index, value in enumerate(row):
                cell = WriteOnlyCell(ws, value=cell_value(value))
                if bold:
                    cell.font = Font(bold=True)
                if index in sheet.text_columns:
                    cell.number_format = "@"
                cells.append(cell)
            ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV as Excel opens it (UTF-8 with BOM, CRLF); every cell escaped."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([cell_value(c) for c in row] for row in rows)
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
