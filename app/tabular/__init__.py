"""Spreadsheets in and out (XLSX and CSV), with the same rules for every upload and every export.

The worker import, competition registration files and certificate batches read their uploads here; each gives
its columns (a :class:`Layout`) and keeps its own checks of the values (ID numbers, names, dates, …).

**Reading** (:func:`read_table`):

* the format comes from the bytes, not the name: a ZIP is XLSX; old ``.xls``, images, PDFs and archives are
  refused; anything else is CSV text;
* CSV text is UTF-8 with or without BOM, UTF-16 with BOM, GBK or GB18030 (what Excel and WPS save); the delimiter
  (``,`` ``;`` or tab) is the most frequent one of the first line;
* XLSX: the first sheet, read-only, values as stored — a formula comes as its text ``=…`` and is never computed;
  whole numbers as digits, dates as ISO text. A number of 15 digits or more in a column marked ``numeric_id``
  (Excel keeps numbers as doubles: an 18-digit ID number has lost digits) reads as :data:`LOST_DIGITS`;
* the header is the first non-blank row; each of its first :data:`MAX_COLUMNS` cells is matched against the
  layout's aliases (Chinese and English) after :func:`normalize_header` (case, width, spaces, ``_``, ``*``,
  colons and "(必填)" do not matter). A column found twice is refused (``duplicate_headers``), a required
  column (or group of alternatives) missing is refused (``missing_headers``, naming the template's header);
  other columns are ignored or refused (``unknown_headers``) as the layout says;
* size: at most ``max_bytes`` bytes (``too_large``) and ``max_rows`` data rows (``too_many_rows``, raised while
  the rows are read);
* blank rows are skipped; every row keeps the number a spreadsheet shows for it (the header's row is 1 when it
  is the first line), so a message can say "row 12" and mean the row the user sees as 12;
* a cell that one of our exports escaped (``'=…``, see below) reads as it was before the escape.

A file that cannot be read as a whole raises :class:`FileError` (a code and parameters; :func:`file_message`
words it). A problem of one row is a :func:`row_error`: ``{"row", "column", "code", "message"}`` (and ``value``).

**Writing**: every XLSX and CSV the app hands out is made by :func:`xlsx_bytes` (sheets: :class:`Sheet`, with
column widths, a bold header and text-formatted columns) or :func:`csv_bytes`, nowhere else (a test checks), so every
cell goes through :func:`cell_value` and so :func:`escape_formula` (a text starting with ``=`` ``+`` ``-`` ``@``,
tab or CR gets a leading ``'``, so a spreadsheet shows it instead of running it). :func:`error_list` is the
downloadable list of row errors (CSV with BOM, or XLSX); :func:`fix_file` is the upload itself as XLSX with an
added error column, to correct and upload again — :func:`read_table` skips that column.

Pure: no Flask request, no database; messages are lazy strings, translated when shown. Parts: ``columns`` (layouts
and the header), ``read``, ``formulas``, ``write``, ``messages``; everything public is importable from here.
"""

from app.tabular.columns import ERROR_HEADERS, ERROR_TITLE, MAX_COLUMNS, Column, FileError, Layout, normalize_header
from app.tabular.formulas import (
    ESCAPED_START,
    FORMULA_START,
    escape_formula,
    escape_row,
    looks_like_formula,
    unescape_formula,
)
from app.tabular.messages import FILE_MESSAGES, error_details, file_message, row_error
from app.tabular.read import LOST_DIGITS, MAX_BYTES, Table, decode_text, read_table, sniff_format, xlsx_text
from app.tabular.write import CSV_MIMETYPE, XLSX_MIMETYPE, Sheet, cell_value, csv_bytes, error_list, fix_file, xlsx_bytes

__all__ = [
    "CSV_MIMETYPE",
    "ERROR_HEADERS",
    "ERROR_TITLE",
    "ESCAPED_START",
    "FILE_MESSAGES",
    "FORMULA_START",
    "LOST_DIGITS",
    "MAX_BYTES",
    "MAX_COLUMNS",
    "XLSX_MIMETYPE",
    "Column",
    "FileError",
    "Layout",
    "Sheet",
    "Table",
    "cell_value",
    "csv_bytes",
    "decode_text",
    "error_details",
    "error_list",
    "escape_formula",
    "escape_row",
    "file_message",
    "fix_file",
    "looks_like_formula",
    "normalize_header",
    "read_table",
    "row_error",
    "sniff_format",
    "unescape_formula",
    "xlsx_bytes",
    "xlsx_text",
]
