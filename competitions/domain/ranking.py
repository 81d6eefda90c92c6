"""Ranking: exact total descending, then a configurable tie-break chain; remaining ties share the rank (1, 2, 2, 4).

Tie-break keys (each with "asc" or "desc"):
    ("completion_time", "asc")          shorter completion time first (Chinese default, first key)
    ("module_kind:<kind>", "desc")      the part of the total from modules of that kind (practical, theory, other)
    ("module:<module id>", "desc")      a module's raw score (ids are compared as strings)
A missing value (no completion time recorded, no module of that kind) always sorts after present values.
Entries without a result (absent, disqualified) are listed after the ranked ones with ``rank=None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from .common import DomainRuleError, Id, Number, exact, id_key, optional_exact, quantize_total
from .scoring import EntryScore

TieBreakKey = tuple[str, str]

CHINESE_TIE_BREAK: tuple[TieBreakKey, ...] = (
    ("completion_time", "asc"),
    ("module_kind:practical", "desc"),
    ("module_kind:theory", "desc"),
)
"""The Chinese default: shorter completion time → higher practical score → higher theory score."""


class ResultStatus(StrEnum):
    RANKED = "ranked"
    ABSENT = "absent"  # 缺考 / did not compete
    DISQUALIFIED = "disqualified"  # 取消资格


@dataclass(frozen=True, kw_only=True)
class Standing:
    """What ranking needs about one entry. Numbers are exact (Decimal, int or Fraction; floats raise TypeError)."""

    entry_id: Id
    total: Number | None
    status: ResultStatus = ResultStatus.RANKED
    completion_time: Number | None = None  # seconds (or any unit; smaller is better by default)
    module_scores: Mapping[Any, Number] = field(default_factory=dict)
    kind_scores: Mapping[Any, Number] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", ResultStatus(self.status))
        if self.status is ResultStatus.RANKED and self.total is None:
            raise DomainRuleError("ranked_without_total", entry=self.entry_id)
        object.__setattr__(self, "total", optional_exact(self.total, "total"))
        object.__setattr__(self, "completion_time", optional_exact(self.completion_time, "completion_time"))
        object.__setattr__(self, "module_scores", {str(k): exact(v, "module score") for k, v in self.module_scores.items()})
        object.__setattr__(self, "kind_scores", {str(k): exact(v, "kind score") for k, v in self.kind_scores.items()})

    @classmethod
    def from_score(cls, score: EntryScore, completion_time: Number | None = None) -> Standing:
        if score.entry_id is None:
            raise TypeError("Standing.from_score needs the score of an entry (entry_id)")
        return cls(
            entry_id=score.entry_id,
            total=score.total,
            completion_time=completion_time,
            module_scores=score.module_scores,
            kind_scores=score.kind_scores,
        )

    @classmethod
    def unranked(cls, entry_id: Id, status: ResultStatus | str) -> Standing:
        status = ResultStatus(status)
        if status is ResultStatus.RANKED:
            raise DomainRuleError("unranked_needs_status", entry=entry_id)
        return cls(entry_id=entry_id, total=None, status=status)


@dataclass(frozen=True, kw_only=True)
class RankedEntry:
    entry_id: Id
    rank: int | None  # None for absent / disqualified
    status: ResultStatus
    total: Fraction | None  # exact
    shared: bool = False  # another entry has the same rank

    @property
    def published_total(self) -> Decimal | None:
        return None if self.total is None else quantize_total(self.total)


def check_tie_break(chain: Sequence[TieBreakKey]) -> list[tuple[str, str | None, bool]]:
    """Parse a tie-break chain; ``invalid_tie_break`` (reason direction / unknown_key) when it is wrong."""
    out: list[tuple[str, str | None, bool]] = []
    for item in chain:
        try:
            key, direction = item
        except (TypeError, ValueError):
            raise DomainRuleError("invalid_tie_break", key=str(item)) from None
        if direction not in ("asc", "desc"):
            raise DomainRuleError("invalid_tie_break", "direction", key=str(key), direction=str(direction))
        if key == "completion_time":
            out.append(("completion_time", None, direction == "desc"))
        elif key.startswith("module_kind:") and key != "module_kind:":
            out.append(("kind", key.split(":", 1)[1], direction == "desc"))
        elif key.startswith("module:") and key != "module:":
            out.append(("module", key.split(":", 1)[1], direction == "desc"))
        else:
            raise DomainRuleError("invalid_tie_break", "unknown_key", key=str(key))
    return out


def _sort_key(s: Standing, chain: list[tuple[str, str | None, bool]]) -> tuple[tuple[int, Fraction], ...]:
    """A ranked standing's key; its numbers are Fractions already (``Standing.__post_init__``), which ``exact``
    returns as they are."""
    parts: list[tuple[int, Fraction]] = [(0, -exact(s.total, "total"))]
    for kind, name, descending in chain:
        value: Number | None
        if kind == "completion_time":
            value = s.completion_time
        elif kind == "kind":
            value = s.kind_scores.get(name)
        else:
            value = s.module_scores.get(name)
        if value is None:
            parts.append((1, Fraction(0)))
        else:
            number = exact(value)
            parts.append((0, -number if descending else number))
    return tuple(parts)


def rank(standings: Iterable[Standing], tie_break: Sequence[TieBreakKey] = CHINESE_TIE_BREAK) -> list[RankedEntry]:
    """Rank entries: total descending (exact), then ``tie_break``; equal on every key → the same rank.

    The result lists ranked entries by rank (then id), then the unranked ones (by status, then id); the input
    order never matters. Duplicate entry ids raise ``duplicate_entry``.
    """
    chain = check_tie_break(tie_break)
    items = list(standings)
    seen: set[Id] = set()
    for s in items:
        if s.entry_id in seen:
            raise DomainRuleError("duplicate_entry", entry=s.entry_id)
        seen.add(s.entry_id)
    ranked = sorted(
        ((_sort_key(s, chain), s) for s in items if s.status is ResultStatus.RANKED),
        key=lambda ks: (ks[0], id_key(ks[1].entry_id)),
    )
    out: list[RankedEntry] = []
    keys = [k for k, _ in ranked]
    position = 0
    for i, (key, s) in enumerate(ranked):
        if i == 0 or keys[i - 1] != key:
            position = i + 1
        shared = (i > 0 and keys[i - 1] == key) or (i + 1 < len(keys) and keys[i + 1] == key)
        out.append(RankedEntry(entry_id=s.entry_id, rank=position, status=s.status, total=exact(s.total, "total"),
                               shared=shared))
    unranked = sorted((s for s in items if s.status is not ResultStatus.RANKED),
                      key=lambda s: (s.status.value, id_key(s.entry_id)))
    out.extend(RankedEntry(entry_id=s.entry_id, rank=None, status=s.status, total=None) for s in unranked)
    return out


def ranks_by_total(totals: Mapping[Id, Number]) -> dict[Id, int]:
    """Shared ranks from totals alone (no tie-break): {entry: rank}, e.g. 1, 2, 2, 4."""
    result = rank((Standing(entry_id=e, total=t) for e, t in totals.items()), tie_break=())
    return {r.entry_id: r.rank for r in result if r.rank is not None}  # (all ranked: every entry has a total)


__all__ = [
    "CHINESE_TIE_BREAK",
    "RankedEntry",
    "ResultStatus",
    "Standing",
    "TieBreakKey",
    "check_tie_break",
    "rank",
    "ranks_by_total",
]
