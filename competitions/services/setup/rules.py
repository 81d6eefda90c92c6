"""The rules of a competition: the tie-break chain, award strategies and promotion bands, validated with the engine's
config parsers.

A competition starts with the Chinese defaults (tie-break: shorter completion time → higher practical score → higher
theory score; awards: proportional 10 / 20 / 30 %; no promotion bands). What is stored is what is used: an empty list
means none (no tie-break: equal totals share the place).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.audit.services import record
from app.db import db
from competitions.domain import (
    CHINESE_TIE_BREAK,
    AwardStrategy,
    DomainRuleError,
    PromotionBand,
    ProportionalAwards,
    TieBreakKey,
    award_rules_from_json,
    award_rules_to_json,
    check_bands,
    promotion_bands_from_json,
    promotion_bands_to_json,
    tie_break_from_json,
    tie_break_to_json,
)
from competitions.models import Competition
from competitions.services.common import audit_stream
from competitions.services.setup.common import invalid, managed_competition, problem, visible_competition

DEFAULT_TIE_BREAK: list[list[str]] = tie_break_to_json(CHINESE_TIE_BREAK)

DEFAULT_AWARD_RULES: list[dict[str, Any]] = award_rules_to_json((ProportionalAwards(),))

DEFAULT_PROMOTION_BANDS: list[dict[str, Any]] = []


@dataclass(frozen=True)
class RulesConfig:
    tie_break: tuple[TieBreakKey, ...]
    award_strategies: tuple[AwardStrategy, ...]
    promotion_bands: tuple[PromotionBand, ...]


def rules_config(competition: Competition) -> RulesConfig:
    """The competition's rules as engine objects, exactly as stored (validated when they were set)."""
    return RulesConfig(
        tie_break=tie_break_from_json(competition.tie_break or []),
        award_strategies=award_rules_from_json(competition.award_rules or []),
        promotion_bands=promotion_bands_from_json(competition.promotion_bands or []),
    )


def rules_document(competition: Competition) -> dict[str, Any]:
    return {"tie_break": competition.tie_break or [], "award_rules": competition.award_rules or [],
            "promotion_bands": competition.promotion_bands or []}


def get_rules(actor, competition_id: int) -> dict[str, Any]:
    return rules_document(visible_competition(actor, competition_id))


_RULE_MESSAGES = {
    "direction": _l('The direction must be "asc" or "desc".'),
    "unknown_key": _l("Unknown tie-break key: use completion_time, module_kind:<theory|practical|other> or module:<id>."),
    "unknown_module": _l("No such module in this competition."),
    "duplicate_key": _l("This key is already in the chain."),
    "negative_share": _l("A percentage must not be negative."),
    "shares_above_100": _l("The percentages add up to more than 100."),
    "negative_count": _l("A count must not be negative."),
    "three_medals": _l("Give exactly three medals."),
    "min_field_below_1": _l("A minimum field must be at least 1."),
    "rank_range": _l("The first rank must be at least 1 and not after the last rank."),
    "target_level": _l("The target level must be 1 to 5."),
    "target_level_unused": _l("Only “to level” bands have a target level."),
    "overlap": _l("Two bands share a rank."),
}


def _rule_problem(path: str, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, DomainRuleError):
        reason = exc.reason or exc.code
        message = _RULE_MESSAGES.get(reason)
        return problem(path, reason, message if message is not None else _("This rule is not valid."))
    return problem(path, "invalid", _("This rule is not valid."))


def set_rules(actor, competition_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Set the tie-break chain, award rules and promotion bands. A key left out gets its default; [] means none.

    Validated with the engine's config parsers; every problem is reported (422 ``invalid_rules``), nothing is
    written then. Allowed in every state (a published result is a frozen snapshot; a correction uses the new rules).
    """
    competition = managed_competition(actor, competition_id, for_update=True)
    tie_break = values.get("tie_break", DEFAULT_TIE_BREAK)
    award_rules = values.get("award_rules", DEFAULT_AWARD_RULES)
    bands = values.get("promotion_bands", DEFAULT_PROMOTION_BANDS)
    problems = []
    module_ids = {str(m.id) for m in competition.modules}
    keys_seen: set[str] = set()
    for i, item in enumerate(tie_break):
        try:
            tie_break_from_json([item])
        except (DomainRuleError, TypeError, ValueError) as exc:
            problems.append(_rule_problem(f"tie_break[{i}]", exc))
            continue
        key = item[0]
        if key.startswith("module:") and key.split(":", 1)[1] not in module_ids:
            problems.append(problem(f"tie_break[{i}]", "unknown_module", _RULE_MESSAGES["unknown_module"]))
        if key in keys_seen:
            problems.append(problem(f"tie_break[{i}]", "duplicate_key", _RULE_MESSAGES["duplicate_key"]))
        keys_seen.add(key)
    strategies = []
    for i, rule in enumerate(award_rules):
        try:
            strategies.extend(award_rules_from_json([rule]))
        except (DomainRuleError, TypeError, ValueError) as exc:
            problems.append(_rule_problem(f"award_rules[{i}]", exc))
    parsed_bands = []
    for i, band in enumerate(bands):
        try:
            parsed_bands.extend(promotion_bands_from_json([band]))
        except (DomainRuleError, TypeError, ValueError) as exc:
            problems.append(_rule_problem(f"promotion_bands[{i}]", exc))
    if not problems:
        try:
            check_bands(parsed_bands)
        except DomainRuleError as exc:
            problems.append(_rule_problem("promotion_bands", exc))
    if problems:
        raise invalid(problems, _("The rules are not valid: nothing was saved."), code="invalid_rules")
    competition.tie_break = tie_break_to_json(tie_break_from_json(tie_break))
    competition.award_rules = award_rules_to_json(tuple(strategies))
    competition.promotion_bands = promotion_bands_to_json(tuple(parsed_bands))
    db.session.flush()
    document = rules_document(competition)
    record("competition_rules_set", competition, document, stream=audit_stream(competition.id))
    return document
