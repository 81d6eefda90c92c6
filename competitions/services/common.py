"""Loading and permission helpers shared by the competition services."""

from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from app.accounts.models import Role
from app.db import db
from app.errors import NotFound, PermissionDenied
from competitions.models import Competition

ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)


def is_organizer(actor) -> bool:
    return actor.has_role(*ORGANIZERS)


def require_organizer(actor) -> None:
    if not is_organizer(actor):
        raise PermissionDenied(_l("Only the organizers may do this."))


def get_competition(competition_id: int, *, for_update: bool = False, for_share: bool = False) -> Competition:
    """The competition, or NotFound. ``for_update`` locks the row (PostgreSQL; SQLite's write transactions are
    already exclusive) so state checks and changes cannot interleave; ``for_share`` locks it against those changes
    only, so that many judges' marks go on side by side while a lifecycle step, a module lock or a panel change
    (all ``for_update``) waits for them, and they for it."""
    statement = _competition_statement("update" if for_update else "share" if for_share else "")
    competition = db.session.execute(statement, {"competition_id": competition_id}).scalar_one_or_none()
    if competition is None:
        raise NotFound(_l("No such competition."))
    return competition


@cache
def _competition_statement(lock: str):
    """Built once per kind of lock (every request about a competition runs one)."""
    stmt = select(Competition).where(Competition.id == bindparam("competition_id"))
    if lock:
        # A locking use case (a judge's mark, a lifecycle step) reads the competition's rules, not its trade: the
        # trade loads when asked for (PostgreSQL would refuse FOR UPDATE on its outer join anyway).
        stmt = stmt.options(lazyload(Competition.trade)).with_for_update(of=Competition, read=lock == "share")
    return stmt


def audit_stream(competition_id: int) -> str:
    """The audit log's stream of a competition (``app.audit.services``): its judges, organizers and HR append to a
    hash chain of its own, so writers of different competitions never wait for each other's audit appends."""
    return f"competition:{competition_id}"
