"""Submitting marks: a judge's own batch (the judge page and the API), a clerk's paper score sheet (double entry),
and the confirmation of a paper mark by a different person.

Rules (docs/domain.md, "Marks"):

* **Never overwritten.** A change is a new ``Mark`` row (revision n+1); the previous row only gets
  ``is_current = False``. Every change is audited with the entry *code* (never a name), aspect, old → new.
* **Idempotent.** Each submitted mark carries a client-made ``idempotency_key`` (UNIQUE in the table). A key
  already stored returns the stored result and writes nothing; the same key for another target or value is a 409.
  Races are settled by the database (``store_revision``).
* **All or nothing.** A batch with any problem stores nothing and lists every problem by index.
* **What counts.** A mark counts when it is current *and* confirmed: a judge's own mark is confirmed by the judge,
  a mark a clerk typed in from a paper score sheet only after a *different* person confirms it.
* **Blind.** Judges name entries by code; conflicts of interest are checked again when each mark arrives and look
  exactly like an unknown code.

The one path: the view (HTML or API) → ``submit_marks`` → the competition row locked against changes of its setup
(``FOR SHARE`` on PostgreSQL, so that no mark slips in beside a module lock or a lifecycle step, which lock it
``FOR UPDATE``, while judges' marks go on side by side; SQLite's write transactions are ``BEGIN IMMEDIATE``, one at a
time) → the batch's cells locked (``lock_cells``) → every item checked (a fixed number of queries per batch) →
``store_revision`` per mark → the request's one commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, and_, bindparam, cast, distinct, exists, func, null, or_, select, union_all

from app.accounts.models import User
from app.audit.services import record
from app.db import db
from app.errors import Conflict, NotFound, PermissionDenied
from competitions.domain import AspectSpec, MarkProblem
from competitions.domain.marks import canonical, check_value, parse_value, text_of
from competitions.models import Aspect, Competition, Criterion, Entry, Mark, Module, Panel, PanelJudge
from competitions.services import judging
from competitions.services.common import audit_stream, get_competition, is_organizer
from competitions.services.marks.common import (
    DUPLICATE,
    ITEM_PROBLEMS,
    MARK,
    MARK_COLUMNS,
    MAX_KEY_LENGTH,
    RUNNING,
    UNCHANGED,
    StoredMark,
    Target,
    check_batch_size,
    current_mark,
    item_error,
    lock_cells,
    module_entry_codes,
    problem_message,
    raise_item_errors,
    same_mark,
    store_revision,
    stored_mark,
)
from competitions.services.specs import aspect_spec


@dataclass(frozen=True)
class MarkInput:
    code: str
    aspect_id: int
    value: Any  # str | Decimal | int as received; parsed by ``parse_value``
    idempotency_key: str


@dataclass(frozen=True)
class MarkResult:
    """What happened to one submitted mark, and the target's current mark afterwards."""

    index: int
    code: str
    aspect_id: int
    judge_id: int
    status: str  # stored | duplicate | unchanged
    mark_id: int | None
    revision: int | None
    value: Decimal | None
    confirmed: bool


@dataclass(frozen=True)
class _ModuleSeat:
    """A module of the batch, with the judge's seat on its panel and whether the actor is its chief judge."""

    id: int
    locked_at: datetime | None
    seated: bool
    chief: bool


@dataclass
class _Item:
    index: int
    data: MarkInput
    value: Decimal | None = None
    spec: AspectSpec | None = None
    module: _ModuleSeat | None = None
    entry_id: int | None = None
    duplicate_of: StoredMark | None = None
    earlier: int | None = None  # index of an earlier item of the batch with the same key

    def target(self, judge_id: int) -> Target:
        assert self.entry_id is not None and self.spec is not None
        return Target(self.index, self.data.code, self.entry_id, self.spec.id, judge_id)


def submit_marks(actor: User, competition_id: int, items: Sequence[MarkInput], *, judge_id: int | None = None
                 ) -> list[MarkResult]:
    """Store a batch of marks, all or nothing.

    Without ``judge_id`` the marks are the actor's own (the actor must be on each module's panel). With ``judge_id``
    the actor is a clerk typing in that judge's paper score sheet (organizer or the module's chief judge): the marks
    are stored unconfirmed until a different person confirms them. Any problem in any item → one DomainError listing
    every problem by index (``details.items``), nothing stored."""
    check_batch_size(len(items))
    competition = get_competition(competition_id, for_share=True)
    paper = judge_id is not None  # typed in by a clerk (who must be one), unconfirmed unless it is the clerk's own
    judge = actor.id if judge_id is None else judge_id
    work = [_Item(i, data) for i, data in enumerate(items)]
    currents, others = _check(actor, competition, work, judge, paper)
    confirmed_by = judge if judge == actor.id else None
    statuses: dict[int, str] = {}
    for w in work:
        cell = (w.entry_id, w.spec.id)
        if w.earlier is not None or w.duplicate_of is not None:
            statuses[w.index] = DUPLICATE
            continue
        status, mark = store_revision(competition, w.target(judge), w.value, actor=actor, confirmed_by=confirmed_by,
                                      key=w.data.idempotency_key, reason="", current=currents.get(cell))
        statuses[w.index] = status
        currents[cell] = mark if status != DUPLICATE else current_mark(w.entry_id, w.spec.id, judge)
    return [_result(w, judge, statuses[w.index], currents.get((w.entry_id, w.spec.id))) for w in work]


def _result(w: _Item, judge_id: int, status: str, current: StoredMark | None) -> MarkResult:
    return MarkResult(index=w.index, code=w.data.code, aspect_id=w.spec.id, judge_id=judge_id, status=status,
                      mark_id=current.id if current else None, revision=current.revision if current else None,
                      value=canonical(current.value) if current else None,
                      confirmed=bool(current and current.confirmed_by_id is not None))


def _check(actor: User, competition: Competition, work: list[_Item], judge_id: int, paper: bool
           ) -> tuple[dict[tuple[int, int], StoredMark], dict[tuple[int, int], int]]:
    """Every problem of every item (raised together), or the judge's current marks of the batch's cells and how many
    other judges have a current mark in each. Three queries whatever the size of the batch and however many conflict
    rules there are: the aspects with their modules and the judge's seats, the entries behind the codes with the
    judge's conflict with each (every rule of ``competitions.conflicts``, in the same statement), the stored keys and
    current marks."""
    errors: list[dict[str, Any]] = []
    aspects = _batch_aspects(competition.id, {w.data.aspect_id for w in work if isinstance(w.data.aspect_id, int)},
                             judge_id, actor.id)
    entries = judging.entries_for_codes(
        competition, {(aspects[w.data.aspect_id][1].id, w.data.code) for w in work
                      if w.data.aspect_id in aspects and isinstance(w.data.code, str)}, judge_id=judge_id)
    keys = {w.data.idempotency_key for w in work if isinstance(w.data.idempotency_key, str)}
    lock_cells((entries[(aspects[w.data.aspect_id][1].id, w.data.code)].id, w.data.aspect_id) for w in work
               if w.data.aspect_id in aspects and (aspects[w.data.aspect_id][1].id, w.data.code) in entries)
    by_key, currents, others = _stored(keys, {e.id for e in entries.values()}, set(aspects), judge_id)
    organizer: bool | None = None
    seen_keys: dict[str, _Item] = {}

    for w in work:
        d = w.data
        before = len(errors)
        parsed = parse_value(d.value)
        if isinstance(parsed, MarkProblem):
            errors.append(item_error(w.index, parsed.value, field_name="value", message=problem_message(parsed, None)))
        else:
            w.value = parsed
        if not isinstance(d.idempotency_key, str) or not 0 < len(d.idempotency_key) <= MAX_KEY_LENGTH:
            errors.append(item_error(w.index, "invalid_key", field_name="idempotency_key"))
        found = aspects.get(d.aspect_id)
        if found is None:
            errors.append(item_error(w.index, "unknown_aspect", field_name="aspect_id"))
        if len(errors) > before:
            continue
        w.spec, w.module = found
        entry = entries.get((w.module.id, d.code))
        if entry is None:
            errors.append(item_error(w.index, "not_assigned" if not paper else "unknown_code", field_name="code"))
            continue
        w.entry_id = entry.id

        # Idempotency: a key stored before (or earlier in this batch) is answered, never stored again.
        earlier = seen_keys.get(d.idempotency_key)
        if earlier is not None:
            if (earlier.entry_id, earlier.spec.id, earlier.value) != (w.entry_id, w.spec.id, w.value):
                errors.append(item_error(w.index, "key_reused", field_name="idempotency_key"))
            else:
                w.earlier = earlier.index
            continue
        seen_keys[d.idempotency_key] = w
        stored = by_key.get(d.idempotency_key)
        if stored is not None:
            if same_mark(stored, w.target(judge_id), w.value, actor.id):
                w.duplicate_of = stored
            else:
                errors.append(item_error(w.index, "key_reused", field_name="idempotency_key"))
            continue

        if competition.status != RUNNING:
            errors.append(item_error(w.index, "not_running"))
            continue
        if paper:
            if not w.module.chief:
                if organizer is None:
                    organizer = is_organizer(actor)
                if not organizer:
                    errors.append(item_error(w.index, "not_clerk"))
                    continue
            if not w.module.seated:
                errors.append(item_error(w.index, "judge_not_on_panel", field_name="judge_id"))
                continue
        elif not w.module.seated:
            errors.append(item_error(w.index, "not_on_panel"))
            continue
        if entry.conflict is not None:  # read with the entry, by every rule of competitions.conflicts
            # To a judge a conflicted entry looks exactly like a code that is not theirs.
            errors.append(item_error(w.index, "judge_conflicted" if paper else "not_assigned", field_name="code"))
            continue
        if w.module.locked_at is not None:
            errors.append(item_error(w.index, "module_locked"))
            continue
        problem = check_value(w.spec, w.value)
        if problem is not None:
            errors.append(item_error(w.index, problem.value, field_name="value", message=problem_message(problem, w.spec)))
        else:
            w.value = canonical(w.value)
    if errors:
        raise_item_errors(errors)

    # An aspect takes the marks of exactly ``judges_required`` judges per entrant (the engine refuses more): a judge
    # without a mark there yet may not add one once other judges have filled every place.
    for w in work:
        cell = (w.entry_id, w.spec.id)
        if (w.earlier is None and w.duplicate_of is None and cell not in currents
                and others.get(cell, 0) >= w.spec.judges_required):
            errors.append(item_error(w.index, "aspect_full", field_name="code"))
    if errors:
        raise_item_errors(errors)
    return currents, others


@cache
def _batch_aspects_statement():
    """The batch's aspects (``ids``) of the competition ``cid`` with their module, whether the judge ``judge`` is
    seated on its panel and whether the actor ``actor`` is its chief judge. Built once."""
    a, c, m = Aspect.__table__, Criterion.__table__, Module.__table__
    p, pj = Panel.__table__, PanelJudge.__table__
    seated = exists().where(p.c.module_id == m.c.id, pj.c.panel_id == p.c.id, pj.c.judge_id == bindparam("judge"))
    chief = exists().where(p.c.module_id == m.c.id, p.c.chief_judge_id == bindparam("actor"))
    return (select(a, m.c.id.label("module_id"), m.c.locked_at, seated.label("seated"), chief.label("chief"))
            .select_from(a.join(c, c.c.id == a.c.criterion_id).join(m, m.c.id == c.c.module_id))
            .where(m.c.competition_id == bindparam("cid"), a.c.id.in_(bindparam("ids", expanding=True))))


def _batch_aspects(competition_id: int, aspect_ids: set[int], judge_id: int, actor_id: int
                   ) -> dict[int, tuple[AspectSpec, _ModuleSeat]]:
    """Aspect id → (its spec, its module with the judge's seat and the actor's chief-judge role), for the batch's
    aspects of this competition. One query."""
    if not aspect_ids:
        return {}
    rows = db.session.execute(_batch_aspects_statement(), {"cid": competition_id, "ids": sorted(aspect_ids),
                                                           "judge": judge_id, "actor": actor_id})
    modules: dict[int, _ModuleSeat] = {}
    out = {}
    for row in rows:
        module = modules.setdefault(row.module_id, _ModuleSeat(row.module_id, row.locked_at, bool(row.seated),
                                                               bool(row.chief)))
        out[row.id] = (aspect_spec(row, row.module_id), module)
    return out


@cache
def _stored_statement(with_keys: bool, with_cells: bool):
    """The marks stored under the batch's keys and the judge's own current marks of its cells, whole; then one row
    per cell with how many other judges have a current mark there (``others``; the mark columns NULL): a panel of
    many judges would otherwise send every other judge's mark of each cell. One statement."""
    wanted = []
    if with_keys:
        wanted.append(MARK.c.idempotency_key.in_(bindparam("keys", expanding=True)))
    cells = and_(MARK.c.is_current.is_(True), MARK.c.entry_id.in_(bindparam("entries", expanding=True)),
                 MARK.c.aspect_id.in_(bindparam("aspects", expanding=True)))
    if with_cells:
        wanted.append(and_(cells, MARK.c.judge_id == bindparam("judge")))
    marks = select(*MARK_COLUMNS, cast(null(), Integer).label("others")).where(or_(*wanted))
    if not with_cells:
        return marks
    counted = {"entry_id": MARK.c.entry_id, "aspect_id": MARK.c.aspect_id}
    others = (select(*(counted.get(c.name, cast(null(), c.type)).label(c.name) for c in MARK_COLUMNS),
                     func.count(distinct(MARK.c.judge_id)).label("others"))
              .where(cells, MARK.c.judge_id != bindparam("judge")).group_by(MARK.c.entry_id, MARK.c.aspect_id))
    return union_all(marks, others)


def _stored(keys: set[str], entry_ids: set[int], aspect_ids: set[int], judge_id: int
            ) -> tuple[dict[str, StoredMark], dict[tuple[int, int], StoredMark], dict[tuple[int, int], int]]:
    """The stored marks with the batch's keys; the judge's current marks of the batch's entries × aspects, and how
    many other judges have a current mark in each, by (entry id, aspect id). One query."""
    with_cells = bool(entry_ids and aspect_ids)
    if not keys and not with_cells:
        return {}, {}, {}
    params: dict[str, Any] = {}
    if keys:
        params["keys"] = sorted(keys)
    if with_cells:
        params.update(entries=sorted(entry_ids), aspects=sorted(aspect_ids), judge=judge_id)
    by_key: dict[str, StoredMark] = {}
    mine: dict[tuple[int, int], StoredMark] = {}
    others: dict[tuple[int, int], int] = {}
    for *columns, count in db.session.execute(_stored_statement(bool(keys), with_cells), params):
        if count is not None:
            others[(columns[1], columns[2])] = count
            continue
        mark = stored_mark(columns)
        if mark.idempotency_key in keys:
            by_key[mark.idempotency_key] = mark
        cell = (mark.entry_id, mark.aspect_id)
        if (mark.is_current and mark.judge_id == judge_id and cell[0] in entry_ids and cell[1] in aspect_ids
                and (cell not in mine or mine[cell].revision < mark.revision)):
            mine[cell] = mark
    return by_key, mine, others


def confirm_mark(actor: User, competition_id: int, mark_id: int) -> Mark:
    """Double entry: a different person (an organizer, the module's chief judge or the judge whose mark it is)
    confirms a mark a clerk entered from a paper score sheet; only then it counts."""
    competition = get_competition(competition_id, for_update=True)
    row = db.session.execute(
        select(Mark, Module).join(Entry, Entry.id == Mark.entry_id).join(Aspect, Aspect.id == Mark.aspect_id)
        .join(Criterion, Criterion.id == Aspect.criterion_id).join(Module, Module.id == Criterion.module_id)
        .where(Mark.id == mark_id, Entry.competition_id == competition.id)).first()
    if row is None:
        raise NotFound(_l("No such mark."))
    mark, module = row
    allowed = is_organizer(actor) or judging.is_chief_judge(actor.id, module.id) or actor.id == mark.judge_id
    if not allowed:
        raise PermissionDenied(_l("Only an organizer, the chief judge or the judge may confirm a paper mark."))
    if mark.confirmed_by_id is not None:
        raise Conflict(_l("This mark is already confirmed."), code="already_confirmed")
    if not mark.is_current:
        raise Conflict(_l("This mark has been replaced by a later revision."), code="superseded")
    if mark.entered_by_id == actor.id:
        raise Conflict(_l("A different person must confirm the marks you entered."), code="same_person")
    if competition.status != RUNNING:
        raise Conflict(ITEM_PROBLEMS["not_running"][1], code="not_running")
    if module.locked_at is not None:
        raise Conflict(ITEM_PROBLEMS["module_locked"][1], code="module_locked")
    mark.confirmed_by_id = actor.id
    db.session.flush()
    codes = module_entry_codes(competition, module.id)
    record("mark_confirmed", mark, {"competition_id": competition.id, "code": codes.get(mark.entry_id),
                                    "aspect_id": mark.aspect_id, "judge_id": mark.judge_id, "revision": mark.revision,
                                    "value": text_of(mark.value), "entered_by_id": mark.entered_by_id},
           stream=audit_stream(competition.id, mark.judge_id))
    return mark


__all__ = ["UNCHANGED", "MarkInput", "MarkResult", "confirm_mark", "submit_marks"]
