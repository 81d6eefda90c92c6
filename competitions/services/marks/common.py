"""What every use case of the marks area shares: phases and statuses, the per-item problems with their HTTP
statuses and messages, the loaders of modules, aspects and codes, and ``store_revision``, the one place a mark is
written (judges' own marks, paper marks and the chief judge's corrections alike)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.models import User
from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from competitions.domain import AspectSpec, CompetitionState, MarkProblem
from competitions.domain.marks import text_of
from competitions.models import Aspect, Competition, Criterion, Entry, Mark, Module, ModuleCode, Panel
from competitions.services import judging
from competitions.services.common import audit_stream, is_organizer

RUNNING = CompetitionState.RUNNING.value
# After the lock the chief judge may still correct a mark (an appeal, a correction that is then published).
CORRECTION_PHASES = frozenset({RUNNING, CompetitionState.SCORING_CLOSED.value, CompetitionState.PUBLISHED.value})
APPROVED = "approved"

MAX_BATCH = 500
MAX_KEY_LENGTH = 64


def check_batch_size(size: int) -> None:
    """A batch holds 1 to ``MAX_BATCH`` marks. The API's schemas ask this before reading a single item (a batch of
    100,000 is refused at once), ``submit_marks`` again for any other caller."""
    if size < 1:
        raise DomainError(_l("Send at least one mark."), code="invalid_marks", status=422, details={"items": []})
    if size > MAX_BATCH:
        raise DomainError(_l("Send at most %(n)d marks at once.", n=MAX_BATCH), code="invalid_marks", status=422,
                          details={"items": []})

REMARK = "remark"
ACCEPTED = "accepted"
DECISIONS = (REMARK, ACCEPTED)
OPEN = "open"  # a flagged divergence without a (still valid) decision

STORED, DUPLICATE, UNCHANGED = "stored", "duplicate", "unchanged"

signals = Namespace()
# Sent by ``store_revision`` for every stored revision (sender: the competition's id; ``session``: the session whose
# transaction holds it). The live board listens, to rebuild that competition's board once the transaction commits.
mark_stored = signals.signal("mark-stored")

PROBLEM_MESSAGES = {
    MarkProblem.NOT_DECIMAL: _l("The mark must be a number."),
    MarkProblem.NOT_FINITE: _l("The mark must be a finite number."),
    MarkProblem.BELOW_MIN: _l("The mark is below the lowest mark of the scale (%(min)s)."),
    MarkProblem.ABOVE_MAX: _l("The mark is above the highest mark of the scale (%(max)s)."),
    MarkProblem.OFF_STEP: _l("The mark must be on the scale's steps of %(step)s from %(min)s."),
}

# Item problems: code → (HTTP status, message). The batch answers with the most serious status present.
ITEM_PROBLEMS: dict[str, tuple[int, Any]] = {
    "not_on_panel": (403, _l("You are not on the panel of this module.")),
    "not_clerk": (403, _l("Only the organizers and the module's chief judge may enter paper score sheets.")),
    "not_assigned": (404, _l("This entrant code is not assigned to you.")),
    "unknown_code": (404, _l("No such entrant code in this module.")),
    "not_running": (409, _l("Marks can only be entered while the competition is running.")),
    "module_locked": (409, _l("The module is locked; only the chief judge can change a mark, with a reason.")),
    "key_reused": (409, _l("This idempotency key was already used for another mark.")),
    "aspect_full": (409, _l("Other judges have already given every mark this aspect needs for this entrant.")),
    "unknown_aspect": (422, _l("No such aspect in this competition.")),
    "judge_not_on_panel": (422, _l("This judge is not on the panel of this module.")),
    "judge_conflicted": (422, _l("This judge may not mark this entrant (conflict of interest).")),
    "invalid_key": (422, _l("Give an idempotency key of 1 to 64 characters.")),
}
STATUS_ORDER = (403, 404, 409, 422)


def problem_message(problem: MarkProblem, spec: AspectSpec | None) -> str:
    values = {"min": "", "max": "", "step": ""}
    if spec is not None:
        values = {"min": text_of(spec.scale_min), "max": text_of(spec.scale_max), "step": text_of(spec.scale_step)}
    return str(PROBLEM_MESSAGES[problem]) % values


def item_error(index: int, code: str, *, field_name: str | None = None, message: str | None = None) -> dict[str, Any]:
    status, default = ITEM_PROBLEMS.get(code, (422, ""))
    out = {"index": index, "code": code, "message": message or str(default), "status": status}
    if field_name:
        out["field"] = field_name
    return out


def raise_item_errors(errors: list[dict[str, Any]]) -> None:
    """One DomainError for a batch: the most serious status present, every problem listed by index."""
    statuses = {e["status"] for e in errors}
    status = next(s for s in STATUS_ORDER if s in statuses)
    first = next(e for e in errors if e["status"] == status)
    message = _l("No mark was stored. Marks that cannot be accepted: %(count)d.", count=len({e["index"] for e in errors}))
    raise DomainError(message, code=first["code"] if status != 422 else "invalid_marks", status=status,
                      details={"items": errors})


def refuse(code: str, field_name: str) -> None:
    """A single-mark refusal (the chief judge's pages) in the shape of a form error."""
    message = ITEM_PROBLEMS[code][1]
    raise DomainError(message, code=code, status=422, details={field_name: [str(message)]})


# --- loading -----------------------------------------------------------------------------------------------


def aspects_of(competition_id: int, aspect_ids: Iterable[int]) -> dict[int, tuple[Aspect, Module]]:
    ids = {a for a in aspect_ids if isinstance(a, int)}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Aspect, Module).join(Criterion, Criterion.id == Aspect.criterion_id).join(Module, Module.id == Criterion.module_id)
        .where(Module.competition_id == competition_id, Aspect.id.in_(ids))
    ).all()
    return {a.id: (a, m) for a, m in rows}


def module_aspects(module_id: int) -> list[Aspect]:
    return list(db.session.scalars(
        select(Aspect).join(Criterion, Criterion.id == Aspect.criterion_id).where(Criterion.module_id == module_id)
        .order_by(Criterion.position, Aspect.position, Aspect.id)))


def get_module(competition_id: int, module_id: int) -> Module:
    module = db.session.get(Module, module_id)
    if module is None or module.competition_id != competition_id:
        raise NotFound(_l("No such module."))
    return module


def panel_members(module_id: int) -> tuple[Panel | None, list[int]]:
    panel = judging.get_panel(module_id)
    if panel is None:
        return None, []
    return panel, sorted(m.judge_id for m in panel.members)


def module_entry_codes(competition: Competition, module_id: int) -> dict[int, str]:
    """Entry id → the code of every approved, coded entry of the module (the module code with 二次加密)."""
    base = (Entry.competition_id == competition.id, Entry.status == APPROVED, Entry.code.is_not(None))
    if competition.uses_module_codes:
        stmt = (select(Entry.id, ModuleCode.code).join(ModuleCode, ModuleCode.entry_id == Entry.id)
                .where(ModuleCode.module_id == module_id, *base))
    else:
        stmt = select(Entry.id, Entry.code).where(*base)
    return dict(db.session.execute(stmt).all())


class StoredMark(NamedTuple):
    """A stored mark as its row reads (the columns of ``Mark``): what the marks area reads and writes through Core
    statements, without an ORM object per mark (judges send one per request, and each object's load or flush costs
    more than the statement)."""

    id: int
    entry_id: int
    aspect_id: int
    judge_id: int
    revision: int
    value: Decimal
    is_current: bool
    idempotency_key: str | None
    reason: str
    entered_by_id: int
    confirmed_by_id: int | None
    created_at: datetime


MARK = Mark.__table__
MARK_COLUMNS = tuple(MARK.c[name] for name in StoredMark._fields)


def stored_mark(row) -> StoredMark:
    return StoredMark._make(row)


@cache
def _current_mark_statement():
    return (select(*MARK_COLUMNS).where(MARK.c.entry_id == bindparam("entry"), MARK.c.aspect_id == bindparam("aspect"),
                                        MARK.c.judge_id == bindparam("judge"), MARK.c.is_current.is_(True))
            .order_by(MARK.c.revision.desc()).limit(1))


def current_mark(entry_id: int, aspect_id: int, judge_id: int) -> StoredMark | None:
    row = db.session.execute(_current_mark_statement(), {"entry": entry_id, "aspect": aspect_id, "judge": judge_id}
                             ).first()
    return None if row is None else stored_mark(row)


@cache
def _mark_by_key_statement():
    return select(*MARK_COLUMNS).where(MARK.c.idempotency_key == bindparam("key"))


def require_chief(actor, module_id: int, *, organizer_may: bool) -> None:
    if organizer_may and is_organizer(actor):
        return
    if not judging.is_chief_judge(actor.id, module_id):
        raise PermissionDenied(_l("Only the chief judge of this module may do this."))


# --- writing -----------------------------------------------------------------------------------------------


def lock_cells(cells: Iterable[tuple[int, int]]) -> None:
    """PostgreSQL: lock the (entry id, aspect id) cells a batch writes until the transaction ends (transaction-scoped
    advisory locks, two-key form: entry id, aspect id; in ascending order, so two batches never wait for each other
    in a circle). Judges' marks lock the competition row only against changes of its setup (``for_share``), so two
    judges marking the same entrant at once would otherwise both see a free place and fill one place too many
    (``aspect_full``). SQLite: nothing to do, its write transactions are one at a time."""
    ordered = sorted(set(cells))
    if not ordered or db.session.get_bind().dialect.name != "postgresql":
        return
    db.session.execute(text("SELECT pg_advisory_xact_lock(e, a) FROM unnest(CAST(:es AS int[]), CAST(:as_ AS int[])) "
                            "AS cell(e, a)"), {"es": [e for e, _a in ordered], "as_": [a for _e, a in ordered]})


@dataclass(frozen=True)
class Target:
    """One mark to write: which cell, by which judge, as which code was sent (the audit log names codes only)."""

    index: int
    code: str
    entry_id: int
    aspect_id: int
    judge_id: int


_UNLOADED: Any = object()


@cache
def _insert_statement(dialect: str):
    """INSERT of a new revision that skips, instead of failing, when a unique constraint holds (the idempotency key
    stored by another transaction, or the revision number taken): no SAVEPOINT, and the caller looks at what is
    there. Returns the new row's id (none when skipped)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(MARK).on_conflict_do_nothing().returning(MARK.c.id)


_RETIRE = update(MARK).where(MARK.c.id == bindparam("mark_id")).values(is_current=False)


def store_revision(competition: Competition, target: Target, value, *, actor: User, confirmed_by: int | None,
                   key: str | None, reason: str, action: str | None = None, current: StoredMark | None = _UNLOADED
                   ) -> tuple[str, StoredMark]:
    """Write one mark as a new revision (or nothing when unchanged), race-safe through the unique constraints.

    The new revision is inserted with ``ON CONFLICT DO NOTHING``; only then the previous one loses ``is_current``.
    A skipped insert means another transaction stored the same key (→ the stored mark, or 409 for another target or
    value) or the same revision (→ read the new current mark and try again); nothing was written. Every stored
    revision is audited with the entry's code and announced (``mark_stored``). ``current``: the judge's current mark
    of the cell, when the caller has it already. Core statements, not ORM objects: an ORM ``Mark`` of this cell
    loaded earlier in the transaction would not see the change."""
    session = db.session()
    for attempt in range(5):
        if attempt or current is _UNLOADED:
            current = current_mark(target.entry_id, target.aspect_id, target.judge_id)
        if current is not None and current.value == value and (current.confirmed_by_id is not None
                                                              or confirmed_by is None):
            return UNCHANGED, current
        values = {"entry_id": target.entry_id, "aspect_id": target.aspect_id, "judge_id": target.judge_id,
                  "revision": (current.revision + 1) if current else 1, "value": value, "is_current": True,
                  "idempotency_key": key, "reason": reason, "entered_by_id": actor.id, "confirmed_by_id": confirmed_by,
                  "created_at": utcnow()}
        new_id = session.execute(_insert_statement(session.get_bind().dialect.name), values).scalar()
        if new_id is None:
            row = session.execute(_mark_by_key_statement(), {"key": key}).first() if key is not None else None
            if row is not None:
                stored = stored_mark(row)
                if same_mark(stored, target, value, actor.id):
                    return DUPLICATE, stored
                raise Conflict(ITEM_PROBLEMS["key_reused"][1], code="key_reused",
                               details={"items": [item_error(target.index, "key_reused", field_name="idempotency_key")]})
            continue
        if current is not None:
            session.execute(_RETIRE, {"mark_id": current.id})
        mark = StoredMark(id=new_id, **values)
        mark_stored.send(competition.id, session=session)
        record(action or ("mark_entered" if actor.id != target.judge_id else "mark_submitted"), details={
            "competition_id": competition.id, "code": target.code, "aspect_id": target.aspect_id,
            "judge_id": target.judge_id, "revision": mark.revision, "old": text_of(current.value) if current else None,
            "new": text_of(value), "confirmed": confirmed_by is not None, "reason": reason,
        }, actor=actor, target_type=Mark.__tablename__, target_id=mark.id,
           stream=audit_stream(competition.id, target.judge_id))
        return STORED, mark
    raise Conflict(_l("The mark changed at the same time elsewhere; please send it again."), code="retry")


def same_mark(stored: StoredMark, target: Target, value, actor_id: int) -> bool:
    """Whether a mark stored under a key is the one sent again with it (a retry)."""
    return (stored.judge_id == target.judge_id and stored.entered_by_id == actor_id and stored.entry_id == target.entry_id
            and stored.aspect_id == target.aspect_id and stored.value == value)
