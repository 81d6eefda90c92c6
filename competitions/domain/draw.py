"""The draw (抽签): blind entrant codes (加密) and optional second codes per module (二次加密).

Codes are a random permutation of 1..n handed to the entries taken in a canonical order (sorted ids), so a
code says nothing about an entry's id or registration order and the result does not depend on the order the
ids are passed in. Pass ``random.SystemRandom()`` in production; a seeded ``random.Random`` in tests.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

from .common import DomainRuleError, Id, id_key


def _entries(entry_ids: Iterable[Id]) -> list[Id]:
    ids = list(entry_ids)
    if len(set(ids)) != len(ids):
        raise DomainRuleError("duplicate_entry")
    return sorted(ids, key=id_key)


def _permutation(ids: list[Id], rng: random.Random, prefix: str, width: int) -> dict[Id, str]:
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise DomainRuleError("invalid_code_width", width=width)
    if len(ids) > 10**width - 1:
        raise DomainRuleError("code_width_too_small", entries=len(ids), width=width)
    numbers = rng.sample(range(1, len(ids) + 1), len(ids))
    return {entry_id: f"{prefix}{number:0{width}d}" for entry_id, number in zip(ids, numbers, strict=True)}


def draw_codes(entry_ids: Iterable[Id], rng: random.Random, prefix: str = "", width: int = 3) -> dict[Id, str]:
    """{entry_id: code}: e.g. prefix "A", width 3 → "A007". Unique; ``code_width_too_small`` if n > 10^width − 1."""
    return _permutation(_entries(entry_ids), rng, prefix, width)


def draw_module_codes(
    entry_ids: Iterable[Id],
    module_ids: Iterable[Id],
    rng: random.Random,
    prefix: str | Mapping[Id, str] = "",
    width: int = 3,
) -> dict[Id, dict[Id, str]]:
    """Second codes: {module_id: {entry_id: code}}, a separate permutation per module (modules in sorted order).

    ``prefix`` may differ per module ({module_id: prefix}) so a module code is never mistaken for the entrant
    code.
    """
    ids = _entries(entry_ids)
    modules = sorted(set(module_ids), key=id_key)
    out: dict[Id, dict[Id, str]] = {}
    for module_id in modules:
        p = prefix.get(module_id, "") if isinstance(prefix, Mapping) else prefix
        out[module_id] = _permutation(ids, rng, p, width)
    return out


__all__ = ["draw_codes", "draw_module_codes"]
