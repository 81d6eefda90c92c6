"""JSON shapes of the per-competition rule configuration (``Competition.tie_break``, ``award_rules``,
``promotion_bands``) and their conversion to the engine's dataclasses. Decimals travel as strings.

    tie_break        [["completion_time", "asc"], ["module_kind:practical", "desc"], ["module_kind:theory", "desc"]]
    award_rules      [{"type": "proportional", "tiers": [["first_prize", "10"], …], "rounding": "floor",
                       "at_least_one": true},
                      {"type": "fixed", "tiers": [["first_prize", 2], ["second_prize", 4], ["third_prize", 6]]},
                      {"type": "medals", "codes": ["gold", "silver", "bronze"], "min_field": [4, 5, 6]},
                      {"type": "threshold", "min_total": "700", "code": "medallion_for_excellence",
                       "unless": ["gold", "silver", "bronze"]}]
    promotion_bands  [{"first_rank": 1, "last_rank": 5, "action": "up_one_level", "title": "national_technical_expert"},
                      {"first_rank": 6, "last_rank": 20, "action": "to_level", "target_level": 3}]

Bad shapes raise ``DomainRuleError("invalid_config", reason, ...)``; floats raise ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from .awards import AwardStrategy, FixedCountAwards, MedalAwards, ProportionalAwards, ThresholdAward
from .common import DomainRuleError, require_decimal
from .promotion import PromotionBand, check_bands
from .ranking import TieBreakKey, check_tie_break


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise DomainRuleError("invalid_config", "not_a_number", field=what, value=value) from None
    return require_decimal(value, what)


def _dec_str(value: Decimal) -> str:
    return format(value, "f")


def tie_break_from_json(data: Sequence[Any]) -> tuple[TieBreakKey, ...]:
    try:
        chain = tuple((str(key), str(direction)) for key, direction in data)
    except (TypeError, ValueError):
        raise DomainRuleError("invalid_config", "tie_break_shape") from None
    check_tie_break(chain)
    return chain


def tie_break_to_json(chain: Sequence[TieBreakKey]) -> list[list[str]]:
    return [[key, direction] for key, direction in chain]


def _flag(value: Any, name: str, index: int) -> bool:
    if not isinstance(value, bool):
        raise DomainRuleError("invalid_config", "award_rule_shape", index=index, error=f"{name} must be true or false")
    return value


def award_rules_from_json(data: Sequence[Any]) -> tuple[AwardStrategy, ...]:
    out: list[AwardStrategy] = []
    for i, rule in enumerate(data):
        if not isinstance(rule, dict):
            raise DomainRuleError("invalid_config", "award_rule_shape", index=i)
        kind = rule.get("type")
        try:
            if kind == "proportional":
                out.append(ProportionalAwards(
                    tiers=tuple((str(code), _decimal(pct, "percent")) for code, pct in rule["tiers"]),
                    rounding=rule.get("rounding", "floor"),
                    at_least_one=_flag(rule.get("at_least_one", True), "at_least_one", i),
                ))
            elif kind == "fixed":
                out.append(FixedCountAwards(tiers=tuple((str(code), n) for code, n in rule["tiers"])))
            elif kind == "medals":
                out.append(MedalAwards(codes=tuple(rule.get("codes", ("gold", "silver", "bronze"))),
                                       min_field=tuple(rule.get("min_field", (4, 5, 6)))))
            elif kind == "threshold":
                extra = {k: rule[k] for k in ("code",) if k in rule}
                if "unless" in rule:
                    extra["unless"] = tuple(rule["unless"])
                out.append(ThresholdAward(min_total=_decimal(rule["min_total"], "min_total"), **extra))
            else:
                raise DomainRuleError("invalid_config", "unknown_award_type", index=i, type=str(kind))
        except (KeyError, ValueError) as exc:
            raise DomainRuleError("invalid_config", "award_rule_shape", index=i, error=str(exc)) from None
    return tuple(out)


def award_rules_to_json(strategies: Sequence[AwardStrategy]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for s in strategies:
        if isinstance(s, ProportionalAwards):
            out.append({"type": "proportional", "tiers": [[c, _dec_str(p)] for c, p in s.tiers],
                        "rounding": str(s.rounding), "at_least_one": s.at_least_one})
        elif isinstance(s, FixedCountAwards):
            out.append({"type": "fixed", "tiers": [[c, n] for c, n in s.tiers]})
        elif isinstance(s, MedalAwards):
            out.append({"type": "medals", "codes": list(s.codes), "min_field": list(s.min_field)})
        else:
            out.append({"type": "threshold", "min_total": _dec_str(s.min_total), "code": s.code,
                        "unless": list(s.unless)})
    return out


def promotion_bands_from_json(data: Sequence[Any]) -> tuple[PromotionBand, ...]:
    bands = []
    for i, band in enumerate(data):
        if not isinstance(band, dict):
            raise DomainRuleError("invalid_config", "promotion_band_shape", index=i)
        try:
            bands.append(PromotionBand(
                first_rank=band["first_rank"], last_rank=band["last_rank"], action=band["action"],
                target_level=band.get("target_level"), title=band.get("title"),
            ))
        except (KeyError, ValueError) as exc:
            raise DomainRuleError("invalid_config", "promotion_band_shape", index=i, error=str(exc)) from None
    check_bands(bands)
    return tuple(bands)


def promotion_bands_to_json(bands: Sequence[PromotionBand]) -> list[dict[str, Any]]:
    out = []
    for b in bands:
        item: dict[str, Any] = {"first_rank": b.first_rank, "last_rank": b.last_rank, "action": str(b.action)}
        if b.target_level is not None:
            item["target_level"] = b.target_level
        if b.title is not None:
            item["title"] = b.title
        out.append(item)
    return out


__all__ = [
    "award_rules_from_json",
    "award_rules_to_json",
    "promotion_bands_from_json",
    "promotion_bands_to_json",
    "tie_break_from_json",
    "tie_break_to_json",
]
