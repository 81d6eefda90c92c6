"""A submitted mark as a number: parsing what a judge typed (or a JSON number), checking it against an aspect's
scale with the storage limits, and writing it back as the exact text clients get.

Pure: no Flask, no database. Values are ``Decimal`` end to end; a float is refused, because its binary value is
not the number the judge typed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .common import round_half_up
from .scheme import AspectSpec, MarkProblem, validate_mark

MAX_DECIMALS = 4  # the mark column is NUMERIC(14, 4)
MAX_MAGNITUDE = Decimal(10) ** 10

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # ASCII digits only
_NON_FINITE = {"nan", "+nan", "-nan", "snan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def parse_value(raw: object) -> Decimal | MarkProblem:
    """A submitted mark as an exact ``Decimal``, or the problem. Strings are plain decimal numbers ("2.5", "1e1");
    JSON numbers arrive as ``Decimal``/``int`` (never float: a float is refused)."""
    if isinstance(raw, bool) or raw is None or isinstance(raw, float):
        return MarkProblem.NOT_DECIMAL
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, Decimal):
        return raw if raw.is_finite() else MarkProblem.NOT_FINITE
    if isinstance(raw, str):
        text = raw.strip()
        if text.lower() in _NON_FINITE:
            return MarkProblem.NOT_FINITE
        if len(text) > 64 or not _NUMBER.fullmatch(text):
            return MarkProblem.NOT_DECIMAL
        try:
            return Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
            return MarkProblem.NOT_DECIMAL
    return MarkProblem.NOT_DECIMAL


def _plain_exponent(value: Decimal) -> int:
    """The exponent of ``value`` without trailing zeros (2.500 → -1, 300 → 2), context-free (no rounding)."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 0
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return exponent + zeros


def check_value(spec: AspectSpec, value: Decimal) -> MarkProblem | None:
    """``validate_mark`` behind a storage guard: huge values are off the scale, more than 4 decimals are off any
    storable step — decided without building the huge fractions a value like 1e-999999999 would need."""
    if not value.is_finite():
        return MarkProblem.NOT_FINITE
    if value.copy_abs() >= MAX_MAGNITUDE:  # copy_abs: no context, so no Overflow at 1e999999999
        return MarkProblem.ABOVE_MAX if value > 0 else MarkProblem.BELOW_MIN
    if _plain_exponent(value) < -MAX_DECIMALS:
        if value < spec.scale_min:
            return MarkProblem.BELOW_MIN
        if value > spec.scale_max:
            return MarkProblem.ABOVE_MAX
        return MarkProblem.OFF_STEP
    return validate_mark(spec, value)


def canonical(value: Decimal) -> Decimal:
    """The value without trailing zeros or a negative zero (2.50 → 2.5, 3.0000 → 3, -0 → 0), exactly."""
    if not value:
        return Decimal(0)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if digits[-1] and exponent <= 0:  # no trailing zero, no exponent to write out: already canonical (most marks)
        return value
    text = "".join(map(str, digits))
    stripped = text.rstrip("0")
    exponent += len(text) - len(stripped)
    if 0 < exponent <= 20:  # 1E+2 → 100; anything bigger is no mark and stays as it is (no giant strings)
        stripped, exponent = stripped + "0" * exponent, 0
    return Decimal((sign, tuple(int(c) for c in stripped), exponent))


def text_of(value: Decimal | None) -> str | None:
    """A mark as the JSON string clients get (exact, no exponent): Decimal('2.5000') → "2.5"."""
    return None if value is None else format(canonical(value), "f")


def fraction_text(value: Fraction | None, places: int = 4) -> str | None:
    """An exact fraction (a mean, a deviation) rounded half up to ``places`` decimals, as ``text_of`` writes it."""
    return None if value is None else format(canonical(round_half_up(value, places)), "f")


__all__ = ["MAX_DECIMALS", "MAX_MAGNITUDE", "canonical", "check_value", "fraction_text", "parse_value", "text_of"]
