"""Skill-level promotion decisions (竞赛晋级): the results engine recommends, the organizer confirms or declines.

* ``list_promotions`` — organizers: every recommendation of the **latest published** results version that is worth
  deciding (a promotion to a level, or a title such as 全国技术能手), with names (published results are decoded),
  level labels and the decision, if any. A decision made on an older version is flagged ``stale``; when the
  correction changed the recommendation itself it is also ``changed`` and no longer counts until decided again.
* ``decide_promotion`` — organizers, once published: confirm, or decline with a reason. Deciding again updates
  the decision; every decision (and change) is in the audit log.
* ``confirmed_promotions`` — for certificates (no permission check; the caller checks): the confirmed decisions
  that still match the latest published recommendation.

Services flush, never commit.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.accounts.models import User
from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound
from app.people.labels import SKILL_LEVEL_LABELS
from competitions.domain import CompetitionState, worth_deciding
from competitions.models import PromotionDecision, ResultVersion
from competitions.services.common import audit_stream, get_competition, require_organizer

CONFIRMED, DECLINED = "confirmed", "declined"
DECISIONS = (CONFIRMED, DECLINED)
NOTE_MAX = 2000
TITLE_LABELS = {"national_technical_expert": _l("National technical expert")}
DECISION_LABELS = {CONFIRMED: _l("Confirmed"), DECLINED: _l("Declined")}


def level_label(level: int | None) -> str | None:
    if level is None:
        return None
    label = SKILL_LEVEL_LABELS.get(level)
    return str(label) if label is not None else str(level)


def title_label(code: str | None) -> str | None:
    if not code:
        return None
    label = TITLE_LABELS.get(code)
    return str(label) if label is not None else code


def decidable(promotion: dict[str, Any] | None) -> bool:
    """A snapshot row's recommendation that asks for a decision (``competitions.domain.worth_deciding``)."""
    return bool(promotion) and worth_deciding(promotion.get("outcome"), promotion.get("recommended_level"),
                                              promotion.get("title"))


def _recommendations(version: ResultVersion) -> dict[int, dict[str, Any]]:
    """entry_id → the snapshot row of each decidable recommendation, in ranking order."""
    return {e["entry_id"]: e for e in (version.snapshot or {}).get("entries", [])
            if e.get("entry_id") is not None and decidable(e.get("promotion"))}


def _same_recommendation(decision: PromotionDecision, promotion: dict[str, Any]) -> bool:
    return (decision.outcome == promotion.get("outcome")
            and decision.recommended_level == promotion.get("recommended_level")
            and (decision.title or None) == (promotion.get("title") or None))


def _decision_view(d: PromotionDecision, decided_by: str | None, latest: int,
                   promotion: dict[str, Any]) -> dict[str, Any]:
    return {"decision": d.decision, "label": str(DECISION_LABELS.get(d.decision, d.decision)), "note": d.note,
            "version": d.version, "decided_by": decided_by, "decided_at": d.decided_at,
            "stale": d.version != latest, "changed": not _same_recommendation(d, promotion),
            "recommended_level": d.recommended_level, "recommended_level_label": level_label(d.recommended_level)}


def _row(e: dict[str, Any], latest: int, decision: tuple[PromotionDecision, str | None] | None) -> dict[str, Any]:
    p = e["promotion"]
    return {
        "entry_id": e["entry_id"], "code": e.get("code"), "rank": e.get("rank"), "name": e.get("name"),
        "enterprise_name": e.get("enterprise_name"), "outcome": p.get("outcome"),
        "current_level": p.get("current_level"), "current_level_label": level_label(p.get("current_level")),
        "recommended_level": p.get("recommended_level"),
        "recommended_level_label": level_label(p.get("recommended_level")),
        "title": p.get("title"), "title_label": title_label(p.get("title")),
        "decision": None if decision is None else _decision_view(decision[0], decision[1], latest, p),
    }


def _decisions(competition_id: int) -> dict[int, tuple[PromotionDecision, str | None]]:
    rows = db.session.execute(
        select(PromotionDecision, User.display_name).outerjoin(User, User.id == PromotionDecision.decided_by_id)
        .where(PromotionDecision.competition_id == competition_id))
    return {d.entry_id: (d, name) for d, name in rows}


def _latest(competition_id: int) -> ResultVersion | None:
    from competitions.services.results import latest_version

    return latest_version(competition_id)


def list_promotions(actor: User, competition_id: int) -> dict[str, Any]:
    """Organizers: the decidable recommendations of the latest published version with their decisions. Before
    publication: ``version`` None and no rows. Three queries."""
    require_organizer(actor)
    competition = get_competition(competition_id)
    latest = _latest(competition.id)
    if latest is None:
        return {"competition_id": competition.id, "version": None, "promotions": []}
    decisions = _decisions(competition.id)
    rows = [_row(e, latest.version, decisions.get(entry_id)) for entry_id, e in _recommendations(latest).items()]
    return {"competition_id": competition.id, "version": latest.version, "promotions": rows}


def _invalid(field: str, message: str) -> DomainError:
    return DomainError(message, code="validation_error", status=422, details={field: [message]})


def decide_promotion(actor: User, competition_id: int, entry_id: int, decision: str,
                     note: str | None = "") -> dict[str, Any]:
    """Confirm or decline (with a reason) the recommendation for one entry in the latest published version.
    Deciding again updates the decision (audited with the previous one); the same decision again is a no-op."""
    require_organizer(actor)
    competition = get_competition(competition_id, for_update=True)  # decisions of one competition in turn
    decision = (decision or "").strip()
    note = (note or "").strip()
    if decision not in DECISIONS:
        raise _invalid("decision", _("Choose to confirm or to decline the promotion."))
    if decision == DECLINED and not note:
        raise _invalid("note", _("Give a reason for declining the promotion."))
    if len(note) > NOTE_MAX:
        raise _invalid("note", _("The reason is too long (at most 2000 characters)."))
    latest = _latest(competition.id)
    if competition.status != CompetitionState.PUBLISHED.value or latest is None:
        raise Conflict(_("Promotions can be decided only after the results are published."),
                       code="results_not_published")
    row = _recommendations(latest).get(entry_id)
    if row is None:
        raise NotFound(_("This entry has no promotion recommendation in the published results."),
                       code="no_recommendation")
    promotion = row["promotion"]
    existing = db.session.scalar(select(PromotionDecision).where(PromotionDecision.competition_id == competition.id,
                                                                 PromotionDecision.entry_id == entry_id))
    previous = None
    if existing is not None:
        if (existing.decision, existing.note, existing.version) == (decision, note, latest.version) \
                and _same_recommendation(existing, promotion):
            return _row(row, latest.version, _decisions(competition.id)[entry_id])
        previous = {"decision": existing.decision, "note": existing.note, "version": existing.version,
                    "recommended_level": existing.recommended_level, "decided_by_id": existing.decided_by_id}
        target = existing
    else:
        target = PromotionDecision(competition_id=competition.id, entry_id=entry_id)
        db.session.add(target)
    target.version = latest.version
    target.outcome = promotion.get("outcome")
    target.recommended_level = promotion.get("recommended_level")
    target.title = promotion.get("title") or ""
    target.decision = decision
    target.note = note
    target.decided_by_id = actor.id
    target.decided_at = utcnow()
    db.session.flush()
    record("promotion_decision", target, {
        "competition_id": competition.id, "entry_id": entry_id, "code": row.get("code"), "version": latest.version,
        "decision": decision, "note": note, "outcome": target.outcome, "recommended_level": target.recommended_level,
        "title": target.title, "previous": previous}, actor=actor, stream=audit_stream(competition.id))
    return _row(row, latest.version, (target, actor.display_name))


def confirmed_promotions(competition_id: int) -> dict[int, dict[str, Any]]:
    """entry_id → the confirmed promotion (``recommended_level``, ``title``, ``version``) for each confirmed decision
    that still matches the latest published recommendation (a correction that changed it needs a new decision).
    No permission check: callers (certificates) check. Two queries."""
    latest = _latest(competition_id)
    if latest is None:
        return {}
    recommendations = _recommendations(latest)
    out: dict[int, dict[str, Any]] = {}
    for d in db.session.scalars(select(PromotionDecision).where(PromotionDecision.competition_id == competition_id,
                                                               PromotionDecision.decision == CONFIRMED)):
        row = recommendations.get(d.entry_id)
        if row is not None and _same_recommendation(d, row["promotion"]):
            out[d.entry_id] = {"recommended_level": d.recommended_level, "title": d.title or None,
                               "version": d.version}
    return out


def certificate_facts(competition_id: int) -> dict[str, str]:
    """What a skill-level certificate of this competition prints besides the level: the occupation (the
    competition's trade) and the evaluating body (the organizer, 主办单位), each only when recorded."""
    competition = get_competition(competition_id)
    facts: dict[str, str] = {}
    if competition.trade is not None:
        facts["occupation"] = competition.trade.name
    if (competition.organizer_name or "").strip():
        facts["evaluator"] = competition.organizer_name.strip()
    return facts


__all__ = ["certificate_facts", "confirmed_promotions", "decide_promotion", "decidable", "list_promotions"]
