"""Judging assignment: the judge pool, panels per module (with the chief judge), conflicts of interest
(回避), and what a judge is shown — entrant codes only.

Functions other areas call (the marks area when a mark arrives, results, the board):

* ``conflicted(judge_id, entry)`` → the reason code of the first conflict rule that holds (``"own_entry"``,
  ``"own_enterprise"``, ``"former_enterprise"``, ``"declared"``, ``"same_chain"``, or one another domain registered in
  ``competitions.conflicts``), or None; ``conflict_column(judge_id, competition)`` the same as SQL, for a statement
  over entries (the appeals list puts it into its own query)
* ``assignable_entries(judge_id, module_id)`` → the entries the judge may see and mark in that module
* ``entry_for_code(competition_id, module_id, code)`` → the approved entry behind a code (or None);
  ``entries_for_codes(competition, {(module_id, code), …}, judge_id=…)`` the same for many codes in one query (plain
  rows, with the judge's conflict with each)
* ``assigned_entry(judge_id, module_id, code)`` → the same, but NotFound unless the judge is on the
  module's panel and not conflicted (one uniform "not found": a judge cannot probe why)
* ``codes_for_module(module_id)`` → {entry id: the code judges see in that module}
* ``is_panel_member`` / ``is_chief_judge`` / ``get_panel``

The conflict rules live in ``competitions.conflicts``, each a SQL condition, so the same rules decide what a judge is
shown and whether a mark is taken, in the statements that read the entries anyway. Judges never receive worker
names, enterprises, worker ids or entry ids (entry ids are sequence numbers and would leak the registration order):
only codes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, func, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.accounts.models import Role, User, UserRole
from app.audit.services import record
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.orgs.models import Enterprise
from competitions import conflicts
from competitions.models import (
    Competition,
    Criterion,
    DeclaredConflict,
    Entry,
    JudgeProfile,
    Module,
    ModuleCode,
    Panel,
    PanelJudge,
)
from competitions.services.common import audit_stream, get_competition, is_organizer, require_organizer

APPROVED = "approved"
CLOSED_PHASES = frozenset({"scoring_closed", "published"})  # panels and conflicts are settled by then
HIDDEN_PHASES = frozenset({"draft"})  # competitions a judge is not shown yet


# --- conflicts of interest: the rules of competitions.conflicts on entries -----------------------------------------


def _pair(judge, entry) -> conflicts.Pair:
    """The (judge, entry) pair of a statement over ``entry`` (the ``Entry`` class or the entry table's columns)."""
    return conflicts.Pair(judge=judge, entry=entry.id, worker=entry.worker_id, enterprise=entry.enterprise_id)


def conflict_column(judge_id: int, competition: Competition, entry=Entry):
    """SQL: why ``judge_id`` may not see or mark the entry (a reason code), or NULL — a column for any statement over
    ``entry``."""
    return conflicts.reason(_pair(judge_id, entry), conflicts.rules_for(competition))


def _not_conflicted_clause(judge_id: int, competition: Competition):
    """SQL: Entry rows that ``conflicted`` would pass (the same rules, for many entries at once)."""
    return conflicts.none_of(_pair(judge_id, Entry), conflicts.rules_for(competition))


def conflicted(judge_id: int, entry: Entry, *, competition: Competition | None = None) -> str | None:
    """Why ``judge_id`` may not see or mark ``entry`` (a reason code), or None. Checked again whenever a mark
    arrives. One query."""
    competition = competition or db.session.get(Competition, entry.competition_id)
    return db.session.scalar(select(conflict_column(judge_id, competition)).where(Entry.id == entry.id))


def conflict_counts(judge_id: int, competition: Competition) -> dict[str, int]:
    """Reason code → how many approved entries of the competition it keeps from the judge. One query."""
    reason = conflict_column(judge_id, competition).label("reason")
    rows = select(reason).where(Entry.competition_id == competition.id, Entry.status == APPROVED).subquery()
    return dict(db.session.execute(select(rows.c.reason, func.count()).where(rows.c.reason.is_not(None))
                                   .group_by(rows.c.reason)).all())


def conflict_labels(competition: Competition) -> list[tuple[str, str]]:
    """(reason code, translated heading) of every rule in force in the competition, most severe first."""
    return [(r.code, str(r.label)) for r in conflicts.rules_for(competition)]


def judge_enterprises(judge_id: int) -> set[int]:
    """The enterprises the conflict rules count as the judge's (current employment, judge profile, HR roles)."""
    return set(db.session.scalars(conflicts.judge_enterprises(judge_id)))


# --- pure helpers ------------------------------------------------------------------------------------


def panel_problems(judge_ids: Sequence[int], judges: set[int], chief_judge_id: int | None) -> dict[str, Any]:
    """Field → problems of a panel: unknown/duplicate judges by index, a chief who is not a member."""
    problems: dict[str, Any] = {}
    seen: set[int] = set()
    items: dict[str, str] = {}
    for i, jid in enumerate(judge_ids):
        if jid in seen:
            items[str(i)] = "duplicate"
        elif jid not in judges:
            items[str(i)] = "not_judge"
        seen.add(jid)
    if items:
        problems["judge_ids"] = items
    if chief_judge_id is not None and chief_judge_id not in seen:
        problems["chief_judge_id"] = "not_member"
    return problems


# --- panels ----------------------------------------------------------------------------------------------


def get_panel(module_id: int) -> Panel | None:
    return db.session.scalar(select(Panel).where(Panel.module_id == module_id))


def is_panel_member(judge_id: int, module_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(
        Panel.module_id == module_id, PanelJudge.panel_id == Panel.id, PanelJudge.judge_id == judge_id))))


def is_chief_judge(user_id: int, module_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(Panel.module_id == module_id, Panel.chief_judge_id == user_id))))


def assignable_entries(judge_id: int, module_id: int) -> list[Entry]:
    """The approved, coded entries of the module's competition that the judge may see and mark, by code.
    Empty when the judge is not on the module's panel."""
    module = db.session.get(Module, module_id)
    if module is None or not is_panel_member(judge_id, module_id):
        return []
    competition = module.competition
    stmt = (select(Entry).where(Entry.competition_id == competition.id, Entry.status == APPROVED,
                                Entry.code.is_not(None), _not_conflicted_clause(judge_id, competition))
            .order_by(Entry.code))
    return list(db.session.scalars(stmt).unique())


def codes_for_module(module_id: int) -> dict[int, str]:
    """Entry id → the code judges see in this module (the module code with 二次加密, else the entry code)."""
    module = db.session.get(Module, module_id)
    if module is None:
        return {}
    if module.competition.uses_module_codes:
        return dict(db.session.execute(select(ModuleCode.entry_id, ModuleCode.code).where(
            ModuleCode.module_id == module_id)).all())
    return dict(db.session.execute(select(Entry.id, Entry.code).where(
        Entry.competition_id == module.competition_id, Entry.code.is_not(None))).all())


def judge_codes(judge_id: int, module_id: int) -> list[str]:
    """The codes the judge is shown in the module, sorted (codes are random: the order says nothing)."""
    module = db.session.get(Module, module_id)
    if module is None or not is_panel_member(judge_id, module_id):
        return []
    competition = module.competition
    ok = _not_conflicted_clause(judge_id, competition)
    base = (Entry.competition_id == competition.id, Entry.status == APPROVED, Entry.code.is_not(None))
    if competition.uses_module_codes:
        stmt = (select(ModuleCode.code).join(Entry, Entry.id == ModuleCode.entry_id)
                .where(ModuleCode.module_id == module_id, *base, ok))
    else:
        stmt = select(Entry.code).where(*base, ok)
    return sorted(db.session.scalars(stmt))


def entry_for_code(competition_id: int, module_id: int, code: str) -> Entry | None:
    """The approved entry behind a code in a module (its module code with 二次加密, else its entry
    code), or None. No permission check: see ``assigned_entry`` for judges."""
    if not isinstance(code, str) or not code or len(code) > 16:
        return None
    module = db.session.get(Module, module_id)
    if module is None or module.competition_id != competition_id:
        return None
    found = entries_for_codes(module.competition, {(module_id, code)}).get((module_id, code))
    return None if found is None else db.session.get(Entry, found.id)


class CodedEntry(NamedTuple):
    """An approved entry behind a code, with the conflict of the judge asked about (``entries_for_codes``)."""

    id: int
    worker_id: int
    enterprise_id: int
    conflict: str | None  # why that judge may not mark it (a reason code); None: they may, or no judge was asked


def entries_for_codes(competition, pairs: set[tuple[int, str]], *, judge_id: int | None = None
                      ) -> dict[tuple[int, str], CodedEntry]:
    """(module id, code) → the approved entry behind it (its module code with 二次加密, else its entry code), for
    many codes in one query (the marks area checks a whole batch with it), with ``judge_id``'s conflict with each
    entry read by the same query. ``competition`` needs ``id``, ``uses_module_codes`` and what the conflict rules
    ask of it (``conflict_same_chain``)."""
    pairs = {(m, c) for m, c in pairs if isinstance(c, str) and 0 < len(c) <= 16}
    if not pairs:
        return {}
    module_codes = bool(competition.uses_module_codes)
    rules = conflicts.rules_for(competition) if judge_id is not None else None
    params = {"cid": competition.id, "judge": judge_id, "codes": sorted({c for _m, c in pairs}),
              "mids": sorted({m for m, _c in pairs})}
    found: dict[Any, CodedEntry] = {}
    for r in db.session.execute(_entries_statement(module_codes, rules), params):
        found[(r.module_id, r.code) if module_codes else r.code] = CodedEntry(r.id, r.worker_id, r.enterprise_id,
                                                                               r.conflict)
    out = {}
    for m, c in pairs:
        entry = found.get((m, c) if module_codes else c)
        if entry is not None:
            out[(m, c)] = entry
    return out


@functools.cache
def _entries_statement(module_codes: bool, rules: tuple[conflicts.Rule, ...] | None):
    """Approved entries of the competition ``cid`` by code, with the conflict of the judge ``judge`` with each under
    ``rules`` (none asked: NULL)."""
    e, mc = Entry.__table__, ModuleCode.__table__
    codes = bindparam("codes", expanding=True)
    conflict = null() if rules is None else conflicts.reason(_pair(bindparam("judge"), e.c), rules)
    stmt = select(e.c.id, e.c.worker_id, e.c.enterprise_id, conflict.label("conflict"))
    if module_codes:
        stmt = stmt.add_columns(mc.c.module_id, mc.c.code).select_from(e.join(mc, mc.c.entry_id == e.c.id)).where(
            mc.c.module_id.in_(bindparam("mids", expanding=True)), mc.c.code.in_(codes))
    else:
        stmt = stmt.add_columns(e.c.code).select_from(e).where(e.c.code.in_(codes))
    return stmt.where(e.c.competition_id == bindparam("cid"), e.c.status == APPROVED)


def assigned_entry(judge_id: int, module_id: int, code: str) -> Entry:
    """The entry behind ``code`` if the judge may mark it in the module; otherwise NotFound, with the
    same message whether the code is unknown, the judge is not on the panel or is conflicted."""
    module = db.session.get(Module, module_id)
    entry = None
    if module is not None and is_panel_member(judge_id, module_id):
        entry = entry_for_code(module.competition_id, module_id, code)
        if entry is not None and conflicted(judge_id, entry, competition=module.competition) is not None:
            entry = None
    if entry is None:
        raise NotFound(_l("This entrant code is not assigned to you."), code="not_assigned")
    return entry


# --- the judge pool ----------------------------------------------------------------------------------------


@dataclass
class JudgeLine:
    user: User
    enterprise: Enterprise | None


def _judge_users(ids: Sequence[int] | None = None) -> dict[int, User]:
    stmt = select(User).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == Role.JUDGE)
    if ids is not None:
        stmt = stmt.where(User.id.in_(list(ids)))
    return {u.id: u for u in db.session.scalars(stmt).unique()}


def list_judges(actor) -> list[JudgeLine]:
    """Every user with the judge role, with the enterprise recorded for conflict checks."""
    require_organizer(actor)
    users = _judge_users()
    profiles = {p.user_id: p.enterprise_id for p in db.session.scalars(
        select(JudgeProfile).where(JudgeProfile.user_id.in_(list(users))))}
    ents = {e.id: e for e in db.session.scalars(select(Enterprise).where(
        Enterprise.id.in_([e for e in profiles.values() if e is not None])))}
    return [JudgeLine(u, ents.get(profiles.get(u.id))) for u in sorted(users.values(), key=lambda u: (u.display_name, u.id))]


def set_judge_profile(actor, user_id: int, enterprise_id: int | None) -> JudgeLine:
    require_organizer(actor)
    user = _judge_users([user_id]).get(user_id)
    if user is None:
        raise NotFound(_l("No such judge."))
    enterprise = None
    if enterprise_id is not None:
        enterprise = db.session.get(Enterprise, enterprise_id)
        if enterprise is None:
            message = _l("No such enterprise.")
            raise DomainError(message, code="validation_error", status=422, details={"enterprise_id": [str(message)]})
    profile = db.session.get(JudgeProfile, user_id)
    if profile is None:
        profile = JudgeProfile(user_id=user_id)
        db.session.add(profile)
    old = profile.enterprise_id
    profile.enterprise_id = enterprise_id
    db.session.flush()
    record("judge_profile_set", user, {"enterprise_id": enterprise_id, "previous_enterprise_id": old})
    return JudgeLine(user, enterprise)


# --- panels ----------------------------------------------------------------------------------------------


PANEL_MESSAGES = {
    "duplicate": _l("This judge is listed more than once."),
    "not_judge": _l("No such judge."),
    "not_member": _l("The chief judge must be a member of the panel."),
}


def _module(competition_id: int, module_id: int) -> Module:
    module = db.session.get(Module, module_id)
    if module is None or module.competition_id != competition_id:
        raise NotFound(_l("No such module."))
    return module


def list_panels(actor, competition_id: int) -> list[tuple[Module, Panel | None]]:
    require_organizer(actor)
    competition = get_competition(competition_id)
    modules = list(db.session.scalars(select(Module).where(Module.competition_id == competition.id)
                                      .order_by(Module.position, Module.id)))
    panels = {p.module_id: p for p in db.session.scalars(select(Panel).where(Panel.competition_id == competition.id))}
    return [(m, panels.get(m.id)) for m in modules]


def panel_of(actor, competition_id: int, module_id: int) -> tuple[Module, Panel | None]:
    require_organizer(actor)
    get_competition(competition_id)
    module = _module(competition_id, module_id)
    return module, get_panel(module.id)


def set_panel(actor, competition_id: int, module_id: int, judge_ids: Sequence[int], chief_judge_id: int | None
              ) -> tuple[Module, Panel]:
    """Replace the module's panel (all or nothing); the chief judge must be a member."""
    require_organizer(actor)
    competition = get_competition(competition_id, for_update=True)
    module = _module(competition.id, module_id)
    if competition.status in CLOSED_PHASES or module.locked_at is not None:
        raise Conflict(_l("The panel of a locked module or a closed competition cannot change."), code="panel_closed")
    judges = set(_judge_users(judge_ids))
    enabled = {u.id for u in _judge_users(judge_ids).values() if u.is_enabled}
    problems = panel_problems(judge_ids, judges & enabled, chief_judge_id)
    if problems:
        details: dict[str, Any] = {}
        if "judge_ids" in problems:
            details["judge_ids"] = {i: [str(PANEL_MESSAGES[c])] for i, c in problems["judge_ids"].items()}
        if "chief_judge_id" in problems:
            details["chief_judge_id"] = [str(PANEL_MESSAGES["not_member"])]
        raise DomainError(_l("Please correct the panel."), code="validation_error", status=422, details=details)
    panel = get_panel(module.id)
    if panel is None:
        panel = Panel(competition_id=competition.id, module_id=module.id)
        db.session.add(panel)
    before = sorted(m.judge_id for m in panel.members)
    wanted = list(dict.fromkeys(judge_ids))
    panel.members = [m for m in panel.members if m.judge_id in wanted]
    have = {m.judge_id for m in panel.members}
    panel.members.extend(PanelJudge(judge_id=j) for j in wanted if j not in have)
    panel.chief_judge_id = chief_judge_id
    db.session.flush()
    record("competition_panel_set", panel, {"competition_id": competition.id, "module_id": module.id,
                                            "judge_ids": sorted(wanted), "previous_judge_ids": before,
                                            "chief_judge_id": chief_judge_id}, stream=audit_stream(competition.id))
    return module, panel


# --- declared conflicts ----------------------------------------------------------------------------------


def _is_judge(actor) -> bool:
    return actor.has_role(Role.JUDGE)


def _require_organizer_or_judge(actor) -> None:
    if not is_organizer(actor) and not _is_judge(actor):
        raise PermissionDenied()


def list_conflicts(actor, competition_id: int) -> list[DeclaredConflict]:
    """Organizer: every declared conflict; a judge: their own only."""
    _require_organizer_or_judge(actor)
    competition = get_competition(competition_id)
    stmt = select(DeclaredConflict).where(DeclaredConflict.competition_id == competition.id)
    if not is_organizer(actor):
        stmt = stmt.where(DeclaredConflict.judge_id == actor.id)
    return list(db.session.scalars(stmt.order_by(DeclaredConflict.id)))


def conflict_codes(actor, conflict: DeclaredConflict) -> tuple[str | None, dict[str, str]]:
    """(entry code, {module id: module code}) the actor may know the conflicted entry by: organizers get
    both; a judge gets the entry code only without 二次加密, else the module codes of their own panels (an
    entry code next to a module code would link the two blind codes)."""
    entry_code = db.session.scalar(select(Entry.code).where(Entry.id == conflict.entry_id))
    competition = db.session.get(Competition, conflict.competition_id)
    if not competition.uses_module_codes:
        return entry_code, {}
    stmt = select(ModuleCode.module_id, ModuleCode.code).where(ModuleCode.entry_id == conflict.entry_id)
    if not is_organizer(actor):
        entry_code = None
        stmt = stmt.join(Panel, Panel.module_id == ModuleCode.module_id).join(
            PanelJudge, PanelJudge.panel_id == Panel.id).where(PanelJudge.judge_id == actor.id)
    return entry_code, {str(m): c for m, c in db.session.execute(stmt)}


def _entry_by_code(competition: Competition, code: str, module_id: int | None) -> Entry | None:
    if module_id is not None:
        module = db.session.get(Module, module_id)
        if module is None or module.competition_id != competition.id:
            return None
        return entry_for_code(competition.id, module_id, code)
    return db.session.scalars(select(Entry).where(Entry.competition_id == competition.id, Entry.code == code,
                                                  Entry.status == APPROVED)).unique().one_or_none()


def _shown_entry(judge_id: int, competition: Competition, code: str, module_id: int | None) -> Entry | None:
    """The entry behind one of the codes the judge is shown — in the module ``module_id``, or in any module of the
    competition whose panel they sit on — or None. A judge on no panel of the competition, an unknown code and the
    code of an entrant the judge may not see (already conflicted) all get None: one answer, nothing to probe."""
    modules = list(db.session.scalars(
        select(Panel.module_id).join(PanelJudge, PanelJudge.panel_id == Panel.id)
        .where(Panel.competition_id == competition.id, PanelJudge.judge_id == judge_id).order_by(Panel.module_id)))
    if module_id is not None:
        modules = [m for m in modules if m == module_id]
    for module in modules:
        if code in judge_codes(judge_id, module):
            return entry_for_code(competition.id, module, code)
    return None


def declare_conflict(actor, competition_id: int, *, judge_id: int | None = None, entry_id: int | None = None,
                     code: str | None = None, module_id: int | None = None, reason: str = "") -> DeclaredConflict:
    """Record that a judge may not see or mark an entry. The organizer names any judge and the entry by id
    or code; a judge declares for themselves only, by a code they are shown on a panel of theirs (with ``module_id``
    for a module code): anything else is "No such entry." (``_shown_entry``)."""
    _require_organizer_or_judge(actor)
    organizer = is_organizer(actor)
    if judge_id is None:
        if organizer and not _is_judge(actor):
            raise DomainError(_l("Choose the judge."), code="validation_error", status=422,
                              details={"judge_id": [str(_l("Choose the judge."))]})
        judge_id = actor.id
    if not organizer and judge_id != actor.id:
        raise PermissionDenied(_l("Judges declare their own conflicts only."))
    if not organizer and entry_id is not None:
        raise DomainError(_l("Name the entrant by code."), code="validation_error", status=422,
                          details={"code": [str(_l("Name the entrant by code."))]})
    competition = get_competition(competition_id, for_update=True)
    if competition.status in CLOSED_PHASES:
        raise Conflict(_l("Conflicts cannot change after scoring has closed."), code="conflicts_closed")
    if judge_id not in _judge_users([judge_id]):
        raise NotFound(_l("No such judge."))
    if entry_id is not None:
        entry = db.session.get(Entry, entry_id)
        if entry is not None and entry.competition_id != competition.id:
            entry = None
    elif not code:
        raise DomainError(_l("Name the entrant by code."), code="validation_error", status=422,
                          details={"code": [str(_l("Name the entrant by code."))]})
    elif organizer:
        entry = _entry_by_code(competition, code, module_id)
    else:
        entry = _shown_entry(actor.id, competition, code, module_id)
    if entry is None:
        raise NotFound(_l("No such entry."))
    conflict = DeclaredConflict(competition_id=competition.id, entry_id=entry.id, judge_id=judge_id, reason=reason)
    db.session.add(conflict)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(_l("This conflict is already declared."), code="already_declared") from exc
    record("competition_conflict_declared", conflict, {"competition_id": competition.id, "judge_id": judge_id,
                                                       "entry_id": entry.id, "reason": reason, "by_judge": not organizer},
           stream=audit_stream(competition.id))
    return conflict


def remove_conflict(actor, competition_id: int, judge_id: int, entry_id: int) -> None:
    """Only the organizer lifts a conflict (the record has no author, and a judge must not be able to
    lift one the organizer recorded)."""
    require_organizer(actor)
    competition = get_competition(competition_id, for_update=True)
    if competition.status in CLOSED_PHASES:
        raise Conflict(_l("Conflicts cannot change after scoring has closed."), code="conflicts_closed")
    conflict = db.session.scalar(select(DeclaredConflict).where(
        DeclaredConflict.competition_id == competition.id, DeclaredConflict.judge_id == judge_id,
        DeclaredConflict.entry_id == entry_id))
    if conflict is None:
        raise NotFound(_l("No such conflict."))
    db.session.delete(conflict)
    db.session.flush()
    record("competition_conflict_removed", target_type="declared_conflict", target_id=conflict.id,
           details={"competition_id": competition.id, "judge_id": judge_id, "entry_id": entry_id},
           stream=audit_stream(competition.id))


# --- what a judge sees -----------------------------------------------------------------------------------


@dataclass
class Assignment:
    competition: Competition
    module: Module
    is_chief: bool
    codes: list[str]


def assignments(actor) -> list[Assignment]:
    """Every module whose panel the actor is on (competitions past draft): its scheme and the codes the
    actor may mark — never names, enterprises, worker or entry ids."""
    if not _is_judge(actor):
        raise PermissionDenied()
    rows = db.session.execute(
        select(Module, Panel.chief_judge_id).join(Panel, Panel.module_id == Module.id)
        .join(PanelJudge, PanelJudge.panel_id == Panel.id).join(Competition, Competition.id == Module.competition_id)
        .where(PanelJudge.judge_id == actor.id, Competition.status.not_in(list(HIDDEN_PHASES)))
        .options(selectinload(Module.criteria).selectinload(Criterion.aspects))
        .order_by(Competition.id, Module.position, Module.id)
    ).unique().all()
    return [Assignment(module.competition, module, chief == actor.id, judge_codes(actor.id, module.id))
            for module, chief in rows]


def describe_conflict(reason: str | None) -> str | None:
    """The translated text of a ``conflicted`` reason (for organizers' pages)."""
    return conflicts.message(reason)

