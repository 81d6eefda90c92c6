"""The chief judge's side of the marks: the completeness matrix (entries by code × aspects × judges), divergence
decisions, the module lock (签字确认), corrections after the lock, and judge statistics.

A divergence is flagged by the engine (``competitions.domain.detect_divergences``) with each aspect's threshold as
stored (``competitions.services.specs``: none stored means never flagged). A decision holds until a counted mark of
the cell changes. The lock is refused while marks are missing or unconfirmed or divergences are open.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import User
from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound
from competitions.domain import Mark as EngineMark
from competitions.domain import MarkProblem, detect_divergences, judge_statistics
from competitions.domain.marks import canonical, check_value, parse_value, text_of
from competitions.models import Aspect, Competition, DivergenceReview, Entry, Mark, Module, Panel, ScoreSheet
from competitions.services import judging
from competitions.services.common import audit_stream, get_competition
from competitions.services.marks.common import (
    ACCEPTED,
    CORRECTION_PHASES,
    DECISIONS,
    ITEM_PROBLEMS,
    OPEN,
    RUNNING,
    Target,
    aspects_of,
    get_module,
    module_aspects,
    module_entry_codes,
    panel_members,
    problem_message,
    refuse,
    require_chief,
    store_revision,
)
from competitions.services.marks.submit import MarkResult
from competitions.services.specs import aspect_spec


@dataclass
class CellMark:
    judge_id: int
    mark_id: int
    revision: int
    value: Decimal
    entered_by_id: int


@dataclass
class Cell:
    aspect_id: int
    marks: list[CellMark] = field(default_factory=list)  # counted (current and confirmed), by judge
    unconfirmed: list[CellMark] = field(default_factory=list)  # clerk-entered, waiting for confirmation
    missing: int = 0
    pending_judges: list[int] = field(default_factory=list)  # eligible panel judges without a counted mark
    divergence: DivergenceState | None = None


@dataclass
class DivergenceState:
    spread: Fraction
    threshold: Decimal
    state: str  # open | remark | accepted
    reason: str = ""
    decided_by_id: int | None = None
    decided_at: datetime | None = None


@dataclass
class EntryRow:
    code: str
    entry_id: int  # for the services only; never rendered to judges
    cells: list[Cell]
    sheets: list[int]  # judges who handed in their score sheet


@dataclass
class ModuleState:
    competition: Competition
    module: Module
    panel: Panel | None
    judges: list[User]
    aspects: list[Aspect]
    entries: list[EntryRow]
    missing: int
    unconfirmed: int
    open_divergences: int

    @property
    def locked(self) -> bool:
        return self.module.locked_at is not None

    def lock_problems(self) -> dict[str, Any]:
        """Why the module cannot be locked yet (empty when it can)."""
        problems: dict[str, Any] = {}
        missing = [{"code": r.code, "aspect_id": c.aspect_id, "missing": c.missing, "pending_judge_ids": c.pending_judges}
                   for r in self.entries for c in r.cells if c.missing]
        unconfirmed = [{"code": r.code, "aspect_id": c.aspect_id, "mark_ids": [m.mark_id for m in c.unconfirmed]}
                       for r in self.entries for c in r.cells if c.unconfirmed]
        divergences = [{"code": r.code, "aspect_id": c.aspect_id, "state": c.divergence.state}
                       for r in self.entries for c in r.cells
                       if c.divergence is not None and c.divergence.state != ACCEPTED]
        if self.panel is None:
            problems["panel"] = "missing"
        if missing:
            problems["missing"] = missing
        if unconfirmed:
            problems["unconfirmed"] = unconfirmed
        if divergences:
            problems["divergences"] = divergences
        return problems


def _module_state(competition: Competition, module: Module) -> ModuleState:
    """Entries × aspects × judges of one module in a fixed number of queries (plus one per panel judge: the entries
    they may mark)."""
    panel, member_ids = panel_members(module.id)
    aspects = module_aspects(module.id)
    specs = {a.id: aspect_spec(a, module.id) for a in aspects}
    codes = module_entry_codes(competition, module.id)
    judges = list(db.session.scalars(select(User).where(User.id.in_(member_ids)).order_by(User.id))) if member_ids else []
    aspect_ids = [a.id for a in aspects]
    rows = db.session.execute(
        select(Mark.id, Mark.entry_id, Mark.aspect_id, Mark.judge_id, Mark.revision, Mark.value, Mark.entered_by_id,
               Mark.confirmed_by_id, Mark.created_at)
        .join(Entry, Entry.id == Mark.entry_id)
        .where(Entry.competition_id == competition.id, Mark.aspect_id.in_(aspect_ids), Mark.is_current.is_(True))
    ).all() if aspect_ids else []
    counted: dict[tuple[int, int], list[CellMark]] = defaultdict(list)
    unconfirmed: dict[tuple[int, int], list[CellMark]] = defaultdict(list)
    latest: dict[tuple[int, int], datetime] = {}
    for mid, entry_id, aspect_id, judge_id, revision, value, entered_by, confirmed_by, created_at in rows:
        if entry_id not in codes:
            continue
        cm = CellMark(judge_id, mid, revision, canonical(value), entered_by)
        if confirmed_by is None:
            unconfirmed[(entry_id, aspect_id)].append(cm)
            continue
        counted[(entry_id, aspect_id)].append(cm)
        key = (entry_id, aspect_id)
        if key not in latest or created_at > latest[key]:
            latest[key] = created_at
    reviews = {(r.entry_id, r.aspect_id): r for r in db.session.scalars(
        select(DivergenceReview).where(DivergenceReview.aspect_id.in_(aspect_ids),
                                       DivergenceReview.entry_id.in_(list(codes))))} if aspect_ids and codes else {}
    divergences = {(d.entry_id, d.aspect_id): d for d in detect_divergences(
        [EngineMark(entry_id=e, aspect_id=a, judge_id=m.judge_id, value=m.value)
         for (e, a), marks in counted.items() for m in marks], specs)}
    sheets: dict[int, list[int]] = defaultdict(list)
    for entry_id, judge_id in db.session.execute(select(ScoreSheet.entry_id, ScoreSheet.judge_id).where(
            ScoreSheet.module_id == module.id)):
        sheets[entry_id].append(judge_id)
    eligible = _eligible_judges(member_ids, module.id) if codes else {}

    entries: list[EntryRow] = []
    total_missing = total_unconfirmed = total_open = 0
    for entry_id, code in sorted(codes.items(), key=lambda kv: kv[1]):
        cells = []
        for aspect in aspects:
            key = (entry_id, aspect.id)
            marks = sorted(counted.get(key, []), key=lambda m: m.judge_id)
            cell = Cell(aspect.id, marks, sorted(unconfirmed.get(key, []), key=lambda m: m.judge_id))
            cell.missing = max(0, aspect.judges_required - len(marks))
            if cell.missing:
                have = {m.judge_id for m in marks}
                cell.pending_judges = [j for j in member_ids if j in eligible.get(entry_id, set()) and j not in have]
            found = divergences.get(key)
            if found is not None:
                review = reviews.get(key)
                state, reason, by, at = OPEN, "", None, None
                if review is not None and review.decided_at >= latest.get(key, review.decided_at):
                    state, reason, by, at = review.decision, review.reason, review.decided_by_id, review.decided_at
                cell.divergence = DivergenceState(found.spread, found.threshold, state, reason, by, at)
                total_open += state != ACCEPTED
            total_missing += cell.missing
            total_unconfirmed += len(cell.unconfirmed)
            cells.append(cell)
        entries.append(EntryRow(code, entry_id, cells, sorted(sheets.get(entry_id, []))))
    return ModuleState(competition, module, panel, judges, aspects, entries, total_missing, total_unconfirmed, total_open)


def _eligible_judges(member_ids: list[int], module_id: int) -> dict[int, set[int]]:
    """Entry id → the panel judges who may mark it (not conflicted): one query per judge, not per entry."""
    out: dict[int, set[int]] = defaultdict(set)
    for judge_id in member_ids:
        for entry in judging.assignable_entries(judge_id, module_id):
            out[entry.id].add(judge_id)
    return out


def completeness(actor: User, competition_id: int, module_id: int) -> ModuleState:
    """The completeness matrix for the module's chief judge (or an organizer): entries by code × aspects ×
    judges, missing marks, unconfirmed paper marks, divergence flags with their review state."""
    competition = get_competition(competition_id)
    module = get_module(competition.id, module_id)
    require_chief(actor, module.id, organizer_may=True)
    return _module_state(competition, module)


def decide_divergence(actor: User, competition_id: int, code: str, aspect_id: int, decision: str, reason: str
                      ) -> DivergenceReview:
    """The chief judge asks the panel to re-mark a flagged (entry, aspect), or accepts the marks with a reason.
    A decision holds until a counted mark of the cell changes; then the flag is open again."""
    if decision not in DECISIONS:
        raise DomainError(_l("Choose re-mark or accept."), code="validation_error", status=422,
                          details={"decision": [str(_l("Choose re-mark or accept."))]})
    reason = (reason or "").strip()
    if decision == ACCEPTED and not reason:
        message = _l("Give the reason for accepting the divergent marks.")
        raise DomainError(message, code="reason_required", status=422, details={"reason": [str(message)]})
    competition, aspect, module = _chiefs_aspect(actor, competition_id, aspect_id)
    entry = judging.entry_for_code(competition.id, module.id, code)
    if entry is None:
        raise NotFound(ITEM_PROBLEMS["unknown_code"][1], code="unknown_code")
    if competition.status != RUNNING:
        raise Conflict(ITEM_PROBLEMS["not_running"][1], code="not_running")
    if module.locked_at is not None:
        raise Conflict(ITEM_PROBLEMS["module_locked"][1], code="module_locked")
    values = [v for (v,) in db.session.execute(select(Mark.value).where(
        Mark.entry_id == entry.id, Mark.aspect_id == aspect.id, Mark.is_current.is_(True), Mark.confirmed_by_id.is_not(None)))]
    spec = aspect_spec(aspect, module.id)
    if not detect_divergences([EngineMark(entry_id=entry.id, aspect_id=aspect.id, judge_id=i, value=v)
                               for i, v in enumerate(values)], {aspect.id: spec}):
        raise Conflict(_l("These marks are not divergent."), code="not_divergent")
    review = db.session.scalar(select(DivergenceReview).where(DivergenceReview.entry_id == entry.id,
                                                              DivergenceReview.aspect_id == aspect.id))
    old = None if review is None else {"decision": review.decision, "reason": review.reason}
    if review is None:
        review = DivergenceReview(entry_id=entry.id, aspect_id=aspect.id, decision=decision, reason=reason,
                                  decided_by_id=actor.id, decided_at=utcnow())
        db.session.add(review)
    else:
        review.decision, review.reason, review.decided_by_id, review.decided_at = decision, reason, actor.id, utcnow()
    db.session.flush()
    record("divergence_decided", review, {"competition_id": competition.id, "module_id": module.id, "code": code,
                                          "aspect_id": aspect.id, "decision": decision, "reason": reason, "old": old,
                                          "marks": sorted(text_of(v) for v in values)}, stream=audit_stream(competition.id))
    return review


def lock_module(actor: User, competition_id: int, module_id: int) -> ModuleState:
    """The chief judge signs the module off (签字确认): refused (409, with the reasons) while marks are missing
    or unconfirmed or divergences are unresolved. After the lock only the chief judge changes marks."""
    competition = get_competition(competition_id, for_update=True)
    module = get_module(competition.id, module_id)
    require_chief(actor, module.id, organizer_may=False)
    if module.locked_at is not None:
        raise Conflict(_l("The module is already locked."), code="already_locked")
    if competition.status != RUNNING:
        raise Conflict(_l("Modules can only be locked while the competition is running."), code="not_running")
    state = _module_state(competition, module)
    problems = state.lock_problems()
    if problems:
        raise Conflict(_l("The module cannot be locked yet. Missing marks: %(missing)d; unconfirmed paper marks: "
                          "%(unconfirmed)d; unresolved divergences: %(divergences)d.", missing=state.missing,
                          unconfirmed=state.unconfirmed, divergences=state.open_divergences),
                       code="lock_refused", details=problems)
    module.locked_at = utcnow()
    module.locked_by_id = actor.id
    db.session.flush()
    record("module_locked", module, {"competition_id": competition.id, "module_id": module.id,
                                     "entries": len(state.entries)}, stream=audit_stream(competition.id))
    return state


def _chiefs_aspect(actor: User, competition_id: int, aspect_id: int) -> tuple[Competition, Aspect, Module]:
    """The competition (locked), an aspect of it and the aspect's module, for the module's chief judge only."""
    competition = get_competition(competition_id, for_update=True)
    found = aspects_of(competition.id, [aspect_id]).get(aspect_id)
    if found is None:
        refuse("unknown_aspect", "aspect_id")
    aspect, module = found
    require_chief(actor, module.id, organizer_may=False)
    return competition, aspect, module


def chief_change_mark(actor: User, competition_id: int, code: str, aspect_id: int, judge_id: int, value: Any,
                      reason: str) -> MarkResult:
    """After the lock, the chief judge changes a judge's mark with a mandatory reason: a new revision, audited."""
    reason = (reason or "").strip()
    if not reason:
        message = _l("Give the reason for changing a mark after the lock.")
        raise DomainError(message, code="reason_required", status=422, details={"reason": [str(message)]})
    competition, aspect, module = _chiefs_aspect(actor, competition_id, aspect_id)
    if module.locked_at is None:
        raise Conflict(_l("The module is not locked: ask the judge to re-mark instead."), code="not_locked")
    if competition.status not in CORRECTION_PHASES:
        raise Conflict(_l("Marks cannot change in this phase of the competition."), code="not_running")
    entry = judging.entry_for_code(competition.id, module.id, code)
    if entry is None:
        raise NotFound(ITEM_PROBLEMS["unknown_code"][1], code="unknown_code")
    if not judging.is_panel_member(judge_id, module.id):
        refuse("judge_not_on_panel", "judge_id")
    if judging.conflicted(judge_id, entry, competition=competition) is not None:
        refuse("judge_conflicted", "judge_id")
    parsed = parse_value(value)
    spec = aspect_spec(aspect, module.id)
    problem = parsed if isinstance(parsed, MarkProblem) else check_value(spec, parsed)
    if problem is not None:
        message = problem_message(problem, spec)
        raise DomainError(message, code=problem.value, status=422, details={"value": [message]})
    status, mark = store_revision(competition, Target(0, code, entry.id, aspect.id, judge_id), canonical(parsed),
                                  actor=actor, confirmed_by=actor.id, key=None, reason=reason, action="mark_corrected")
    return MarkResult(0, code, aspect.id, judge_id, status, mark.id, mark.revision, canonical(mark.value), True)


# --- judge statistics ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgeLine:
    judge: User
    marks: int
    compared: int
    leniency: Fraction | None
    mean_abs_deviation: Fraction | None
    divergences: int


def judge_stats(actor: User, competition_id: int, module_id: int, *, relative: bool = False) -> list[JudgeLine]:
    """Per judge of the panel: leniency (mean signed deviation from the panel median), mean absolute deviation,
    diverging cells marked and the number of marks (counted marks of the module only)."""
    competition = get_competition(competition_id)
    module = get_module(competition.id, module_id)
    require_chief(actor, module.id, organizer_may=True)
    state = _module_state(competition, module)
    specs = {a.id: aspect_spec(a, module.id) for a in state.aspects}
    marks = [EngineMark(entry_id=row.entry_id, aspect_id=cell.aspect_id, judge_id=m.judge_id, value=m.value)
             for row in state.entries for cell in row.cells for m in cell.marks]
    stats = judge_statistics(marks, specs, relative=relative)
    judges = {u.id: u for u in state.judges}
    extra = sorted(set(stats) - set(judges))
    if extra:
        judges.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(extra)))})
    out = []
    for judge_id in sorted(judges):
        s = stats.get(judge_id)
        out.append(JudgeLine(judges[judge_id], s.marks if s else 0, s.compared if s else 0, s.leniency if s else None,
                             s.mean_abs_deviation if s else None, s.divergences if s else 0))
    return out
