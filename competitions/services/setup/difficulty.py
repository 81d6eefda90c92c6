"""Difficulty factors (难度系数): a factor per entry and aspect that uses one, set until scoring is closed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.db import db
from app.errors import Conflict
from competitions.domain import CompetitionState
from competitions.models import Aspect, Competition, Criterion, DifficultyFactor, Entry, Module
from competitions.schemas.setup import format_decimal
from competitions.services.common import audit_stream
from competitions.services.setup.common import invalid, managed_competition, problem

S = CompetitionState

DIFFICULTY_EDITABLE = frozenset({S.DRAFT, S.REGISTRATION_OPEN, S.REGISTRATION_CLOSED, S.RUNNING})

MAX_FACTOR = Decimal(10)

MAX_DIFFICULTY_ITEMS = 20_000


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
        raise invalid([problem("", "too_many", _("At most %(max)d items at a time.", max=MAX_DIFFICULTY_ITEMS))])
    entries = set(db.session.scalars(select(Entry.id).where(Entry.competition_id == competition.id)))
    aspects = _competition_aspects(competition)
    problems, seen = [], set()
    for i, item in enumerate(items):
        p = f"[{i}]"
        if item["entry_id"] not in entries:
            problems.append(problem(f"{p}.entry_id", "unknown_entry", _("No such entry in this competition.")))
        aspect = aspects.get(item["aspect_id"])
        if aspect is None:
            problems.append(problem(f"{p}.aspect_id", "unknown_aspect", _("No such aspect in this competition.")))
        elif not aspect.uses_difficulty:
            problems.append(problem(f"{p}.aspect_id", "no_difficulty", _("This aspect does not use a difficulty factor.")))
        factor = item["factor"]
        if factor is not None and factor <= 0:
            problems.append(problem(f"{p}.factor", "not_positive", _("The factor must be greater than 0.")))
        elif factor is not None and factor > MAX_FACTOR:
            problems.append(problem(f"{p}.factor", "too_large", _("The factor must be at most 10.")))
        elif factor is not None and factor != factor.quantize(Decimal("0.0001")):  # NUMERIC(…, 4): never rounded
            problems.append(problem(f"{p}.factor", "too_precise", _("At most 4 decimal places.")))
        pair = (item["entry_id"], item["aspect_id"])
        if pair in seen:
            problems.append(problem(p, "duplicate", _("This entry and aspect are listed twice.")))
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
