"""Problems in words: the one shape of a row's problem, and the messages of a file that cannot be read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from app.tabular.columns import FileError


def row_error(row: int | None, column: str, code: str, message: Any, **extra: Any) -> dict[str, Any]:
    """One problem of one row (``row`` None: of the whole file), as every reader reports it."""
    return {"row": row, "column": column, "code": code, "message": str(message), **extra}


FILE_MESSAGES: dict[str, Any] = {
    "empty": _l("The file is empty."),
    "no_rows": _l("The file has a header row but no data rows."),
    "missing_headers": _l("Required columns are missing: %(columns)s. Download the template to see the expected header row."),
    "duplicate_headers": _l("These columns appear more than once: %(columns)s."),
    "unknown_headers": _l("Unknown columns: %(columns)s. Download the template to see the expected header row."),
    "not_spreadsheet": _l("This is not a spreadsheet. Upload an XLSX or CSV file."),
    "xls": _l("Old Excel files (.xls) cannot be read. Save the file as XLSX or CSV and upload it again."),
    "bad_xlsx": _l("The file is not a valid XLSX workbook. Save it again from Excel or WPS as XLSX, or as CSV."),
    "encoding": _l("The text encoding of the CSV file was not recognized. Save it as UTF-8 or GBK."),
    "too_large": _l("The file is too large (at most %(max_mb)d MB)."),
    "too_many_rows": _l("The file has more than %(max)d rows. Split it into smaller files."),
}


def _join(items: Iterable[Any]) -> str:
    """A list in the reader's language: "姓名、证件号码和工种" / "name, ID number, and trade"."""
    from babel.lists import format_list
    from flask_babel import get_locale

    items = [str(i) for i in items]
    return format_list(items, locale=get_locale()) if items else ""


def file_message(code: str, params: Mapping[str, Any] | None = None, messages: Mapping[str, Any] | None = None) -> str:
    """The message of a :class:`FileError` in the request's language; ``messages`` replace some (a reader's own
    words: "no workers", "more than 5000 workers")."""
    params = dict(params or {})
    text = (messages or {}).get(code) or FILE_MESSAGES.get(code) or FILE_MESSAGES["not_spreadsheet"]
    values = {"columns": _join(params.get("columns", [])), "max": params.get("max", 0),
              "max_mb": params.get("max_mb", 0)}
    return str(text) % values


def error_details(exc: FileError) -> dict[str, Any]:
    """What an API error's ``details`` show of a :class:`FileError` (the columns named, the limit)."""
    return {k: v for k, v in exc.params.items() if k in ("columns", "max", "max_mb")}
