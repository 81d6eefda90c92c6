"""Judging quality: divergence flags (评分差异) and per-judge statistics for the chief judge.

A cell is one (entry, aspect) with the marks of its panel. It diverges when max − min of the marks exceeds the
aspect's ``divergence_threshold`` (default 1, on the WorldSkills 0–3 scale); cells with fewer than two marks
never diverge. Judge statistics use only cells with at least two marks: a judge's deviation in a cell is their
mark minus the panel median (the judge included); leniency = mean signed deviation (> 0 lenient, < 0 severe),
plus the mean absolute deviation and the number of diverging cells they marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from .common import DomainRuleError, Id, exact, id_key, require_decimal
from .scheme import Aggregation, AspectSpec
from .scoring import aggregate

DEFAULT_DIVERGENCE_THRESHOLD = Decimal(1)


@dataclass(frozen=True, kw_only=True)
class Mark:
    entry_id: Id
    aspect_id: Id
    judge_id: Id
    value: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", require_decimal(self.value, "mark"))


@dataclass(frozen=True, kw_only=True)
class Divergence:
    entry_id: Id
    aspect_id: Id
    spread: Fraction  # max − min
    threshold: Decimal
    judge_ids: tuple[Id, ...]  # everyone who marked the cell


def spread(marks: Sequence[Decimal | int]) -> Fraction:
    values = [exact(require_decimal(m, "mark")) for m in marks]
    return max(values) - min(values) if values else Fraction(0)


def is_divergent(marks: Sequence[Decimal | int], threshold: Decimal | int | None = DEFAULT_DIVERGENCE_THRESHOLD) -> bool:
    """True when at least two marks differ by more than ``threshold`` (None: never)."""
    if threshold is None or len(marks) < 2:
        return False
    return spread(marks) > exact(require_decimal(threshold, "threshold"))


def _cells(marks: Iterable[Mark], aspects: Mapping[Id, AspectSpec]) -> dict[tuple[Id, Id], dict[Id, Decimal]]:
    cells: dict[tuple[Id, Id], dict[Id, Decimal]] = {}
    for m in marks:
        if m.aspect_id not in aspects:
            raise DomainRuleError("unknown_aspect", aspect=m.aspect_id)
        cell = cells.setdefault((m.entry_id, m.aspect_id), {})
        if m.judge_id in cell:
            raise DomainRuleError("duplicate_mark", entry=m.entry_id, aspect=m.aspect_id, judge=m.judge_id)
        cell[m.judge_id] = m.value
    return cells


def _aspect_map(aspects: Iterable[AspectSpec] | Mapping[Id, AspectSpec]) -> Mapping[Id, AspectSpec]:
    if isinstance(aspects, Mapping):
        return aspects
    return {a.id: a for a in aspects}


def _sorted_cells(cells: dict[tuple[Id, Id], dict[Id, Decimal]]) -> list[tuple[tuple[Id, Id], dict[Id, Decimal]]]:
    return sorted(cells.items(), key=lambda kv: (id_key(kv[0][0]), id_key(kv[0][1])))


def detect_divergences(marks: Iterable[Mark], aspects: Iterable[AspectSpec] | Mapping[Id, AspectSpec]) -> list[Divergence]:
    """Every diverging (entry, aspect) cell, ordered by entry then aspect. Duplicate marks raise ``duplicate_mark``."""
    by_id = _aspect_map(aspects)
    out = []
    for (entry_id, aspect_id), cell in _sorted_cells(_cells(marks, by_id)):
        threshold = by_id[aspect_id].divergence_threshold
        values = list(cell.values())
        if threshold is not None and is_divergent(values, threshold):  # (None: the aspect never diverges)
            out.append(Divergence(entry_id=entry_id, aspect_id=aspect_id, spread=spread(values), threshold=threshold,
                                  judge_ids=tuple(sorted(cell, key=id_key))))
    return out


@dataclass(frozen=True, kw_only=True)
class JudgeStats:
    judge_id: Id
    marks: int  # all marks by the judge
    compared: int  # marks in cells with ≥ 2 marks (the basis of the means)
    leniency: Fraction | None  # mean signed deviation from the panel median; None when nothing compared
    mean_abs_deviation: Fraction | None
    divergences: int  # diverging cells the judge marked


def judge_statistics(
    marks: Iterable[Mark],
    aspects: Iterable[AspectSpec] | Mapping[Id, AspectSpec],
    *,
    relative: bool = False,
) -> dict[Id, JudgeStats]:
    """Statistics per judge. With ``relative`` each deviation is divided by its aspect's scale range
    (scale_max − scale_min), so aspects on different scales weigh alike."""
    by_id = _aspect_map(aspects)
    count: dict[Id, int] = {}
    compared: dict[Id, int] = {}
    signed: dict[Id, Fraction] = {}
    absolute: dict[Id, Fraction] = {}
    flagged: dict[Id, int] = {}
    for (_entry, aspect_id), cell in _sorted_cells(_cells(marks, by_id)):
        for judge in cell:
            count[judge] = count.get(judge, 0) + 1
        if len(cell) < 2:
            continue
        spec = by_id[aspect_id]
        values = list(cell.values())
        median = aggregate(values, Aggregation.MEDIAN)
        scale = Fraction(spec.scale_max) - Fraction(spec.scale_min) if relative else Fraction(1)
        if scale <= 0:
            raise DomainRuleError("invalid_aspect", "scale", aspect=aspect_id)
        divergent = is_divergent(values, spec.divergence_threshold)
        for judge, value in cell.items():
            deviation = (Fraction(value) - median) / scale
            compared[judge] = compared.get(judge, 0) + 1
            signed[judge] = signed.get(judge, Fraction(0)) + deviation
            absolute[judge] = absolute.get(judge, Fraction(0)) + abs(deviation)
            if divergent:
                flagged[judge] = flagged.get(judge, 0) + 1
    out: dict[Id, JudgeStats] = {}
    for judge in sorted(count, key=id_key):
        n = compared.get(judge, 0)
        out[judge] = JudgeStats(
            judge_id=judge,
            marks=count[judge],
            compared=n,
            leniency=signed[judge] / n if n else None,
            mean_abs_deviation=absolute[judge] / n if n else None,
            divergences=flagged.get(judge, 0),
        )
    return out


__all__ = [
    "DEFAULT_DIVERGENCE_THRESHOLD",
    "Divergence",
    "JudgeStats",
    "Mark",
    "detect_divergences",
    "is_divergent",
    "judge_statistics",
    "spread",
]
