"""The one mapping from a stored marking scheme to the engine's specs (``competitions.domain``).

Setup, marks, results, the board and the API all read an aspect's rules through ``aspect_spec``, so a stored
value means the same thing everywhere. In particular ``divergence_threshold`` NULL means "never flag" (the scheme
editor's "never", the API's ``null``): it is passed on as None, never replaced by a default.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.db import db
from competitions.domain import AspectSpec, ModuleSpec, Scheme
from competitions.models import Aspect, Competition, Criterion, Module


def aspect_spec(aspect: Aspect | Any, module_id: Any = None) -> AspectSpec:
    """One stored aspect as the engine's ``AspectSpec`` (ids are database ids): an ``Aspect``, or a row of the
    aspect table's columns (then with ``module_id``)."""
    return AspectSpec(
        id=aspect.id, module_id=module_id if module_id is not None else aspect.criterion.module_id, kind=aspect.kind,
        max_mark=aspect.max_mark, scale_min=aspect.scale_min, scale_max=aspect.scale_max, scale_step=aspect.scale_step,
        judges_required=aspect.judges_required, aggregation=aspect.aggregation, trim_k=aspect.trim_k,
        normalize=aspect.normalize, uses_difficulty=aspect.uses_difficulty,
        divergence_threshold=aspect.divergence_threshold,  # None: never flagged
    )


def load_scheme(competition: Competition) -> list[Module]:
    """The competition's modules in order, with their criteria and aspects loaded (three queries)."""
    return list(db.session.scalars(
        select(Module).where(Module.competition_id == competition.id).order_by(Module.position)
        .options(selectinload(Module.criteria).selectinload(Criterion.aspects))
    ))


def scheme_specs(competition: Competition) -> Scheme:
    """The stored scheme as the engine's ``Scheme``: ``ModuleSpec.id`` = Module.id, ``AspectSpec.id`` = Aspect.id.
    Three queries whatever the size."""
    modules, aspects = [], []
    for m in load_scheme(competition):
        modules.append(ModuleSpec(id=m.id, kind=m.kind, weight=m.weight))
        aspects.extend(aspect_spec(a, m.id) for c in m.criteria for a in c.aspects)
    return Scheme(modules=tuple(modules), aspects=tuple(aspects))
