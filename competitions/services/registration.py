"""Registration (报名): HR registers its own workers, the organizer decides, quotas, and the draw (抽签).

Who may do what:

* HR registers active workers of its own enterprises while the competition is ``registration_open``
  (a list of worker ids, or a spreadsheet matched by ID-number hash), sees its entries and withdraws
  them until the competition runs. A worker of another enterprise is "not found", never described.
* The organizer (or an admin) lists every entry with names, approves or rejects, sets per-enterprise
  quotas, and runs the draw once registration is closed.

Every write locks the competition row first (``get_competition(for_update=True)``; SQLite's write
transactions are ``BEGIN IMMEDIATE`` and so already exclusive), so the quota count, the status check
and the insert cannot interleave with another registration or a lifecycle step. Everything is
all-or-nothing: one bad worker id or file row and nothing is written. Services flush, never commit.
"""

from __future__ import annotations

import os
import random
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app import tabular
from app.audit.services import record
from app.crypto import id_cipher
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.orgs.models import Enterprise
from app.people.domain import validate_other_id
from app.people.imports import domain as import_domain
from app.people.imports.messages import COLUMN_LABELS, file_message, row_message
from app.people.models import Worker
from competitions.domain import (
    CompetitionState,
    DomainRuleError,
    RegistrationState,
    draw_codes,
    draw_module_codes,
    registration_transition,
)
from competitions.models import Competition, EnterpriseQuota, Entry, Mark, Module, ModuleCode
from competitions.services.common import audit_stream, get_competition, is_organizer, require_organizer

# --- states --------------------------------------------------------------------------------------------

REGISTRATION_OPEN = CompetitionState.REGISTRATION_OPEN.value
REGISTRATION_CLOSED = CompetitionState.REGISTRATION_CLOSED.value

REGISTERED = RegistrationState.REGISTERED.value
APPROVED = RegistrationState.APPROVED.value
REJECTED = RegistrationState.REJECTED.value
WITHDRAWN = RegistrationState.WITHDRAWN.value
ENTRY_STATUSES = tuple(s.value for s in RegistrationState)
COUNTED = (REGISTERED, APPROVED)  # entries that use up a quota place

# The competition states in which each registration event may happen (the entry's own status follows
# the engine's REGISTRATION_TRANSITIONS table).
EVENT_PHASES: dict[str, frozenset[str]] = {
    "register": frozenset({REGISTRATION_OPEN}),
    "approve": frozenset({REGISTRATION_OPEN, REGISTRATION_CLOSED}),
    "reject": frozenset({REGISTRATION_OPEN, REGISTRATION_CLOSED}),
    "withdraw": frozenset({REGISTRATION_OPEN, REGISTRATION_CLOSED}),
    "draw": frozenset({REGISTRATION_CLOSED}),
}


def entry_transition(status: str, event: str) -> str | None:
    """The status after ``event`` by the engine's registration state table, or None if not allowed."""
    try:
        return registration_transition(status, event).value
    except DomainRuleError:
        return None


def quota_problem(max_entries: int | None, used: int, requested: int) -> bool:
    """True when registering ``requested`` more entries would exceed the quota (None: no quota)."""
    return max_entries is not None and requested > 0 and used + requested > max_entries


# --- messages ------------------------------------------------------------------------------------------

STATUS_LABELS = {
    REGISTERED: _l("Registered"),
    APPROVED: _l("Approved"),
    REJECTED: _l("Rejected"),
    WITHDRAWN: _l("Withdrawn"),
}

ITEM_MESSAGES = {
    "not_found": _l("No such worker in your enterprises."),
    "inactive": _l("This worker is no longer active."),
    "already_registered": _l("This worker is already registered for this competition."),
    "rejected": _l("This worker's registration was rejected; ask the organizer."),
    "withdrawn": _l("This worker was withdrawn from this competition and cannot be registered again."),
    "duplicate": _l("This worker is listed more than once."),
    "name_mismatch": _l("The name does not match the worker with this ID number."),
}
# Per-item error codes and the status the whole request gets when one of them occurs (most severe first).
_ITEM_STATUS = (("not_found", 404), ("already_registered", 409), ("rejected", 409), ("withdrawn", 409))

PHASE_MESSAGES = {
    "register": _l("Registration for this competition is not open."),
    "approve": _l("Entries can be decided only while registration is open or just closed."),
    "reject": _l("Entries can be decided only while registration is open or just closed."),
    "withdraw": _l("Entries can no longer be withdrawn: the competition has started."),
    "draw": _l("The draw takes place after registration has closed and before the competition starts."),
}
TRANSITION_MESSAGES = {
    "approve": _l("Only registered entries can be approved."),
    "reject": _l("Only registered entries can be rejected."),
    "withdraw": _l("Only registered or approved entries can be withdrawn."),
}


def _phase(competition: Competition, event: str) -> None:
    if competition.status not in EVENT_PHASES[event]:
        raise Conflict(PHASE_MESSAGES[event], code="wrong_phase",
                       details={"status": competition.status, "event": event})


# --- scope ---------------------------------------------------------------------------------------------


def _hr_ids(actor) -> set[int]:
    ids = set(actor.hr_enterprise_ids)
    if not ids:
        raise PermissionDenied()
    return ids


def can_see_entry(actor, entry: Entry) -> bool:
    return is_organizer(actor) or entry.enterprise_id in actor.hr_enterprise_ids


def _require_viewer(actor) -> None:
    if not is_organizer(actor) and not actor.hr_enterprise_ids:
        raise PermissionDenied()


def get_entry(actor, competition_id: int, entry_id: int, *, for_update: bool = False) -> Entry:
    """An entry the actor may see (organizer: any; HR: its enterprises'); anything else is NotFound."""
    _require_viewer(actor)
    stmt = select(Entry).where(Entry.id == entry_id, Entry.competition_id == competition_id)
    if for_update:
        stmt = stmt.with_for_update(of=Entry)
    entry = db.session.execute(stmt).unique().scalar_one_or_none()
    if entry is None or not can_see_entry(actor, entry):
        raise NotFound(_l("No such entry."))
    return entry


def shows_codes(actor, competition: Competition) -> bool:
    """Organizers see entrant codes; HR only once the organizer has decoded the competition."""
    return is_organizer(actor) or competition.is_decoded


def list_entries(actor, competition_id: int, *, status: str | None = None, enterprise_id: int | None = None,
                 page: int = 1, per_page: int = 50):
    """Entries by registration order (organizer: all, with names; HR: its enterprises' only)."""
    _require_viewer(actor)
    competition = get_competition(competition_id)
    stmt = select(Entry).where(Entry.competition_id == competition.id)
    if not is_organizer(actor):
        ids = set(actor.hr_enterprise_ids)
        if enterprise_id is not None and enterprise_id not in ids:
            raise NotFound()
        stmt = stmt.where(Entry.enterprise_id.in_(ids))
    if enterprise_id is not None:
        stmt = stmt.where(Entry.enterprise_id == enterprise_id)
    if status:
        stmt = stmt.where(Entry.status == status)
    return competition, db.paginate(stmt.order_by(Entry.id), page=page, per_page=per_page, error_out=False)


# --- quotas --------------------------------------------------------------------------------------------


def _used(competition_id: int, enterprise_ids: Iterable[int]) -> dict[int, int]:
    ids = list(enterprise_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Entry.enterprise_id, func.count()).where(
            Entry.competition_id == competition_id, Entry.enterprise_id.in_(ids), Entry.status.in_(COUNTED)
        ).group_by(Entry.enterprise_id)
    ).all()
    return {ent: n for ent, n in rows}


def _quotas(competition_id: int, enterprise_ids: Iterable[int] | None = None) -> dict[int, int]:
    stmt = select(EnterpriseQuota.enterprise_id, EnterpriseQuota.max_entries).where(
        EnterpriseQuota.competition_id == competition_id)
    if enterprise_ids is not None:
        stmt = stmt.where(EnterpriseQuota.enterprise_id.in_(list(enterprise_ids)))
    return dict(db.session.execute(stmt).all())


@dataclass
class QuotaLine:
    enterprise_id: int
    enterprise_name: str
    max_entries: int | None
    used: int


def list_quotas(actor, competition_id: int) -> list[QuotaLine]:
    """Organizer: every quota; HR: the quotas (or none) of its own enterprises, with places used."""
    _require_viewer(actor)
    competition = get_competition(competition_id)
    quotas = _quotas(competition.id)
    if is_organizer(actor):
        ids = set(quotas)
    else:
        ids = set(actor.hr_enterprise_ids)
        quotas = {k: v for k, v in quotas.items() if k in ids}
    used = _used(competition.id, ids)
    names = dict(db.session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids))).all())
    return [QuotaLine(e, names.get(e, ""), quotas.get(e), used.get(e, 0))
            for e in sorted(ids, key=lambda e: (names.get(e, ""), e))]


def set_quotas(actor, competition_id: int, quotas: Sequence[dict[str, Any]]) -> list[QuotaLine]:
    """Replace the competition's quotas with ``quotas`` ([{enterprise_id, max_entries}]); all or nothing.

    A quota below the places already used is allowed (it only stops further registrations).
    """
    require_organizer(actor)
    competition = get_competition(competition_id, for_update=True)
    wanted: dict[int, int] = {}
    errors: dict[str, list[str]] = {}
    for i, q in enumerate(quotas):
        ent = q["enterprise_id"]
        if ent in wanted:
            errors[str(i)] = [_("This enterprise is listed more than once.")]
        wanted[ent] = q["max_entries"]
    known = set(db.session.scalars(select(Enterprise.id).where(Enterprise.id.in_(list(wanted)))))
    for i, q in enumerate(quotas):
        if q["enterprise_id"] not in known:
            errors.setdefault(str(i), []).append(_("No such enterprise."))
    if errors:
        raise DomainError(_l("Please correct the marked quotas."), code="validation_error", status=422,
                          details={"quotas": errors})
    existing = {q.enterprise_id: q for q in db.session.scalars(
        select(EnterpriseQuota).where(EnterpriseQuota.competition_id == competition.id))}
    for ent, quota in existing.items():
        if ent not in wanted:
            db.session.delete(quota)
    for ent, max_entries in wanted.items():
        if ent in existing:
            existing[ent].max_entries = max_entries
        else:
            db.session.add(EnterpriseQuota(competition_id=competition.id, enterprise_id=ent, max_entries=max_entries))
    db.session.flush()
    record("competition_quotas_set", competition, {"quotas": {str(k): v for k, v in sorted(wanted.items())}},
           stream=audit_stream(competition.id))
    return list_quotas(actor, competition.id)


def _check_quotas(competition_id: int, new_by_enterprise: Counter) -> list[dict[str, Any]]:
    """Problems ([{enterprise_id, max_entries, used, requested}]) if the new entries would exceed a quota."""
    quotas = _quotas(competition_id, new_by_enterprise)
    if not quotas:
        return []
    used = _used(competition_id, quotas)
    return [{"enterprise_id": ent, "max_entries": quotas[ent], "used": used.get(ent, 0), "requested": n}
            for ent, n in sorted(new_by_enterprise.items())
            if quota_problem(quotas.get(ent), used.get(ent, 0), n)]


def _quota_message(problem: dict[str, Any]) -> str:
    return _("The quota of %(max)d entries for this enterprise would be exceeded (%(used)d used, %(requested)d more "
             "requested).", max=problem["max_entries"], used=problem["used"], requested=problem["requested"])


# --- registering ---------------------------------------------------------------------------------------


class RegistrationRefused(DomainError):
    """At least one worker cannot be registered; ``details`` lists every problem, nothing was written."""

    status = 422
    code = "registration_refused"


@dataclass
class _Plan:
    """What registering a list of workers would do: the workers to enter, or per-item errors."""

    workers: list[Worker] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"index", "worker_id", "code"}


def _plan(actor, competition: Competition, worker_ids: Sequence[int]) -> _Plan:
    hr_ids = _hr_ids(actor)
    plan = _Plan()
    workers = {w.id: w for w in db.session.scalars(
        select(Worker).where(Worker.id.in_(set(worker_ids)), Worker.enterprise_id.in_(hr_ids)))}
    existing = {e.worker_id: e for e in db.session.scalars(
        select(Entry).where(Entry.competition_id == competition.id, Entry.worker_id.in_(list(workers))))}
    seen: set[int] = set()
    for i, wid in enumerate(worker_ids):
        worker = workers.get(wid)
        code = None
        if worker is None:
            code = "not_found"
        elif wid in seen:
            code = "duplicate"
        elif not worker.is_active:
            code = "inactive"
        elif wid in existing:
            code = {WITHDRAWN: "withdrawn", REJECTED: "rejected"}.get(existing[wid].status, "already_registered")
        seen.add(wid)
        if code is not None:
            plan.errors.append({"index": i, "worker_id": wid, "code": code})
        else:
            plan.workers.append(worker)
    return plan


def _item_status(codes: Iterable[str]) -> int:
    codes = set(codes)
    for code, status in _ITEM_STATUS:
        if code in codes:
            return status
    return 422


def _write(actor, competition: Competition, plan: _Plan, *, source: str) -> list[Entry]:
    """Quota check, then insert the new entries (the competition row is locked)."""
    new_by_ent = Counter(w.enterprise_id for w in plan.workers)
    problems = _check_quotas(competition.id, new_by_ent)
    if problems:
        raise Conflict(_quota_message(problems[0]), code="quota_exceeded", details={"quotas": problems})
    now = utcnow()
    entries = [Entry(competition_id=competition.id, worker_id=w.id, enterprise_id=w.enterprise_id, status=REGISTERED,
                     registered_by_id=actor.id, registered_at=now) for w in plan.workers]
    db.session.add_all(entries)
    try:
        db.session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same worker got there first
        raise Conflict(ITEM_MESSAGES["already_registered"], code="already_registered") from exc
    record("competition_entries_registered", competition, {
        "source": source, "entry_ids": sorted(e.id for e in entries), "worker_ids": sorted(e.worker_id for e in entries),
    }, stream=audit_stream(competition.id))
    return sorted(entries, key=lambda e: e.id)


def register_workers(actor, competition_id: int, worker_ids: Sequence[int]) -> list[Entry]:
    """Register the workers (all or none). Another enterprise's worker is reported as not found (404),
    one already registered as 409, an exceeded quota as 409 ``quota_exceeded``; ``details.items`` lists
    every refused worker id with its code and message."""
    _hr_ids(actor)
    competition = get_competition(competition_id, for_update=True)
    _phase(competition, "register")
    if not worker_ids:
        raise DomainError(_l("Choose at least one worker."), code="validation_error", status=422,
                          details={"worker_ids": [str(_l("Choose at least one worker."))]})
    plan = _plan(actor, competition, worker_ids)
    if plan.errors:
        items = [{**e, "message": str(ITEM_MESSAGES[e["code"]])} for e in plan.errors]
        raise RegistrationRefused(_l("No worker was registered: please correct the listed workers."),
                                  status=_item_status(e["code"] for e in plan.errors), details={"items": items})
    return _write(actor, competition, plan, source="list")


def withdraw_entry(actor, competition_id: int, entry_id: int) -> Entry:
    """HR (of the entry's enterprise) or the organizer withdraws an entry until the competition runs."""
    competition = get_competition(competition_id, for_update=True)
    entry = get_entry(actor, competition.id, entry_id, for_update=True)
    _phase(competition, "withdraw")
    _move(entry, "withdraw")
    db.session.flush()
    record("competition_entry_withdrawn", entry, {"competition_id": competition.id}, stream=audit_stream(competition.id))
    return entry


def _move(entry: Entry, event: str) -> None:
    to = entry_transition(entry.status, event)
    if to is None:
        raise Conflict(TRANSITION_MESSAGES[event], code="wrong_entry_status", details={"status": entry.status})
    entry.status = to


def _codes_drawn(competition_id: int) -> bool:
    return db.session.scalar(
        select(func.count()).select_from(Entry).where(Entry.competition_id == competition_id, Entry.code.is_not(None))
    ) > 0


def decide_entries(actor, competition_id: int, entry_ids: Sequence[int], decision: str, reason: str = "") -> list[Entry]:
    """Approve or reject entries (all or none). Approving after the draw is refused: that entry would
    have no code (redraw first)."""
    require_organizer(actor)
    if decision not in ("approve", "reject"):
        raise DomainError(code="validation_error", status=422, details={"decision": ["approve | reject"]})
    competition = get_competition(competition_id, for_update=True)
    _phase(competition, decision)
    ids = list(dict.fromkeys(entry_ids))
    entries = {e.id: e for e in db.session.scalars(
        select(Entry).where(Entry.competition_id == competition.id, Entry.id.in_(ids)))}
    missing = [i for i in ids if i not in entries]
    if missing:
        raise NotFound(_l("No such entry."), details={"entry_ids": missing})
    if decision == "approve" and _codes_drawn(competition.id):
        raise Conflict(_l("Codes have been drawn already: redraw to include newly approved entries."),
                       code="codes_drawn")
    wrong = [i for i in ids if entry_transition(entries[i].status, decision) is None]
    if wrong:
        raise Conflict(TRANSITION_MESSAGES[decision], code="wrong_entry_status",
                       details={"entry_ids": wrong, "statuses": {str(i): entries[i].status for i in wrong}})
    now = utcnow()
    for i in ids:
        entry = entries[i]
        _move(entry, decision)
        entry.decided_at, entry.decided_by_id = now, actor.id
    db.session.flush()
    record(f"competition_entries_{'approved' if decision == 'approve' else 'rejected'}", competition,
           {"entry_ids": ids, "reason": reason}, stream=audit_stream(competition.id))
    return [entries[i] for i in ids]


# --- registering from a file --------------------------------------------------------------------------------

FILE_COLUMNS = ("name", "id_type", "id_number")
REGISTRATION_MAX_ROWS = 5000


class RegistrationFileInvalid(DomainError):
    """The file cannot be read at all (nothing was stored)."""

    status = 400
    code = "registration_file_invalid"


@dataclass
class FileResult:
    """The outcome of a registration file: the matched rows and every error, and the entries if written."""

    dry_run: bool
    row_count: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)  # {"row", "worker_id", "name"}
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"row", "column", "code", "message"}
    entries: list[Entry] = field(default_factory=list)
    table: tabular.Table | None = field(default=None, repr=False)  # the file as read (for the file with errors)

    @property
    def valid_count(self) -> int:
        bad = {e["row"] for e in self.errors if e["row"] is not None}
        return sum(1 for r in self.rows if r["row"] not in bad)


# The file's columns: the worker import's spellings of 姓名, 证件类型 and 证件号码; 证件号码 is required.
LAYOUT = tabular.Layout((import_domain.COLUMNS["name"], import_domain.COLUMNS["id_type"], import_domain.COLUMNS["id_number"]),
                        required=(("id_number",),))
FILE_COLUMN_LABELS = {"name": COLUMN_LABELS["name"], "id_type": COLUMN_LABELS["id_type"],
                      "id_number": COLUMN_LABELS["id_number"], "": _l("Whole file")}


def read_registration_file(filename: str, data: bytes, max_rows: int = REGISTRATION_MAX_ROWS,
                           max_bytes: int | None = tabular.MAX_BYTES) -> tuple[tabular.Table, list[tuple[int, list[str]]]]:
    """The file read by ``app.tabular`` (format, encodings, header aliases, duplicate columns, limits, blank rows)
    with this file's columns, and its rows: (row number, [name, id type text, id number text]).

    Raises ``app.tabular.FileError``. The table keeps the rows as uploaded, for the file with an error column.
    """
    table = tabular.read_table(filename, data, LAYOUT, max_rows=max_rows, max_bytes=max_bytes, keep_source=True)
    return table, list(table.rows)


def _file_error(row: int | None, column: str, code: str, message: str | None = None) -> dict[str, Any]:
    if message is None:
        message = str(ITEM_MESSAGES[code]) if code in ITEM_MESSAGES else row_message({"column": column, "code": code})
    return tabular.row_error(row, column, code, message)


def register_from_file(actor, competition_id: int, filename: str, data: bytes, *, dry_run: bool) -> FileResult:
    """Register the workers listed in a file, matched by ID number among the actor's enterprises.

    ``dry_run``: return the preview (matched rows, per-row errors) and write nothing. Otherwise write
    every row or — when any row has an error — nothing, raising ``RegistrationRefused`` with the
    per-row errors in ``details.errors``.
    """
    hr_ids = _hr_ids(actor)
    competition = get_competition(competition_id, for_update=not dry_run)
    _phase(competition, "register")
    filename = os.path.basename((filename or "").replace("\\", "/"))[:255] or "upload"
    if not data:
        raise RegistrationFileInvalid(file_message("empty", {}), code="import_empty")
    try:
        table, rows = read_registration_file(filename, data, current_app.config.get("REGISTRATION_MAX_ROWS",
                                                                                     REGISTRATION_MAX_ROWS),
                                             current_app.config.get("MAX_CONTENT_LENGTH"))
    except tabular.FileError as exc:
        raise RegistrationFileInvalid(file_message(exc.code, exc.params), code=f"import_{exc.code}",
                                      details=tabular.error_details(exc)) from None
    if not rows:
        raise RegistrationFileInvalid(file_message("no_rows", {}), code="import_no_rows")

    result = FileResult(dry_run=dry_run, row_count=len(rows), table=table)
    cipher = id_cipher()
    hashed: list[tuple[int, str, str]] = []  # (row, name, hash)
    for number, (name, id_type_text, id_text) in rows:
        id_type = import_domain.ID_TYPES.get(id_type_text) if id_type_text else "resident"
        if id_type is None:
            id_type = import_domain.ID_TYPES.get(" ".join(id_type_text.lower().replace("_", " ").split()))
        if id_type is None:
            result.errors.append(_file_error(number, "id_type", "unknown"))
            continue
        if id_text == tabular.LOST_DIGITS:
            result.errors.append(_file_error(number, "id_number", "as_number"))
            continue
        if not id_text or tabular.looks_like_formula(id_text):
            result.errors.append(_file_error(number, "id_number", "missing" if not id_text else "format"))
            continue
        id_number = import_domain.normalize_id_text(id_text)
        if id_type == "resident":
            problem = import_domain.resident_id_problem(id_number, utcnow().strftime("%Y%m%d"), {})
        else:
            problem = validate_other_id(id_number)
        if problem:
            result.errors.append(_file_error(number, "id_number", problem))
            continue
        hashed.append((number, " ".join(name.split()), cipher.hash(id_type, id_number)))

    workers = {w.id_hash: w for w in db.session.scalars(
        select(Worker).where(Worker.id_hash.in_([h for _n, _name, h in hashed]), Worker.enterprise_id.in_(hr_ids)))}
    first_row: dict[str, int] = {}
    matched: list[tuple[int, Worker]] = []
    for number, name, h in hashed:
        worker = workers.get(h)
        if h in first_row:
            result.errors.append(_file_error(number, "id_number", "duplicate", row_message(
                {"column": "id_number", "code": "duplicate", "first_row": first_row[h]})))
            continue
        first_row[h] = number
        if worker is None:
            result.errors.append(_file_error(number, "id_number", "not_found"))
            continue
        if name and name != worker.name:
            result.errors.append(_file_error(number, "name", "name_mismatch"))
        result.rows.append({"row": number, "worker_id": worker.id, "name": worker.name})
        matched.append((number, worker))

    plan = _plan(actor, competition, [w.id for _n, w in matched])
    for err in plan.errors:
        result.errors.append(_file_error(matched[err["index"]][0], "id_number", err["code"]))
    if not result.errors:
        new_by_ent = Counter(w.enterprise_id for w in plan.workers)
        for problem in _check_quotas(competition.id, new_by_ent):
            result.errors.append(_file_error(None, "", "quota_exceeded", _quota_message(problem)))
    result.errors.sort(key=lambda e: (e["row"] is not None, e["row"] or 0))
    if dry_run:
        return result
    if result.errors:
        raise RegistrationRefused(_l("No worker was registered: please correct the listed rows and upload the file "
                                     "again."), details={"errors": result.errors, "row_count": result.row_count})
    result.entries = _write(actor, competition, plan, source="file")
    return result


def file_errors(actor, competition_id: int, filename: str, data: bytes, fmt: str) -> tuple[bytes, str, str]:
    """(content, mimetype, filename) of a checked file's errors, from a fresh dry run (nothing is stored between
    preview and confirmation): ``csv``/``xlsx`` list them (row, column, error); ``fix`` is the uploaded file itself
    with an error column (XLSX), to correct and upload again."""
    result = register_from_file(actor, competition_id, filename, data, dry_run=True)
    stem = f"registration-errors-{competition_id}"
    if fmt == "fix":
        return tabular.fix_file(result.table, result.errors), tabular.XLSX_MIMETYPE, stem + ".xlsx"
    lines = [[e["row"] if e["row"] is not None else "", str(FILE_COLUMN_LABELS.get(e["column"], e["column"])),
              e["message"]] for e in result.errors]
    return tabular.error_list([_("Row"), _("Column"), _("Error")], lines, fmt=fmt, stem=stem)


# --- the draw (抽签) -----------------------------------------------------------------------------------


def code_width(count: int) -> int:
    """Digits of an entrant code: 3 (001 …), more only when there are more than 999 entries."""
    return max(3, len(str(count)))


def module_prefix(index: int) -> str:
    """A, B, … Z, AA, AB …: the letter of a module's second codes, so they never look like entry codes."""
    letters = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


@dataclass
class DrawResult:
    competition: Competition
    drawn: int
    module_codes: int
    redraw: bool


def draw(actor, competition_id: int, *, redraw: bool = False, rng: random.Random | None = None) -> DrawResult:
    """Give every approved entry a random unique entrant code (and a code per module when the
    competition uses second codes). Refused (409) once codes exist, unless ``redraw`` and no mark has
    been entered yet; then every code is drawn anew. ``rng`` is for tests; the default is
    ``secrets.SystemRandom()``."""
    require_organizer(actor)
    competition = get_competition(competition_id, for_update=True)
    _phase(competition, "draw")
    rng = rng or secrets.SystemRandom()
    already = _codes_drawn(competition.id)
    if already and not redraw:
        raise Conflict(_l("Codes have been drawn already."), code="already_drawn")
    if already:
        marked = db.session.scalar(select(func.count()).select_from(Mark).join(Entry, Entry.id == Mark.entry_id)
                                   .where(Entry.competition_id == competition.id))
        if marked:
            raise Conflict(_l("Marks have been entered: the codes can no longer be drawn again."), code="marks_exist")
    undecided = db.session.scalar(select(func.count()).select_from(Entry).where(
        Entry.competition_id == competition.id, Entry.status == REGISTERED))
    if undecided:
        raise Conflict(_l("Approve or reject every registered entry before the draw."), code="undecided_entries",
                       details={"undecided": undecided})
    entry_ids = list(db.session.scalars(select(Entry.id).where(
        Entry.competition_id == competition.id, Entry.status == APPROVED).order_by(Entry.id)))
    if not entry_ids:
        raise Conflict(_l("There is no approved entry to draw codes for."), code="nothing_to_draw")

    # clear old codes first: the unique (competition, code) constraint must not see old and new at once
    db.session.execute(update(Entry).where(Entry.competition_id == competition.id).values(code=None)
                       .execution_options(synchronize_session="fetch"))
    module_ids = list(db.session.scalars(select(Module.id).where(Module.competition_id == competition.id)))
    if module_ids:
        db.session.execute(ModuleCode.__table__.delete().where(ModuleCode.module_id.in_(module_ids)))
    db.session.flush()

    width = code_width(len(entry_ids))
    codes = draw_codes(entry_ids, rng, width=width)
    for entry in db.session.scalars(select(Entry).where(Entry.id.in_(entry_ids))).unique():
        entry.code = codes[entry.id]
    module_count = 0
    if competition.uses_module_codes:
        module_ids = list(db.session.scalars(select(Module.id).where(Module.competition_id == competition.id)
                                             .order_by(Module.position, Module.id)))
        prefixes = {m: module_prefix(i) for i, m in enumerate(module_ids)}
        for module_id, by_entry in draw_module_codes(entry_ids, module_ids, rng, prefixes, width).items():
            db.session.add_all(ModuleCode(entry_id=e, module_id=module_id, code=c) for e, c in by_entry.items())
            module_count += len(by_entry)
    db.session.flush()
    record("competition_codes_redrawn" if already else "competition_codes_drawn", competition,
           {"entries": len(entry_ids), "module_codes": module_count}, stream=audit_stream(competition.id))
    return DrawResult(competition, len(entry_ids), module_count, already)
