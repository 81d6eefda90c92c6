"""The competition itself: the list, creating one, changing its settings (some are fixed once it runs).

A competition created here starts with the Chinese default rules (``rules.DEFAULT_*``).
"""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict
from app.people.models import Trade
from competitions.domain import CompetitionState
from competitions.models import Competition
from competitions.services.common import audit_stream, is_organizer, require_organizer
from competitions.services.setup.common import invalid, managed_competition, problem, utc
from competitions.services.setup.rules import DEFAULT_AWARD_RULES, DEFAULT_PROMOTION_BANDS, DEFAULT_TIE_BREAK

S = CompetitionState

FIXED_ONCE_RUNNING = frozenset({"level", "trade_id", "conflict_same_chain", "uses_module_codes"})

SETUP_FIELDS = ("name", "level", "trade_id", "organizer_name", "starts_on", "ends_on", "venue", "appeal_window_minutes",
                "board_freeze_at", "conflict_same_chain", "uses_module_codes")


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
            problems.append(problem("trade_id", "unknown_trade", _("No such trade.")))
    starts = values.get("starts_on", current.starts_on if current else None)
    ends = values.get("ends_on", current.ends_on if current else None)
    if starts and ends and ends < starts:
        problems.append(problem("ends_on", "before_start", _("The competition cannot end before it starts.")))
    if problems:
        raise invalid(problems)


def create_competition(actor, values: dict[str, Any]) -> Competition:
    require_organizer(actor)
    if values.get("board_freeze_at") is not None:
        values = {**values, "board_freeze_at": utc(values["board_freeze_at"])}
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
        values = {**values, "board_freeze_at": utc(values["board_freeze_at"])}
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
