"""Awards: combinable strategies applied to a ranking (``ranking.rank``).

Count-based strategies (proportional, fixed counts) cut the ranked field at cumulative positions: with counts
1 / 2 / 3 the boundaries are after positions 1, 3 and 6. A proportional tier's count is its share of the ranked
field, rounded as configured; by default (``at_least_one``) a tier with a share gets at least one award when the
field has at least as many entrants as such tiers — so with 8 entrants and 10 / 20 / 30 % rounded down (0 / 1 / 2)
the winner still gets 一等奖 (1 / 1 / 2), not 二等奖 beside an empty first tier. An entry gets the best tier whose
boundary its rank is within (rank ≤ boundary), so entries tied on a boundary all get the better award and the
following tier starts after them (it may end up smaller; boundaries do not move).

Medals go by rank: rank 1 gold, rank 2 silver, rank 3 bronze. Equal ranks share a medal and the next medal is
skipped (ranks 1, 1, 3 → gold, gold, bronze: two golds, no silver). Minimum field (WorldSkills Russia practice):
a medal is awarded only if the number of ranked entrants reaches its minimum (default gold 4, silver 5, bronze 6).

Threshold awards (medallion for excellence) go to ranked entries whose exact total is at or above the threshold
and who got none of the ``unless`` codes; they are applied after every other strategy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from .common import DomainRuleError, Id, exact, require_decimal
from .ranking import RankedEntry


class AwardCode(StrEnum):
    FIRST_PRIZE = "first_prize"  # 一等奖
    SECOND_PRIZE = "second_prize"  # 二等奖
    THIRD_PRIZE = "third_prize"  # 三等奖
    GOLD = "gold"
    SILVER = "silver"
    BRONZE = "bronze"
    EXCELLENCE = "medallion_for_excellence"


class Rounding(StrEnum):
    FLOOR = "floor"
    CEIL = "ceil"
    HALF_UP = "half_up"


def round_count(value: Fraction, rounding: Rounding | str) -> int:
    rounding = Rounding(rounding)
    if rounding is Rounding.FLOOR:
        return math.floor(value)
    if rounding is Rounding.CEIL:
        return math.ceil(value)
    return math.floor(value + Fraction(1, 2))


PRIZES = (AwardCode.FIRST_PRIZE, AwardCode.SECOND_PRIZE, AwardCode.THIRD_PRIZE)
MEDALS = (AwardCode.GOLD, AwardCode.SILVER, AwardCode.BRONZE)


@dataclass(frozen=True, kw_only=True)
class ProportionalAwards:
    """Tiers as (code, percent of ranked entrants); each tier's count is rounded on its own, then raised to 1 for
    every tier with a share when ``at_least_one`` and the field has at least as many entrants as such tiers."""

    tiers: tuple[tuple[str, Decimal], ...] = (
        (AwardCode.FIRST_PRIZE, Decimal(10)),
        (AwardCode.SECOND_PRIZE, Decimal(20)),
        (AwardCode.THIRD_PRIZE, Decimal(30)),
    )
    rounding: Rounding = Rounding.FLOOR
    at_least_one: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "rounding", Rounding(self.rounding))
        if not isinstance(self.at_least_one, bool):
            raise TypeError("at_least_one must be a bool")
        tiers = tuple((str(code), require_decimal(pct, "percent")) for code, pct in self.tiers)
        object.__setattr__(self, "tiers", tiers)
        if any(pct < 0 for _, pct in tiers):
            raise DomainRuleError("invalid_award_config", "negative_share")
        if sum((pct for _, pct in tiers), Decimal(0)) > 100:
            raise DomainRuleError("invalid_award_config", "shares_above_100")

    def counts(self, field_size: int) -> tuple[int, ...]:
        counts = [round_count(Fraction(field_size) * exact(pct) / 100, self.rounding) for _, pct in self.tiers]
        shared = [i for i, (_, pct) in enumerate(self.tiers) if pct > 0]
        if self.at_least_one and shared and field_size >= len(shared):
            for i in shared:
                counts[i] = max(counts[i], 1)
        return tuple(counts)


@dataclass(frozen=True, kw_only=True)
class FixedCountAwards:
    """Tiers as (code, number of entrants), e.g. 2 / 4 / 6."""

    tiers: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", tuple((str(code), n) for code, n in self.tiers))
        for _, n in self.tiers:
            if not isinstance(n, int) or isinstance(n, bool):
                raise TypeError("award counts must be int")
            if n < 0:
                raise DomainRuleError("invalid_award_config", "negative_count")

    def counts(self, field_size: int) -> tuple[int, ...]:
        return tuple(n for _, n in self.tiers)


@dataclass(frozen=True, kw_only=True)
class MedalAwards:
    """Gold, silver, bronze by rank; ``min_field`` = ranked entrants needed for each (gold, silver, bronze)."""

    codes: tuple[str, str, str] = (AwardCode.GOLD, AwardCode.SILVER, AwardCode.BRONZE)
    min_field: tuple[int, int, int] = (4, 5, 6)

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", tuple(str(c) for c in self.codes))
        if len(self.codes) != 3 or len(self.min_field) != 3:
            raise DomainRuleError("invalid_award_config", "three_medals")
        for n in self.min_field:
            if not isinstance(n, int) or isinstance(n, bool):
                raise TypeError("min_field must be ints")
            if n < 1:
                raise DomainRuleError("invalid_award_config", "min_field_below_1")

    def medals_awarded(self, field_size: int) -> int:
        """How many medal levels the field allows (0–3)."""
        return sum(1 for n in self.min_field if field_size >= n)


@dataclass(frozen=True, kw_only=True)
class ThresholdAward:
    """``code`` for ranked entries with total ≥ ``min_total`` that got none of ``unless``."""

    min_total: Decimal
    code: str = AwardCode.EXCELLENCE
    unless: tuple[str, ...] = MEDALS

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_total", require_decimal(self.min_total, "min_total"))
        object.__setattr__(self, "code", str(self.code))
        object.__setattr__(self, "unless", tuple(str(c) for c in self.unless))


AwardStrategy = ProportionalAwards | FixedCountAwards | MedalAwards | ThresholdAward


def _count_tiers(ranked: Sequence[RankedEntry], codes: Sequence[str], counts: Sequence[int]) -> dict[Id, str]:
    boundaries, cumulative = [], 0
    for n in counts:
        cumulative += n
        boundaries.append(cumulative)
    out: dict[Id, str] = {}
    for entry in ranked:
        if entry.rank is None:  # (only ranked entries are passed)
            continue
        for code, boundary in zip(codes, boundaries, strict=True):
            if entry.rank <= boundary:
                out[entry.entry_id] = code
                break
    return out


def _medals(ranked: Sequence[RankedEntry], config: MedalAwards) -> dict[Id, str]:
    levels = config.medals_awarded(len(ranked))
    out = {}
    for entry in ranked:
        if entry.rank is not None and entry.rank <= levels:  # levels ≤ 3 (only ranked entries are passed)
            out[entry.entry_id] = config.codes[entry.rank - 1]
    return out


def award_codes(strategies: Sequence[AwardStrategy]) -> tuple[str, ...]:
    """Every award code the strategies can give, in their order (each once)."""
    out: list[str] = []
    for strategy in strategies:
        if isinstance(strategy, ProportionalAwards | FixedCountAwards):
            codes = [code for code, _ in strategy.tiers]
        elif isinstance(strategy, MedalAwards):
            codes = list(strategy.codes)
        else:
            codes = [strategy.code]
        out += [code for code in codes if code not in out]
    return tuple(out)


def empty_tiers(strategies: Sequence[AwardStrategy], awards: Mapping[Id, Sequence[str]], field_size: int
                ) -> tuple[str, ...]:
    """The codes of count-based tiers (a proportional share or a fixed count above 0) that nobody got in ``awards``
    (``assign_awards``' result) although ``field_size`` entrants are ranked: what the organizer is warned of before
    publishing. Strict shares of a small field round a tier down to nobody (``at_least_one`` off, or fewer entrants
    than tiers), and a tie on the boundary before a tier can empty it (two tied firsts take a one-place first tier,
    and with one place in the second, rank 3 is past its boundary)."""
    if field_size <= 0:
        return ()
    given = {code for codes in awards.values() for code in codes}
    out: list[str] = []
    for strategy in strategies:
        if isinstance(strategy, ProportionalAwards | FixedCountAwards):
            for code, share in strategy.tiers:
                if share > 0 and code not in given and code not in out:
                    out.append(code)
    return tuple(out)


def assign_awards(ranking: Iterable[RankedEntry], strategies: Sequence[AwardStrategy]) -> dict[Id, tuple[str, ...]]:
    """Award codes per entry (every entry of the ranking is a key; unranked entries get none).

    Strategies are applied in order, threshold awards after all others. The field size is the number of ranked
    entries (absent / disqualified entries do not count).
    """
    entries = list(ranking)
    ranked = [e for e in entries if e.rank is not None]
    awards: dict[Id, list[str]] = {e.entry_id: [] for e in entries}
    ordered = [s for s in strategies if not isinstance(s, ThresholdAward)] + [
        s for s in strategies if isinstance(s, ThresholdAward)
    ]
    for strategy in ordered:
        if isinstance(strategy, ProportionalAwards | FixedCountAwards):
            given = _count_tiers(ranked, [c for c, _ in strategy.tiers], strategy.counts(len(ranked)))
        elif isinstance(strategy, MedalAwards):
            given = _medals(ranked, strategy)
        elif isinstance(strategy, ThresholdAward):
            given = {
                e.entry_id: strategy.code
                for e in ranked
                if e.total is not None and e.total >= exact(strategy.min_total)
                and not set(strategy.unless) & set(awards[e.entry_id])
            }
        else:
            raise TypeError(f"unknown award strategy {type(strategy).__name__}")
        for entry_id, code in given.items():
            if code not in awards[entry_id]:
                awards[entry_id].append(code)
    return {entry_id: tuple(codes) for entry_id, codes in awards.items()}


__all__ = [
    "MEDALS",
    "PRIZES",
    "AwardCode",
    "AwardStrategy",
    "FixedCountAwards",
    "MedalAwards",
    "ProportionalAwards",
    "Rounding",
    "ThresholdAward",
    "assign_awards",
    "award_codes",
    "empty_tiers",
    "round_count",
]
