"""Shared pieces of the competition engine: the error type, exact numbers, half-up rounding, id ordering.

Numbers: inputs are ``Decimal`` (``int`` is accepted as an exact whole number); ``float`` is rejected with
``TypeError`` everywhere. Results that may not be finite decimals (a mean of three marks is 7/3) are exact
``Fraction`` values, so ranking compares exact numbers: 1/3 + 1/3 + 1/3 equals 1 here, which 28-digit
``Decimal`` arithmetic would get wrong. Presentation goes through :func:`round_half_up` /
:func:`quantize_total`, which round the exact value once (no double rounding).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

Id = int | str
"""Entry, aspect, module and judge ids: whatever the services use (database ids or codes)."""

Number = Decimal | int | Fraction
"""An exact number. ``float`` and ``bool`` are never accepted."""


class DomainRuleError(Exception):
    """A rule of the competition domain was broken. ``code`` is stable; ``reason`` refines it; ``details`` are data.

    Services translate it (e.g. into ``app.errors.DomainError(code=...)``); the engine never builds messages.
    """

    def __init__(self, code: str, reason: str | None = None, **details: Any):
        self.code = code
        self.reason = reason
        self.details = details
        super().__init__(code if reason is None else f"{code}: {reason}")

    def __repr__(self) -> str:
        return f"DomainRuleError(code={self.code!r}, reason={self.reason!r}, details={self.details!r})"


def _type_error(value: Any, what: str, allowed: str) -> TypeError:
    return TypeError(f"{what} must be {allowed}, not {type(value).__name__}")


def require_decimal(value: Any, what: str = "value") -> Decimal:
    """``value`` as a finite ``Decimal``: ints are converted, floats/bools/strings raise ``TypeError``.

    A non-finite Decimal (NaN, Infinity) raises ``DomainRuleError("not_finite")``.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise DomainRuleError("not_finite", what=what)
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise _type_error(value, what, "Decimal or int")


def exact(value: Any, what: str = "value") -> Fraction:
    """``value`` (Decimal, int or Fraction) as an exact ``Fraction``; floats/bools/strings raise ``TypeError``."""
    cls = value.__class__
    if cls is Fraction:
        same: Fraction = value  # (the class test above, faster than isinstance on this hot path, does not narrow)
        return same
    if cls is int:
        return Fraction(value)
    if isinstance(value, Fraction):
        return Fraction(value.numerator, value.denominator)
    return Fraction(require_decimal(value, what))


def optional_exact(value: Any, what: str = "value") -> Fraction | None:
    return None if value is None else exact(value, what)


def round_half_up(value: Number, places: int = 2) -> Decimal:
    """Round an exact value half-up (ties away from zero) to ``places`` decimals, exactly, once."""
    if not isinstance(places, int) or isinstance(places, bool) or places < 0:
        raise ValueError("places must be a non-negative int")
    scaled = exact(value) * 10**places
    whole, rest = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    return Decimal(f"{-whole if scaled < 0 else whole}E-{places}")  # exact at any size (scaleb would round)


def quantize_total(value: Number) -> Decimal:
    """A published total: the exact value rounded half-up to 2 decimals (the only place totals are rounded)."""
    return round_half_up(value, 2)


def id_key(value: Id) -> tuple[str, Any]:
    """A total order over ids of mixed types, so results never depend on the input order."""
    return (type(value).__name__, value)
