"""Skill-level promotion from rank bands (竞赛晋级): the engine recommends, an organizer confirms elsewhere.

Skill levels (职业技能等级): 5 初级工, 4 中级工, 3 高级工, 2 技师, 1 高级技师 — a smaller number is higher.
Bands go by rank, so entries sharing a rank are in the same band (ranks 1, 2, 2, 4, 5, 5 are all "top 5").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .common import DomainRuleError, Id
from .ranking import RankedEntry

HIGHEST_LEVEL, LOWEST_LEVEL = 1, 5


class PromotionAction(StrEnum):
    UP_ONE_LEVEL = "up_one_level"  # 3 → 2, 2 → 1; level 1 stays 1 (title only)
    TO_LEVEL = "to_level"  # to target_level if currently below it (or no level recorded)


class PromotionOutcome(StrEnum):
    PROMOTE = "promote"  # recommended_level is set
    TITLE_ONLY = "title_only"  # already at the top (or at the target): only the band's title
    ALREADY_AT_LEVEL = "already_at_level"  # nothing to recommend
    LEVEL_UNKNOWN = "level_unknown"  # up-one-level with no level recorded: the organizer decides


@dataclass(frozen=True, kw_only=True)
class PromotionBand:
    first_rank: int
    last_rank: int
    action: PromotionAction
    target_level: int | None = None  # for TO_LEVEL
    title: str | None = None  # an honour code, e.g. "national_technical_expert" (全国技术能手)

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", PromotionAction(self.action))
        for name in ("first_rank", "last_rank"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be int")
        if self.first_rank < 1 or self.last_rank < self.first_rank:
            raise DomainRuleError("invalid_promotion_band", "rank_range", first=self.first_rank, last=self.last_rank)
        if self.action is PromotionAction.TO_LEVEL:
            if self.target_level not in range(HIGHEST_LEVEL, LOWEST_LEVEL + 1):
                raise DomainRuleError("invalid_promotion_band", "target_level", target=self.target_level)
        elif self.target_level is not None:
            raise DomainRuleError("invalid_promotion_band", "target_level_unused")


NATIONAL_WORKERS_BANDS: tuple[PromotionBand, ...] = (
    PromotionBand(first_rank=1, last_rank=5, action=PromotionAction.UP_ONE_LEVEL, title="national_technical_expert"),
    PromotionBand(first_rank=6, last_rank=20, action=PromotionAction.TO_LEVEL, target_level=3),
)
"""National workers' contest: top 5 → 全国技术能手 and one level up (to 技师, or 技师 → 高级技师); 6th–20th → 高级工."""


@dataclass(frozen=True, kw_only=True)
class PromotionRecommendation:
    entry_id: Id
    rank: int
    current_level: int | None
    recommended_level: int | None
    outcome: PromotionOutcome
    title: str | None = None


def check_bands(bands: Sequence[PromotionBand]) -> None:
    """Raise ``invalid_promotion_band`` / ``overlap`` if two bands share a rank."""
    ordered = sorted(bands, key=lambda b: b.first_rank)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.first_rank <= a.last_rank:
            raise DomainRuleError("invalid_promotion_band", "overlap", first=b.first_rank)


def recommend_promotions(
    ranking: Iterable[RankedEntry],
    levels: Mapping[Id, int | None],
    bands: Sequence[PromotionBand] = NATIONAL_WORKERS_BANDS,
) -> list[PromotionRecommendation]:
    """One recommendation per ranked entry whose rank falls in a band (ordered as the ranking).

    ``levels[entry_id]`` is the worker's current skill level (1–5) or None/missing when none is recorded.
    """
    check_bands(bands)
    out: list[PromotionRecommendation] = []
    for entry in ranking:
        if entry.rank is None:
            continue
        band = next((b for b in bands if b.first_rank <= entry.rank <= b.last_rank), None)
        if band is None:
            continue
        level = levels.get(entry.entry_id)
        if level is not None and (not isinstance(level, int) or level not in range(HIGHEST_LEVEL, LOWEST_LEVEL + 1)):
            raise DomainRuleError("invalid_skill_level", entry=entry.entry_id, level=level)
        recommended: int | None = None
        if band.action is PromotionAction.UP_ONE_LEVEL:
            if level is None:
                outcome = PromotionOutcome.LEVEL_UNKNOWN
            elif level > HIGHEST_LEVEL:
                recommended, outcome = level - 1, PromotionOutcome.PROMOTE
            else:
                outcome = PromotionOutcome.TITLE_ONLY if band.title else PromotionOutcome.ALREADY_AT_LEVEL
        else:
            target = band.target_level
            if target is None:  # (PromotionBand refuses a to_level band without one)
                raise DomainRuleError("invalid_promotion_band", "target_level", target=target)
            if level is None or level > target:
                recommended, outcome = target, PromotionOutcome.PROMOTE
            else:
                outcome = PromotionOutcome.TITLE_ONLY if band.title else PromotionOutcome.ALREADY_AT_LEVEL
        out.append(PromotionRecommendation(entry_id=entry.entry_id, rank=entry.rank, current_level=level,
                                           recommended_level=recommended, outcome=outcome, title=band.title))
    return out


__all__ = [
    "NATIONAL_WORKERS_BANDS",
    "PromotionAction",
    "PromotionBand",
    "PromotionOutcome",
    "PromotionRecommendation",
    "check_bands",
    "recommend_promotions",
]


def worth_deciding(outcome: str | None, recommended_level: int | None, title: str | None) -> bool:
    """Whether a recommendation asks for an organizer's decision: a promotion to a level, or a title (also when the
    worker's current level is unknown); "already at this level" without a title recommends nothing."""
    if outcome == PromotionOutcome.PROMOTE:
        return recommended_level is not None
    if outcome in (PromotionOutcome.TITLE_ONLY, PromotionOutcome.LEVEL_UNKNOWN):
        return bool(title)
    return False
