"""The marking scheme as a document (import, export, the editor): its checks and the reading of spreadsheet cells.

A scheme document is ``{"modules": [{"name", "kind", "weight", "max_mark", "criteria": [{"name", "aspects":
[{"name", "kind", "max_mark", "scale_min", …}]}]}]}``, loaded and typed by ``competitions.schemas.setup``.
:func:`document_problems` finds what the engine validator (``scheme.validate_scheme``) cannot see — names used twice
at one level, criteria without aspects, level words that do not match the scale — and maps the engine's own
problems back to document paths (``modules[1].criteria[0].aspects[2].scale_step``). :func:`scheme_from_rows` turns
the rows of a scheme sheet (one row per aspect) into a raw document; the ``cell_*`` functions read one typed cell
exactly (Excel stores numbers as binary doubles). Problems are codes; the services word them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .scheme import AspectKind, AspectSpec, ModuleSpec, Scheme, validate_scheme
from .stats import DEFAULT_DIVERGENCE_THRESHOLD


@dataclass(frozen=True)
class DocumentProblem:
    """One problem of a scheme document: its path, a code, message parameters and, from a sheet, the row."""

    path: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    row: int | None = None


# --- checks ---------------------------------------------------------------------------------------------------

_ENGINE_PATH = re.compile(r"^(modules|aspects)\[([^\]]+)\](.*)$")


def default_threshold(kind: str) -> Decimal | None:
    """The divergence threshold of an aspect that does not set one: judgement aspects are flagged, others never."""
    return DEFAULT_DIVERGENCE_THRESHOLD if kind == AspectKind.JUDGEMENT else None


def spec_from_document(a: Mapping[str, Any], aspect_id: Any, module_id: Any) -> AspectSpec:
    """The engine's aspect of a (loaded) document aspect."""
    threshold = a["divergence_threshold"] if "divergence_threshold" in a else default_threshold(a["kind"])
    return AspectSpec(
        id=aspect_id, module_id=module_id, kind=a["kind"], max_mark=a["max_mark"], scale_min=a["scale_min"],
        scale_max=a["scale_max"], scale_step=a["scale_step"], judges_required=a["judges_required"],
        aggregation=a["aggregation"], trim_k=a["trim_k"], normalize=a["normalize"], uses_difficulty=a["uses_difficulty"],
        divergence_threshold=threshold,
    )


def scale_levels(spec: AspectSpec) -> int | None:
    """How many marks the scale offers (0–3 by 1: 4), or None when the scale is not a whole number of steps."""
    if spec.scale_step <= 0 or spec.scale_max <= spec.scale_min:
        return None
    count = (spec.scale_max - spec.scale_min) / spec.scale_step
    return int(count) + 1 if count == count.to_integral_value() else None


def document_problems(doc: Mapping[str, Any]) -> list[DocumentProblem]:
    """Every problem of a loaded scheme document (engine validator + names, empty criteria, level words), with
    paths into the document; [] when the scheme can be used."""
    problems: list[DocumentProblem] = []
    modules: list[ModuleSpec] = []
    aspects: list[AspectSpec] = []
    aspect_paths: list[str] = []
    module_names: set[str] = set()
    for i, m in enumerate(doc["modules"]):
        mp = f"modules[{i}]"
        if m["name"] in module_names:
            problems.append(DocumentProblem(f"{mp}.name", "duplicate_name"))
        module_names.add(m["name"])
        modules.append(ModuleSpec(id=i, kind=m["kind"], weight=m.get("weight"), max_mark=m.get("max_mark")))
        criterion_names: set[str] = set()
        for j, c in enumerate(m["criteria"]):
            cp = f"{mp}.criteria[{j}]"
            if c["name"] in criterion_names:
                problems.append(DocumentProblem(f"{cp}.name", "duplicate_name"))
            criterion_names.add(c["name"])
            if not c["aspects"]:
                problems.append(DocumentProblem(cp, "no_aspects"))
            aspect_names: set[str] = set()
            for k, a in enumerate(c["aspects"]):
                ap = f"{cp}.aspects[{k}]"
                if a["name"] in aspect_names:
                    problems.append(DocumentProblem(f"{ap}.name", "duplicate_name"))
                aspect_names.add(a["name"])
                spec = spec_from_document(a, len(aspects), i)
                aspects.append(spec)
                aspect_paths.append(ap)
                levels = scale_levels(spec)
                if a.get("level_words") and levels is not None and len(a["level_words"]) != levels:
                    problems.append(DocumentProblem(f"{ap}.level_words", "level_words_count", {"levels": levels}))
    for problem in validate_scheme(Scheme(modules=tuple(modules), aspects=tuple(aspects))):
        match = _ENGINE_PATH.match(problem.path)
        if match is None:
            path = problem.path
        elif match.group(1) == "modules":
            index = int(match.group(2))
            if problem.code == "no_aspects" and doc["modules"][index]["criteria"] and not match.group(3):
                continue  # each empty criterion is reported itself
            path = f"modules[{index}]{match.group(3)}"
        else:
            path = aspect_paths[int(match.group(2))] + match.group(3)
        problems.append(DocumentProblem(path, problem.code))
    return problems


def row_of(path: str, rows: Mapping[str, int]) -> int | None:
    """The sheet row of a document path, or of the nearest item above it that has one."""
    while path:
        if path in rows:
            return rows[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


# --- cells of a scheme sheet ----------------------------------------------------------------------------------

DECIMAL_COLUMNS = frozenset({"module_weight", "max_mark", "scale_min", "scale_max", "scale_step", "divergence_threshold"})
INT_COLUMNS = frozenset({"judges_required", "trim_k"})
BOOL_COLUMNS = frozenset({"normalize", "uses_difficulty"})
TRUE_WORDS = frozenset({"true", "yes", "y", "1", "是", "对", "✓", "√"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", "否", "不", "×"})
NONE_WORDS = frozenset({"-", "none", "无", "不设"})  # a divergence threshold of "never flagged"


def cell_decimal(value: Any) -> Any:
    """A number cell as an exact Decimal; text stays text (the schema reads it exactly or refuses it)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        # Excel stores binary doubles; repr is the shortest text that reads back as the same double, i.e. what was
        # typed. Every value we accept (≤ 4 places, < 10^10: ≤ 14 significant digits) survives this exactly.
        return Decimal(repr(value)) if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def cell_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,6}\s*", value):
        return int(value)
    return value


def cell_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return str(value)


def cell_words(value: Any) -> list[str]:
    """Level words: one per line (or separated by |)."""
    return [w.strip() for w in re.split(r"[\n|]", str(value)) if w.strip()]


_MODULE_COLUMNS = ("module", "module_kind", "module_weight", "criterion", "aspect")


def scheme_from_rows(rows: Sequence[tuple[int, Sequence[Any]]], columns: Mapping[int, str], *,
                     module_kinds: Mapping[str, str], aggregations: Mapping[str, str]
                     ) -> tuple[dict[str, Any], dict[str, int], list[DocumentProblem]]:
    """The raw scheme document of a sheet's data rows, {document path → row number}, and the rows' problems.

    ``rows``: (row number, cells); ``columns``: {cell index → column code}. ``module_kinds`` and ``aggregations``
    map a casefolded word (a code or a label in any language) to its code. Rows with the same module name form one
    module (in order of first appearance); within it, rows with the same criterion name one criterion. Empty cells
    take the default; a NONE_WORDS divergence threshold means never flagged. The only problem found here is a
    module whose rows disagree on its kind or weight (``inconsistent``); the schema and
    :func:`document_problems` check the rest.
    """
    problems: list[DocumentProblem] = []
    modules: dict[str, dict[str, Any]] = {}
    path_rows: dict[str, int] = {}
    for number, row in rows:
        values: dict[str, Any] = {}
        for index, key in columns.items():
            cell = row[index] if index < len(row) else None
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            values[key] = cell
        for key in ("module", "criterion", "aspect"):
            values[key] = str(values.get(key, "")).strip()
        module = modules.get(values["module"])
        if module is None:
            module = modules[values["module"]] = {"name": values["module"], "criteria": {}}
            path_rows[f"modules[{len(modules) - 1}]"] = number
        m_index = list(modules).index(values["module"])
        for key, target in (("module_kind", "kind"), ("module_weight", "weight")):
            if key not in values:
                continue
            value = values[key]
            if key == "module_kind":
                value = module_kinds.get(str(value).strip().casefold(), str(value).strip())
            else:
                value = cell_decimal(value)
            if target in module and module[target] != value:
                problems.append(DocumentProblem(f"modules[{m_index}].{target}", "inconsistent", row=number))
            module.setdefault(target, value)
        criteria = module["criteria"]
        criterion = criteria.get(values["criterion"])
        if criterion is None:
            criterion = criteria[values["criterion"]] = {"name": values["criterion"], "aspects": []}
            path_rows[f"modules[{m_index}].criteria[{len(criteria) - 1}]"] = number
        c_index = list(criteria).index(values["criterion"])
        aspect: dict[str, Any] = {"name": values["aspect"]}
        for key, value in values.items():
            if key in _MODULE_COLUMNS:
                continue
            if key == "kind":
                aspect[key] = str(value).strip().upper()
            elif key == "aggregation":
                aspect[key] = aggregations.get(str(value).strip().casefold(), str(value).strip())
            elif key == "divergence_threshold" and str(value).strip().casefold() in NONE_WORDS:
                aspect[key] = None
            elif key in DECIMAL_COLUMNS:
                aspect[key] = cell_decimal(value)
            elif key in INT_COLUMNS:
                aspect[key] = cell_int(value)
            elif key in BOOL_COLUMNS:
                aspect[key] = cell_bool(value)
            elif key == "level_words":
                aspect[key] = cell_words(value)
        path_rows[f"modules[{m_index}].criteria[{c_index}].aspects[{len(criterion['aspects'])}]"] = number
        criterion["aspects"].append(aspect)
    doc = {"modules": [
        {**{k: v for k, v in m.items() if k != "criteria"}, "criteria": list(m["criteria"].values())}
        for m in modules.values()
    ]}
    return doc, path_rows, problems


__all__ = [
    "BOOL_COLUMNS",
    "DECIMAL_COLUMNS",
    "FALSE_WORDS",
    "INT_COLUMNS",
    "NONE_WORDS",
    "TRUE_WORDS",
    "DocumentProblem",
    "cell_bool",
    "cell_decimal",
    "cell_int",
    "cell_words",
    "default_threshold",
    "document_problems",
    "row_of",
    "scale_levels",
    "scheme_from_rows",
    "spec_from_document",
]
