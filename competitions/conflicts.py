"""Conflicts of interest (回避): the reasons a judge may not see or mark an entrant, as a registry of rules.

A rule is a SQL condition on one (judge, entry) pair — "this judge is in conflict with this entry" — registered
under a reason code with its translated texts and a rank (the order of severity: the first rule that holds is the
reason given). Because every rule is SQL, all of them are checked inside the statements that already read the
entries: the entries a judge may mark (``none_of``), the reason for each entry of a batch of marks (``reason``),
the counts on the organizer's judges page — a fixed number of queries however many rules there are. The judging
service (``competitions.services.judging``) is the only caller; it never names a rule.

Rules of competitions (this module): own entry, own enterprise, former enterprise, declared, same industry chain.
Another domain adds its own where it lives, without touching the judging code::

    from competitions import conflicts

    @conflicts.rule("master_apprentice", rank=15, message=_l("The judge is the entrant's master."),
                    label=_l("Their apprentices"))
    def _master_of(pair):
        user, pairing = aliased(User), aliased(Pairing)
        return conflicts.any_row(user, pairing, where=(user.id == pair.judge, pairing.master_id == user.worker_id,
                                                       pairing.apprentice_id == pair.worker))

A condition must be true or false, never NULL (``any_row``, i.e. EXISTS, or IN over a subquery without NULLs), and
must read its tables through its own aliases (``any_row`` correlates everything else), so that it can be put into
any statement about entries.

An entrant's enterprises are the one the entry was registered for (it keeps it: a result belongs to the employer
at that time) and the one the entrant works for now; a judge's are those of their current employment (the worker
record linked to their account), their judge profile and any they are HR of.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Date, bindparam, case, literal_column, not_, null, or_, select, true, union_all
from sqlalchemy.orm import aliased

from app.accounts.models import Role, User, UserRole
from app.db import local_date
from app.orgs.models import chain_member
from app.people.models import Employment, Worker
from competitions.models import DeclaredConflict, JudgeProfile

# A judge who left the entrant's enterprise less than this long ago is still in conflict with its entrants.
FORMER_EMPLOYER_DAYS = 365


@dataclass(frozen=True)
class Pair:
    """What a rule's condition may refer to: SQL expressions of the statement it is put into."""

    judge: Any  # the judge's user id (a bound value)
    entry: Any  # the entry's id
    worker: Any  # the entrant's worker id
    enterprise: Any  # the enterprise the entry was registered for


@dataclass(frozen=True, eq=False)
class Rule:
    code: str
    rank: int
    message: Any  # why, about one entrant (organizers' pages)
    label: Any  # the entrants it excludes, as a heading for counts ("Entrants of their own enterprise")
    condition: Callable[[Pair], ColumnElement[bool]]
    applies: Callable[[Any], bool]  # competition → whether the rule is in force there


RULES: dict[str, Rule] = {}


def rule(code: str, *, rank: int, message: Any, label: Any, applies: Callable[[Any], bool] | None = None):
    """Register the decorated ``condition(pair)`` under ``code``. ``applies(competition)`` turns it off per
    competition (default: always on)."""

    def register(condition: Callable[[Pair], ColumnElement[bool]]):
        if code in RULES:
            raise ValueError(f"conflict rule {code!r} is already registered")
        RULES[code] = Rule(code, rank, message, label, condition, applies or (lambda competition: True))
        return condition

    return register


def unregister(code: str) -> None:
    RULES.pop(code, None)


def rules_for(competition) -> tuple[Rule, ...]:
    """The rules in force in ``competition``, most severe first."""
    return tuple(sorted((r for r in RULES.values() if r.applies(competition)), key=lambda r: (r.rank, r.code)))


def reason(pair: Pair, rules: tuple[Rule, ...]) -> ColumnElement:
    """SQL: the code of the first of ``rules`` (``rules_for(competition)``) that holds for the pair, or NULL. A
    statement built with it depends on nothing else but its bound values: cache it by ``rules``."""
    if not rules:
        return null()
    return case(*[(r.condition(pair), r.code) for r in rules], else_=null())


def none_of(pair: Pair, rules: tuple[Rule, ...]) -> ColumnElement[bool]:
    """SQL: true when none of ``rules`` holds for the pair (the judge may see and mark the entry)."""
    return not_(or_(*[r.condition(pair) for r in rules])) if rules else true()


def message(code: str | None) -> str | None:
    return None if code is None else str(RULES[code].message)


# --- the two sides' enterprises ------------------------------------------------------------------------------


def judge_enterprises(judge):
    """SQL: the enterprise ids of the judge (current employment, judge profile, HR roles); never NULL."""
    user, worker, profile, role = aliased(User), aliased(Worker), aliased(JudgeProfile), aliased(UserRole)
    return union_all(
        select(worker.enterprise_id).join(user, user.worker_id == worker.id).where(user.id == judge),
        select(profile.enterprise_id).where(profile.user_id == judge, profile.enterprise_id.is_not(None)),
        select(role.enterprise_id).where(role.user_id == judge, role.role == Role.HR, role.enterprise_id.is_not(None)),
    )


def current_employer(pair: Pair):
    """SQL: the enterprise the entrant works for now."""
    worker = aliased(Worker)
    return select(worker.enterprise_id).where(worker.id == pair.worker).correlate_except(worker).scalar_subquery()


def _of_entrant(column, pair: Pair) -> ColumnElement[bool]:
    return or_(column == pair.enterprise, column == current_employer(pair))


def any_row(*tables, where) -> ColumnElement[bool]:
    """SQL: EXISTS a row of ``tables`` (a rule's own aliases) with ``where``; everything else the condition names is
    correlated to the statement the rule is put into, at whatever depth it stands."""
    return select(literal_column("1")).select_from(*tables).where(*where).correlate_except(*tables).exists()


# --- the rules of competitions ---------------------------------------------------------------------------------


@rule("own_entry", rank=10, message=_l("The judge is this entrant."), label=_l("Their own entry"))
def _own_entry(pair: Pair):
    user = aliased(User)
    return any_row(user, where=(user.id == pair.judge, user.worker_id == pair.worker))


@rule("own_enterprise", rank=20, message=_l("The entrant belongs to the judge's enterprise."),
      label=_l("Entrants of their own enterprise"))
def _own_enterprise(pair: Pair):
    theirs = judge_enterprises(pair.judge)
    return or_(pair.enterprise.in_(theirs), current_employer(pair).in_(theirs))


def _former_since() -> date:
    return local_date() - timedelta(days=FORMER_EMPLOYER_DAYS)


@rule("former_enterprise", rank=25, message=_l("The judge worked for the entrant's enterprise within the last year."),
      label=_l("Entrants of an enterprise they left within the last year"))
def _former_enterprise(pair: Pair):
    user, employment = aliased(User), aliased(Employment)
    since = bindparam("former_employer_since", callable_=_former_since, type_=Date(), unique=True)
    return any_row(user, employment, where=(
        user.id == pair.judge, employment.worker_id == user.worker_id, employment.ended_on.is_not(None),
        employment.ended_on > since, _of_entrant(employment.enterprise_id, pair)))


@rule("declared", rank=30, message=_l("The judge declared a conflict of interest with this entrant."),
      label=_l("Declared conflicts"))
def _declared(pair: Pair):
    declared = aliased(DeclaredConflict)
    return any_row(declared, where=(declared.entry_id == pair.entry, declared.judge_id == pair.judge))


@rule("same_chain", rank=40, message=_l("The entrant's enterprise is in the same industry chain as the judge's."),
      label=_l("Entrants of the same industry chain"), applies=lambda competition: bool(competition.conflict_same_chain))
def _same_chain(pair: Pair):
    judges, entrants = chain_member.alias(), chain_member.alias()
    return any_row(judges, entrants, where=(
        judges.c.chain_id == entrants.c.chain_id, judges.c.enterprise_id.in_(judge_enterprises(pair.judge)),
        _of_entrant(entrants.c.enterprise_id, pair)))


__all__ = ["FORMER_EMPLOYER_DAYS", "RULES", "Pair", "Rule", "any_row", "current_employer", "judge_enterprises", "message",
           "none_of", "reason", "rule", "rules_for", "unregister"]
