"""The lifecycle (draft → registration → running → scoring closed → published): every step is checked by the
engine's state table and this step's guard, then applied with a conditional UPDATE, recorded and audited."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict
from competitions.domain import CompetitionEvent, CompetitionState, DomainRuleError, transition
from competitions.labels import describe_path, event_label, state_label, translate_message
from competitions.models import Competition, CompetitionTransition, Entry, ModuleCode
from competitions.services.common import audit_stream, require_organizer
from competitions.services.setup.common import lock_competition, managed_competition
from competitions.services.setup.scheme import doc_for_check, doc_problems

S, E = CompetitionState, CompetitionEvent


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
    doc = doc_for_check(competition)
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
    competition = lock_competition(competition.id)
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
