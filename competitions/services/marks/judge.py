"""The judge's own side of the marks: their current marks by code (with re-mark requests), the places other judges
have already filled, and handing in a score sheet. Judges see codes only, never entry ids or names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict
from competitions.domain.marks import canonical
from competitions.models import Aspect, Criterion, DivergenceReview, Mark, Module, Panel, PanelJudge, ScoreSheet
from competitions.services import judging
from competitions.services.common import audit_stream, get_competition
from competitions.services.marks.common import (
    ITEM_PROBLEMS,
    REMARK,
    RUNNING,
    get_module,
    module_aspects,
    module_entry_codes,
)


@dataclass(frozen=True)
class OwnMark:
    module_id: int
    code: str
    aspect_id: int
    mark_id: int
    revision: int
    value: Decimal
    confirmed: bool
    remark_requested: bool


def my_marks(actor: User, competition_id: int, module_id: int | None = None) -> list[OwnMark]:
    """The actor's current marks (by code) on entries still assigned to them, with "re-mark requested" flags:
    the chief judge asked for a re-mark after the judge's mark was given."""
    competition = get_competition(competition_id)
    stmt = (select(Module.id).join(Panel, Panel.module_id == Module.id).join(PanelJudge, PanelJudge.panel_id == Panel.id)
            .where(Module.competition_id == competition.id, PanelJudge.judge_id == actor.id))
    if module_id is not None:
        stmt = stmt.where(Module.id == module_id)
    module_ids = list(db.session.scalars(stmt.order_by(Module.position, Module.id)))
    out: list[OwnMark] = []
    for mid in module_ids:
        allowed = {e.id for e in judging.assignable_entries(actor.id, mid)}
        codes = module_entry_codes(competition, mid)
        rows = db.session.execute(
            select(Mark, DivergenceReview.decision, DivergenceReview.decided_at)
            .join(Aspect, Aspect.id == Mark.aspect_id).join(Criterion, Criterion.id == Aspect.criterion_id)
            .outerjoin(DivergenceReview, and_(DivergenceReview.entry_id == Mark.entry_id,
                                              DivergenceReview.aspect_id == Mark.aspect_id))
            .where(Criterion.module_id == mid, Mark.judge_id == actor.id, Mark.is_current.is_(True))).all()
        for mark, decision, decided_at in rows:
            if mark.entry_id not in allowed or mark.entry_id not in codes:
                continue
            out.append(OwnMark(mid, codes[mark.entry_id], mark.aspect_id, mark.id, mark.revision, canonical(mark.value),
                               mark.confirmed_by_id is not None,
                               decision == REMARK and decided_at is not None and decided_at >= mark.created_at))
    out.sort(key=lambda m: (m.module_id, m.code, m.aspect_id))
    return out


def filled_by_others(judge_id: int, module_id: int) -> set[tuple[int, int]]:
    """(entry id, aspect id) of the module where other judges' current marks already fill every place the aspect
    has (``judges_required``) and this judge has none: the judge cannot add one there (``aspect_full``), and
    their score sheet does not need it. One query."""
    others = (select(Mark.entry_id, Mark.aspect_id).join(Aspect, Aspect.id == Mark.aspect_id)
              .join(Criterion, Criterion.id == Aspect.criterion_id)
              .where(Criterion.module_id == module_id, Mark.is_current.is_(True))
              .group_by(Mark.entry_id, Mark.aspect_id, Aspect.judges_required)
              .having(func.count(func.distinct(Mark.judge_id)) >= Aspect.judges_required)
              .having(func.sum(case((Mark.judge_id == judge_id, 1), else_=0)) == 0))
    return {(e, a) for e, a in db.session.execute(others).all()}


def filled_places(judge_id: int, module_id: int, codes: dict[int, str]) -> set[tuple[str, int]]:
    """``filled_by_others`` as the judge's pages show it: (entry code, aspect id), never an entry id. ``codes``:
    the module's entry id → code (``judging.codes_for_module``, which the caller has read already)."""
    return {(codes[e], a) for e, a in filled_by_others(judge_id, module_id) if e in codes}


# --- score sheets --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetResult:
    module_id: int
    code: str
    submitted_at: datetime
    created: bool


def submit_sheet(actor: User, competition_id: int, module_id: int, code: str) -> SheetResult:
    """The judge hands in their score sheet for one entry in one module: every aspect of the module must
    carry their current mark, except where other judges already gave every mark the aspect needs (409 listing
    the missing aspects). Handing it in again returns the first one."""
    competition = get_competition(competition_id, for_update=True)
    module = get_module(competition.id, module_id)
    entry = judging.assigned_entry(actor.id, module.id, code)  # NotFound unless on the panel and not conflicted
    sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.entry_id == entry.id, ScoreSheet.module_id == module.id,
                                                       ScoreSheet.judge_id == actor.id))
    if sheet is not None:
        return SheetResult(module.id, code, sheet.submitted_at, False)
    if competition.status != RUNNING:
        raise Conflict(ITEM_PROBLEMS["not_running"][1], code="not_running")
    if module.locked_at is not None:
        raise Conflict(ITEM_PROBLEMS["module_locked"][1], code="module_locked")
    aspect_ids = [a.id for a in module_aspects(module.id)]
    marked = set(db.session.scalars(select(Mark.aspect_id).where(
        Mark.entry_id == entry.id, Mark.judge_id == actor.id, Mark.is_current.is_(True),
        Mark.confirmed_by_id.is_not(None), Mark.aspect_id.in_(aspect_ids))))
    marked |= {a for e, a in filled_by_others(actor.id, module.id) if e == entry.id}  # not theirs to mark
    missing = [a for a in aspect_ids if a not in marked]
    if missing:
        raise Conflict(_l("The score sheet is incomplete. Aspects without a mark yet: %(n)d.", n=len(missing)),
                       code="sheet_incomplete", details={"missing_aspect_ids": missing})
    sheet = ScoreSheet(entry_id=entry.id, module_id=module.id, judge_id=actor.id, submitted_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(sheet)
            db.session.flush()
    except IntegrityError:
        sheet = db.session.scalar(select(ScoreSheet).where(
            ScoreSheet.entry_id == entry.id, ScoreSheet.module_id == module.id, ScoreSheet.judge_id == actor.id))
        return SheetResult(module.id, code, sheet.submitted_at, False)
    record("score_sheet_submitted", sheet, {"competition_id": competition.id, "module_id": module.id, "code": code},
           stream=audit_stream(competition.id, actor.id))
    return SheetResult(module.id, code, sheet.submitted_at, True)
