"""Module timing: when each module ends (the appeal window runs from it), changeable until the results are published
(the scheme itself is fixed once the competition runs, its timing is not)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.db import db
from app.errors import Conflict, NotFound
from competitions.domain import CompetitionState
from competitions.models import Module
from competitions.services.common import audit_stream
from competitions.services.setup.common import managed_competition, utc, visible_competition

S = CompetitionState


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
    ends_at = utc(ends_at)
    old = module.ends_at
    if old != ends_at:
        module.ends_at = ends_at
        db.session.flush()
        record("module_end_set", module, {"competition_id": competition.id, "old": old, "new": ends_at},
               stream=audit_stream(competition.id))
    return module_dict(module)
