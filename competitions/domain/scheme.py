"""Marking schemes (评分标准): modules → aspects, mark validation and the scheme validator.

A scheme is WorldSkills style: each module (赛项模块: theory, practical, …) has aspects of type M (measurement,
one judge or the system) or J (judgement, several judges, e.g. 3 judges on a 0–3 scale). Criteria are a
presentation grouping above aspects and do not change any arithmetic, so the engine does not model them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple

from .common import DomainRuleError, Id, require_decimal


class AspectKind(StrEnum):
    MEASUREMENT = "M"
    JUDGEMENT = "J"


class Aggregation(StrEnum):
    """How the judges' marks on one aspect become one value (see ``scoring.aggregate``)."""

    MEAN = "mean"
    MEDIAN = "median"
    SUM = "sum"
    TRIMMED_MEAN = "trimmed_mean"  # drop k highest and k lowest, mean of the rest
    TRIMMED_SUM = "trimmed_sum"  # drop k highest and k lowest, sum of the rest (diving)


TRIMMED_RULES = frozenset({Aggregation.TRIMMED_MEAN, Aggregation.TRIMMED_SUM})


class ModuleKind(StrEnum):
    THEORY = "theory"
    PRACTICAL = "practical"
    OTHER = "other"


class MarkProblem(StrEnum):
    """Why a single mark is refused (``validate_mark``)."""

    NOT_DECIMAL = "not_decimal"
    NOT_FINITE = "not_finite"
    BELOW_MIN = "below_min"
    ABOVE_MAX = "above_max"
    OFF_STEP = "off_step"


def _int_field(obj: Any, name: str) -> None:
    value = getattr(obj, name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be int, not {type(value).__name__}")


def _decimal_field(obj: Any, name: str, *, optional: bool = False) -> None:
    value = getattr(obj, name)
    if optional and value is None:
        return
    try:
        object.__setattr__(obj, name, require_decimal(value, name))
    except DomainRuleError as exc:
        raise DomainRuleError(exc.code, field=name) from None


@dataclass(frozen=True, kw_only=True)
class AspectSpec:
    """One aspect of the marking scheme.

    points = aggregate(marks)                       (rule ``aggregation`` with ``trim_k``)
             / scale_max × max_mark                 (only if ``normalize``)
             × difficulty factor of the entry       (only if ``uses_difficulty``)
    """

    id: Id
    module_id: Id
    kind: AspectKind
    max_mark: Decimal
    scale_max: Decimal
    scale_min: Decimal = Decimal(0)
    scale_step: Decimal = Decimal(1)
    judges_required: int = 1
    aggregation: Aggregation = Aggregation.MEAN
    trim_k: int = 0
    normalize: bool = False
    uses_difficulty: bool = False
    divergence_threshold: Decimal | None = Decimal(1)  # None: never flagged

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AspectKind(self.kind))
        object.__setattr__(self, "aggregation", Aggregation(self.aggregation))
        for name in ("max_mark", "scale_max", "scale_min", "scale_step"):
            _decimal_field(self, name)
        _decimal_field(self, "divergence_threshold", optional=True)
        _int_field(self, "judges_required")
        _int_field(self, "trim_k")
        for name in ("normalize", "uses_difficulty"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be bool")

    @property
    def max_aggregate(self) -> Decimal:
        """The largest value the aggregation can produce from a full panel on this scale."""
        if self.aggregation is Aggregation.SUM:
            return self.scale_max * self.judges_required
        if self.aggregation is Aggregation.TRIMMED_SUM:
            return self.scale_max * (self.judges_required - 2 * self.trim_k)
        return self.scale_max


@dataclass(frozen=True, kw_only=True)
class ModuleSpec:
    """A module (赛项模块). ``weight`` is a percentage (all modules weighted or none); ``max_mark`` is optional and,
    when given, must equal the sum of its aspects' max marks."""

    id: Id
    kind: ModuleKind = ModuleKind.OTHER
    weight: Decimal | None = None
    max_mark: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ModuleKind(self.kind))
        _decimal_field(self, "weight", optional=True)
        _decimal_field(self, "max_mark", optional=True)


@dataclass(frozen=True, kw_only=True)
class Scheme:
    modules: tuple[ModuleSpec, ...]
    aspects: tuple[AspectSpec, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "modules", tuple(self.modules))
        object.__setattr__(self, "aspects", tuple(self.aspects))
        for m in self.modules:
            if not isinstance(m, ModuleSpec):
                raise TypeError("modules must be ModuleSpec")
        for a in self.aspects:
            if not isinstance(a, AspectSpec):
                raise TypeError("aspects must be AspectSpec")

    @property
    def weighted(self) -> bool:
        return any(m.weight is not None for m in self.modules)

    def aspect(self, aspect_id: Id) -> AspectSpec:
        for a in self.aspects:
            if a.id == aspect_id:
                return a
        raise DomainRuleError("unknown_aspect", aspect=aspect_id)

    def aspects_of(self, module_id: Id) -> tuple[AspectSpec, ...]:
        return tuple(a for a in self.aspects if a.module_id == module_id)

    def module_max(self, module_id: Id) -> Decimal:
        """Σ max_mark of the module's aspects (before any difficulty factor)."""
        return sum((a.max_mark for a in self.aspects_of(module_id)), Decimal(0))


# --- single marks ----------------------------------------------------------------------------------------


def validate_mark(spec: AspectSpec, value: Any) -> MarkProblem | None:
    """None if ``value`` is a valid mark for the aspect, else a ``MarkProblem`` code (never raises).

    Checks are exact: ``Decimal("1.0000000000000000000000000000001")`` is off a step of 0.5 even though
    28-digit arithmetic would round it onto the step.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return MarkProblem.NOT_DECIMAL
    if isinstance(value, Decimal) and not value.is_finite():
        return MarkProblem.NOT_FINITE
    if value < spec.scale_min:
        return MarkProblem.BELOW_MIN
    if value > spec.scale_max:
        return MarkProblem.ABOVE_MAX
    if spec.scale_step > 0 and not on_step(value, spec.scale_min, spec.scale_step):
        return MarkProblem.OFF_STEP
    return None


def on_step(value: Decimal | int, start: Decimal, step: Decimal) -> bool:
    """Whether (value − start) / step is a whole number, exactly (``step`` > 0): a/b − c/d over e/f is whole when
    (ad − cb)·f is a multiple of b·d·e — in integers, without building fractions (a judge's every mark is checked)."""
    a, b = value.as_integer_ratio()
    c, d = start.as_integer_ratio()
    e, f = step.as_integer_ratio()
    return (a * d - c * b) * f % (b * d * e) == 0


# --- the scheme validator ----------------------------------------------------------------------------------


class Problem(NamedTuple):
    """One problem of a scheme: where (``modules[theory].weight``, ``aspects[A1].trim_k``) and a code."""

    path: str
    code: str


WEIGHTS_TOTAL = Decimal(100)


def validate_scheme(scheme: Scheme) -> list[Problem]:
    """Every problem of the scheme as (path, code); an empty list means the scheme can be used for scoring.

    Codes: ``modules``: empty, weights_not_100; ``modules[id]``: duplicate_id, no_aspects;
    ``.weight``: missing (some modules weighted, this one not), not_positive; ``.max_mark``: not_positive,
    mismatch (≠ Σ aspects' max marks); ``aspects[id]``: duplicate_id; ``.module_id``: unknown_module;
    ``.max_mark``: not_positive, mismatch (not normalized, no difficulty, and the scale cannot reach exactly the
    max mark); ``.scale_max``: not_above_min, not_positive (normalized by it); ``.scale_step``: not_positive,
    does_not_divide_range; ``.judges_required``: below_1, judgement_needs_2; ``.trim_k``: negative,
    rule_not_trimmed, too_few_judges (a trim needs judges_required > 2k); ``.divergence_threshold``: negative.
    """
    problems: list[Problem] = []
    add = problems.append
    if not scheme.modules:
        add(Problem("modules", "empty"))
    module_ids: set[Id] = set()
    for m in scheme.modules:
        if m.id in module_ids:
            add(Problem(f"modules[{m.id}]", "duplicate_id"))
        module_ids.add(m.id)

    aspect_ids: set[Id] = set()
    for a in scheme.aspects:
        p = f"aspects[{a.id}]"
        if a.id in aspect_ids:
            add(Problem(p, "duplicate_id"))
        aspect_ids.add(a.id)
        if a.module_id not in module_ids:
            add(Problem(f"{p}.module_id", "unknown_module"))
        problems.extend(validate_aspect(a, p))

    weighted = scheme.weighted
    total_weight = Decimal(0)
    for m in scheme.modules:
        p = f"modules[{m.id}]"
        aspects = scheme.aspects_of(m.id)
        if not aspects:
            add(Problem(p, "no_aspects"))
        if weighted:
            if m.weight is None:
                add(Problem(f"{p}.weight", "missing"))
            else:
                total_weight += m.weight
                if m.weight <= 0:
                    add(Problem(f"{p}.weight", "not_positive"))
        if m.max_mark is not None:
            if m.max_mark <= 0:
                add(Problem(f"{p}.max_mark", "not_positive"))
            elif aspects and scheme.module_max(m.id) != m.max_mark:
                add(Problem(f"{p}.max_mark", "mismatch"))
        elif weighted and aspects and scheme.module_max(m.id) <= 0:
            add(Problem(f"{p}.max_mark", "not_positive"))
    if weighted and total_weight != WEIGHTS_TOTAL:
        add(Problem("modules", "weights_not_100"))
    return problems


def validate_aspect(a: AspectSpec, p: str = "aspect") -> list[Problem]:
    """The problems of one aspect (the aspect part of ``validate_scheme``); ``p`` prefixes the paths."""
    out: list[Problem] = []
    add = out.append
    if a.max_mark <= 0:
        add(Problem(f"{p}.max_mark", "not_positive"))
    scale_ok = True
    if a.scale_min >= a.scale_max:
        add(Problem(f"{p}.scale_max", "not_above_min"))
        scale_ok = False
    if a.scale_step <= 0:
        add(Problem(f"{p}.scale_step", "not_positive"))
        scale_ok = False
    elif scale_ok and not on_step(a.scale_max, a.scale_min, a.scale_step):
        add(Problem(f"{p}.scale_step", "does_not_divide_range"))
    if a.normalize and a.scale_max <= 0:
        add(Problem(f"{p}.scale_max", "not_positive"))
    if a.judges_required < 1:
        add(Problem(f"{p}.judges_required", "below_1"))
    elif a.kind is AspectKind.JUDGEMENT and a.judges_required < 2:
        add(Problem(f"{p}.judges_required", "judgement_needs_2"))
    trim_ok = True
    if a.trim_k < 0:
        add(Problem(f"{p}.trim_k", "negative"))
        trim_ok = False
    elif a.aggregation in TRIMMED_RULES:
        if a.judges_required <= 2 * a.trim_k:
            add(Problem(f"{p}.trim_k", "too_few_judges"))
            trim_ok = False
    elif a.trim_k:
        add(Problem(f"{p}.trim_k", "rule_not_trimmed"))
        trim_ok = False
    if a.divergence_threshold is not None and a.divergence_threshold < 0:
        add(Problem(f"{p}.divergence_threshold", "negative"))
    if scale_ok and trim_ok and a.max_mark > 0 and not a.normalize and not a.uses_difficulty and a.judges_required >= 1:
        if a.max_aggregate != a.max_mark:
            add(Problem(f"{p}.max_mark", "mismatch"))
    return out


def check_scheme(scheme: Scheme) -> None:
    """Raise ``DomainRuleError("invalid_scheme", problems=[...])`` unless the scheme validates."""
    problems = validate_scheme(scheme)
    if problems:
        raise DomainRuleError("invalid_scheme", problems=problems)


__all__ = [
    "TRIMMED_RULES",
    "WEIGHTS_TOTAL",
    "Aggregation",
    "AspectKind",
    "AspectSpec",
    "MarkProblem",
    "ModuleKind",
    "ModuleSpec",
    "Problem",
    "Scheme",
    "check_scheme",
    "validate_aspect",
    "validate_mark",
    "validate_scheme",
]
