"""Competition setup: the competition itself, its lifecycle, the marking scheme, difficulty factors and rules.

Other areas call:
    apply_transition(actor, competition, event, note)   every lifecycle step (results: "publish", "publish_correction")
    difficulty_factors(competition) -> {(entry_id, aspect_id): Decimal}
    rules_config(competition) -> RulesConfig             tie-break chain, award strategies, promotion bands
    visible_competition(actor, id)                       a competition the actor may see (404 otherwise)
    state_label(state), event_label(event)               translated names for pages and messages

Marking-scheme import replaces the whole scheme in one transaction and keeps row ids by position (the module at
position 0 stays the same row, …), so panels, module codes and difficulty factors of modules and aspects that
still exist survive an edit. Nothing is written when any problem is found.

Rules: a competition created here starts with the Chinese defaults (tie-break: shorter completion time → higher
practical score → higher theory score; awards: proportional 10 / 20 / 30 %; no promotion bands). What is stored
is what is used: an empty list means none (no tie-break: equal totals share the place).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound
from app.people.models import Trade
from competitions.domain import (
    CHINESE_TIE_BREAK,
    DEFAULT_DIVERGENCE_THRESHOLD,
    AspectKind,
    AspectSpec,
    AwardStrategy,
    CompetitionEvent,
    CompetitionState,
    DomainRuleError,
    ModuleSpec,
    PromotionBand,
    ProportionalAwards,
    Scheme,
    TieBreakKey,
    award_rules_from_json,
    award_rules_to_json,
    check_bands,
    promotion_bands_from_json,
    promotion_bands_to_json,
    tie_break_from_json,
    tie_break_to_json,
    transition,
    validate_scheme,
)
from competitions.labels import AGGREGATION_LABELS, MODULE_KIND_LABELS, describe_path, event_label, state_label, translate_message
from competitions.models import (
    Aspect,
    Competition,
    CompetitionTransition,
    Criterion,
    DifficultyFactor,
    Entry,
    Module,
    ModuleCode,
)
from competitions.schemas.setup import SetupSchemeDocSchema, flatten_errors, format_decimal
from competitions.services.common import audit_stream, is_organizer, require_organizer
from competitions.services.specs import load_scheme

S, E = CompetitionState, CompetitionEvent

SCHEME_EDITABLE = frozenset({S.DRAFT, S.REGISTRATION_OPEN, S.REGISTRATION_CLOSED})
DIFFICULTY_EDITABLE = frozenset({S.DRAFT, S.REGISTRATION_OPEN, S.REGISTRATION_CLOSED, S.RUNNING})
FIXED_ONCE_RUNNING = frozenset({"level", "trade_id", "conflict_same_chain", "uses_module_codes"})
SETUP_FIELDS = ("name", "level", "trade_id", "organizer_name", "starts_on", "ends_on", "venue", "appeal_window_minutes",
                "board_freeze_at", "conflict_same_chain", "uses_module_codes")
MAX_FACTOR = Decimal(10)
MAX_DIFFICULTY_ITEMS = 20_000
MAX_XLSX_ROWS = 5_000

DEFAULT_TIE_BREAK: list[list[str]] = tie_break_to_json(CHINESE_TIE_BREAK)
DEFAULT_AWARD_RULES: list[dict[str, Any]] = award_rules_to_json((ProportionalAwards(),))
DEFAULT_PROMOTION_BANDS: list[dict[str, Any]] = []


def invalid(problems: list[dict[str, Any]], message: Any = None, code: str = "validation_error") -> DomainError:
    """422 with ``details.problems`` (each ``{"path", "code", "message"}``)."""
    return DomainError(message or _("The request contains invalid data."), code=code, status=422,
                       details={"problems": problems})


def _problem(path: str, code: str, message: Any, **extra: Any) -> dict[str, Any]:
    return {"path": path, "code": code, "message": str(message), **extra}


# --- competitions -----------------------------------------------------------------------------------------


def _lock(competition_id: int) -> Competition:
    """The competition, re-read and row-locked (PostgreSQL FOR UPDATE; SQLite writes are already exclusive)."""
    stmt = (select(Competition).where(Competition.id == competition_id).with_for_update(of=Competition)
            .execution_options(populate_existing=True))
    competition = db.session.execute(stmt).scalar_one_or_none()
    if competition is None:
        raise NotFound(_("No such competition."))
    return competition


def visible_competition(actor, competition_id: int) -> Competition:
    """Organizers see every competition; everyone else only those past the draft (404 for a draft)."""
    competition = db.session.get(Competition, competition_id)
    if competition is None or (competition.status == S.DRAFT and not is_organizer(actor)):
        raise NotFound(_("No such competition."))
    return competition


def managed_competition(actor, competition_id: int, *, for_update: bool = False) -> Competition:
    require_organizer(actor)
    if for_update:
        return _lock(competition_id)
    competition = db.session.get(Competition, competition_id)
    if competition is None:
        raise NotFound(_("No such competition."))
    return competition


def list_competitions(actor, *, status: str | None = None, level: str | None = None, trade_id: int | None = None,
                      q: str = "", page: int = 1, per_page: int = 20):
    """A page of competitions: organizers see all; others those that are open, running or published."""
    stmt = select(Competition)
    if not is_organizer(actor):
        stmt = stmt.where(Competition.status != S.DRAFT.value)
    if status:
        stmt = stmt.where(Competition.status == status)
    if level:
        stmt = stmt.where(Competition.level == level)
    if trade_id is not None:
        stmt = stmt.where(Competition.trade_id == trade_id)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(Competition.name.icontains(q, autoescape=True))
    stmt = stmt.order_by(Competition.starts_on.desc().nulls_last(), Competition.id.desc())
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def _check_values(values: dict[str, Any], current: Competition | None) -> None:
    problems = []
    trade_id = values.get("trade_id")
    if trade_id is not None and (current is None or trade_id != current.trade_id):
        trade = db.session.get(Trade, trade_id)
        if trade is None or not trade.is_active:
            problems.append(_problem("trade_id", "unknown_trade", _("No such trade.")))
    starts = values.get("starts_on", current.starts_on if current else None)
    ends = values.get("ends_on", current.ends_on if current else None)
    if starts and ends and ends < starts:
        problems.append(_problem("ends_on", "before_start", _("The competition cannot end before it starts.")))
    if problems:
        raise invalid(problems)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def create_competition(actor, values: dict[str, Any]) -> Competition:
    require_organizer(actor)
    if values.get("board_freeze_at") is not None:
        values = {**values, "board_freeze_at": _utc(values["board_freeze_at"])}
    _check_values(values, None)
    competition = Competition(
        name=values["name"], level=values["level"], trade_id=values.get("trade_id"),
        organizer_name=values.get("organizer_name", ""), starts_on=values.get("starts_on"), ends_on=values.get("ends_on"),
        venue=values.get("venue", ""), status=S.DRAFT.value,
        appeal_window_minutes=values.get("appeal_window_minutes", 120), board_freeze_at=values.get("board_freeze_at"),
        conflict_same_chain=values.get("conflict_same_chain", False),
        uses_module_codes=values.get("uses_module_codes", False),
        tie_break=list(DEFAULT_TIE_BREAK), award_rules=json.loads(json.dumps(DEFAULT_AWARD_RULES)),
        promotion_bands=list(DEFAULT_PROMOTION_BANDS), created_by_id=actor.id, created_at=utcnow(),
    )
    db.session.add(competition)
    db.session.flush()
    record("competition_created", competition, {k: values[k] for k in SETUP_FIELDS if k in values},
           stream=audit_stream(competition.id))
    return competition


def update_competition(actor, competition_id: int, values: dict[str, Any]) -> Competition:
    competition = managed_competition(actor, competition_id, for_update=True)
    if values.get("board_freeze_at") is not None:
        values = {**values, "board_freeze_at": _utc(values["board_freeze_at"])}
    state = S(competition.status)
    changed = {k: v for k, v in values.items() if k in SETUP_FIELDS and getattr(competition, k) != v}
    if state is S.PUBLISHED and changed:  # saving the form unchanged is not a change
        raise Conflict(_("The results are published: the competition can no longer be changed."), code="published")
    if state in (S.RUNNING, S.SCORING_CLOSED):
        fixed = sorted(set(changed) & FIXED_ONCE_RUNNING)
        if fixed:
            raise Conflict(_("These settings cannot change once the competition is running: %(fields)s.",
                             fields=", ".join(fixed)), code="fixed_once_running", details={"fields": fixed})
    _check_values(changed, competition)
    for key, value in changed.items():
        setattr(competition, key, value)
    db.session.flush()
    if changed:
        record("competition_updated", competition, {"fields": sorted(changed), "values": changed},
               stream=audit_stream(competition.id))
    return competition


# --- lifecycle ----------------------------------------------------------------------------------------------


def _refusal(exc: DomainRuleError, state: str, event: str) -> Conflict:
    reason = exc.reason or "not_allowed"
    params = {"event": event_label(event), "state": state_label(state)}
    if reason == "unknown_event":
        message = _("Unknown lifecycle step: %(event)s.", event=event)
    elif reason == "already_done":
        message = _("“%(event)s” is already done: the competition is %(state)s.", **params)
    elif reason == "not_yet":
        message = _("“%(event)s” is not possible yet: the competition is %(state)s.", **params)
    elif reason == "too_late":
        message = _("“%(event)s” is no longer possible: the competition is %(state)s.", **params)
    else:
        message = _("“%(event)s” is not possible while the competition is %(state)s.", **params)
    details = {"reason": reason, "state": state, "event": event,
               "allowed_from": list(exc.details.get("allowed_from", []))}
    return Conflict(message, code="transition_not_allowed", details=details)


def _guard_scheme(competition: Competition) -> None:
    doc = _doc_for_check(competition)
    problems = doc_problems(doc)
    if problems:
        # The first problem in words ("Module 2 “实操” › Aspect 1 › Scale step: …"), as the scheme page says it;
        # details keep every problem with its document path for API clients.
        first = problems[0]
        where, what = describe_path(first["path"], doc), translate_message(first["message"])
        message = _("The scheme is invalid: %(problem)s", problem=f"{where}: {what}" if where else what)
        raise Conflict(message, code="invalid_scheme", details={"problems": problems})


def _guard_start(competition: Competition) -> None:
    _guard_scheme(competition)
    approved = select(Entry.id).where(Entry.competition_id == competition.id, Entry.status == "approved")
    count = db.session.scalar(select(func.count()).select_from(approved.subquery()))
    if not count:
        raise Conflict(_("No entry has been approved."), code="no_approved_entries")
    uncoded = db.session.scalar(select(func.count()).select_from(approved.where(Entry.code.is_(None)).subquery()))
    if uncoded:
        raise Conflict(_("Approved entries without an entrant code: %(count)d. Run the draw first.", count=uncoded),
                       code="codes_missing", details={"entries": uncoded})
    if competition.uses_module_codes:
        modules = len(competition.modules)
        codes = db.session.scalar(
            select(func.count(ModuleCode.id)).join(Entry, Entry.id == ModuleCode.entry_id)
            .where(Entry.competition_id == competition.id, Entry.status == "approved")
        )
        if codes != count * modules:
            raise Conflict(_("Some approved entries have no module code yet: run the module draw first."),
                           code="module_codes_missing")


def _guard_close_scoring(competition: Competition) -> None:
    open_modules = [m for m in competition.modules if m.locked_at is None]
    if open_modules:
        raise Conflict(
            _("Not every module is locked: %(modules)s.", modules=", ".join(m.name for m in open_modules)),
            code="modules_not_locked", details={"modules": [{"id": m.id, "name": m.name} for m in open_modules]},
        )


GUARDS = {
    E.OPEN_REGISTRATION: _guard_scheme,
    E.START: _guard_start,
    E.CLOSE_SCORING: _guard_close_scoring,
}


def apply_transition(actor, competition: Competition, event: str, note: str = "") -> CompetitionTransition:
    """Move ``competition`` one lifecycle step (organizers and admins), recorded and audited.

    The row is locked and the status changed with a conditional UPDATE, so of two concurrent requests for the same
    step exactly one applies; the other gets 409 ``transition_not_allowed``. Refusals are ``Conflict`` (409) with a
    translated reason: ``transition_not_allowed`` (details: reason, state, event, allowed_from), ``invalid_scheme``
    (details.problems), ``modules_not_locked``, ``no_approved_entries``, ``codes_missing``, ``module_codes_missing``.
    The results area calls this for "publish" / "publish_correction" after its own checks.
    """
    require_organizer(actor)
    competition = _lock(competition.id)
    current = competition.status
    try:
        target = transition(current, event)
    except DomainRuleError as exc:
        raise _refusal(exc, current, str(event)) from None
    guard = GUARDS.get(E(event))
    if guard is not None:
        guard(competition)
    result = db.session.execute(
        update(Competition.__table__).where(Competition.id == competition.id, Competition.status == current)
        .values(status=target.value)
    )
    if result.rowcount != 1:  # another request moved it between our read and our write
        raise Conflict(_("The competition was changed at the same time. Reload and try again."), code="concurrent_change")
    set_committed_value(competition, "status", target.value)
    step = CompetitionTransition(competition_id=competition.id, event=str(E(event)), from_status=current,
                                 to_status=target.value, actor_id=actor.id, at=utcnow(), note=note or "")
    db.session.add(step)
    db.session.flush()
    record("competition_transition", competition,
           {"event": step.event, "from": current, "to": target.value, "note": step.note, "transition_id": step.id},
           stream=audit_stream(competition.id))
    return step


def transitions_of(actor, competition_id: int) -> list[dict[str, Any]]:
    """The lifecycle history, oldest first (organizers and admins)."""
    competition = managed_competition(actor, competition_id)
    rows = db.session.execute(
        select(CompetitionTransition, User.display_name)
        .outerjoin(User, User.id == CompetitionTransition.actor_id)
        .where(CompetitionTransition.competition_id == competition.id)
        .order_by(CompetitionTransition.at, CompetitionTransition.id)
    ).all()
    return [transition_dict(t, name) for t, name in rows]


def transition_dict(step: CompetitionTransition, actor_name: str | None = None) -> dict[str, Any]:
    return {"id": step.id, "event": step.event, "from_status": step.from_status, "to_status": step.to_status,
            "actor_id": step.actor_id, "actor_name": actor_name, "at": step.at, "note": step.note}


# --- marking scheme: loading and validation ---------------------------------------------------------------

_SCHEME_MESSAGES: dict[tuple[str, str] | str, Any] = {
    "empty": _l("The scheme has no modules."),
    "weights_not_100": _l("The module weights must add up to 100."),
    "no_aspects": _l("There are no aspects here: add at least one."),
    ("weight", "missing"): _l("Some modules have a weight and this one has none: give every module a weight, or none."),
    ("weight", "not_positive"): _l("The weight must be greater than 0."),
    ("max_mark", "not_positive"): _l("The max mark must be greater than 0."),
    ("module", "mismatch"): _l("The module's max mark must equal the sum of its aspects' max marks."),
    ("max_mark", "mismatch"): _l("The scale cannot reach exactly this max mark: normalize the aspect to its max mark, "
                                 "or make the max mark what the scale and the aggregation give."),
    ("scale_max", "not_above_min"): _l("The scale maximum must be above the scale minimum."),
    ("scale_max", "not_positive"): _l("A normalized aspect needs a scale maximum above 0."),
    ("scale_step", "not_positive"): _l("The step must be greater than 0."),
    ("scale_step", "does_not_divide_range"): _l("The step must divide the range from the scale minimum to the scale maximum."),
    ("judges_required", "below_1"): _l("At least 1 judge is required."),
    ("judges_required", "judgement_needs_2"): _l("A judgement (J) aspect needs at least 2 judges."),
    ("trim_k", "negative"): _l("The trim must not be negative."),
    ("trim_k", "rule_not_trimmed"): _l("Only the trimmed rules drop marks: set the trim to 0 or choose a trimmed rule."),
    ("trim_k", "too_few_judges"): _l("Too many marks dropped: a trim of k needs more than 2 × k judges."),
    ("divergence_threshold", "negative"): _l("The divergence threshold must not be negative."),
    "duplicate_name": _l("Another item at this level has the same name."),
    "level_words_count": _l("Give one word per scale level (%(levels)s levels), or none."),
    "inconsistent": _l("Rows of the same module must have the same module kind and weight."),
}


def _scheme_message(path: str, code: str, **params: Any) -> str:
    field = path.rsplit(".", 1)[-1] if "." in path else ""
    if code == "mismatch" and re.fullmatch(r"modules\[\d+\]\.max_mark", path):
        msg = _SCHEME_MESSAGES[("module", "mismatch")]
    else:
        msg = _SCHEME_MESSAGES.get((field, code)) or _SCHEME_MESSAGES.get(code)
    if msg is None:
        return code
    text = str(msg)
    return text % params if params else text


_ENGINE_PATH = re.compile(r"^(modules|aspects)\[([^\]]+)\](.*)$")


def doc_problems(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every problem of a loaded scheme document (engine validator + names, empty criteria, level words), with
    paths into the document; [] when the scheme can be used."""
    problems: list[dict[str, Any]] = []
    modules: list[ModuleSpec] = []
    aspects: list[AspectSpec] = []
    aspect_paths: list[str] = []
    module_names: set[str] = set()
    for i, m in enumerate(doc["modules"]):
        mp = f"modules[{i}]"
        if m["name"] in module_names:
            problems.append(_problem(f"{mp}.name", "duplicate_name", _scheme_message("", "duplicate_name")))
        module_names.add(m["name"])
        modules.append(ModuleSpec(id=i, kind=m["kind"], weight=m.get("weight"), max_mark=m.get("max_mark")))
        criterion_names: set[str] = set()
        for j, c in enumerate(m["criteria"]):
            cp = f"{mp}.criteria[{j}]"
            if c["name"] in criterion_names:
                problems.append(_problem(f"{cp}.name", "duplicate_name", _scheme_message("", "duplicate_name")))
            criterion_names.add(c["name"])
            if not c["aspects"]:
                problems.append(_problem(cp, "no_aspects", _scheme_message(cp, "no_aspects")))
            aspect_names: set[str] = set()
            for k, a in enumerate(c["aspects"]):
                ap = f"{cp}.aspects[{k}]"
                if a["name"] in aspect_names:
                    problems.append(_problem(f"{ap}.name", "duplicate_name", _scheme_message("", "duplicate_name")))
                aspect_names.add(a["name"])
                spec = _spec_from_doc(a, len(aspects), i)
                aspects.append(spec)
                aspect_paths.append(ap)
                levels = _levels(spec)
                if a.get("level_words") and levels is not None and len(a["level_words"]) != levels:
                    problems.append(_problem(f"{ap}.level_words", "level_words_count",
                                             _scheme_message("", "level_words_count", levels=levels)))
    for problem in validate_scheme(Scheme(modules=tuple(modules), aspects=tuple(aspects))):
        match = _ENGINE_PATH.match(problem.path)
        if match is None:
            path = problem.path
        elif match.group(1) == "modules":
            index = int(match.group(2))
            if problem.code == "no_aspects" and doc["modules"][index]["criteria"] and not match.group(3):
                continue  # each empty criterion is reported itself
            path = f"modules[{index}]{match.group(3)}"
        else:
            path = aspect_paths[int(match.group(2))] + match.group(3)
        problems.append(_problem(path, problem.code, _scheme_message(path, problem.code)))
    return problems


def _levels(spec: AspectSpec) -> int | None:
    if spec.scale_step <= 0 or spec.scale_max <= spec.scale_min:
        return None
    count = (spec.scale_max - spec.scale_min) / spec.scale_step
    return int(count) + 1 if count == count.to_integral_value() else None


def _default_threshold(kind: str) -> Decimal | None:
    return DEFAULT_DIVERGENCE_THRESHOLD if kind == AspectKind.JUDGEMENT else None


def _spec_from_doc(a: dict[str, Any], aspect_id: Any, module_id: Any) -> AspectSpec:
    threshold = a["divergence_threshold"] if "divergence_threshold" in a else _default_threshold(a["kind"])
    return AspectSpec(
        id=aspect_id, module_id=module_id, kind=a["kind"], max_mark=a["max_mark"], scale_min=a["scale_min"],
        scale_max=a["scale_max"], scale_step=a["scale_step"], judges_required=a["judges_required"],
        aggregation=a["aggregation"], trim_k=a["trim_k"], normalize=a["normalize"], uses_difficulty=a["uses_difficulty"],
        divergence_threshold=threshold,
    )


def load_scheme_document(raw: Any, rows: dict[str, int] | None = None) -> dict[str, Any]:
    """Load and validate a scheme document (already parsed with exact decimals) or raise 422 with every problem.

    ``rows`` (XLSX) maps document paths to spreadsheet rows, so each problem also names its row.
    """
    try:
        doc = SetupSchemeDocSchema().load(raw)
    except ValidationError as exc:
        problems = flatten_errors(exc.messages)
    else:
        problems = doc_problems(doc)
    if problems:
        if rows:
            for p in problems:
                row = _row_of(p["path"], rows)
                if row is not None:
                    p["row"] = row
        raise invalid(problems, _("The scheme is invalid: nothing was saved."), code="invalid_scheme")
    return doc


def _row_of(path: str, rows: dict[str, int]) -> int | None:
    while path:
        if path in rows:
            return rows[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


# --- marking scheme: reading --------------------------------------------------------------------------------


def aspect_doc(a: Aspect) -> dict[str, Any]:
    return {
        "id": a.id, "name": a.name, "kind": a.kind, "max_mark": a.max_mark, "scale_min": a.scale_min,
        "scale_max": a.scale_max, "scale_step": a.scale_step, "judges_required": a.judges_required,
        "aggregation": a.aggregation, "trim_k": a.trim_k, "normalize": a.normalize, "uses_difficulty": a.uses_difficulty,
        "divergence_threshold": a.divergence_threshold, "level_words": list(a.level_words or []),
    }


def scheme_document(competition: Competition) -> dict[str, Any]:
    """The scheme as the import/export document (decimals as ``Decimal``; the API schema dumps them as strings)."""
    modules = []
    for m in load_scheme(competition):
        criteria = [{"id": c.id, "name": c.name, "aspects": [aspect_doc(a) for a in c.aspects]} for c in m.criteria]
        total = sum((a.max_mark for c in m.criteria for a in c.aspects), Decimal(0))
        modules.append({"id": m.id, "name": m.name, "kind": m.kind, "weight": m.weight,
                        "max_mark": total if criteria else None, "criteria": criteria})
    return {"modules": modules}


def get_scheme(actor, competition_id: int) -> dict[str, Any]:
    """The scheme of a competition the actor can see (organizers: always; others: once registration opened)."""
    return scheme_document(visible_competition(actor, competition_id))


def _doc_for_check(competition: Competition) -> dict[str, Any]:
    doc = scheme_document(competition)
    for m in doc["modules"]:
        m["max_mark"] = None  # computed, so never a mismatch
    return doc


def scheme_problems(competition: Competition) -> list[dict[str, Any]]:
    """The stored scheme's problems (paths as in the document), [] when it is valid."""
    return doc_problems(_doc_for_check(competition))


def check_scheme(actor, competition_id: int) -> dict[str, Any]:
    problems = scheme_problems(managed_competition(actor, competition_id))
    return {"valid": not problems, "problems": problems}




# --- module timing ------------------------------------------------------------------------------------------


def module_dict(m: Module) -> dict[str, Any]:
    return {"id": m.id, "position": m.position, "name": m.name, "kind": m.kind, "weight": m.weight,
            "ends_at": m.ends_at, "locked_at": m.locked_at}


def list_modules(actor, competition_id: int) -> list[dict[str, Any]]:
    """The modules with their end time (the appeal window runs from it) and lock time, in order."""
    competition = visible_competition(actor, competition_id)
    return [module_dict(m) for m in db.session.scalars(
        select(Module).where(Module.competition_id == competition.id).order_by(Module.position))]


def set_module_end(actor, competition_id: int, module_id: int, ends_at) -> dict[str, Any]:
    """Record when a module ends (or clear it with None); appeals may be filed for ``appeal_window_minutes`` after.
    Allowed until the results are published (the scheme itself is fixed once running, the timing is not)."""
    competition = managed_competition(actor, competition_id, for_update=True)
    module = db.session.get(Module, module_id)
    if module is None or module.competition_id != competition.id:
        raise NotFound(_("No such module in this competition."))
    if competition.status == S.PUBLISHED:
        raise Conflict(_("The results are published: the competition can no longer be changed."), code="published")
    ends_at = _utc(ends_at)
    old = module.ends_at
    if old != ends_at:
        module.ends_at = ends_at
        db.session.flush()
        record("module_end_set", module, {"competition_id": competition.id, "old": old, "new": ends_at},
               stream=audit_stream(competition.id))
    return module_dict(module)


# --- marking scheme: writing --------------------------------------------------------------------------------


def _require_scheme_editable(competition: Competition) -> None:
    if competition.status not in SCHEME_EDITABLE:
        raise Conflict(_("The marking scheme cannot change once the competition is running (it is %(state)s).",
                         state=state_label(competition.status)), code="scheme_locked",
                       details={"state": competition.status})


def _fill_aspect(a: Aspect, d: dict[str, Any]) -> None:
    a.name, a.kind = d["name"], d["kind"]
    a.max_mark, a.scale_min, a.scale_max, a.scale_step = d["max_mark"], d["scale_min"], d["scale_max"], d["scale_step"]
    a.judges_required, a.aggregation, a.trim_k = d["judges_required"], d["aggregation"], d["trim_k"]
    a.normalize, a.uses_difficulty = d["normalize"], d["uses_difficulty"]
    a.divergence_threshold = d["divergence_threshold"] if "divergence_threshold" in d else _default_threshold(d["kind"])
    a.level_words = list(d.get("level_words") or [])


def _write_scheme(competition: Competition, doc: dict[str, Any]) -> None:
    """Write ``doc`` over the stored scheme, reusing rows by position (ids of what still exists are kept)."""
    db.session.expire(competition, ["modules"])
    modules = load_scheme(competition)
    wanted = doc["modules"]
    for m in modules[len(wanted):]:
        db.session.delete(m)
    kept = modules[: len(wanted)]
    if any(m.position != i for i, m in enumerate(kept)):
        for i, m in enumerate(kept):  # two steps, so no two modules ever hold the same position
            m.position = -1 - i
        db.session.flush()
    for i, d in enumerate(wanted):
        if i < len(kept):
            m = kept[i]
            old_criteria = list(m.criteria)
        else:
            m = Module(competition_id=competition.id, position=i)
            db.session.add(m)
            old_criteria = []
        m.position, m.name, m.kind, m.weight = i, d["name"], d["kind"], d.get("weight")
        criteria = []
        for j, cd in enumerate(d["criteria"]):
            c = old_criteria[j] if j < len(old_criteria) else Criterion(position=j)
            old_aspects = list(c.aspects) if j < len(old_criteria) else []
            c.position, c.name = j, cd["name"]
            aspects = []
            for k, ad in enumerate(cd["aspects"]):
                a = old_aspects[k] if k < len(old_aspects) else Aspect(position=k)
                a.position = k
                _fill_aspect(a, ad)
                aspects.append(a)
            c.aspects = aspects  # rows left out are deleted (delete-orphan)
            criteria.append(c)
        m.criteria = criteria
    db.session.flush()
    # Factors of aspects that no longer use a difficulty factor would silently never apply: drop them.
    stale = (select(Aspect.id).join(Criterion, Criterion.id == Aspect.criterion_id)
             .join(Module, Module.id == Criterion.module_id)
             .where(Module.competition_id == competition.id, Aspect.uses_difficulty.is_(False)))
    db.session.execute(DifficultyFactor.__table__.delete().where(DifficultyFactor.aspect_id.in_(stale)))
    db.session.expire(competition, ["modules"])


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=lambda v: format_decimal(v)
                           if isinstance(v, Decimal) else str(v))
    return {
        "modules": len(doc["modules"]),
        "criteria": sum(len(m["criteria"]) for m in doc["modules"]),
        "aspects": sum(len(c["aspects"]) for m in doc["modules"] for c in m["criteria"]),
        "sha256": hashlib.sha256(canonical.encode()).hexdigest(),
    }


def replace_scheme(actor, competition_id: int, raw: Any, *, source: str = "json",
                   rows: dict[str, int] | None = None) -> dict[str, Any]:
    """Replace the whole marking scheme from a document (JSON import, XLSX upload, an editor form).

    Every problem is reported (422 ``invalid_scheme``, details.problems with paths) and nothing is written; 409
    ``scheme_locked`` once the competition is running. Returns the stored document.
    """
    competition = managed_competition(actor, competition_id, for_update=True)
    _require_scheme_editable(competition)
    doc = load_scheme_document(raw, rows)
    for m in doc["modules"]:
        m.pop("max_mark", None)  # checked, not stored
    _write_scheme(competition, doc)
    record("scheme_replaced", competition, {"source": source, **_summary(doc)}, stream=audit_stream(competition.id))
    return scheme_document(competition)


# --- marking scheme: XLSX -----------------------------------------------------------------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

XLSX_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("module", _l("Module")),
    ("module_kind", _l("Module kind")),
    ("module_weight", _l("Module weight (%)")),
    ("criterion", _l("Criterion")),
    ("aspect", _l("Aspect")),
    ("kind", _l("Type (M/J)")),
    ("max_mark", _l("Max mark")),
    ("scale_min", _l("Scale minimum")),
    ("scale_max", _l("Scale maximum")),
    ("scale_step", _l("Scale step")),
    ("judges_required", _l("Judges required")),
    ("aggregation", _l("Aggregation")),
    ("trim_k", _l("Marks dropped at each end")),
    ("normalize", _l("Normalize to max mark")),
    ("uses_difficulty", _l("Difficulty factor applies")),
    ("divergence_threshold", _l("Divergence threshold")),
    ("level_words", _l("Level words")),
)
REQUIRED_COLUMNS = ("module", "criterion", "aspect", "kind", "max_mark", "scale_max")
DECIMAL_COLUMNS = {"module_weight", "max_mark", "scale_min", "scale_max", "scale_step", "divergence_threshold"}
INT_COLUMNS = {"judges_required", "trim_k"}
BOOL_COLUMNS = {"normalize", "uses_difficulty"}
TRUE_WORDS = {"true", "yes", "y", "1", "是", "对", "✓", "√"}
FALSE_WORDS = {"false", "no", "n", "0", "否", "不", "×"}
NONE_WORDS = {"-", "none", "无", "不设"}


def _in_every_language(labels: dict[str, Any]) -> dict[str, str]:
    """{text (casefolded) → code}: each code itself and its label in every language of the app."""
    out = {code.casefold(): code for code in labels}
    for lang in current_app.config["LANGUAGES"]:
        with force_locale(lang):
            out.update({str(label).strip().casefold(): code for code, label in labels.items()})
    return out


def export_scheme_xlsx(actor, competition_id: int) -> tuple[bytes, str]:
    """The scheme as XLSX (one sheet, a header row, one row per aspect) and a file name."""
    import openpyxl

    competition = visible_competition(actor, competition_id)
    doc = scheme_document(competition)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = _("Marking scheme")[:31]
    ws.append([str(label) for _key, label in XLSX_COLUMNS])

    def num(value: Decimal | None) -> Decimal | None:
        return None if value is None else Decimal(format_decimal(value))

    for m in doc["modules"]:
        for c in m["criteria"]:
            for a in c["aspects"]:
                ws.append([
                    m["name"], m["kind"], num(m["weight"]), c["name"], a["name"], a["kind"], num(a["max_mark"]),
                    num(a["scale_min"]), num(a["scale_max"]), num(a["scale_step"]), a["judges_required"],
                    a["aggregation"], a["trim_k"], a["normalize"], a["uses_difficulty"],
                    "-" if a["divergence_threshold"] is None else num(a["divergence_threshold"]),
                    "\n".join(a["level_words"]),
                ])
    for column, width in zip("ABCDEFGHIJKLMNOPQ", (20, 12, 10, 24, 32, 8, 10, 10, 10, 10, 8, 14, 8, 8, 8, 10, 30),
                             strict=True):
        ws.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), f"scheme-{competition.id}.xlsx"


def _cell_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        # Excel stores binary doubles; repr is the shortest text that reads back as the same double, i.e. what was
        # typed. Every value we accept (≤ 4 places, < 10^10: ≤ 14 significant digits) survives this exactly.
        return Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _cell_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,6}\s*", value):
        return int(value)
    return value


def _cell_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return str(value)


def _read_sheet(data: bytes) -> list[tuple[int, tuple[Any, ...]]]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles and extensions it ignores
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        except Exception as exc:  # noqa: BLE001 - any failure to open means: not a workbook we can read
            raise DomainError(_("The file is not a valid XLSX workbook. Save it again from Excel or WPS as XLSX."),
                              code="bad_xlsx") from exc
        try:
            rows = []
            for number, row in enumerate(wb.worksheets[0].iter_rows(values_only=True, max_col=40), start=1):
                if any(c is not None and str(c).strip() for c in row):
                    rows.append((number, row))
                    if len(rows) > MAX_XLSX_ROWS + 1:
                        raise DomainError(_("The sheet has more than %(max)d rows.", max=MAX_XLSX_ROWS), code="too_many_rows")
            return rows
        except DomainError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DomainError(_("The file is not a valid XLSX workbook. Save it again from Excel or WPS as XLSX."),
                              code="bad_xlsx") from exc
        finally:
            wb.close()


def scheme_from_xlsx(data: bytes) -> tuple[dict[str, Any], dict[str, int]]:
    """The raw scheme document of an XLSX sheet, and {document path → row number} for error messages.

    Header cells are matched by column code or by their label in any language. Rows with the same module name
    form one module (in order of first appearance); within it, rows with the same criterion name one criterion.
    Empty cells take the default; "-" in the divergence threshold means never flagged.
    """
    rows = _read_sheet(data)
    if not rows:
        raise invalid([_problem("", "empty", _("The sheet is empty."))], code="invalid_scheme")
    header_row, header = rows[0]
    names = _in_every_language(dict(XLSX_COLUMNS))
    columns: dict[int, str] = {}
    problems = []
    for index, cell in enumerate(header):
        text = str(cell).strip().casefold() if cell is not None else ""
        if not text:
            continue
        key = names.get(text)
        if key is None:
            problems.append(_problem(f"columns[{index}]", "unknown_column",
                                     _("Unknown column: %(name)s.", name=str(cell).strip()), row=header_row))
        else:
            columns[index] = key
    for key in REQUIRED_COLUMNS:
        if key not in columns.values():
            label = dict(XLSX_COLUMNS)[key]
            problems.append(_problem(f"columns.{key}", "missing_column", _("Missing column: %(name)s.", name=str(label)),
                                     row=header_row))
    if problems:
        raise invalid(problems, _("The scheme is invalid: nothing was saved."), code="invalid_scheme")

    module_kinds = _in_every_language(MODULE_KIND_LABELS)
    aggregations = _in_every_language(AGGREGATION_LABELS)
    modules: dict[str, dict[str, Any]] = {}
    path_rows: dict[str, int] = {}
    for number, row in rows[1:]:
        values: dict[str, Any] = {}
        for index, key in columns.items():
            cell = row[index] if index < len(row) else None
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            values[key] = cell
        for key in ("module", "criterion", "aspect"):
            values[key] = str(values.get(key, "")).strip()
        module = modules.get(values["module"])
        if module is None:
            module = modules[values["module"]] = {"name": values["module"], "criteria": {}, "_row": number}
            path_rows[f"modules[{len(modules) - 1}]"] = number
        m_index = list(modules).index(values["module"])
        for key, target in (("module_kind", "kind"), ("module_weight", "weight")):
            if key not in values:
                continue
            value = values[key]
            if key == "module_kind":
                value = module_kinds.get(str(value).strip().casefold(), str(value).strip())
            else:
                value = _cell_decimal(value)
            if target in module and module[target] != value:
                problems.append(_problem(f"modules[{m_index}].{target}", "inconsistent",
                                         _scheme_message("", "inconsistent"), row=number))
            module.setdefault(target, value)
        criteria = module["criteria"]
        criterion = criteria.get(values["criterion"])
        if criterion is None:
            criterion = criteria[values["criterion"]] = {"name": values["criterion"], "aspects": []}
            path_rows[f"modules[{m_index}].criteria[{len(criteria) - 1}]"] = number
        c_index = list(criteria).index(values["criterion"])
        aspect: dict[str, Any] = {"name": values["aspect"]}
        for key, value in values.items():
            if key in ("module", "module_kind", "module_weight", "criterion", "aspect"):
                continue
            if key == "kind":
                aspect[key] = str(value).strip().upper()
            elif key == "aggregation":
                aspect[key] = aggregations.get(str(value).strip().casefold(), str(value).strip())
            elif key == "divergence_threshold" and str(value).strip().casefold() in NONE_WORDS:
                aspect[key] = None
            elif key in DECIMAL_COLUMNS:
                aspect[key] = _cell_decimal(value)
            elif key in INT_COLUMNS:
                aspect[key] = _cell_int(value)
            elif key in BOOL_COLUMNS:
                aspect[key] = _cell_bool(value)
            elif key == "level_words":
                aspect[key] = [w.strip() for w in re.split(r"[\n|]", str(value)) if w.strip()]
        path_rows[f"modules[{m_index}].criteria[{c_index}].aspects[{len(criterion['aspects'])}]"] = number
        criterion["aspects"].append(aspect)
    if problems:
        raise invalid(problems, _("The scheme is invalid: nothing was saved."), code="invalid_scheme")
    doc = {"modules": [
        {**{k: v for k, v in m.items() if k not in ("criteria", "_row")}, "criteria": list(m["criteria"].values())}
        for m in modules.values()
    ]}
    return doc, path_rows


def import_scheme_xlsx(actor, competition_id: int, data: bytes) -> dict[str, Any]:
    """Replace the scheme from an XLSX upload: the same validation as the JSON import; problems name their row."""
    competition = managed_competition(actor, competition_id)
    _require_scheme_editable(competition)
    raw, rows = scheme_from_xlsx(data)
    return replace_scheme(actor, competition_id, raw, source="xlsx", rows=rows)


# --- difficulty factors -----------------------------------------------------------------------------------


def _competition_aspects(competition: Competition) -> dict[int, Aspect]:
    return {a.id: a for a in db.session.scalars(
        select(Aspect).join(Criterion, Criterion.id == Aspect.criterion_id).join(Module, Module.id == Criterion.module_id)
        .where(Module.competition_id == competition.id)
    )}


def _factors(competition: Competition) -> list[DifficultyFactor]:
    return list(db.session.scalars(
        select(DifficultyFactor).join(Entry, Entry.id == DifficultyFactor.entry_id)
        .where(Entry.competition_id == competition.id).order_by(DifficultyFactor.entry_id, DifficultyFactor.aspect_id)
    ))


def difficulty_factors(competition: Competition) -> dict[tuple[int, int], Decimal]:
    """{(entry_id, aspect_id): factor} for scoring (aspects without a factor are not in the map)."""
    return {(f.entry_id, f.aspect_id): f.factor for f in _factors(competition)}


def list_difficulty(actor, competition_id: int) -> list[dict[str, Any]]:
    competition = managed_competition(actor, competition_id)
    return [{"entry_id": f.entry_id, "aspect_id": f.aspect_id, "factor": f.factor} for f in _factors(competition)]


def set_difficulty(actor, competition_id: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set (or, with ``factor`` null, remove) difficulty factors; pairs not listed stay as they are.

    0 < factor ≤ 10; only aspects with ``uses_difficulty``; only entries of this competition; until scoring is
    closed. All or nothing: 422 ``invalid_difficulty`` with a problem per item (path ``[i].field``).
    """
    competition = managed_competition(actor, competition_id, for_update=True)
    if competition.status not in DIFFICULTY_EDITABLE:
        raise Conflict(_("Difficulty factors cannot change once scoring is closed."), code="difficulty_locked",
                       details={"state": competition.status})
    if len(items) > MAX_DIFFICULTY_ITEMS:
        raise invalid([_problem("", "too_many", _("At most %(max)d items at a time.", max=MAX_DIFFICULTY_ITEMS))])
    entries = set(db.session.scalars(select(Entry.id).where(Entry.competition_id == competition.id)))
    aspects = _competition_aspects(competition)
    problems, seen = [], set()
    for i, item in enumerate(items):
        p = f"[{i}]"
        if item["entry_id"] not in entries:
            problems.append(_problem(f"{p}.entry_id", "unknown_entry", _("No such entry in this competition.")))
        aspect = aspects.get(item["aspect_id"])
        if aspect is None:
            problems.append(_problem(f"{p}.aspect_id", "unknown_aspect", _("No such aspect in this competition.")))
        elif not aspect.uses_difficulty:
            problems.append(_problem(f"{p}.aspect_id", "no_difficulty", _("This aspect does not use a difficulty factor.")))
        factor = item["factor"]
        if factor is not None and factor <= 0:
            problems.append(_problem(f"{p}.factor", "not_positive", _("The factor must be greater than 0.")))
        elif factor is not None and factor > MAX_FACTOR:
            problems.append(_problem(f"{p}.factor", "too_large", _("The factor must be at most 10.")))
        elif factor is not None and factor != factor.quantize(Decimal("0.0001")):  # NUMERIC(…, 4): never rounded
            problems.append(_problem(f"{p}.factor", "too_precise", _("At most 4 decimal places.")))
        pair = (item["entry_id"], item["aspect_id"])
        if pair in seen:
            problems.append(_problem(p, "duplicate", _("This entry and aspect are listed twice.")))
        seen.add(pair)
    if problems:
        raise invalid(problems, code="invalid_difficulty")
    existing = {(f.entry_id, f.aspect_id): f for f in _factors(competition)}
    changes = []
    for item in items:
        pair, factor = (item["entry_id"], item["aspect_id"]), item["factor"]
        row = existing.get(pair)
        old = row.factor if row is not None else None
        if factor is None and row is not None:
            db.session.delete(row)
        elif factor is not None and row is None:
            db.session.add(DifficultyFactor(entry_id=pair[0], aspect_id=pair[1], factor=factor))
        elif factor is not None and row is not None and row.factor != factor:
            row.factor = factor
        else:
            continue
        changes.append({"entry_id": pair[0], "aspect_id": pair[1], "old": None if old is None else format_decimal(old),
                        "new": None if factor is None else format_decimal(factor)})
    db.session.flush()
    if changes:
        record("difficulty_factors_set", competition, {"changes": changes}, stream=audit_stream(competition.id))
    return [{"entry_id": f.entry_id, "aspect_id": f.aspect_id, "factor": f.factor} for f in _factors(competition)]


# --- rules --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RulesConfig:
    tie_break: tuple[TieBreakKey, ...]
    award_strategies: tuple[AwardStrategy, ...]
    promotion_bands: tuple[PromotionBand, ...]


def rules_config(competition: Competition) -> RulesConfig:
    """The competition's rules as engine objects, exactly as stored (validated when they were set)."""
    return RulesConfig(
        tie_break=tie_break_from_json(competition.tie_break or []),
        award_strategies=award_rules_from_json(competition.award_rules or []),
        promotion_bands=promotion_bands_from_json(competition.promotion_bands or []),
    )


def rules_document(competition: Competition) -> dict[str, Any]:
    return {"tie_break": competition.tie_break or [], "award_rules": competition.award_rules or [],
            "promotion_bands": competition.promotion_bands or []}


def get_rules(actor, competition_id: int) -> dict[str, Any]:
    return rules_document(visible_competition(actor, competition_id))


_RULE_MESSAGES = {
    "direction": _l('The direction must be "asc" or "desc".'),
    "unknown_key": _l("Unknown tie-break key: use completion_time, module_kind:<theory|practical|other> or module:<id>."),
    "unknown_module": _l("No such module in this competition."),
    "duplicate_key": _l("This key is already in the chain."),
    "negative_share": _l("A percentage must not be negative."),
    "shares_above_100": _l("The percentages add up to more than 100."),
    "negative_count": _l("A count must not be negative."),
    "three_medals": _l("Give exactly three medals."),
    "min_field_below_1": _l("A minimum field must be at least 1."),
    "rank_range": _l("The first rank must be at least 1 and not after the last rank."),
    "target_level": _l("The target level must be 1 to 5."),
    "target_level_unused": _l("Only “to level” bands have a target level."),
    "overlap": _l("Two bands share a rank."),
}


def _rule_problem(path: str, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, DomainRuleError):
        reason = exc.reason or exc.code
        message = _RULE_MESSAGES.get(reason)
        return _problem(path, reason, message if message is not None else _("This rule is not valid."))
    return _problem(path, "invalid", _("This rule is not valid."))


def set_rules(actor, competition_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Set the tie-break chain, award rules and promotion bands. A key left out gets its default; [] means none.

    Validated with the engine's config parsers; every problem is reported (422 ``invalid_rules``), nothing is
    written then. Allowed in every state (a published result is a frozen snapshot; a correction uses the new rules).
    """
    competition = managed_competition(actor, competition_id, for_update=True)
    tie_break = values.get("tie_break", DEFAULT_TIE_BREAK)
    award_rules = values.get("award_rules", DEFAULT_AWARD_RULES)
    bands = values.get("promotion_bands", DEFAULT_PROMOTION_BANDS)
    problems = []
    module_ids = {str(m.id) for m in competition.modules}
    keys_seen: set[str] = set()
    for i, item in enumerate(tie_break):
        try:
            tie_break_from_json([item])
        except (DomainRuleError, TypeError, ValueError) as exc:
            problems.append(_rule_problem(f"tie_break[{i}]", exc))
            continue
        key = item[0]
        if key.startswith("module:") and key.split(":", 1)[1] not in module_ids:
            problems.append(_problem(f"tie_break[{i}]", "unknown_module", _RULE_MESSAGES["unknown_module"]))
        if key in keys_seen:
            problems.append(_problem(f"tie_break[{i}]", "duplicate_key", _RULE_MESSAGES["duplicate_key"]))
        keys_seen.add(key)
    strategies = []
    for i, rule in enumerate(award_rules):
        try:
            strategies.extend(award_rules_from_json([rule]))
        except (DomainRuleError, TypeError, ValueError) as exc:
            problems.append(_rule_problem(f"award_rules[{i}]", exc))
    parsed_bands = []
    for i, band in enumerate(bands):
        try:
            parsed_bands.extend(promotion_bands_from_json([band]))
        except (DomainRuleError, TypeError, ValueError) as exc:
            problems.append(_rule_problem(f"promotion_bands[{i}]", exc))
    if not problems:
        try:
            check_bands(parsed_bands)
        except DomainRuleError as exc:
            problems.append(_rule_problem("promotion_bands", exc))
    if problems:
        raise invalid(problems, _("The rules are not valid: nothing was saved."), code="invalid_rules")
    competition.tie_break = tie_break_to_json(tie_break_from_json(tie_break))
    competition.award_rules = award_rules_to_json(tuple(strategies))
    competition.promotion_bands = promotion_bands_to_json(tuple(parsed_bands))
    db.session.flush()
    document = rules_document(competition)
    record("competition_rules_set", competition, document, stream=audit_stream(competition.id))
    return document
