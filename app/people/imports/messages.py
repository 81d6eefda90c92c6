"""Translated texts of the worker import: column labels, row error messages, its words for file errors.

Lazy strings (``_l``) keyed by the codes ``app.people.imports.domain`` returns; the preview page,
the API and the downloadable error file all use them, so they read the same everywhere.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from app import tabular
from app.people import labels as people_labels
from app.people.domain import MIN_WORKING_AGE

COLUMN_LABELS = {
    "name": _l("Full name"),
    "gender": _l("Gender"),
    "birth_date": _l("Date of birth"),
    "id_type": _l("Document type"),
    "id_number": _l("ID number"),
    "mobile": _l("Mobile"),
    "trade": _l("Trade"),
    "skill_level": _l("Skill level"),
}

ROW_MESSAGES: dict[tuple[str, str], Any] = {
    ("name", "missing"): _l("The name is missing."),
    ("name", "length"): _l("The name may have at most 64 characters."),
    ("name", "format"): _l("The name may contain only Chinese characters, Latin letters, spaces, dots and hyphens."),
    ("gender", "missing"): _l("The gender is missing (it is read from a resident ID number only)."),
    ("gender", "format"): _l("The gender must be 男 or 女 (M or F)."),
    ("gender", "mismatch"): _l("The gender does not match the ID number."),
    ("birth_date", "missing"): _l("The date of birth is missing (it is read from a resident ID number only)."),
    ("birth_date", "format"): _l("The date of birth is not a date; write it as 1990-01-31."),
    ("birth_date", "mismatch"): _l("The date of birth does not match the ID number."),
    ("birth_date", "future"): _l("The date of birth lies in the future."),
    ("birth_date", "too_old"): _l("The date of birth must be in 1900 or later."),
    ("birth_date", "too_young"): _l("Workers must be at least %(n)d years old.", n=MIN_WORKING_AGE),
    ("id_type", "unknown"): _l(
        "Unknown document type; use 居民身份证, 护照, 港澳居民来往内地通行证, 台湾居民来往大陆通行证, "
        "外国人永久居留身份证 or 其他."
    ),
    ("id_number", "missing"): _l("The ID number is missing."),
    ("id_number", "length"): _l("A resident ID number has exactly 18 characters."),
    ("id_number", "format"): _l("The ID number contains characters that are not allowed."),
    ("id_number", "date"): _l("The date of birth inside the ID number is not a real date."),
    ("id_number", "check"): _l("The check character (the last character) of the ID number is wrong; please check for typos."),
    ("id_number", "as_number"): _l(
        "The ID number was stored as a number and has lost digits; format the column as text and enter it again."
    ),
    ("id_number", "duplicate"): _l("The same ID number is already in row %(first_row)s of this file."),
    ("id_number", "registered_here"): _l("This worker is already registered in your enterprise."),
    ("id_number", "registered_elsewhere"): _l("This ID number is already registered with another enterprise. If "
                                              "the person now works for you, ask for their transfer on the "
                                              "Transfers page."),
    ("mobile", "format"): _l("A mobile number has 11 digits and starts with 13 to 19."),
    ("trade", "missing"): _l("The trade is missing."),
    ("trade", "unknown"): _l("Unknown trade; use an occupational code such as 6-31-01-03 or a trade name from the catalogue."),
    ("skill_level", "invalid"): _l("Unknown skill level; use 1 to 5, or 五级/初级工 … 一级/高级技师."),
}
FORMULA_MESSAGE = _l("Formulas are not allowed; enter plain values.")
UNKNOWN_ROW_MESSAGE = _l("This value is not valid.")

# The worker import's own words for two file problems (the others are app.tabular's).
FILE_MESSAGES: dict[str, Any] = {
    "no_rows": _l("The file has a header row but no workers."),
    "too_many_rows": _l("The file has more than %(max)d workers. Split it into smaller files."),
}

ENCODING_LABELS = {
    "UTF-8": "UTF-8",
    "UTF-8-BOM": _l("UTF-8 with BOM"),
    "UTF-16": "UTF-16",
    "GBK": "GBK",
    "GB18030": "GB18030",
}

STATUS_LABELS = {
    "preview": _l("Waiting for confirmation"),
    "confirmed": _l("Imported"),
    "discarded": _l("Discarded"),
}


def row_message(error: dict[str, Any]) -> str:
    """The message of one error entry, in the request's language."""
    if error.get("code") == "formula":
        return str(FORMULA_MESSAGE)
    message = ROW_MESSAGES.get((error.get("column", ""), error.get("code", "")))
    if message is None:
        return str(UNKNOWN_ROW_MESSAGE)
    if error.get("code") == "duplicate":
        # the lazy string was built without the row number; format it now
        from flask_babel import gettext as _

        return _("The same ID number is already in row %(first_row)s of this file.", first_row=error.get("first_row", "?"))
    return str(message)


def column_label(column: str) -> str:
    label = COLUMN_LABELS.get(column)
    return str(label) if label is not None else column


def file_message(code: str, params: dict[str, Any]) -> str:
    """The message of a file that cannot be imported (``app.tabular.FileError``), in the request's language."""
    return tabular.file_message(code, params, FILE_MESSAGES)


# The worker pages' labels, so both read the same (keys are the stored codes: "M", "resident", 3, …).
GENDER_LABELS = people_labels.GENDER_LABELS
ID_TYPE_LABELS = people_labels.ID_TYPE_LABELS
SKILL_LEVEL_LABELS = people_labels.SKILL_LEVEL_LABELS
