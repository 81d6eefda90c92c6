"""What the use cases of competition setup share: the shape of a problem list and its 422, and the competition an
actor may see or manage (re-read and row-locked for a write)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.db import db
from app.errors import DomainError, NotFound
from competitions.domain import CompetitionState
from competitions.models import Competition
from competitions.services.common import is_organizer, require_organizer

S = CompetitionState


def invalid(problems: list[dict[str, Any]], message: Any = None, code: str = "validation_error") -> DomainError:
    """422 with ``details.problems`` (each ``{"path", "code", "message"}``)."""
    return DomainError(message or _("The request contains invalid data."), code=code, status=422,
                       details={"problems": problems})


def problem(path: str, code: str, message: Any, **extra: Any) -> dict[str, Any]:
    """One problem of a request: where (a path into the input), a code, the translated message, extras (``row``)."""
    return {"path": path, "code": code, "message": str(message), **extra}


def lock_competition(competition_id: int) -> Competition:
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
        return lock_competition(competition_id)
    competition = db.session.get(Competition, competition_id)
    if competition is None:
        raise NotFound(_("No such competition."))
    return competition


def utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
