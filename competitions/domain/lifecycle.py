"""State tables: the competition lifecycle and a registration's status.

Each table maps (state, event) → new state. ``transition`` raises ``DomainRuleError(code="transition_not_allowed",
reason=...)`` with a reason code when the pair is not in the table:
    unknown_event   the event is not an event of this table
    already_done    the current state is where the event would lead (e.g. opening an open registration)
    not_yet         the event is allowed only from a later state (competition: publishing while running)
    too_late        the event is allowed only from an earlier state (competition: opening registration while running)
    not_allowed     any other case (registrations, which have no order)
``details["allowed_from"]`` lists the states the event is allowed from. Guards that need data (every module
locked before closing scoring, …) belong to the services; the actor and time are recorded there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from .common import DomainRuleError


class CompetitionState(StrEnum):
    DRAFT = "draft"
    REGISTRATION_OPEN = "registration_open"
    REGISTRATION_CLOSED = "registration_closed"
    RUNNING = "running"
    SCORING_CLOSED = "scoring_closed"
    PUBLISHED = "published"


class CompetitionEvent(StrEnum):
    OPEN_REGISTRATION = "open_registration"
    CLOSE_REGISTRATION = "close_registration"
    START = "start"
    CLOSE_SCORING = "close_scoring"
    PUBLISH = "publish"
    PUBLISH_CORRECTION = "publish_correction"  # a new results version; the state stays published


S, E = CompetitionState, CompetitionEvent

TRANSITIONS: Mapping[tuple[CompetitionState, CompetitionEvent], CompetitionState] = {
    (S.DRAFT, E.OPEN_REGISTRATION): S.REGISTRATION_OPEN,
    (S.REGISTRATION_OPEN, E.CLOSE_REGISTRATION): S.REGISTRATION_CLOSED,
    (S.REGISTRATION_CLOSED, E.START): S.RUNNING,
    (S.RUNNING, E.CLOSE_SCORING): S.SCORING_CLOSED,
    (S.SCORING_CLOSED, E.PUBLISH): S.PUBLISHED,
    (S.PUBLISHED, E.PUBLISH_CORRECTION): S.PUBLISHED,
}

STATE_ORDER: tuple[CompetitionState, ...] = tuple(CompetitionState)


class RegistrationState(StrEnum):
    REGISTERED = "registered"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class RegistrationEvent(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"


R, RE = RegistrationState, RegistrationEvent

REGISTRATION_TRANSITIONS: Mapping[tuple[RegistrationState, RegistrationEvent], RegistrationState] = {
    (R.REGISTERED, RE.APPROVE): R.APPROVED,
    (R.REGISTERED, RE.REJECT): R.REJECTED,
    (R.REGISTERED, RE.WITHDRAW): R.WITHDRAWN,
    (R.APPROVED, RE.WITHDRAW): R.WITHDRAWN,
}

StateT = TypeVar("StateT", bound=StrEnum)
EventT = TypeVar("EventT", bound=StrEnum)


def _apply(table: Mapping[tuple[StateT, EventT], StateT], state_type: type[StateT], event_type: type[EventT],
           state: StateT | str, event: EventT | str, order: tuple[StateT, ...] | None) -> StateT:
    try:
        state = state_type(state)
    except ValueError:
        raise DomainRuleError("unknown_state", state=str(state)) from None
    try:
        event = event_type(event)
    except ValueError:
        raise DomainRuleError("transition_not_allowed", "unknown_event", state=str(state), event=str(event)) from None
    target = table.get((state, event))
    if target is not None:
        return target
    sources = [s for (s, e) in table if e is event]
    targets = {t for (s, e), t in table.items() if e is event}
    details = {"state": str(state), "event": str(event), "allowed_from": [str(s) for s in sources]}
    if state in targets:
        reason = "already_done"
    elif order is not None and sources and all(order.index(state) < order.index(s) for s in sources):
        reason = "not_yet"
    elif order is not None and sources and all(order.index(state) > order.index(s) for s in sources):
        reason = "too_late"
    else:
        reason = "not_allowed"
    raise DomainRuleError("transition_not_allowed", reason, **details)


def transition(state: CompetitionState | str, event: CompetitionEvent | str) -> CompetitionState:
    """The competition's next state, or ``DomainRuleError("transition_not_allowed", reason)``."""
    return _apply(TRANSITIONS, CompetitionState, CompetitionEvent, state, event, STATE_ORDER)


def allowed_events(state: CompetitionState | str) -> tuple[CompetitionEvent, ...]:
    """The events allowed from ``state`` (for buttons)."""
    state = CompetitionState(state)
    return tuple(e for (s, e) in TRANSITIONS if s is state)


def registration_transition(state: RegistrationState | str, event: RegistrationEvent | str) -> RegistrationState:
    """A registration's next status, or ``DomainRuleError("transition_not_allowed", reason)``."""
    return _apply(REGISTRATION_TRANSITIONS, RegistrationState, RegistrationEvent, state, event, None)


def allowed_registration_events(state: RegistrationState | str) -> tuple[RegistrationEvent, ...]:
    state = RegistrationState(state)
    return tuple(e for (s, e) in REGISTRATION_TRANSITIONS if s is state)


__all__ = [
    "REGISTRATION_TRANSITIONS",
    "STATE_ORDER",
    "TRANSITIONS",
    "CompetitionEvent",
    "CompetitionState",
    "RegistrationEvent",
    "RegistrationState",
    "allowed_events",
    "allowed_registration_events",
    "registration_transition",
    "transition",
]
