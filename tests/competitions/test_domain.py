"""The pure competition engine (competitions.domain): tables for every rule of docs/domain.md and hypothesis properties.
Awards and promotion recommendations: test_domain_awards.py."""

from __future__ import annotations

import ast
import pathlib
import random
import sys
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competitions import domain as d
from competitions.domain import (
    CHINESE_TIE_BREAK,
    Aggregation,
    AspectKind,
    AspectSpec,
    CompetitionEvent,
    CompetitionState,
    FixedCountAwards,
    Mark,
    MedalAwards,
    ModuleKind,
    ModuleSpec,
    ProportionalAwards,
    RegistrationEvent,
    RegistrationState,
    ResultStatus,
    Scheme,
    Standing,
    ThresholdAward,
)
from competitions.domain.scheme import on_step
from tests.competitions.domain_support import (
    FIRST,
    SECOND,
    THIRD,
    D,
    F,
    error_of,
    standing,
    totals,
)


def ds(*values: str | int) -> list[Decimal]:
    return [D(str(v)) for v in values]


def judged(**kw) -> AspectSpec:
    """A WorldSkills J aspect: 3 judges, 0–3 in steps of 1, normalized to its max mark."""
    base = dict(id="J1", module_id="P", kind="J", max_mark=D("1.5"), scale_max=D(3), judges_required=3, normalize=True)
    base.update(kw)
    return AspectSpec(**base)


def measured(**kw) -> AspectSpec:
    base = dict(id="M1", module_id="T", kind="M", max_mark=D(100), scale_max=D(100), scale_step=D("0.5"))
    base.update(kw)
    return AspectSpec(**base)


def gymnastics(**kw) -> AspectSpec:
    """Chinese contests / gymnastics E-panel: 5 judges on 0–10 by 0.1, drop highest and lowest, mean of 3."""
    base = dict(id="E", module_id="P", kind="J", max_mark=D(10), scale_max=D(10), scale_step=D("0.1"),
                judges_required=5, aggregation="trimmed_mean", trim_k=1)
    base.update(kw)
    return AspectSpec(**base)


def diving(judges: int = 7, k: int = 2, **kw) -> AspectSpec:
    """Diving: 0–10 in 0.5 steps, drop k highest and k lowest, SUM the rest, × degree of difficulty."""
    base = dict(id="dive1", module_id="P", kind="J", max_mark=D(30), scale_max=D(10), scale_step=D("0.5"),
                judges_required=judges, aggregation="trimmed_sum", trim_k=k, uses_difficulty=True)
    base.update(kw)
    return AspectSpec(**base)


# --- purity -------------------------------------------------------------------------------------------------


def test_engine_imports_only_the_standard_library():
    """No Flask, no database, no app: every import in competitions/domain is relative or from the stdlib."""
    root = pathlib.Path(d.__file__).parent
    files = sorted(root.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in sys.stdlib_module_names, f"{path.name} imports {name}"


# --- exact numbers and rounding -----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (D("2.675"), "2.68"),  # a float would give 2.67
    (D("0.005"), "0.01"),
    (D("0.0049999"), "0.00"),
    (D("-0.005"), "-0.01"),  # half-up = ties away from zero
    (F(7, 6), "1.17"),
    (F(1, 3) * 3, "1.00"),
    (F(5, 1000) - F(1, 10**40), "0.00"),  # just below a tie: never double-rounded
    (F(1, 200), "0.01"),
    (0, "0.00"),
    (D("67.2"), "67.20"),
    (D("12345678901234567890123456789.005"), "12345678901234567890123456789.01"),  # beyond 28 digits, exact
])
def test_quantize_total_rounds_half_up_once(value, expected):
    result = d.quantize_total(value)
    assert isinstance(result, Decimal)
    assert str(result) == expected


@pytest.mark.parametrize(("value", "places", "expected"), [
    (F(2, 3), 0, "1"), (F(2, 3), 4, "0.6667"), (D("1.25"), 1, "1.3"), (D("1.35"), 1, "1.4"), (D("-1.25"), 1, "-1.3"),
])
def test_round_half_up_places(value, places, expected):
    assert str(d.round_half_up(value, places)) == expected


@pytest.mark.parametrize("bad", [1.5, True, "1.5", None, [1]])
def test_floats_and_other_non_decimals_are_type_errors(bad):
    with pytest.raises(TypeError):
        d.exact(bad)
    with pytest.raises(TypeError):
        d.aggregate([D(1), bad], "mean")


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity"), D("sNaN")])
def test_non_finite_decimals_are_refused(bad):
    assert error_of(lambda: d.exact(bad)).code == "not_finite"


@given(st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False, allow_infinity=False))
def test_round_half_up_agrees_with_decimal_quantize(value):
    assert d.quantize_total(value) == value.quantize(D("0.01"), rounding=ROUND_HALF_UP)


# --- aggregation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("marks", "rule", "k", "expected"), [
    (ds(1, 2, 3), "mean", 0, F(2)),
    (ds(2, 3, 2), "mean", 0, F(7, 3)),
    (ds(3, 1, 2), "median", 0, F(2)),
    (ds(4, 1, 3, 2), "median", 0, F(5, 2)),  # even count: mean of the middle two
    (ds(1, 2, 3), "sum", 0, F(6)),
    # Chinese contests / gymnastics E-panel: 5 judges, drop highest and lowest, average the 3
    (ds("8.5", "9.0", "9.5", "7.0", "9.0"), "trimmed_mean", 1, F(265, 30)),
    # diving, 7 judges: drop 2 highest and 2 lowest, SUM the middle 3 (6, 6.5 | 7, 7, 7 | 7.5, 8)
    (ds("6.5", 7, 7, "7.5", 7, 6, 8), "trimmed_sum", 2, F(21)),
    # diving, 5 judges: drop 1 + 1, sum the middle 3
    (ds(7, "7.5", "6.5", 8, 7), "trimmed_sum", 1, F("21.5")),
    (ds(1, 5, 9), "trimmed_mean", 0, F(5)),  # k = 0 is a plain mean
    (ds(10, 0, 5, 5, 5), "trimmed_mean", 1, F(5)),
    (ds("0.1", "0.2"), "sum", 0, F(3, 10)),  # exact, not 0.30000000000000004
    ([2, D(3)], "mean", 0, F(5, 2)),  # ints are exact numbers too
])
def test_aggregate(marks, rule, k, expected):
    assert d.aggregate(marks, rule, k) == expected
    assert d.aggregate(list(reversed(marks)), Aggregation(rule), k) == expected


@pytest.mark.parametrize(("marks", "rule", "k", "code"), [
    ([], "mean", 0, "no_marks"),
    ([], "median", 0, "no_marks"),
    (ds(1, 2), "trimmed_mean", 1, "too_few_marks_for_trim"),
    (ds(1, 2, 3, 4), "trimmed_sum", 2, "too_few_marks_for_trim"),
    (ds(1, 2, 3), "trimmed_mean", -1, "invalid_trim_k"),
    (ds(1, 2, 3), "mean", 1, "trim_not_applicable"),
    (ds(1, 2, 3), "mode", 0, "unknown_aggregation"),
    ([D("NaN")], "mean", 0, "not_finite"),
])
def test_aggregate_errors(marks, rule, k, code):
    assert error_of(lambda: d.aggregate(marks, rule, k)).code == code


@given(
    mark=st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False),
    k=st.integers(0, 3),
    extra=st.integers(1, 5),
)
def test_trimmed_aggregation_of_identical_marks(mark, k, extra):
    n = 2 * k + extra
    marks = [mark] * n
    assert d.aggregate(marks, "trimmed_mean", k) == mark
    assert d.aggregate(marks, "trimmed_sum", k) == mark * extra  # the mark × the number of marks kept
    assert d.aggregate(marks, "mean") == d.aggregate(marks, "median") == mark
    assert d.aggregate(marks, "sum") == mark * n


@given(st.lists(st.decimals(min_value=-50, max_value=50, places=1, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=9), st.randoms(use_true_random=False))
def test_aggregation_ignores_the_order_of_marks(marks, rnd):
    shuffled = list(marks)
    rnd.shuffle(shuffled)
    for rule in Aggregation:
        k = 1 if rule in d.TRIMMED_RULES and len(marks) > 2 else 0
        assert d.aggregate(marks, rule, k) == d.aggregate(shuffled, rule, k)


# --- single marks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "value", "expected"), [
    (judged(), D(2), None),
    (judged(), 2, None),
    (judged(), D("2.0"), None),
    (judged(), D(0), None),
    (judged(), D(3), None),
    (judged(), D(4), "above_max"),
    (judged(), D("1E+100"), "above_max"),  # huge
    (judged(), D(-1), "below_min"),  # negative
    (judged(), D("1.5"), "off_step"),
    (judged(), D("1.0000000000000000000000000000001"), "off_step"),  # exact, not 28-digit arithmetic
    (judged(), D("NaN"), "not_finite"),
    (judged(), D("sNaN"), "not_finite"),
    (judged(), D("Infinity"), "not_finite"),
    (judged(), 2.0, "not_decimal"),
    (judged(), "2", "not_decimal"),
    (judged(), True, "not_decimal"),
    (judged(), None, "not_decimal"),
    (diving(), D("6.5"), None),
    (diving(), D("6.25"), "off_step"),
    (diving(), D(10), None),
    (diving(), D("10.5"), "above_max"),
    (gymnastics(), D("9.3"), None),
    (gymnastics(), D("9.35"), "off_step"),
    (measured(scale_min=D(1), scale_max=D(4), max_mark=D(4), scale_step=D("1.5")), D("2.5"), None),
    (measured(scale_min=D(1), scale_max=D(4), max_mark=D(4), scale_step=D("1.5")), D(2), "off_step"),
    (measured(scale_min=D(1), scale_max=D(4), max_mark=D(4), scale_step=D("1.5")), D(0), "below_min"),
])
def test_validate_mark(spec, value, expected):
    assert d.validate_mark(spec, value) == expected


_exact_decimals = st.decimals(min_value=-10**6, max_value=10**6, places=6, allow_nan=False, allow_infinity=False)


@given(_exact_decimals | st.integers(-10**6, 10**6), _exact_decimals,
       st.decimals(min_value=D("0.000001"), max_value=10**4, places=6, allow_nan=False, allow_infinity=False))
def test_on_step_is_the_exact_quotient_test(value, start, step):
    """The integer check equals its definition: (value − start) / step is a whole number, in exact fractions."""
    assert on_step(value, start, step) == (((Fraction(value) - Fraction(start)) / Fraction(step)).denominator == 1)


@given(st.integers(-1000, 1000), _exact_decimals,
       st.decimals(min_value=D("0.000001"), max_value=10**4, places=6, allow_nan=False, allow_infinity=False))
def test_every_grid_point_is_on_step(n, start, step):
    assert on_step(start + n * step, start, step)


# --- aspect points: the published examples ----------------------------------------------------------------------


def test_worldskills_three_judges_on_0_to_3_normalized_to_the_max_mark():
    # marks 2, 3, 2 on an aspect worth 1.5: mean 7/3, / 3 × 1.5 = 7/6
    points = d.aspect_points(judged(max_mark=D("1.5")), ds(2, 3, 2))
    assert points == F(7, 3) / 3 * F(3, 2) == F(7, 6)
    assert d.quantize_total(points) == D("1.17")


def test_diving_seven_judges_drop_two_and_two_sum_times_difficulty():
    marks = ds("6.5", 7, 7, "7.5", 7, 6, 8)
    points = d.aspect_points(diving(), marks, difficulty=D("3.2"))
    assert points == (7 + 7 + 7) * F("3.2") == F("67.2")
    assert d.quantize_total(points) == D("67.20")


def test_diving_five_judges_drop_one_and_one_sum_times_difficulty():
    points = d.aspect_points(diving(judges=5, k=1), ds(7, "7.5", "6.5", 8, 7), difficulty=D("2.0"))
    assert points == F("21.5") * 2 == 43


def test_five_judges_drop_highest_and_lowest_mean_of_three():
    # Chinese contests / gymnastics E-panel
    points = d.aspect_points(gymnastics(), ds("9.1", "9.3", "8.8", "9.5", "9.0"))
    assert points == (F("9.1") + F("9.3") + F("9.0")) / 3
    assert d.quantize_total(points) == D("9.13")


def test_five_judges_drop_one_and_one_sum_without_difficulty():
    spec = gymnastics(aggregation="trimmed_sum", max_mark=D(30))
    assert d.aspect_points(spec, ds("9.1", "9.3", "8.8", "9.5", "9.0")) == F("27.4")


def test_measurement_aspect_with_one_judge():
    spec = measured(max_mark=D("1.5"), scale_max=D("1.5"), scale_step=D("0.5"))
    assert d.aspect_points(spec, [D("1.5")]) == F(3, 2)
    assert d.aspect_points(spec, [D("0")]) == 0


def test_difficulty_only_multiplies_when_the_aspect_says_so():
    assert d.aspect_points(judged(), ds(3, 3, 3), difficulty=D(2)) == F(3, 2)
    assert d.aspect_points(judged(uses_difficulty=True), ds(3, 3, 3), difficulty=D(2)) == 3


def test_normalization_only_when_the_aspect_says_so():
    spec = judged(normalize=False, max_mark=D(3))
    assert d.aspect_points(spec, ds(2, 3, 2)) == F(7, 3)


@pytest.mark.parametrize(("spec", "marks", "difficulty", "code", "reason"), [
    (judged(), ds(2, 3), None, "incomplete_marks", None),
    (judged(), ds(2, 3, 2, 1), None, "too_many_marks", None),
    (judged(), ds(2, 4, 2), None, "invalid_mark", "above_max"),
    (judged(), ds(2, -1, 2), None, "invalid_mark", "below_min"),
    (judged(), [D(2), D("1.5"), D(2)], None, "invalid_mark", "off_step"),
    (judged(), [D(2), D("NaN"), D(2)], None, "invalid_mark", "not_finite"),
    (judged(), [D(2), D("sNaN"), D(2)], None, "invalid_mark", "not_finite"),
    (diving(), ds(7, 7, 7, 7, 7, 7, 7), None, "difficulty_missing", None),
    (diving(), ds(7, 7, 7, 7, 7, 7, 7), D(0), "difficulty_not_positive", None),
    (diving(), ds(7, 7, 7, 7, 7, 7, 7), D(-2), "difficulty_not_positive", None),
    (judged(judges_required=2, aggregation="trimmed_mean", trim_k=1), ds(1, 2), None, "invalid_aspect", None),
])
def test_aspect_points_errors(spec, marks, difficulty, code, reason):
    err = error_of(lambda: d.aspect_points(spec, marks, difficulty))
    assert (err.code, err.reason) == (code, reason)


def test_a_float_mark_or_difficulty_is_a_type_error():
    with pytest.raises(TypeError):
        d.aspect_points(judged(), [D(2), 3.0, D(2)])
    with pytest.raises(TypeError):
        d.aspect_points(diving(), ds(7, 7, 7, 7, 7, 7, 7), difficulty=3.2)


def test_partial_marks_give_a_provisional_value_or_none():
    assert d.aspect_points(judged(), ds(3, 2), partial=True) == F(5, 2) / 3 * F(3, 2)
    assert d.aspect_points(judged(), [], partial=True) is None
    assert d.aspect_points(gymnastics(), ds(9, 8), partial=True) is None  # too few to drop 1 + 1
    assert d.aspect_points(gymnastics(), ds(9, 8, 7), partial=True) == 8


@st.composite
def aspect_specs(draw):
    rule = draw(st.sampled_from(list(Aggregation)))
    k = draw(st.integers(0, 2)) if rule in d.TRIMMED_RULES else 0
    judges = 2 * k + draw(st.integers(1, 4))
    normalize, uses_difficulty = draw(st.booleans()), draw(st.booleans())
    step = draw(st.sampled_from([D(1), D("0.5"), D("0.1"), D("2.5"), D("0.25")]))
    scale_min = draw(st.sampled_from([D(0), D("0.5"), D("1.25"), D(-2), D("0.1")]))
    lowest = max(1, int(-scale_min / step) + 1)  # scale_max > 0 (it divides when normalizing)
    scale_max = scale_min + step * draw(st.integers(lowest, lowest + 40))
    spec = AspectSpec(id="A", module_id="P", kind="J" if judges > 1 else "M", max_mark=D(1), scale_min=scale_min,
                      scale_max=scale_max, scale_step=step, judges_required=judges, aggregation=rule, trim_k=k,
                      normalize=normalize, uses_difficulty=uses_difficulty)
    max_mark = draw(st.sampled_from([D("7.5"), D(1), D(3)])) if normalize else spec.max_aggregate
    return replace(spec, max_mark=max_mark)


@given(aspect_specs(), st.data())
def test_fast_aspect_points_agree_with_the_plain_formula(spec, data):
    assert d.validate_aspect(spec) == []
    steps = int((spec.scale_max - spec.scale_min) / spec.scale_step)
    marks = data.draw(st.lists(st.integers(0, steps).map(lambda i: spec.scale_min + i * spec.scale_step),
                               min_size=spec.judges_required, max_size=spec.judges_required))
    dd = data.draw(st.decimals(min_value=D("0.1"), max_value=5, places=2)) if spec.uses_difficulty else None
    expected = d.aggregate(marks, spec.aggregation, spec.trim_k)
    if spec.normalize:
        expected = expected / F(spec.scale_max) * F(spec.max_mark)
    if dd is not None:
        expected *= F(dd)
    assert d.aspect_points(spec, marks, dd) == expected


# --- schemes -------------------------------------------------------------------------------------------------------


def national_scheme(weights: tuple[int, int] | None = (30, 70)) -> Scheme:
    """Theory (one measured aspect out of 100) and practical (a judged aspect worth 60 + a measured one worth 40)."""
    wt, wp = weights or (None, None)
    return Scheme(
        modules=(
            ModuleSpec(id="T", kind="theory", weight=None if wt is None else D(wt)),
            ModuleSpec(id="P", kind="practical", weight=None if wp is None else D(wp)),
        ),
        aspects=(
            measured(id="T1", module_id="T"),
            judged(id="P1", module_id="P", max_mark=D(60)),
            measured(id="P2", module_id="P", max_mark=D(40), scale_max=D(40)),
        ),
    )


def test_a_sound_scheme_has_no_problems():
    assert d.validate_scheme(national_scheme()) == []
    assert d.validate_scheme(national_scheme(weights=None)) == []
    diving_scheme = Scheme(modules=(ModuleSpec(id="P", kind="practical"),), aspects=(diving(), diving(id="dive2")))
    assert d.validate_scheme(diving_scheme) == []


def _with_aspect(scheme: Scheme, aspect_id: str, **changes) -> Scheme:
    return replace(scheme, aspects=tuple(replace(a, **changes) if a.id == aspect_id else a for a in scheme.aspects))


def _with_module(scheme: Scheme, module_id: str, **changes) -> Scheme:
    return replace(scheme, modules=tuple(replace(m, **changes) if m.id == module_id else m for m in scheme.modules))


@pytest.mark.parametrize(("mutate", "problem"), [
    (lambda s: _with_module(s, "P", weight=D(60)), ("modules", "weights_not_100")),
    (lambda s: _with_module(s, "P", weight=None), ("modules[P].weight", "missing")),
    (lambda s: _with_module(_with_module(s, "P", weight=D(100)), "T", weight=D(0)), ("modules[T].weight", "not_positive")),
    (lambda s: replace(s, modules=(*s.modules, ModuleSpec(id="X"))), ("modules[X]", "no_aspects")),
    (lambda s: replace(s, modules=(*s.modules, ModuleSpec(id="T"))), ("modules[T]", "duplicate_id")),
    (lambda s: replace(s, modules=()), ("modules", "empty")),
    (lambda s: _with_module(s, "P", max_mark=D(90)), ("modules[P].max_mark", "mismatch")),
    (lambda s: replace(s, aspects=(*s.aspects, judged(id="P1", module_id="P"))), ("aspects[P1]", "duplicate_id")),
    (lambda s: _with_aspect(s, "P1", module_id="Z"), ("aspects[P1].module_id", "unknown_module")),
    (lambda s: _with_aspect(s, "P1", max_mark=D(0)), ("aspects[P1].max_mark", "not_positive")),
    (lambda s: _with_aspect(s, "P1", max_mark=D(-5)), ("aspects[P1].max_mark", "not_positive")),
    (lambda s: _with_aspect(s, "P1", scale_min=D(3)), ("aspects[P1].scale_max", "not_above_min")),
    (lambda s: _with_aspect(s, "P1", scale_min=D(4)), ("aspects[P1].scale_max", "not_above_min")),
    (lambda s: _with_aspect(s, "P1", scale_step=D(0)), ("aspects[P1].scale_step", "not_positive")),
    (lambda s: _with_aspect(s, "P1", scale_step=D("0.4")), ("aspects[P1].scale_step", "does_not_divide_range")),
    (lambda s: _with_aspect(s, "P1", scale_step=D(2)), ("aspects[P1].scale_step", "does_not_divide_range")),
    (lambda s: _with_aspect(s, "P1", judges_required=0), ("aspects[P1].judges_required", "below_1")),
    (lambda s: _with_aspect(s, "P1", judges_required=1), ("aspects[P1].judges_required", "judgement_needs_2")),
    (lambda s: _with_aspect(s, "P1", judges_required=2, aggregation="trimmed_mean", trim_k=1),
     ("aspects[P1].trim_k", "too_few_judges")),
    (lambda s: _with_aspect(s, "P1", judges_required=4, aggregation="trimmed_sum", trim_k=2),
     ("aspects[P1].trim_k", "too_few_judges")),
    (lambda s: _with_aspect(s, "P1", trim_k=1), ("aspects[P1].trim_k", "rule_not_trimmed")),
    (lambda s: _with_aspect(s, "P1", aggregation="trimmed_mean", trim_k=-1), ("aspects[P1].trim_k", "negative")),
    (lambda s: _with_aspect(s, "P1", divergence_threshold=D(-1)), ("aspects[P1].divergence_threshold", "negative")),
    # not normalized, no difficulty: the scale must reach exactly the max mark
    (lambda s: _with_aspect(s, "P2", max_mark=D(30)), ("aspects[P2].max_mark", "mismatch")),
    (lambda s: _with_aspect(s, "P1", normalize=False), ("aspects[P1].max_mark", "mismatch")),
    (lambda s: _with_aspect(s, "P1", normalize=True, scale_min=D(-3), scale_max=D(0)), ("aspects[P1].scale_max", "not_positive")),
])
def test_scheme_validator(mutate, problem):
    problems = d.validate_scheme(mutate(national_scheme()))
    assert problem in problems
    assert all(isinstance(p, d.Problem) for p in problems)


def test_scheme_validator_accepts_the_variants_it_should():
    s = national_scheme()
    assert d.validate_scheme(_with_aspect(s, "P1", normalize=False, max_mark=D(3))) == []  # mean of 0–3 reaches 3
    sum_aspect = _with_aspect(s, "P1", normalize=False, aggregation="sum", max_mark=D(9))  # 3 judges × 3
    assert d.validate_scheme(_with_aspect(sum_aspect, "P2", max_mark=D(91), scale_max=D(91))) == []
    assert d.validate_scheme(_with_module(s, "P", max_mark=D(100))) == []
    assert d.validate_scheme(_with_aspect(s, "P1", judges_required=5, aggregation="trimmed_mean", trim_k=2)) == []
    assert d.validate_scheme(_with_aspect(s, "P1", divergence_threshold=None)) == []


@pytest.mark.parametrize(("field", "value", "error"), [
    ("max_mark", 1.5, TypeError),
    ("scale_max", "3", TypeError),
    ("judges_required", 3.0, TypeError),
    ("judges_required", True, TypeError),
    ("normalize", 1, TypeError),
    ("divergence_threshold", 1.0, TypeError),
    ("kind", "X", ValueError),
    ("aggregation", "mode", ValueError),
])
def test_aspect_spec_rejects_bad_types(field, value, error):
    with pytest.raises(error):
        judged(**{field: value})


def test_aspect_spec_refuses_non_finite_numbers_and_accepts_ints():
    assert error_of(lambda: judged(max_mark=D("NaN"))).code == "not_finite"
    spec = judged(max_mark=2, scale_max=3)
    assert spec.max_mark == D(2) and isinstance(spec.scale_max, Decimal)
    assert spec.kind is AspectKind.JUDGEMENT and spec.aggregation is Aggregation.MEAN
    with pytest.raises(TypeError):
        ModuleSpec(id="T", weight=30.0)


def test_scoring_refuses_an_invalid_scheme():
    bad = _with_module(national_scheme(), "P", weight=D(60))
    err = error_of(lambda: d.score_entry(bad, {}))
    assert err.code == "invalid_scheme"
    assert ("modules", "weights_not_100") in err.details["problems"]


# --- module scores and totals ----------------------------------------------------------------------------------------

ENTRY_MARKS = {"T1": [D(80)], "P1": ds(3, 3, 2), "P2": [D(30)]}


def test_weighted_totals_30_70():
    score = d.score_entry(national_scheme((30, 70)), ENTRY_MARKS, entry_id=7)
    # practical = 8/3 / 3 × 60 + 30 = 250/3; total = 80/100 × 30 + (250/3)/100 × 70 = 24 + 175/3
    assert score.module_scores == {"T": 80, "P": F(250, 3)}
    assert score.module_contributions == {"T": 24, "P": F(175, 3)}
    assert score.kind_scores == {ModuleKind.THEORY: 24, ModuleKind.PRACTICAL: F(175, 3)}
    assert score.total == F(247, 3)
    assert score.published_total == D("82.33")
    assert score.published_module_scores() == {"T": D("80.00"), "P": D("83.33")}
    assert score.aspect_points == {"T1": 80, "P1": F(160, 3), "P2": 30}
    assert score.entry_id == 7 and score.weighted and score.complete


def test_without_weights_the_total_is_the_plain_sum():
    score = d.score_entry(national_scheme(None), ENTRY_MARKS)
    assert score.total == 80 + F(250, 3)
    assert not score.weighted


@pytest.mark.parametrize(("scores", "maxima", "weights", "expected"), [
    ({"T": D(80), "P": D(90)}, {"T": D(100), "P": D(100)}, {"T": D(30), "P": D(70)}, F(87)),
    ({"T": D(40), "P": D(45)}, {"T": D(50), "P": D(60)}, {"T": 30, "P": 70}, F(24) + F(105, 2)),
    ({"T": D(40), "P": D(45)}, {"T": D(50), "P": D(60)}, None, F(85)),
])
def test_weighted_total(scores, maxima, weights, expected):
    assert d.weighted_total(scores, maxima, weights) == expected


@pytest.mark.parametrize(("weights", "code"), [
    ({"T": D(30), "P": D(60)}, "weights_not_100"),
    ({"T": D(100)}, "weights_do_not_match_modules"),
])
def test_weighted_total_errors(weights, code):
    assert error_of(lambda: d.weighted_total({"T": 1, "P": 1}, {"T": 10, "P": 10}, weights)).code == code


def test_difficulty_factors_are_per_entry_and_aspect():
    scheme = Scheme(modules=(ModuleSpec(id="P", kind="practical"),), aspects=(diving(), diving(id="dive2")))
    marks = {"A": {"dive1": ds("6.5", 7, 7, "7.5", 7, 6, 8), "dive2": ds(8, 8, 8, 8, 8, 8, 8)},
             "B": {"dive1": ds(9, 9, 9, 9, 9, 9, 9), "dive2": ds(5, 5, 5, 5, 5, 5, 5)}}
    dd = {"A": {"dive1": D("3.2"), "dive2": D("2.0")}, "B": {"dive1": D("1.5"), "dive2": D("3.0")}}
    scores = d.score_entries(scheme, marks, dd)
    assert scores["A"].total == F("67.2") + 48  # event total = sum of dives
    assert scores["B"].total == F("40.5") + 45
    assert error_of(lambda: d.score_entries(scheme, marks, {"A": dd["A"]})).code == "difficulty_missing"


def test_exact_totals_do_not_drift_like_28_digit_decimals():
    """1/3 + 1/3 + 1/3 must equal 1, so these two entries tie (Decimal arithmetic would rank B first)."""
    aspects = tuple(judged(id=f"A{i}", max_mark=D(1), scale_max=D(1), normalize=False) for i in range(3))
    scheme = Scheme(modules=(ModuleSpec(id="P", kind="practical"),), aspects=aspects)
    marks = {"A": {f"A{i}": ds(0, 0, 1) for i in range(3)},
             "B": {"A0": ds(1, 1, 1), "A1": ds(0, 0, 0), "A2": ds(0, 0, 0)}}
    scores = d.score_entries(scheme, marks)
    assert scores["A"].total == scores["B"].total == 1
    ranked = d.rank([Standing.from_score(s) for s in scores.values()], tie_break=())
    assert [(r.rank, r.shared) for r in ranked] == [(1, True), (1, True)]


@pytest.mark.parametrize(("marks", "code"), [
    ({"T1": [D(80)], "P1": ds(3, 3, 2)}, "incomplete_marks"),
    ({**ENTRY_MARKS, "Z9": [D(1)]}, "unknown_aspect"),
    ({**ENTRY_MARKS, "P1": ds(3, 3, 2, 2)}, "too_many_marks"),
    ({**ENTRY_MARKS, "T1": [D("80.25")]}, "invalid_mark"),
])
def test_score_entry_errors(marks, code):
    assert error_of(lambda: d.score_entry(national_scheme(), marks)).code == code


def test_partial_scores_for_the_live_board():
    score = d.score_entry(national_scheme(None), {"T1": [D(80)], "P1": ds(3)}, partial=True)
    assert not score.complete
    assert score.module_scores == {"T": 80, "P": F(60)}  # P1 provisional: 3 / 3 × 60; P2 not yet marked
    assert score.total == 140
    assert set(score.aspect_points) == {"T1", "P1"}


def test_aspect_detail_can_be_skipped_for_boards():
    full = d.score_entries(national_scheme(), {1: ENTRY_MARKS})[1]
    lean = d.score_entries(national_scheme(), {1: ENTRY_MARKS}, aspect_detail=False)[1]
    assert lean.total == full.total and lean.module_scores == full.module_scores
    assert lean.aspect_points == {}


# --- ranking --------------------------------------------------------------------------------------------------------


def ranks(result) -> list[tuple]:
    return [(r.entry_id, r.rank) for r in result]


@pytest.mark.parametrize(("totals", "expected"), [
    ([90, 80, 80, 70], [1, 2, 2, 4]),
    ([80, 80, 80], [1, 1, 1]),
    ([70, 80, 90], [3, 2, 1]),
    (["85.5", "85.50", "85.49"], [1, 1, 3]),
    ([100], [1]),
    ([], []),
])
def test_shared_ranks(totals, expected):
    result = d.rank([standing(i, t) for i, t in enumerate(totals)], tie_break=())
    assert dict(ranks(result)) == dict(enumerate(expected))
    by_total = d.ranks_by_total({i: D(str(t)) for i, t in enumerate(totals)})
    assert by_total == dict(enumerate(expected))


def test_the_chinese_tie_break_chain_resolves_some_ties_and_leaves_others_shared():
    entries = [
        standing("A", 90, time=700, practical=60, theory=30),
        standing("B", 80, time=600, practical=50, theory=30),
        standing("C", 80, time=540, practical=45, theory=35),  # faster than everyone on 80
        standing("D", 80, time=600, practical=55, theory=25),  # same time as B and E, more practical points
        standing("E", 80, time=600, practical=50, theory=30),  # identical to B on every key: shares
        standing("F", 80, time=600, practical=50, theory=31),  # same as B/E up to theory, which breaks it
        standing("G", 70, time=100, practical=70, theory=0),
    ]
    result = d.rank(entries, CHINESE_TIE_BREAK)
    assert ranks(result) == [("A", 1), ("C", 2), ("D", 3), ("F", 4), ("B", 5), ("E", 5), ("G", 7)]
    assert [r.shared for r in result] == [False, False, False, False, True, True, False]


@pytest.mark.parametrize(("chain", "expected"), [
    ((), [("A", 1), ("B", 1), ("C", 1)]),
    ((("completion_time", "asc"),), [("B", 1), ("C", 1), ("A", 3)]),
    ((("completion_time", "desc"),), [("A", 1), ("B", 2), ("C", 2)]),
    ((("module:P", "desc"),), [("C", 1), ("A", 2), ("B", 2)]),
    ((("module:P", "asc"),), [("A", 1), ("B", 1), ("C", 3)]),
    ((("completion_time", "asc"), ("module:P", "desc")), [("C", 1), ("B", 2), ("A", 3)]),
])
def test_tie_break_keys(chain, expected):
    entries = [
        Standing(entry_id="A", total=D(50), completion_time=D(90), module_scores={"P": D(20)}),
        Standing(entry_id="B", total=D(50), completion_time=D(60), module_scores={"P": D(20)}),
        Standing(entry_id="C", total=D(50), completion_time=60, module_scores={"P": D(21)}),
    ]
    assert ranks(d.rank(entries, chain)) == expected


def test_a_missing_tie_break_value_sorts_last_whatever_the_direction():
    entries = [standing("A", 80), standing("B", 80, time=900), standing("C", 80, time=100)]
    assert ranks(d.rank(entries, [("completion_time", "asc")])) == [("C", 1), ("B", 2), ("A", 3)]
    assert ranks(d.rank(entries, [("completion_time", "desc")])) == [("B", 1), ("C", 2), ("A", 3)]


def test_entries_without_a_result_are_listed_unranked_at_the_end():
    entries = [
        Standing.unranked("Z", ResultStatus.ABSENT),
        standing("A", 60),
        Standing.unranked("Y", "disqualified"),
        Standing.unranked("X", ResultStatus.ABSENT),
        standing("B", 70),
    ]
    result = d.rank(entries)
    assert [(r.entry_id, r.rank, r.status) for r in result] == [
        ("B", 1, ResultStatus.RANKED), ("A", 2, ResultStatus.RANKED),
        ("X", None, ResultStatus.ABSENT), ("Z", None, ResultStatus.ABSENT), ("Y", None, ResultStatus.DISQUALIFIED),
    ]
    assert result[-1].total is None and result[-1].published_total is None
    assert result[0].published_total == D("70.00")


@pytest.mark.parametrize(("chain", "reason"), [
    ([("completion_time", "up")], "direction"),
    ([("speed", "asc")], "unknown_key"),
    ([("module_kind:", "desc")], "unknown_key"),
    ([("completion_time",)], None),
])
def test_invalid_tie_break_chains(chain, reason):
    err = error_of(lambda: d.rank([standing("A", 1)], chain))
    assert (err.code, err.reason) == ("invalid_tie_break", reason)


def test_ranking_input_errors():
    assert error_of(lambda: d.rank([standing("A", 1), standing("A", 2)])).code == "duplicate_entry"
    assert error_of(lambda: Standing(entry_id="A", total=None)).code == "ranked_without_total"
    assert error_of(lambda: Standing.unranked("A", "ranked")).code == "unranked_needs_status"
    with pytest.raises(TypeError):
        Standing(entry_id="A", total=80.5)
    with pytest.raises(TypeError):
        Standing(entry_id="A", total=D(80), completion_time=61.5)


def test_standing_from_score_carries_the_tie_break_values():
    score = d.score_entry(national_scheme(), ENTRY_MARKS, entry_id=1)
    s = Standing.from_score(score, completion_time=D(3600))
    assert s.total == score.total and s.kind_scores["practical"] == F(175, 3) and s.module_scores["T"] == 80


@given(st.lists(st.tuples(totals, st.none() | st.integers(0, 5)), min_size=1, max_size=25))
def test_rank_order_is_consistent_with_totals(rows):
    result = d.rank([Standing(entry_id=i, total=t, completion_time=c) for i, (t, c) in enumerate(rows)])
    rank_of = {r.entry_id: r.rank for r in result}
    for i, (ti, _) in enumerate(rows):
        for j, (tj, _) in enumerate(rows):
            if ti > tj:
                assert rank_of[i] < rank_of[j]  # a higher total never gets a worse rank
    plain = d.rank([Standing(entry_id=i, total=t) for i, (t, _) in enumerate(rows)], tie_break=())
    plain_rank = {r.entry_id: r.rank for r in plain}
    for i, (ti, _) in enumerate(rows):
        assert plain_rank[i] == 1 + sum(1 for tj, _ in rows if tj > ti)  # competition ranking 1, 2, 2, 4


@given(st.lists(st.tuples(totals, st.integers(0, 3), st.integers(0, 3)), min_size=0, max_size=20),
       st.integers(0, 3), st.randoms(use_true_random=False))
def test_permuting_entries_never_changes_the_ranking(rows, absent, rnd):
    entries = [standing(i, t, time=c, practical=p) for i, (t, c, p) in enumerate(rows)]
    entries += [Standing.unranked(f"x{i}", ResultStatus.ABSENT) for i in range(absent)]
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    assert d.rank(shuffled) == d.rank(entries)


# --- divergence ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("marks", "threshold", "expected"), [
    (ds(2, 3, 2), D(1), False),  # differ by exactly 1: not more than the threshold
    (ds(1, 3, 2), D(1), True),
    (ds(0, 3), D(1), True),
    (ds(3, 3, 3), D(0), False),
    (ds(3, 2, 3), D(0), True),
    (ds(3), D(0), False),  # one mark never diverges
    ([], D(1), False),
    (ds(0, 3), None, False),  # no threshold: never flagged
    (ds("6.5", 8), D("1.5"), False),
    (ds("6.5", "8.5"), D("1.5"), True),
])
def test_is_divergent(marks, threshold, expected):
    assert d.is_divergent(marks, threshold) is expected


def marks_of(table: dict[tuple, dict[str, int | str]]) -> list[Mark]:
    return [Mark(entry_id=e, aspect_id=a, judge_id=j, value=D(str(v))) for (e, a), cell in table.items()
            for j, v in cell.items()]


PANEL = {
    ("e1", "J1"): {"j1": 3, "j2": 2, "j3": 2},  # median 2; spread 1
    ("e2", "J1"): {"j1": 3, "j2": 1, "j3": 2},  # median 2; spread 2 → diverges
    ("e3", "J1"): {"j1": 2},  # one mark: counted, never compared
    ("e1", "J2"): {"j2": 0, "j3": 3},  # median 3/2; spread 3 → diverges
}


def test_detect_divergences_per_entry_and_aspect():
    aspects = [judged(id="J1"), judged(id="J2", judges_required=2)]
    found = d.detect_divergences(marks_of(PANEL), aspects)
    assert [(x.entry_id, x.aspect_id, x.spread, x.judge_ids) for x in found] == [
        ("e1", "J2", 3, ("j2", "j3")),
        ("e2", "J1", 2, ("j1", "j2", "j3")),
    ]
    assert found[0].threshold == D(1)
    assert d.detect_divergences(marks_of(PANEL), [judged(id="J1", divergence_threshold=D(2)),
                                                  judged(id="J2", divergence_threshold=None)]) == []


def test_divergence_input_errors():
    twice = marks_of(PANEL) + [Mark(entry_id="e1", aspect_id="J1", judge_id="j1", value=D(1))]
    assert error_of(lambda: d.detect_divergences(twice, [judged(id="J1"), judged(id="J2")])).code == "duplicate_mark"
    assert error_of(lambda: d.detect_divergences(marks_of(PANEL), [judged(id="J1")])).code == "unknown_aspect"
    with pytest.raises(TypeError):
        Mark(entry_id=1, aspect_id=1, judge_id=1, value=2.0)


# --- judge statistics ------------------------------------------------------------------------------------------------


def test_judge_statistics():
    stats = d.judge_statistics(marks_of(PANEL), [judged(id="J1"), judged(id="J2", judges_required=2)])
    j1, j2, j3 = stats["j1"], stats["j2"], stats["j3"]
    # j1: +1 (e1), +1 (e2); e3 is a single mark
    assert (j1.marks, j1.compared, j1.leniency, j1.mean_abs_deviation, j1.divergences) == (3, 2, 1, 1, 1)
    # j2: 0 (e1/J1), −1 (e2), −3/2 (e1/J2)
    assert (j2.marks, j2.compared, j2.leniency, j2.mean_abs_deviation, j2.divergences) == (3, 3, F(-5, 6), F(5, 6), 2)
    # j3: 0, 0, +3/2
    assert (j3.marks, j3.compared, j3.leniency, j3.mean_abs_deviation, j3.divergences) == (3, 3, F(1, 2), F(1, 2), 2)
    assert list(stats) == ["j1", "j2", "j3"]


def test_judge_statistics_relative_to_the_scale_and_with_nothing_to_compare():
    stats = d.judge_statistics(marks_of(PANEL), [judged(id="J1"), judged(id="J2", judges_required=2)], relative=True)
    assert stats["j1"].leniency == F(1, 3)  # +1 on a 0–3 scale
    alone = d.judge_statistics(marks_of({("e3", "J1"): {"j1": 2}}), [judged(id="J1")])
    assert (alone["j1"].marks, alone["j1"].compared, alone["j1"].leniency, alone["j1"].mean_abs_deviation) == (
        1, 0, None, None)


cells = st.dictionaries(
    st.tuples(st.sampled_from(["e1", "e2", "e3", "e4"]), st.sampled_from(["J1", "J2"])),
    st.dictionaries(st.sampled_from(["j1", "j2", "j3"]), st.integers(0, 3), min_size=1),
    max_size=8,
)


@given(cells, st.randoms(use_true_random=False))
def test_divergences_and_judge_statistics_ignore_input_order(table, rnd):
    aspects = [judged(id="J1"), judged(id="J2")]
    marks = marks_of(table)
    shuffled = list(marks)
    rnd.shuffle(shuffled)
    assert d.detect_divergences(shuffled, aspects) == d.detect_divergences(marks, aspects)
    assert d.judge_statistics(shuffled, aspects) == d.judge_statistics(marks, aspects)
    stats = d.judge_statistics(marks, aspects)
    assert sum(s.marks for s in stats.values()) == len(marks)
    for s in stats.values():
        if s.compared:
            assert abs(s.leniency) <= s.mean_abs_deviation <= 3


# --- permutation and shift properties of scoring -------------------------------------------------------------------

RULES_WITH_K = [("mean", 0), ("median", 0), ("sum", 0), ("trimmed_mean", 1), ("trimmed_sum", 1)]


def shift_scheme(rule: str, k: int, judges: int, weights: bool) -> Scheme:
    practical = AspectSpec(id="A", module_id="P", kind="J", max_mark=D(20), scale_max=D(20), scale_step=D("0.5"),
                           judges_required=judges, aggregation=rule, trim_k=k, normalize=True)
    theory = AspectSpec(id="B", module_id="T", kind="M", max_mark=D(10), scale_max=D(10))
    return Scheme(
        modules=(ModuleSpec(id="P", kind="practical", weight=D(70) if weights else None),
                 ModuleSpec(id="T", kind="theory", weight=D(30) if weights else None)),
        aspects=(practical, theory),
    )


@st.composite
def competitions(draw):
    rule, k = draw(st.sampled_from(RULES_WITH_K))
    judges = draw(st.integers(max(2, 2 * k + 1), 2 * k + 3))
    scheme = shift_scheme(rule, k, judges, draw(st.booleans()))
    n = draw(st.integers(1, 8))
    half_marks = st.integers(0, 20).map(lambda i: D(i) / 2)  # 0–10 in 0.5 steps
    marks = {
        e: {"A": draw(st.lists(half_marks, min_size=judges, max_size=judges)), "B": [D(draw(st.integers(0, 10)))]}
        for e in range(n)
    }
    times = {e: draw(st.none() | st.integers(0, 3)) for e in range(n)}
    return scheme, marks, times


def ranking_of(scheme, marks, times):
    scores = d.score_entries(scheme, marks)
    return [(r.entry_id, r.rank) for r in d.rank(Standing.from_score(s, times[e]) for e, s in scores.items())]


@settings(max_examples=150)
@given(competitions(), st.integers(1, 20).map(lambda i: D(i) / 2))
def test_adding_a_constant_to_every_mark_of_an_aspect_never_changes_the_order(comp, constant):
    scheme, marks, times = comp
    shifted = {e: {**cells, "A": [m + constant for m in cells["A"]]} for e, cells in marks.items()}
    assert ranking_of(scheme, shifted, times) == ranking_of(scheme, marks, times)


@given(competitions(), st.randoms(use_true_random=False))
def test_permuting_marks_and_entries_never_changes_results(comp, rnd):
    scheme, marks, times = comp
    entries = list(marks.items())
    rnd.shuffle(entries)
    permuted = {}
    for e, cells in entries:
        aspect_cells = list(cells.items())
        rnd.shuffle(aspect_cells)
        permuted[e] = {a: rnd.sample(values, len(values)) for a, values in aspect_cells}
    assert d.score_entries(scheme, permuted) == d.score_entries(scheme, marks)
    assert ranking_of(scheme, permuted, times) == ranking_of(scheme, marks, times)


# --- lifecycle ---------------------------------------------------------------------------------------------------------

S, E = CompetitionState, CompetitionEvent


@pytest.mark.parametrize(("state", "event", "expected"), [
    (S.DRAFT, E.OPEN_REGISTRATION, S.REGISTRATION_OPEN),
    (S.REGISTRATION_OPEN, E.CLOSE_REGISTRATION, S.REGISTRATION_CLOSED),
    (S.REGISTRATION_CLOSED, E.START, S.RUNNING),
    (S.RUNNING, E.CLOSE_SCORING, S.SCORING_CLOSED),
    (S.SCORING_CLOSED, E.PUBLISH, S.PUBLISHED),
    (S.PUBLISHED, E.PUBLISH_CORRECTION, S.PUBLISHED),
    ("draft", "open_registration", S.REGISTRATION_OPEN),  # plain strings from the database
])
def test_competition_transitions(state, event, expected):
    assert d.transition(state, event) is expected


@pytest.mark.parametrize(("state", "event", "reason"), [
    (S.DRAFT, E.PUBLISH, "not_yet"),
    (S.DRAFT, E.START, "not_yet"),
    (S.RUNNING, E.PUBLISH, "not_yet"),
    (S.RUNNING, E.OPEN_REGISTRATION, "too_late"),
    (S.PUBLISHED, E.CLOSE_SCORING, "too_late"),
    (S.SCORING_CLOSED, E.PUBLISH_CORRECTION, "not_yet"),
    (S.REGISTRATION_OPEN, E.OPEN_REGISTRATION, "already_done"),
    (S.RUNNING, E.START, "already_done"),
    (S.PUBLISHED, E.PUBLISH, "already_done"),
    (S.DRAFT, "explode", "unknown_event"),
])
def test_competition_transitions_not_allowed(state, event, reason):
    err = error_of(lambda: d.transition(state, event))
    assert (err.code, err.reason) == ("transition_not_allowed", reason)
    if reason != "unknown_event":
        assert err.details["allowed_from"]


def test_every_pair_outside_the_table_is_refused():
    for state in CompetitionState:
        assert set(d.allowed_events(state)) == {e for (s, e) in d.TRANSITIONS if s is state}
        for event in CompetitionEvent:
            if (state, event) in d.TRANSITIONS:
                assert d.transition(state, event) is d.TRANSITIONS[(state, event)]
            else:
                assert error_of(lambda s=state, e=event: d.transition(s, e)).code == "transition_not_allowed"
    assert error_of(lambda: d.transition("archived", E.PUBLISH)).code == "unknown_state"


RS, RE = RegistrationState, RegistrationEvent


@pytest.mark.parametrize(("state", "event", "expected"), [
    (RS.REGISTERED, RE.APPROVE, RS.APPROVED),
    (RS.REGISTERED, RE.REJECT, RS.REJECTED),
    (RS.REGISTERED, RE.WITHDRAW, RS.WITHDRAWN),
    (RS.APPROVED, RE.WITHDRAW, RS.WITHDRAWN),
    (RS.APPROVED, RE.APPROVE, "already_done"),
    (RS.APPROVED, RE.REJECT, "not_allowed"),
    (RS.REJECTED, RE.APPROVE, "not_allowed"),
    (RS.REJECTED, RE.WITHDRAW, "not_allowed"),
    (RS.WITHDRAWN, RE.WITHDRAW, "already_done"),
    (RS.WITHDRAWN, RE.APPROVE, "not_allowed"),
    ("registered", "approve", RS.APPROVED),
    (RS.REGISTERED, "cancel", "unknown_event"),
])
def test_registration_transitions(state, event, expected):
    if isinstance(expected, RegistrationState):
        assert d.registration_transition(state, event) is expected
    else:
        err = error_of(lambda: d.registration_transition(state, event))
        assert (err.code, err.reason) == ("transition_not_allowed", expected)
    assert d.allowed_registration_events(RS.APPROVED) == (RE.WITHDRAW,)


# --- draw -----------------------------------------------------------------------------------------------------------


def test_draw_codes_are_a_random_permutation():
    ids = list(range(101, 131))
    codes = d.draw_codes(ids, random.Random(7), prefix="A")
    assert set(codes) == set(ids)
    assert sorted(codes.values()) == [f"A{i:03d}" for i in range(1, 31)]
    assert [codes[i] for i in ids] != sorted(codes.values())  # not the registration order
    assert d.draw_codes(list(reversed(ids)), random.Random(7), prefix="A") == codes  # input order is irrelevant
    assert d.draw_codes(ids, random.Random(8), prefix="A") != codes


@pytest.mark.parametrize(("ids", "width", "code"), [
    ([1, 2, 1], 3, "duplicate_entry"),
    (list(range(10)), 1, "code_width_too_small"),
    ([1], 0, "invalid_code_width"),
])
def test_draw_errors(ids, width, code):
    assert error_of(lambda: d.draw_codes(ids, random.Random(1), width=width)).code == code


def test_second_codes_per_module_come_from_separate_permutations():
    ids = list(range(1, 41))
    main = d.draw_codes(ids, random.Random(3))
    per_module = d.draw_module_codes(ids, ["T", "P"], random.Random(3), prefix={"T": "T-", "P": "P-"})
    assert set(per_module) == {"T", "P"}
    assert sorted(per_module["T"].values()) == [f"T-{i:03d}" for i in range(1, 41)]
    assert sorted(per_module["P"].values()) == [f"P-{i:03d}" for i in range(1, 41)]
    t_numbers = [per_module["T"][i][2:] for i in ids]
    p_numbers = [per_module["P"][i][2:] for i in ids]
    assert t_numbers != p_numbers and t_numbers != [main[i] for i in ids]


@given(st.sets(st.integers(0, 10**6) | st.text(min_size=1, max_size=4), max_size=120), st.integers(0, 2**32),
       st.integers(3, 5))
def test_draw_codes_are_unique_and_a_permutation(ids, seed, width):
    codes = d.draw_codes(ids, random.Random(seed), width=width)
    assert set(codes) == ids
    assert sorted(codes.values()) == [f"{i:0{width}d}" for i in range(1, len(ids) + 1)]
    modules = d.draw_module_codes(ids, [1, 2], random.Random(seed), width=width)
    for module_codes in modules.values():
        assert sorted(module_codes.values()) == sorted(codes.values())


# --- JSON shapes of the rule configuration -------------------------------------------------------------------------


def test_rule_configuration_round_trips_through_json():
    import json

    chain = d.tie_break_from_json(json.loads(json.dumps(d.tie_break_to_json(CHINESE_TIE_BREAK))))
    assert chain == CHINESE_TIE_BREAK
    rules = (ProportionalAwards(rounding="half_up"), FixedCountAwards(tiers=((FIRST, 2), (SECOND, 4), (THIRD, 6))),
             MedalAwards(min_field=(1, 1, 1)), ThresholdAward(min_total=D("700.5")))
    assert d.award_rules_from_json(json.loads(json.dumps(d.award_rules_to_json(rules)))) == rules
    bands = d.NATIONAL_WORKERS_BANDS
    assert d.promotion_bands_from_json(json.loads(json.dumps(d.promotion_bands_to_json(bands)))) == bands


@pytest.mark.parametrize(("call", "reason"), [
    (lambda: d.award_rules_from_json([{"type": "lottery"}]), "unknown_award_type"),
    (lambda: d.award_rules_from_json([{"type": "threshold"}]), "award_rule_shape"),
    (lambda: d.award_rules_from_json([{"type": "threshold", "min_total": "lots"}]), "not_a_number"),
    (lambda: d.award_rules_from_json(["medals"]), "award_rule_shape"),
    (lambda: d.promotion_bands_from_json([{"first_rank": 1}]), "promotion_band_shape"),
    (lambda: d.tie_break_from_json([["completion_time"]]), "tie_break_shape"),
])
def test_rule_configuration_errors(call, reason):
    err = error_of(call)
    assert (err.code, err.reason) == ("invalid_config", reason)
    with pytest.raises(TypeError):
        d.award_rules_from_json([{"type": "threshold", "min_total": 700.5}])


@pytest.mark.parametrize(("outcome", "level", "title", "worth"), [
    ("promote", 3, None, True),
    ("promote", 2, "national_technical_expert", True),
    ("promote", None, None, False),  # nothing to promote to
    ("title_only", None, "national_technical_expert", True),
    ("title_only", None, None, False),
    ("level_unknown", None, "national_technical_expert", True),  # the title still needs a decision
    ("level_unknown", None, None, False),
    ("already_at_level", None, None, False),
    (None, None, None, False),
])
def test_which_recommendations_ask_for_a_decision(outcome, level, title, worth):
    from competitions.domain import worth_deciding

    assert worth_deciding(outcome, level, title) is worth
