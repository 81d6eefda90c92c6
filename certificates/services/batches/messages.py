"""Translated texts of certificate batches: states and sources, column labels, and the messages of row and file
problems."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import tabular
from certificates.domain import CertificateKind
from certificates.services.batches.common import (
    ACHIEVEMENT_MAX,
    COMPETITION,
    DETAIL_MAX,
    DISCARDED,
    DONE,
    FAILED,
    FILE,
    PREVIEW,
    QUEUED,
    RUNNING,
    SUBJECT_MAX,
)

STATUS_LABELS = {
    PREVIEW: _l("Preview, not confirmed"),
    QUEUED: _l("Queued"),
    RUNNING: _l("Issuing"),
    DONE: _l("Finished"),
    FAILED: _l("Failed"),
    DISCARDED: _l("Discarded"),
}
SOURCE_LABELS = {FILE: _l("File"), COMPETITION: _l("Competition results")}

COLUMN_LABELS = {
    "name": _l("Full name"), "id_type": _l("Document type"), "id_number": _l("ID number"),
    "worker_no": _l("Worker number"), "worker": _l("Worker"), "kind": _l("Kind"), "subject": _l("Subject"),
    "achievement": _l("Achievement"), "issued_on": _l("Issue date"), "occupation": _l("Occupation"),
    "level": _l("Skill level"), "row": _l("Row"),
}

ROW_MESSAGES: dict[tuple[str, str], Any] = {
    ("name", "missing"): _l("The name is missing."),
    ("name", "mismatch"): _l("The name does not match the registry (%(registered)s)."),
    ("worker", "missing"): _l("Give the ID number or the worker number."),
    ("worker", "unknown"): _l("No worker in the registry has this ID number or worker number."),
    ("worker", "other_enterprise"): _l("This worker belongs to another enterprise."),
    ("id_type", "unknown"): _l("Unknown document type."),
    ("id_number", "invalid"): _l("The ID number is not valid; please check for typos."),
    ("id_number", "as_number"): _l(
        "The ID number was stored as a number and has lost digits; format the column as text and enter it again."),
    ("worker_no", "invalid"): _l("The worker number must be a whole number."),
    ("kind", "missing"): _l("The kind of certificate is missing."),
    ("kind", "unknown"): _l("Unknown kind of certificate; use 获奖证书, 参赛证书, 职业技能等级证书, 出师证书, 工匠称号 "
                            "or 工作室荣誉."),
    ("subject", "missing"): _l("The subject (what the certificate is for) is missing."),
    ("subject", "length"): _l("At most %(n)d characters.", n=SUBJECT_MAX),
    ("achievement", "missing"): _l("The achievement is missing."),
    ("achievement", "length"): _l("At most %(n)d characters.", n=ACHIEVEMENT_MAX),
    ("occupation", "length"): _l("At most %(n)d characters.", n=DETAIL_MAX),
    ("level", "length"): _l("At most %(n)d characters.", n=DETAIL_MAX),
    ("issued_on", "format"): _l("The issue date is not a date; write it as 2026-05-20."),
    ("issued_on", "future"): _l("The issue date cannot be in the future."),
    ("issued_on", "before_key"): _l("The issue date cannot be before %(day)s (the signing key's start)."),
    ("row", "duplicate"): _l("The same certificate is already in row %(first_row)s of this file."),
    ("row", "issue_failed"): _l("Not issued: %(message)s"),
    ("row", "internal"): _l("Not issued because of an unexpected error; please try again."),
}
GLYPHS_MESSAGE = _l("The certificate font cannot print these characters: %(chars)s.")
FORMULA_MESSAGE = _l("Formulas are not allowed; enter plain values.")
ALREADY_ISSUED_MESSAGE = _l("Already issued (%(serial)s): the existing certificate is kept and included.")
# The batch's own words for two file problems (the others are app.tabular's).
FILE_MESSAGES: dict[str, Any] = {
    "no_rows": _l("The file has a header row but no certificates."),
    "too_many_rows": _l("The file has more than %(max)d workers. Split it into smaller files."),
}


def row_message(e: dict[str, Any]) -> str:
    code = e.get("code")
    if code == "glyphs":
        return str(GLYPHS_MESSAGE) % {"chars": e.get("chars", "")}
    if code == "formula":
        return str(FORMULA_MESSAGE)
    if code == "issue_failed":
        return _("Not issued: %(message)s", message=e.get("message", ""))
    msg = ROW_MESSAGES.get((e.get("column"), code))
    if msg is None:
        return e.get("message") or _("This value is not valid.")
    params = {k: v for k, v in e.items() if k in ("first_row", "registered", "day")}
    return str(msg) % params if params else str(msg)


def column_label(column: str) -> str:
    label = COLUMN_LABELS.get(column)
    return str(label) if label is not None else column


def file_message(code: str, params: dict[str, Any]) -> str:
    """The message of a file that cannot be read (``app.tabular.FileError``), in the request's language."""
    return tabular.file_message(code, params, FILE_MESSAGES)


def kind_choices() -> list[tuple[str, str]]:
    from certificates.services.issuance import kind_label

    return [(k.value, kind_label(k.value)) for k in CertificateKind]
