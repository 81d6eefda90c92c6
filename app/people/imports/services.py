"""Use cases of the worker import: preview (parse, validate, stage), confirm (all or nothing), discard.

``preview_import`` reads the file once, validates every row (``domain``), looks the ID hashes up
among registered workers, and stages the result as a ``WorkerImport`` (rows already hashed and
encrypted; the plain ID number is never stored). Nothing touches the worker table until
``confirm_import``: it refuses a preview with errors, flips the status with a conditional UPDATE
(so two concurrent confirms cannot both write), and writes every staged row with one bulk INSERT
inside a savepoint, then the new workers' first employments with one INSERT … SELECT. The unique
ID hash re-checks duplicates against the database at that moment: if anyone registered one of
these workers meanwhile, the INSERT fails as a whole, nothing is written and HR is told to upload
again. HR of one enterprise never sees another's import (404). A row whose ID number a worker of
another enterprise holds is refused (without naming the enterprise): that person changes
employer through a transfer (``app.people.transfers``), which keeps their one record.

Services flush, never commit (the request does).
"""

from __future__ import annotations

import binascii
import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, any_, bindparam, func, insert, literal_column, select, true, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from app import tabular
from app.audit.services import record
from app.crypto import id_cipher
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound
from app.orgs.models import Enterprise
from app.people import employment
from app.people.imports import domain
from app.people.imports.domain import (
    STAGED_BAD,
    STAGED_BIRTH,
    STAGED_GENDER,
    STAGED_ID_ENCRYPTED,
    STAGED_ID_HASH,
    STAGED_ID_LAST4,
    STAGED_ID_TYPE,
    STAGED_LEVEL,
    STAGED_MOBILE,
    STAGED_NAME,
    STAGED_ROW,
    STAGED_TRADE,
)
from app.people.imports.messages import column_label, file_message, row_message
from app.people.models import Trade, Worker, WorkerImport
from app.people.services import chosen_enterprise_id
from app.tabular import FileError

PREVIEW = "preview"
CONFIRMED = "confirmed"
DISCARDED = "discarded"

_HASH_CHUNK = 5000  # ID hashes per "IN (…)" lookup


class ImportFileInvalid(DomainError):
    """The uploaded file as a whole cannot be imported (nothing was stored)."""

    status = 400
    code = "import_file_invalid"


# --- scope -------------------------------------------------------------------------------------------


def hr_enterprises(actor) -> list[Enterprise]:
    ids = actor.hr_enterprise_ids
    if not ids:
        return []
    return list(db.session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)).order_by(Enterprise.name, Enterprise.id)))


def get_import(actor, import_id: str, *, with_rows: bool = False) -> WorkerImport:
    """An import of one of the actor's enterprises; anything else (or a bad id) is NotFound."""
    ids = actor.hr_enterprise_ids
    if not ids or not isinstance(import_id, str) or len(import_id) != 32:
        raise NotFound()
    stmt = select(WorkerImport).where(WorkerImport.id == import_id, WorkerImport.enterprise_id.in_(ids))
    if not with_rows:
        stmt = stmt.options(defer(WorkerImport.rows))
    imp = db.session.execute(stmt).unique().scalar_one_or_none()
    if imp is None:
        raise NotFound()
    return imp


def recent_imports(actor, limit: int = 10) -> list[WorkerImport]:
    ids = actor.hr_enterprise_ids
    if not ids:
        return []
    stmt = (select(WorkerImport).where(WorkerImport.enterprise_id.in_(ids))
            .options(defer(WorkerImport.rows), defer(WorkerImport.errors))
            .order_by(WorkerImport.created_at.desc()).limit(limit))
    return list(db.session.scalars(stmt).unique())


# --- preview -------------------------------------------------------------------------------------------


def _trade_index() -> tuple[dict[str, int], dict[str, int]]:
    by_code, by_name = {}, {}
    for tid, code, name in db.session.execute(select(Trade.id, Trade.code, Trade.name).where(Trade.is_active.is_(True))):
        by_code[code] = tid
        by_name[name] = tid
    return by_code, by_name


def _registered(hashes: list[str]) -> dict[str, int]:
    """ID hash → enterprise id of the workers that already hold one of ``hashes``.

    One parameter carries all hashes (SQLite: a JSON array read by json_each; PostgreSQL: an array),
    because expanding ``IN (…)`` into 10,000 bound parameters costs more than the lookup itself.
    """
    if not hashes:
        return {}
    dialect = db.session.get_bind().dialect.name
    cols = select(Worker.id_hash, Worker.enterprise_id)
    if dialect == "sqlite":
        values = func.json_each(bindparam("hashes", type_=String)).table_valued("value")
        stmt = cols.where(Worker.id_hash.in_(select(values.c.value)))
        return dict(db.session.execute(stmt, {"hashes": json.dumps(hashes)}).all())
    if dialect == "postgresql":
        stmt = cols.where(Worker.id_hash == any_(bindparam("hashes", type_=postgresql.ARRAY(String))))
        return dict(db.session.execute(stmt, {"hashes": hashes}).all())
    found: dict[str, int] = {}
    for i in range(0, len(hashes), _HASH_CHUNK):
        found.update(db.session.execute(cols.where(Worker.id_hash.in_(hashes[i:i + _HASH_CHUNK]))).all())
    return found


PREVIEW_TTL = timedelta(hours=24)


def expire_stale_previews(now: datetime | None = None) -> int:
    """Discard previews nobody confirmed within PREVIEW_TTL, dropping their staged personal data."""
    cutoff = (now or utcnow()) - PREVIEW_TTL
    result = db.session.execute(
        update(WorkerImport).where(WorkerImport.status == PREVIEW, WorkerImport.created_at < cutoff)
        .values(status=DISCARDED, rows=[]).execution_options(synchronize_session=False)
    )
    return result.rowcount


def preview_import(actor, enterprise_id: int | None, filename: str, data: bytes, *, today: date | None = None) -> WorkerImport:
    """Parse and validate the whole file; stage it for confirmation (nothing goes to the worker table).

    A file that cannot be imported at all raises ``ImportFileInvalid`` and stores nothing.
    """
    ent_id = chosen_enterprise_id(actor, enterprise_id)
    filename = os.path.basename((filename or "").replace("\\", "/"))[:255] or "upload"
    if not data:
        raise ImportFileInvalid(file_message("empty", {}), code="import_empty")
    by_code, by_name = _trade_index()
    protector = id_cipher()
    try:
        table = domain.read_table(filename, data, current_app.config["IMPORT_MAX_ROWS"],
                                  current_app.config.get("MAX_CONTENT_LENGTH"))
        staged = domain.validate_rows(table.rows, trades_by_code=by_code, trades_by_name=by_name,
                                      hash_id=protector.hash, encrypt_id=protector.encrypt, today=today or date.today())
    except FileError as exc:
        raise ImportFileInvalid(file_message(exc.code, exc.params), code=f"import_{exc.code}",
                                details=tabular.error_details(exc)) from None
    if not staged.rows:
        raise ImportFileInvalid(file_message("no_rows", {}), code="import_no_rows")
    domain.mark_registered(staged, _registered(list(staged.hashes)), ent_id)
    expire_stale_previews()
    bad_rows = staged.bad_rows
    imp = WorkerImport(
        id=uuid.uuid4().hex, enterprise_id=ent_id, created_by_id=actor.id, filename=filename,
        file_format=table.file_format, encoding=table.encoding, status=PREVIEW,
        row_count=len(staged.rows), error_count=bad_rows, rows=staged.rows, errors=staged.errors,
    )
    db.session.add(imp)
    db.session.flush()
    record("worker_import_previewed", imp, {
        "enterprise_id": ent_id, "filename": filename, "format": table.file_format, "encoding": table.encoding,
        "rows": len(staged.rows), "rows_with_errors": bad_rows, "errors": len(staged.errors),
    }, actor=actor)
    return imp


# --- confirm / discard ---------------------------------------------------------------------------------


# Worker column → position of its value in a staged row.
_STAGED_COLUMNS = {
    "name": STAGED_NAME, "gender": STAGED_GENDER, "birth_date": STAGED_BIRTH, "id_type": STAGED_ID_TYPE,
    "id_hash": STAGED_ID_HASH, "id_last4": STAGED_ID_LAST4, "id_encrypted": STAGED_ID_ENCRYPTED,
    "mobile": STAGED_MOBILE, "trade_id": STAGED_TRADE, "skill_level": STAGED_LEVEL,
}


def _insert_workers(enterprise_id: int, staged: list[list[Any]]) -> int:
    """Write the staged rows with one executemany of one INSERT that SQLAlchemy compiles from the table.

    Why not ``session.execute(insert(Worker), dicts)``: for 10,000 rows SQLAlchemy's per-row parameter
    handling (ORM bulk bookkeeping, ``construct_params``, processors for every column) costs more than
    SQLite's own insert. Here the statement is compiled once for the session's dialect, the constant
    columns are SQL (enterprise, active, now()), and only the two columns whose type has a bind
    processor (date of birth, encrypted ID) are converted, with that type's own processor.
    """
    table = Worker.__table__
    conn = db.session.connection()
    dialect = conn.dialect
    stmt = insert(table).values(
        enterprise_id=literal_column(str(int(enterprise_id))), is_active=true(), created_at=func.now(),
        updated_at=func.now(), **{name: bindparam(name) for name in _STAGED_COLUMNS},
    )
    compiled = stmt.compile(dialect=dialect)
    birth_proc = table.c.birth_date.type.dialect_impl(dialect).bind_processor(dialect)
    blob_proc = table.c.id_encrypted.type.dialect_impl(dialect).bind_processor(dialect)
    # Dates are staged as ISO text; a dialect that stores dates as that very text takes them as they are.
    iso_passthrough = birth_proc is not None and birth_proc(date(2001, 2, 3)) == "2001-02-03"
    fromiso, a2b = date.fromisoformat, binascii.a2b_base64
    for r in staged:
        if not iso_passthrough:
            born = fromiso(r[STAGED_BIRTH])
            r[STAGED_BIRTH] = birth_proc(born) if birth_proc else born
        blob = a2b(r[STAGED_ID_ENCRYPTED])
        r[STAGED_ID_ENCRYPTED] = blob_proc(blob) if blob_proc else blob
    if compiled.positional:
        params: list[Any] = list(map(itemgetter(*(_STAGED_COLUMNS[n] for n in compiled.positiontup)), staged))
    else:
        names = list(_STAGED_COLUMNS)
        get = itemgetter(*_STAGED_COLUMNS.values())
        params = [dict(zip(names, get(r), strict=True)) for r in staged]
    conn.exec_driver_sql(compiled.string, params)
    return len(params)


def _refuse_unless_preview(imp: WorkerImport) -> None:
    if imp.status == CONFIRMED:
        raise Conflict(_l("This import was already confirmed."), code="import_already_confirmed")
    if imp.status == DISCARDED:
        raise Conflict(_l("This import was discarded. Upload the file again."), code="import_discarded")


def _claim(imp: WorkerImport, status: str) -> None:
    """Move preview → ``status`` with a conditional UPDATE: only one request can ever win."""
    values: dict[str, Any] = {"status": status, "rows": []}
    if status == CONFIRMED:
        values["confirmed_at"] = utcnow()
    result = db.session.execute(
        update(WorkerImport).where(WorkerImport.id == imp.id, WorkerImport.status == PREVIEW).values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(imp)
        raise Conflict(_l("This import was already confirmed or discarded."), code="import_already_confirmed")
    for key, value in values.items():  # the row now holds these; keep the object in step without a second UPDATE
        set_committed_value(imp, key, value)


def confirm_import(actor, import_id: str) -> WorkerImport:
    """Write every staged row, or none. Refused with errors, twice, or when the database changed."""
    imp = get_import(actor, import_id, with_rows=True)
    _refuse_unless_preview(imp)
    if imp.error_count:
        raise DomainError(_l("The file has errors. Correct them in the file and upload it again; nothing was imported."),
                          code="import_has_errors", details={"rows_with_errors": imp.error_count})
    staged = imp.rows
    if not staged or any(r[STAGED_BAD] for r in staged):
        raise DomainError(_l("There is nothing to import."), code="import_empty")
    _claim(imp, CONFIRMED)
    try:
        with db.session.begin_nested():
            created = _insert_workers(imp.enterprise_id, staged)
            employment.start_missing(imp.enterprise_id)
    except IntegrityError:
        taken = _registered([r[STAGED_ID_HASH] for r in staged])
        raise Conflict(
            _l("%(n)d of these workers were registered in the meantime, so nothing was imported. "
               "Upload the file again to see which.", n=len(taken)) if taken
            else _l("The data changed in the meantime (a trade may have been removed), so nothing was imported. "
                    "Upload the file again."),
            code="import_stale", details={"registered_meanwhile": len(taken)},
        ) from None
    record("worker_import_confirmed", imp, {
        "enterprise_id": imp.enterprise_id, "filename": imp.filename, "created": created,
    }, actor=actor)
    return imp


def discard_import(actor, import_id: str) -> WorkerImport:
    imp = get_import(actor, import_id)
    _refuse_unless_preview(imp)
    _claim(imp, DISCARDED)
    record("worker_import_discarded", imp, {"enterprise_id": imp.enterprise_id, "filename": imp.filename}, actor=actor)
    return imp


# --- reading a preview ----------------------------------------------------------------------------------


@dataclass
class PreviewPage:
    items: list[dict[str, Any]]
    page: int
    pages: int
    per_page: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def preview_page(imp: WorkerImport, *, page: int = 1, per_page: int = 100, only_errors: bool = False) -> PreviewPage:
    """One page of staged rows for display, each with its translated errors (never an ID number)."""
    rows = imp.rows or []
    if only_errors:
        rows = [r for r in rows if r[STAGED_BAD]]
    total = len(rows)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    chunk = rows[(page - 1) * per_page: page * per_page]
    wanted = {r[STAGED_ROW] for r in chunk if r[STAGED_BAD]}
    by_row: dict[int, list[dict[str, Any]]] = {}
    for e in imp.errors or []:
        if e["row"] in wanted:
            by_row.setdefault(e["row"], []).append(e)
    trade_ids = {r[STAGED_TRADE] for r in chunk if isinstance(r[STAGED_TRADE], int)}
    trades = ({t.id: t for t in db.session.scalars(select(Trade).where(Trade.id.in_(trade_ids)))} if trade_ids else {})
    items = []
    for r in chunk:
        errs = by_row.get(r[STAGED_ROW], [])
        trade = r[STAGED_TRADE]
        items.append({
            "row": r[STAGED_ROW], "name": r[STAGED_NAME], "gender": r[STAGED_GENDER], "birth_date": r[STAGED_BIRTH],
            "id_type": r[STAGED_ID_TYPE], "id_last4": r[STAGED_ID_LAST4], "mobile": r[STAGED_MOBILE],
            "trade": trades.get(trade) if isinstance(trade, int) else None,
            "trade_text": None if isinstance(trade, int) else trade,
            "skill_level": r[STAGED_LEVEL], "bad": bool(r[STAGED_BAD]),
            "error_columns": {e["column"] for e in errs},
            "errors": [{"column": column_label(e["column"]), "message": row_message(e)} for e in errs],
        })
    return PreviewPage(items, page, pages, per_page, total)


def translated_errors(imp: WorkerImport) -> list[dict[str, Any]]:
    """Every error of the import with its message in the request's language (never an ID number)."""
    out = []
    for e in imp.errors or []:
        item = {"row": e["row"], "column": e["column"], "code": e["code"], "message": row_message(e)}
        if "value" in e:
            item["value"] = e["value"]
        out.append(item)
    return out


# --- files -----------------------------------------------------------------------------------------------


def error_file(imp: WorkerImport, fmt: str = "csv") -> tuple[bytes, str, str]:
    """(content, mimetype, filename) listing every error: row, column, message, value (``app.tabular.error_list``:
    CSV with a BOM so Excel opens it, or XLSX; formula-like cells escaped). Never an ID number: the preview keeps
    none, so the uploaded rows themselves cannot be given back here."""
    header = [_("Row"), _("Column"), _("Error"), _("Value in the file")]
    lines = [[e["row"], column_label(e["column"]), row_message(e), e.get("value", "")] for e in imp.errors or []]
    return tabular.error_list(header, lines, fmt=fmt, stem=f"import-errors-{imp.id[:8]}")


def template_file() -> tuple[bytes, str, str]:
    """An XLSX with the header row, one example row and the active trades on a second sheet; the ID number and mobile
    columns are formatted as text (a number would lose digits)."""
    workers = tabular.Sheet(_("Workers"), [list(domain.TEMPLATE_HEADERS), list(domain.TEMPLATE_EXAMPLE)],
                            widths=(12, 8, 14, 26, 24, 16, 14, 16), bold_header=True, text_columns=(4, 5))
    # names come from the catalogue: app.tabular escapes every cell, so none becomes a formula
    trade_rows = [[_("Trade code"), _("Trade")], *db.session.execute(
        select(Trade.code, Trade.name).where(Trade.is_active.is_(True)).order_by(Trade.code))]
    id_types = list(domain.ID_TYPE_LABEL.values())
    levels = [f"{n} / {label}" for n, label in sorted(domain.LEVEL_LABEL.items(), reverse=True)]
    value_rows = [[_("Document type"), _("Skill level"), _("Gender")]]
    for i in range(max(len(id_types), len(levels))):
        value_rows.append([id_types[i] if i < len(id_types) else None, levels[i] if i < len(levels) else None,
                           ("男", "女")[i] if i < 2 else None])
    content = tabular.xlsx_bytes([workers, (_("Trades"), trade_rows), (_("Allowed values"), value_rows)])
    return content, tabular.XLSX_MIMETYPE, "worker-import-template.xlsx"
