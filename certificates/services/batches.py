"""Bulk issuing (批量发证): a file (XLSX/CSV) or a published competition result → a batch → a background job.

**Flow.** ``preview_file`` reads the upload with ``app.tabular`` (format sniffing, UTF-8 with or without BOM /
GBK / GB18030 for CSV, formula-safe read-only XLSX, header aliases, size and row limits), checks every row and stages
the result as a ``CertificateBatch`` in ``preview``: nothing is issued yet. ``confirm_batch`` moves it to
``queued`` with a conditional UPDATE (two confirms cannot both queue it) and queues the job in chunks
(``app.jobs.enqueue``, submitted after the commit). Each chunk issues its rows through
``certificates.services.issuance.issue_certificate`` (one short transaction per certificate), renders the PDF
outside any write transaction (so two worker processes render in parallel, also on SQLite) and adds to the
batch's ``done`` / ``failed`` counters, which the progress page polls. The chunk that completes the batch
writes ``certificates.zip`` (every PDF of the batch's rows) and ``errors.csv`` under
``instance/batches/<batch id>/`` and marks the batch ``done``. The job never depends on the request: closing
the browser changes nothing.

**Errors — a deliberate difference from the worker import.** The worker import refuses the whole file when
any row has an error (a half-imported registry is worse than none). Certificates are independent of each
other, and an organizer with 200 awardees should not have to wait for the five with a typo: rows with errors
are **reported and skipped**, the others are issued. The preview says so before confirming, and the error
file lists the skipped rows (and any row that failed while issuing) with the reason, so they can be fixed
and uploaded again — issuing is idempotent (one live certificate per holder, subject and kind), so uploading
the corrected *whole* file again issues only what is missing and duplicates nothing.

Row checks: the worker (by ID number, or by the registry's worker number) exists, belongs to the HR user's
enterprise, and the name in the file is the registry's name; every printed text can be drawn by the
certificate font (``app.pdf.missing_glyphs``); kind, subject and achievement are given; the issue date is a
date not in the future; the same worker, subject and kind appear once in the file. A row whose certificate
already exists (live) is *not* an error: it is shown as "already issued" and its existing PDF goes into the
ZIP.

Scope: organizers and admins see and start every batch; HR only their enterprise's (another enterprise's
batch is NotFound). Services flush; the job functions commit (they run outside requests).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import time
import unicodedata
import uuid
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from app import tabular
from app.accounts.models import Role, User
from app.audit.services import record
from app.crypto import id_cipher
from app.db import db, sqlite_begin_mode, utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.orgs.models import Enterprise
from app.people.imports import domain as import_domain
from app.people.models import Worker
from certificates.domain import CertificateKind, CertificateStatus
from certificates.models import Certificate, CertificateBatch, CertificateTemplate

log = logging.getLogger("jiangxin.certificates.batches")

FILE, COMPETITION = "file", "competition"
PREVIEW, QUEUED, RUNNING, DONE, FAILED, DISCARDED = "preview", "queued", "running", "done", "failed", "discarded"
ACTIVE = (QUEUED, RUNNING)
JOB_ERROR_CODES = ("issue_failed", "internal")  # rows that failed in the job (the others were skipped at preview)

CHUNK_SIZE = 20  # rows per job: small enough for two workers to share a batch evenly
PROGRESS_INTERVAL = 0.5  # seconds between two progress writes of a chunk
BATCH_MAX_ROWS = 5_000
SUBJECT_MAX = 120
ACHIEVEMENT_MAX = 300
DETAIL_MAX = 100
MANAGERS = (Role.ORGANIZER, Role.ADMIN)

STATUS_LABELS = {
    PREVIEW: _l("Preview, not confirmed"),
    QUEUED: _l("Queued"),
    RUNNING: _l("Issuing"),
    DONE: _l("Finished"),
    FAILED: _l("Failed"),
    DISCARDED: _l("Discarded"),
}
SOURCE_LABELS = {FILE: _l("File"), COMPETITION: _l("Competition results")}


class BatchFileInvalid(DomainError):
    """The uploaded file as a whole cannot be read (nothing was stored)."""

    status = 400
    code = "batch_file_invalid"


# --- columns of the file --------------------------------------------------------------------------------

FIELDS = ("name", "id_type", "id_number", "worker_no", "kind", "subject", "achievement", "issued_on",
          "occupation", "level")
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "获证人", "name", "full name", "holder name"),
    "id_type": ("证件类型", "证件种类", "id type", "document type"),
    "id_number": ("证件号码", "证件号", "身份证号", "身份证号码", "公民身份号码", "id number", "id no", "document number"),
    "worker_no": ("人员编号", "职工编号", "编号", "worker number", "worker no", "worker id"),
    "kind": ("证书类型", "证书种类", "证书类别", "kind", "certificate kind", "certificate type"),
    "subject": ("证书事项", "事项", "项目", "颁发事由", "竞赛名称", "活动名称", "subject", "event", "competition"),
    "achievement": ("获奖等级", "奖项", "荣誉", "成绩", "证书内容", "获得荣誉", "achievement", "award", "honour",
                    "honor"),
    "issued_on": ("发证日期", "颁发日期", "证书日期", "issue date", "issued on", "date"),
    "occupation": ("职业名称", "职业(工种)", "职业（工种）", "工种", "职业", "occupation", "trade"),
    "level": ("职业技能等级", "技能等级", "等级", "skill level", "level"),
}
# The template's headers are the first aliases (what a "missing columns" message names).
LAYOUT = tabular.Layout(tuple(tabular.Column(f, _HEADER_NAMES[f], numeric_id=f == "id_number") for f in FIELDS),
                        required=(("name",), ("id_number", "worker_no")))
TEMPLATE_HEADERS = ("姓名", "证件号码", "证书类型", "证书事项", "获奖等级", "发证日期")
TEMPLATE_EXAMPLE = ("张三", "11010519491231002X", "获奖证书", "2026年市职工职业技能大赛 焊工赛项", "一等奖", "2026-05-20")

COLUMN_LABELS = {
    "name": _l("Full name"), "id_type": _l("Document type"), "id_number": _l("ID number"),
    "worker_no": _l("Worker number"), "worker": _l("Worker"), "kind": _l("Kind"), "subject": _l("Subject"),
    "achievement": _l("Achievement"), "issued_on": _l("Issue date"), "occupation": _l("Occupation"),
    "level": _l("Skill level"), "row": _l("Row"),
}

KIND_WORDS: dict[str, str] = {
    "获奖证书": "award", "荣誉证书": "award", "获奖": "award", "奖状": "award", "award": "award",
    "参赛证书": "participation", "参赛": "participation", "participation": "participation",
    "职业技能等级证书": "skill_level", "技能等级证书": "skill_level", "技能等级": "skill_level",
    "skill level": "skill_level", "skill_level": "skill_level",
    "出师证书": "apprentice_graduation", "出师": "apprentice_graduation",
    "apprentice graduation": "apprentice_graduation", "apprentice_graduation": "apprentice_graduation",
    "工匠称号": "craftsman_title", "工匠": "craftsman_title", "craftsman title": "craftsman_title",
    "craftsman_title": "craftsman_title",
    "工作室荣誉": "studio_honor", "创新工作室荣誉": "studio_honor", "studio honor": "studio_honor",
    "studio_honor": "studio_honor",
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


# --- scope ----------------------------------------------------------------------------------------------


def is_manager(actor) -> bool:
    return bool(actor is not None and actor.is_authenticated and actor.has_role(*MANAGERS))


def _require_issuer(actor) -> None:
    if not (is_manager(actor) or actor.hr_enterprise_ids):
        raise PermissionDenied()


def hr_enterprises(actor) -> list[Enterprise]:
    ids = actor.hr_enterprise_ids
    if not ids or is_manager(actor):
        return []
    return list(db.session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)).order_by(Enterprise.name)))


def _scope_enterprise(actor, enterprise_id: int | None) -> int | None:
    """None for organizers (any worker); HR: the chosen (or only) enterprise of theirs."""
    _require_issuer(actor)
    if is_manager(actor):
        return None
    ids = actor.hr_enterprise_ids
    if enterprise_id is None:
        if len(ids) == 1:
            return next(iter(ids))
        raise DomainError(_l("Please choose the enterprise."), code="enterprise_required",
                          details={"enterprise_id": [str(_l("Please choose the enterprise."))]})
    if enterprise_id not in ids:
        raise NotFound()
    return enterprise_id


def get_batch(actor, batch_id: str, *, with_rows: bool = False) -> CertificateBatch:
    """A batch the actor may see (managers: all; HR: their enterprises'); anything else is NotFound."""
    _require_issuer(actor)
    if not isinstance(batch_id, str) or not re.fullmatch(r"[0-9a-f]{32}", batch_id):
        raise NotFound()
    stmt = select(CertificateBatch).where(CertificateBatch.id == batch_id)
    if not with_rows:
        stmt = stmt.options(defer(CertificateBatch.rows))
    batch = db.session.scalars(stmt).one_or_none()
    if batch is None:
        raise NotFound()
    if not is_manager(actor) and batch.enterprise_id not in actor.hr_enterprise_ids:
        raise NotFound()
    return batch


def recent_batches(actor, limit: int = 10) -> list[CertificateBatch]:
    _require_issuer(actor)
    stmt = (select(CertificateBatch).options(defer(CertificateBatch.rows), defer(CertificateBatch.errors))
            .order_by(CertificateBatch.created_at.desc()).limit(limit))
    if not is_manager(actor):
        stmt = stmt.where(CertificateBatch.enterprise_id.in_(actor.hr_enterprise_ids))
    return list(db.session.scalars(stmt))


def template_choices(actor, kind: str | None = None) -> list[CertificateTemplate]:
    """Active templates the actor may use (managers: the union's; HR: their enterprises')."""
    stmt = select(CertificateTemplate).where(CertificateTemplate.is_active.is_(True))
    if is_manager(actor):
        stmt = stmt.where(CertificateTemplate.enterprise_id.is_(None))
    else:
        stmt = stmt.where(CertificateTemplate.enterprise_id.in_(actor.hr_enterprise_ids))
    if kind:
        stmt = stmt.where(CertificateTemplate.kind == kind)
    return list(db.session.scalars(stmt.order_by(CertificateTemplate.kind, CertificateTemplate.name)))


def _check_template(actor, template_id: int | None) -> CertificateTemplate | None:
    if template_id is None:
        return None
    template = next((t for t in template_choices(actor) if t.id == template_id), None)
    if template is None:
        raise DomainError(_l("Please choose one of your templates."), code="template_invalid",
                          details={"template_id": [str(_l("Please choose one of your templates."))]})
    return template


# --- reading the file -------------------------------------------------------------------------------------


def read_file(filename: str, data: bytes, max_rows: int, max_bytes: int | None = tabular.MAX_BYTES
              ) -> tuple[list[tuple[int, dict[str, str]]], set[str]]:
    """(row number, field → text) for every non-blank data row, and the fields found in the header.

    ``app.tabular`` reads it (format, encodings, header aliases, duplicate and missing columns, limits); raises
    ``app.tabular.FileError`` for a file that cannot be read.
    """
    table = tabular.read_table(filename, data, LAYOUT, max_rows=max_rows, max_bytes=max_bytes)
    return [(number, dict(zip(FIELDS, cells, strict=True))) for number, cells in table.rows], set(table.headers)


def subject_key_for(subject: str) -> str:
    """The same subject text (after NFKC and whitespace folding) always gives the same key."""
    text = " ".join(unicodedata.normalize("NFKC", subject).split())
    return "subject:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _glyph_error(column: str, text: str) -> dict[str, Any] | None:
    from app.pdf import missing_glyphs

    missing = missing_glyphs(text)
    if not missing:
        return None
    return {"column": column, "code": "glyphs", "chars": "、".join(dict.fromkeys(missing))}


def _parse_date(text: str) -> date | str | None:
    if not text:
        return None
    parsed = import_domain.parse_birth_date(text)  # the same spellings as dates of birth
    return parsed if isinstance(parsed, date) else "format"


def _lookup_workers(hashes: list[str], numbers: list[int]) -> tuple[dict[str, Worker], dict[int, Worker]]:
    by_hash: dict[str, Worker] = {}
    by_id: dict[int, Worker] = {}
    for i in range(0, len(hashes), 1000):
        for w in db.session.scalars(select(Worker).where(Worker.id_hash.in_(hashes[i:i + 1000]))):
            by_hash[w.id_hash] = w
            by_id[w.id] = w
    wanted = [n for n in numbers if n not in by_id]
    for i in range(0, len(wanted), 1000):
        for w in db.session.scalars(select(Worker).where(Worker.id.in_(wanted[i:i + 1000]))):
            by_id[w.id] = w
    return by_hash, by_id


def _live_certificates(keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Certificate]:
    """(holder key, subject key, kind) → the live certificate, for the given keys."""
    if not keys:
        return {}
    holders = sorted({k[0] for k in keys})
    found: dict[tuple[str, str, str], Certificate] = {}
    for i in range(0, len(holders), 1000):
        stmt = select(Certificate).where(Certificate.holder_key.in_(holders[i:i + 1000]),
                                         Certificate.status == CertificateStatus.ISSUED)
        for c in db.session.scalars(stmt).unique():
            key = (c.holder_key, c.subject_key, c.kind)
            if key in keys:
                found[key] = c
    return found


def check_rows(actor, rows: list[tuple[int, dict[str, str]]], *, enterprise_id: int | None, default_kind: str | None,
               default_subject: str = "", default_issued_on: date | None = None,
               today: date | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Check every row; return (staged rows, errors). A staged row's ``state`` is ok | issued | bad."""
    from certificates.services import keys
    from certificates.services.issuance import today as issue_today

    today = today or issue_today()
    earliest = keys.active_key().record.valid_from  # issue_certificate refuses earlier dates
    cipher = id_cipher()
    birth_cache: dict[str, date | None] = {}
    today_ymd = today.strftime("%Y%m%d")
    errors: list[dict[str, Any]] = []
    staged: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], list[dict[str, Any]], str | None, int | None]] = []

    for number, v in rows:
        row_errors: list[dict[str, Any]] = []
        for f, text in list(v.items()):
            if text and text != tabular.LOST_DIGITS and tabular.looks_like_formula(text):
                row_errors.append({"column": f, "code": "formula"})
                v[f] = ""
        name = " ".join(v.get("name", "").split())
        if not name:
            row_errors.append({"column": "name", "code": "missing"})
        # who: ID number (hashed as the registry does) or the registry's worker number
        id_hash = worker_no = None
        id_text = v.get("id_number", "")
        id_last4 = ""
        if id_text == tabular.LOST_DIGITS:
            row_errors.append({"column": "id_number", "code": "as_number"})
        elif id_text:
            type_text = v.get("id_type", "")
            id_type = import_domain.ID_TYPES.get(type_text) if type_text else "resident"
            if id_type is None:
                id_type = import_domain.ID_TYPES.get(" ".join(type_text.lower().replace("_", " ").split()))
            number_n = import_domain.normalize_id_text(id_text)
            if id_type is None:
                row_errors.append({"column": "id_type", "code": "unknown", "value": type_text[:64]})
            elif id_type == "resident" and import_domain.resident_id_problem(number_n, today_ymd, birth_cache):
                row_errors.append({"column": "id_number", "code": "invalid"})
            else:
                id_hash = cipher.hash(id_type, number_n)
                id_last4 = number_n[-4:]
        elif v.get("worker_no", ""):
            text = unicodedata.normalize("NFKC", v["worker_no"]).strip()
            if text.endswith(".0"):
                text = text[:-2]
            if text.isdigit() and 0 < int(text) < 2**31:
                worker_no = int(text)
            else:
                row_errors.append({"column": "worker_no", "code": "invalid", "value": v["worker_no"][:64]})
        elif not any(e["column"] in ("id_number", "id_type", "worker_no") for e in row_errors):
            row_errors.append({"column": "worker", "code": "missing"})

        kind_text = v.get("kind", "")
        kind = None
        if kind_text:
            kind = KIND_WORDS.get(kind_text) or KIND_WORDS.get(" ".join(kind_text.lower().split()))
            if kind is None:
                row_errors.append({"column": "kind", "code": "unknown", "value": kind_text[:64]})
        elif default_kind:
            kind = default_kind
        else:
            row_errors.append({"column": "kind", "code": "missing"})

        subject = " ".join((v.get("subject", "") or default_subject).split())
        achievement = " ".join(v.get("achievement", "").split())
        for column, text, limit in (("subject", subject, SUBJECT_MAX), ("achievement", achievement, ACHIEVEMENT_MAX)):
            if not text:
                row_errors.append({"column": column, "code": "missing"})
            elif len(text) > limit:
                row_errors.append({"column": column, "code": "length"})
            elif (err := _glyph_error(column, text)) is not None:
                row_errors.append(err)
        details: dict[str, Any] = {"subject": subject[:SUBJECT_MAX]} if subject else {}
        for column, key in (("occupation", "occupation"), ("level", "skill_level")):
            text = " ".join(v.get(column, "").split())
            if not text:
                continue
            if len(text) > DETAIL_MAX:
                row_errors.append({"column": column, "code": "length"})
            elif (err := _glyph_error(column, text)) is not None:
                row_errors.append(err)
            else:
                details[key] = text
        issued = _parse_date(v.get("issued_on", ""))
        if issued == "format":
            row_errors.append({"column": "issued_on", "code": "format", "value": v.get("issued_on", "")[:64]})
            issued = None
        elif issued is None:
            issued = default_issued_on
        if isinstance(issued, date) and issued > today:
            row_errors.append({"column": "issued_on", "code": "future"})
        elif isinstance(issued, date) and issued < earliest:
            row_errors.append({"column": "issued_on", "code": "before_key", "day": earliest.isoformat()})
        row = {"row": number, "name": name[:100], "worker_id": None, "id_last4": id_last4, "kind": kind,
               "subject": subject[:SUBJECT_MAX], "subject_key": subject_key_for(subject) if subject else None,
               "achievement": achievement[:ACHIEVEMENT_MAX], "details": details,
               "issued_on": issued.isoformat() if isinstance(issued, date) else None, "state": "ok"}
        staged.append(row)
        pending.append((row, row_errors, id_hash, worker_no))

    by_hash, by_id = _lookup_workers([p[2] for p in pending if p[2]], [p[3] for p in pending if p[3]])
    seen: dict[tuple[str, str, str], int] = {}
    for row, row_errors, id_hash, worker_no in pending:
        worker = by_hash.get(id_hash) if id_hash else by_id.get(worker_no) if worker_no else None
        if (id_hash or worker_no) and worker is None:
            row_errors.append({"column": "worker", "code": "unknown"})
        elif worker is not None:
            if enterprise_id is not None and worker.enterprise_id != enterprise_id:
                row_errors.append({"column": "worker", "code": "other_enterprise"})  # never name it
            else:
                row["worker_id"] = worker.id
                row["id_last4"] = row["id_last4"] or worker.id_last4
                if row["name"] and " ".join(worker.name.split()) != row["name"]:
                    row_errors.append({"column": "name", "code": "mismatch", "registered": worker.name})
                elif row["name"] and (err := _glyph_error("name", worker.name)) is not None:
                    row_errors.append(err)
        if not row_errors and row["worker_id"] and row["kind"] and row["subject_key"]:
            key = (f"worker:{row['worker_id']}", row["subject_key"], row["kind"])
            first = seen.get(key)
            if first is not None:
                row_errors.append({"column": "row", "code": "duplicate", "first_row": first})
            else:
                seen[key] = row["row"]
        if row_errors:
            row["state"] = "bad"
            for e in row_errors:
                errors.append({"row": row["row"], **e})
    live = _live_certificates(set(seen))
    for row in staged:
        if row["state"] == "ok":
            c = live.get((f"worker:{row['worker_id']}", row["subject_key"], row["kind"]))
            if c is not None:
                row["state"] = "issued"
                row["serial"] = c.serial
    return staged, errors


# --- preview / confirm / discard --------------------------------------------------------------------------


def preview_file(actor, filename: str, data: bytes, *, enterprise_id: int | None = None, kind: str | None = None,
                 template_id: int | None = None, subject: str = "", issued_on: date | None = None) -> CertificateBatch:
    """Read and check the file; stage it as a batch in preview (nothing is issued)."""
    scope = _scope_enterprise(actor, enterprise_id)
    filename = os.path.basename((filename or "").replace("\\", "/"))[:255] or "upload"
    if kind:
        try:
            kind = CertificateKind(kind).value
        except ValueError:
            raise DomainError(_l("Please choose the kind of certificate."), code="kind_invalid",
                              details={"kind": [str(_l("Please choose the kind of certificate."))]}) from None
    template = _check_template(actor, template_id)
    if template is not None and kind and template.kind != kind:
        raise DomainError(_l("The template is for another kind of certificate."), code="template_invalid",
                          details={"template_id": [str(_l("The template is for another kind of certificate."))]})
    if not data:
        raise BatchFileInvalid(file_message("empty", {}), code="import_empty")
    max_rows = current_app.config.get("CERTIFICATE_BATCH_MAX_ROWS", BATCH_MAX_ROWS)
    try:
        rows, _found = read_file(filename, data, max_rows, current_app.config.get("MAX_CONTENT_LENGTH"))
    except tabular.FileError as exc:
        raise BatchFileInvalid(file_message(exc.code, exc.params), code=f"import_{exc.code}",
                               details=tabular.error_details(exc)) from None
    if not rows:
        raise BatchFileInvalid(file_message("no_rows", {}), code="import_no_rows")
    staged, errors = check_rows(actor, rows, enterprise_id=scope, default_kind=kind or (template.kind if template else None),
                                default_subject=(subject or "").strip(), default_issued_on=issued_on)
    batch = CertificateBatch(
        id=uuid.uuid4().hex, source=FILE, enterprise_id=scope, template_id=template.id if template else None,
        filename=filename, status=PREVIEW, rows=staged, errors=errors, total=sum(1 for r in staged if r["state"] != "bad"),
        created_by_id=actor.id,
    )
    db.session.add(batch)
    db.session.flush()
    record("certificate_batch.preview", batch, {
        "source": FILE, "filename": filename, "rows": len(staged), "bad_rows": len({e["row"] for e in errors}),
        "enterprise_id": scope,
    }, actor=actor)
    return batch


def summary(batch: CertificateBatch) -> dict[str, int]:
    """Counts for the preview: rows, rows to issue, already issued, rows with errors (skipped)."""
    rows = batch.rows or []
    return {
        "rows": len(rows),
        "new": sum(1 for r in rows if r["state"] == "ok"),
        "issued": sum(1 for r in rows if r["state"] == "issued"),
        "bad": sum(1 for r in rows if r["state"] == "bad"),
    }


def _claim(batch: CertificateBatch, from_status: str, values: dict[str, Any]) -> None:
    result = db.session.execute(
        update(CertificateBatch).where(CertificateBatch.id == batch.id, CertificateBatch.status == from_status)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.expire(batch)
        raise Conflict(_l("This batch was already confirmed or discarded."), code="batch_not_preview")
    for key, value in values.items():
        set_committed_value(batch, key, value)


def todo_rows(batch: CertificateBatch) -> list[dict[str, Any]]:
    return [r for r in batch.rows or [] if r["state"] != "bad"]


def confirm_batch(actor, batch_id: str) -> CertificateBatch:
    """Queue the job for every row without errors (rows with errors are reported, not issued)."""
    batch = get_batch(actor, batch_id, with_rows=True)
    if batch.status != PREVIEW:
        raise Conflict(_l("This batch was already confirmed or discarded."), code="batch_not_preview")
    todo = todo_rows(batch)
    if not todo:
        raise DomainError(_l("No row can be issued: every row has an error."), code="batch_nothing_to_issue")
    _claim(batch, PREVIEW, {"status": QUEUED, "total": len(todo), "done": 0, "failed": 0})
    record("certificate_batch.confirm", batch, {"source": batch.source, "total": len(todo)}, actor=actor)
    _enqueue_chunks(batch.id, len(todo))
    return batch


def _enqueue_chunks(batch_id: str, total: int) -> None:
    from app import jobs
    from certificates.services import render

    size = int(current_app.config.get("CERTIFICATE_BATCH_CHUNK", CHUNK_SIZE))
    base = render.known_base_url()  # this request's address: the QR codes the job draws point here
    for start in range(0, total, size):
        jobs.enqueue("certificates.services.batches:run_chunk", batch_id, start, min(start + size, total), base)


def discard_batch(actor, batch_id: str) -> CertificateBatch:
    batch = get_batch(actor, batch_id)
    if batch.status != PREVIEW:
        raise Conflict(_l("This batch was already confirmed or discarded."), code="batch_not_preview")
    _claim(batch, PREVIEW, {"status": DISCARDED, "rows": []})
    record("certificate_batch.discard", batch, {"source": batch.source}, actor=actor)
    return batch


# --- the job ----------------------------------------------------------------------------------------------


def batch_dir(batch_id: str) -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "batches" / batch_id


def zip_path(batch_id: str) -> Path:
    return batch_dir(batch_id) / "certificates.zip"


def errors_path(batch_id: str) -> Path:
    return batch_dir(batch_id) / "errors.csv"


def _pdf_name(serial: str, name: str) -> str:
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", name or "").strip("_")[:40]
    return f"{serial}_{safe}.pdf" if safe else f"{serial}.pdf"


def run_chunk(batch_id: str, start: int, end: int, base_url: str | None = None) -> None:
    """Job: issue and render rows ``start:end`` of the batch's rows to issue; the last chunk finalizes.

    Each certificate is issued in its own short transaction and its PDF rendered outside any write
    transaction; the counters are added after each row so the progress page moves row by row. ``base_url``:
    the address of the site that queued the job, for the verification links in the PDFs.
    """
    from certificates.services import render

    with render.base_url_of(base_url):
        _run_chunk(batch_id, start, end)


def _run_chunk(batch_id: str, start: int, end: int) -> None:
    batch = db.session.get(CertificateBatch, batch_id)
    if batch is None or batch.status not in ACTIVE:
        log.warning("batch %s is not queued (status %s): chunk %d:%d skipped", batch_id,
                    getattr(batch, "status", None), start, end)
        return
    if batch.status == QUEUED:
        db.session.execute(update(CertificateBatch).where(CertificateBatch.id == batch_id,
                                                          CertificateBatch.status == QUEUED)
                           .values(status=RUNNING, started_at=utcnow()).execution_options(synchronize_session=False))
    actor = db.session.get(User, batch.created_by_id) if batch.created_by_id else None
    rows = todo_rows(batch)[start:end]
    competition_id, template_id, issuer_id, source = batch.competition_id, batch.template_id, batch.issuer_id, batch.source
    template_kind = db.session.get(CertificateTemplate, template_id).kind if template_id else None
    db.session.commit()
    out_dir = batch_dir(batch_id) / "pdf"
    out_dir.mkdir(parents=True, exist_ok=True)
    done = failed = 0
    errors: list[dict[str, Any]] = []
    last = time.monotonic()
    for row in rows:
        ok, error = _issue_row(actor, row, batch_id=batch_id, competition_id=competition_id,
                               template_id=template_id if row["kind"] == template_kind else None,
                               issuer_id=issuer_id, source=source, out_dir=out_dir)
        done, failed = done + ok, failed + (not ok)
        if error is not None:
            errors.append(error)
        if time.monotonic() - last >= PROGRESS_INTERVAL:  # the page moves smoothly without a write per row
            _add_progress(batch_id, done, failed, errors)
            done = failed = 0
            errors = []
            last = time.monotonic()
    if done or failed:
        _add_progress(batch_id, done, failed, errors)
    _finish_if_complete(batch_id)


def _issue_row(actor, row: dict[str, Any], *, batch_id: str, competition_id: int | None, template_id: int | None,
               issuer_id: int | None, source: str, out_dir: Path) -> tuple[bool, dict[str, Any] | None]:
    from app.people.services import ValidationFailed
    from certificates.services import render
    from certificates.services.issuance import issue_certificate

    try:
        if actor is None:
            raise PermissionDenied()
        result = issue_certificate(
            actor, kind=row["kind"], worker_id=row["worker_id"], holder_name=row.get("name") or None,
            subject_key=row["subject_key"], achievement=row["achievement"], details=row.get("details") or None,
            template_id=template_id, issuer_id=issuer_id, competition_id=competition_id, batch_id=batch_id,
            issued_on=date.fromisoformat(row["issued_on"]) if row.get("issued_on") else None,
        )
        certificate_id = result.certificate.id
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        messages = [m for msgs in (exc.details or {}).values() for m in msgs]
        return False, {"row": row["row"], "column": "row", "code": "issue_failed",
                       "message": " ".join(messages) or str(exc.message)}
    except DomainError as exc:
        db.session.rollback()
        return False, {"row": row["row"], "column": "row", "code": "issue_failed", "message": str(exc.message)}
    except Exception:
        db.session.rollback()
        log.exception("batch %s row %s: issuing failed", batch_id, row.get("row"))
        return False, {"row": row["row"], "column": "row", "code": "internal"}
    # Render in a read-only (deferred) transaction: on SQLite it takes no write lock, so another worker
    # process issues while this one draws. The PDF goes to the content-addressed store (render.store); its
    # hash is recorded in the next short write transaction (pdf_for would flush it inside this read).
    token = sqlite_begin_mode.set("DEFERRED")
    try:
        certificate = db.session.get(Certificate, certificate_id)
        recorded = certificate.pdf_sha256
        data = render.read_stored(recorded) if recorded else None
        sha = recorded
        if data is None:
            data = render.render(certificate)
            sha = render.store(data)
        (out_dir / _pdf_name(certificate.serial, certificate.holder_name)).write_bytes(data)
        db.session.rollback()
    except Exception:
        db.session.rollback()
        log.exception("batch %s row %s: rendering failed", batch_id, row.get("row"))
        return False, {"row": row["row"], "column": "row", "code": "internal"}
    finally:
        sqlite_begin_mode.reset(token)
    if sha != recorded:
        db.session.execute(update(Certificate).where(Certificate.id == certificate_id).values(pdf_sha256=sha)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    return True, None


def _add_progress(batch_id: str, done: int, failed: int, errors: list[dict[str, Any]]) -> None:
    """Add to the counters (and the error list) in one short write; the database adds, so chunks running in
    other processes never overwrite each other's counts."""
    values: dict[str, Any] = {"done": CertificateBatch.done + done, "failed": CertificateBatch.failed + failed}
    if errors:
        # errors is a JSON list: read and write it under the row lock (PostgreSQL) / the write lock (SQLite)
        stmt = select(CertificateBatch.errors).where(CertificateBatch.id == batch_id)
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        current = db.session.execute(stmt).scalar_one()
        values["errors"] = list(current or []) + errors
    db.session.execute(update(CertificateBatch).where(CertificateBatch.id == batch_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _finish_if_complete(batch_id: str) -> None:
    """The chunk whose rows complete the batch claims the finish (conditional UPDATE) and writes the files."""
    claimed = db.session.execute(
        update(CertificateBatch)
        .where(CertificateBatch.id == batch_id, CertificateBatch.finished_at.is_(None),
               CertificateBatch.status == RUNNING,
               CertificateBatch.done + CertificateBatch.failed >= CertificateBatch.total)
        .values(finished_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return
    try:
        write_files(batch_id)
        batch = db.session.get(CertificateBatch, batch_id)
        status = FAILED if batch.done == 0 and batch.failed else DONE
        db.session.execute(update(CertificateBatch).where(CertificateBatch.id == batch_id)
                           .values(status=status, rows=_slim_rows(batch.rows or []))
                           .execution_options(synchronize_session=False))
        creator = db.session.get(User, batch.created_by_id) if batch.created_by_id else None
        record("certificate_batch.finish", batch, {"done": batch.done, "failed": batch.failed, "total": batch.total,
                                                    "status": status}, actor=creator)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("batch %s: writing the ZIP and error file failed", batch_id)
        db.session.execute(update(CertificateBatch).where(CertificateBatch.id == batch_id).values(status=FAILED)
                           .execution_options(synchronize_session=False))
        db.session.commit()


def _slim_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What stays of the staged rows once the batch is finished: row numbers, names and states only."""
    return [{"row": r["row"], "name": r.get("name", ""), "state": r["state"], "kind": r.get("kind"),
             "achievement": r.get("achievement", "")} for r in rows]


def batch_certificates(batch: CertificateBatch) -> list[Certificate]:
    """The live certificates of the batch's rows: issued by it, or already there before (idempotent re-runs)."""
    keys = {(f"worker:{r['worker_id']}", r["subject_key"], r["kind"]) for r in todo_rows(batch)
            if r.get("worker_id") and r.get("subject_key")}
    found = _live_certificates(keys)
    created = db.session.scalars(select(Certificate).where(Certificate.batch_id == batch.id)).unique().all()
    by_id = {c.id: c for c in found.values()}
    for c in created:
        by_id.setdefault(c.id, c)
    return sorted(by_id.values(), key=lambda c: c.serial)


def write_files(batch_id: str) -> None:
    """``certificates.zip`` (a PDF per certificate of the batch, rendered now if the chunk did not) and
    ``errors.csv`` (UTF-8 with BOM) in the batch's directory."""
    from certificates.services.render import pdf_for

    batch = db.session.get(CertificateBatch, batch_id)
    folder = batch_dir(batch_id)
    pdf_dir = folder / "pdf"
    pdf_dir.mkdir(parents=True, exist_ok=True)
    tmp = folder / "certificates.zip.tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:  # PDFs are compressed already
        for c in batch_certificates(batch):
            name = _pdf_name(c.serial, c.holder_name)
            path = pdf_dir / name
            data = path.read_bytes() if path.exists() else pdf_for(c).data
            zf.writestr(name, data)
    os.replace(tmp, zip_path(batch_id))
    content, _mimetype, _filename = error_file(batch, "csv")
    errors_path(batch_id).write_bytes(content)
    shutil.rmtree(pdf_dir, ignore_errors=True)


# --- reading a batch --------------------------------------------------------------------------------------


def progress(batch: CertificateBatch) -> dict[str, Any]:
    """What the progress page polls."""
    finished = batch.status in (DONE, FAILED)
    return {
        "id": batch.id, "status": batch.status, "status_label": str(STATUS_LABELS.get(batch.status, batch.status)),
        "total": batch.total, "done": batch.done, "failed": batch.failed, "finished": finished,
        "skipped": len({e["row"] for e in batch.errors or [] if e.get("code") not in JOB_ERROR_CODES}),
        "started_at": batch.started_at.isoformat() if batch.started_at else None,
        "finished_at": batch.finished_at.isoformat() if finished and batch.finished_at else None,
        "has_zip": finished and zip_path(batch.id).exists(),
        "has_errors": bool(batch.errors),
    }


def translated_errors(batch: CertificateBatch) -> list[dict[str, Any]]:
    out = []
    for e in sorted(batch.errors or [], key=lambda e: (e["row"] if isinstance(e.get("row"), int) else 0)):
        item = {"row": e.get("row"), "column": e.get("column"), "code": e.get("code"), "message": row_message(e)}
        if "value" in e:
            item["value"] = e["value"]
        out.append(item)
    return out


def preview_rows(batch: CertificateBatch, *, only_errors: bool = False) -> list[dict[str, Any]]:
    """Staged rows with their translated errors, for the preview table (never an ID number)."""
    from certificates.services.issuance import kind_label

    by_row: dict[Any, list[dict[str, Any]]] = {}
    for e in batch.errors or []:
        by_row.setdefault(e.get("row"), []).append(e)
    out = []
    for r in batch.rows or []:
        if only_errors and r["state"] != "bad":
            continue
        errs = by_row.get(r["row"], [])
        out.append({
            **r, "kind_label": kind_label(r["kind"]) if r.get("kind") else "",
            "error_columns": {e.get("column") for e in errs},
            "errors": [{"column": column_label(e.get("column", "")), "message": row_message(e)} for e in errs],
            "notice": str(ALREADY_ISSUED_MESSAGE) % {"serial": r.get("serial", "")} if r["state"] == "issued" else "",
        })
    return out


def error_file(batch: CertificateBatch, fmt: str = "csv") -> tuple[bytes, str, str]:
    """(content, mimetype, filename): every reported row — row, column, reason, value, name (``app.tabular.error_list``:
    CSV with a BOM for Excel, or XLSX; formula-like cells escaped). The batch keeps no ID number, so the uploaded rows
    themselves cannot be given back here."""
    names = {r["row"]: r.get("name", "") for r in batch.rows or []}
    header = [_("Row"), _("Full name"), _("Column"), _("Error"), _("Value in the file")]
    lines = [[e.get("row"), names.get(e.get("row"), ""), column_label(e.get("column", "")), row_message(e),
              e.get("value", "")] for e in sorted(batch.errors or [], key=lambda e: e.get("row") or 0)]
    return tabular.error_list(header, lines, fmt=fmt, stem=f"certificate-errors-{batch.id[:8]}")


def template_file() -> tuple[bytes, str, str]:
    """An XLSX with the header row and one example row (ID numbers formatted as text)."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = _("Certificates")
    ws.append(list(TEMPLATE_HEADERS))
    ws.append(list(TEMPLATE_EXAMPLE))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCDEF", (12, 24, 16, 40, 16, 14), strict=True):
        ws.column_dimensions[col].width = width
    for row in range(2, 1002):
        ws[f"B{row}"].number_format = "@"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), tabular.XLSX_MIMETYPE, "certificate-batch-template.xlsx"


def created_at_label(value: datetime | None) -> str:
    return value.isoformat() if value else ""
