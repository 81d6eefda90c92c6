"""The marking scheme: the document (import/export/editor shape), its checks in words, reading it, and replacing it.

Replacing the scheme (JSON import, XLSX upload, the editor) writes the whole scheme in one transaction and keeps row
ids by position (the module at position 0 stays the same row, …), so panels, module codes and difficulty factors of
modules and aspects that still exist survive an edit. Nothing is written when any problem is found; the scheme is
fixed once the competition runs.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import select

from app.audit.services import record
from app.db import db
from app.errors import Conflict
from competitions.domain import CompetitionState
from competitions.domain.scheme_document import default_threshold, document_problems, row_of
from competitions.labels import state_label
from competitions.models import Aspect, Competition, Criterion, DifficultyFactor, Module
from competitions.schemas.setup import SetupSchemeDocSchema, flatten_errors, format_decimal
from competitions.services.common import audit_stream
from competitions.services.setup.common import invalid, managed_competition, problem, visible_competition
from competitions.services.specs import load_scheme

S = CompetitionState

SCHEME_EDITABLE = frozenset({S.DRAFT, S.REGISTRATION_OPEN, S.REGISTRATION_CLOSED})

# --- the document's problems in words ------------------------------------------------------------------

_SCHEME_MESSAGES: dict[tuple[str, str] | str, Any] = {
    "empty": _l("The scheme has no modules."),
    "weights_not_100": _l("The module weights must add up to 100."),
    "no_aspects": _l("There are no aspects here: add at least one."),
    ("weight", "missing"): _l("Some modules have a weight and this one has none: give every module a weight, or none."),
    ("weight", "not_positive"): _l("The weight must be greater than 0."),
    ("max_mark", "not_positive"): _l("The max mark must be greater than 0."),
    ("module", "mismatch"): _l("The module's max mark must equal the sum of its aspects' max marks."),
    ("max_mark", "mismatch"): _l("The scale cannot reach exactly this max mark: normalize the aspect to its max mark, "
                                 "or make the max mark what the scale and the aggregation give."),
    ("scale_max", "not_above_min"): _l("The scale maximum must be above the scale minimum."),
    ("scale_max", "not_positive"): _l("A normalized aspect needs a scale maximum above 0."),
    ("scale_step", "not_positive"): _l("The step must be greater than 0."),
    ("scale_step", "does_not_divide_range"): _l("The step must divide the range from the scale minimum to the scale maximum."),
    ("judges_required", "below_1"): _l("At least 1 judge is required."),
    ("judges_required", "judgement_needs_2"): _l("A judgement (J) aspect needs at least 2 judges."),
    ("trim_k", "negative"): _l("The trim must not be negative."),
    ("trim_k", "rule_not_trimmed"): _l("Only the trimmed rules drop marks: set the trim to 0 or choose a trimmed rule."),
    ("trim_k", "too_few_judges"): _l("Too many marks dropped: a trim of k needs more than 2 × k judges."),
    ("divergence_threshold", "negative"): _l("The divergence threshold must not be negative."),
    "duplicate_name": _l("Another item at this level has the same name."),
    "level_words_count": _l("Give one word per scale level (%(levels)s levels), or none."),
    "inconsistent": _l("Rows of the same module must have the same module kind and weight."),
}


def scheme_message(path: str, code: str, **params: Any) -> str:
    field = path.rsplit(".", 1)[-1] if "." in path else ""
    if code == "mismatch" and re.fullmatch(r"modules\[\d+\]\.max_mark", path):
        msg = _SCHEME_MESSAGES[("module", "mismatch")]
    else:
        msg = _SCHEME_MESSAGES.get((field, code)) or _SCHEME_MESSAGES.get(code)
    if msg is None:
        return code
    text = str(msg)
    return text % params if params else text


def doc_problems(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every problem of a loaded scheme document (``competitions.domain.scheme_document``), worded, with paths into
    the document; [] when the scheme can be used."""
    return [problem(p.path, p.code, scheme_message(p.path, p.code, **p.params)) for p in document_problems(doc)]


def load_scheme_document(raw: Any, rows: dict[str, int] | None = None) -> dict[str, Any]:
    """Load and validate a scheme document (already parsed with exact decimals) or raise 422 with every problem.

    ``rows`` (XLSX) maps document paths to spreadsheet rows, so each problem also names its row.
    """
    try:
        doc = SetupSchemeDocSchema().load(raw)
    except ValidationError as exc:
        problems = flatten_errors(exc.messages)
    else:
        problems = doc_problems(doc)
    if problems:
        if rows:
            for p in problems:
                row = row_of(p["path"], rows)
                if row is not None:
                    p["row"] = row
        raise invalid(problems, _("The scheme is invalid: nothing was saved."), code="invalid_scheme")
    return doc


# --- reading ------------------------------------------------------------------------------------------------


def aspect_doc(a: Aspect) -> dict[str, Any]:
    return {
        "id": a.id, "name": a.name, "kind": a.kind, "max_mark": a.max_mark, "scale_min": a.scale_min,
        "scale_max": a.scale_max, "scale_step": a.scale_step, "judges_required": a.judges_required,
        "aggregation": a.aggregation, "trim_k": a.trim_k, "normalize": a.normalize, "uses_difficulty": a.uses_difficulty,
        "divergence_threshold": a.divergence_threshold, "level_words": list(a.level_words or []),
    }


def scheme_document(competition: Competition) -> dict[str, Any]:
    """The scheme as the import/export document (decimals as ``Decimal``; the API schema dumps them as strings)."""
    modules = []
    for m in load_scheme(competition):
        criteria = [{"id": c.id, "name": c.name, "aspects": [aspect_doc(a) for a in c.aspects]} for c in m.criteria]
        total = sum((a.max_mark for c in m.criteria for a in c.aspects), Decimal(0))
        modules.append({"id": m.id, "name": m.name, "kind": m.kind, "weight": m.weight,
                        "max_mark": total if criteria else None, "criteria": criteria})
    return {"modules": modules}


def get_scheme(actor, competition_id: int) -> dict[str, Any]:
    """The scheme of a competition the actor can see (organizers: always; others: once registration opened)."""
    return scheme_document(visible_competition(actor, competition_id))


def doc_for_check(competition: Competition) -> dict[str, Any]:
    doc = scheme_document(competition)
    for m in doc["modules"]:
        m["max_mark"] = None  # computed, so never a mismatch
    return doc


def scheme_problems(competition: Competition) -> list[dict[str, Any]]:
    """The stored scheme's problems (paths as in the document), [] when it is valid."""
    return doc_problems(doc_for_check(competition))


def check_scheme(actor, competition_id: int) -> dict[str, Any]:
    problems = scheme_problems(managed_competition(actor, competition_id))
    return {"valid": not problems, "problems": problems}


# --- writing ------------------------------------------------------------------------------------------------


def require_scheme_editable(competition: Competition) -> None:
    if competition.status not in SCHEME_EDITABLE:
        raise Conflict(_("The marking scheme cannot change once the competition is running (it is %(state)s).",
                         state=state_label(competition.status)), code="scheme_locked",
                       details={"state": competition.status})


def _fill_aspect(a: Aspect, d: dict[str, Any]) -> None:
    a.name, a.kind = d["name"], d["kind"]
    a.max_mark, a.scale_min, a.scale_max, a.scale_step = d["max_mark"], d["scale_min"], d["scale_max"], d["scale_step"]
    a.judges_required, a.aggregation, a.trim_k = d["judges_required"], d["aggregation"], d["trim_k"]
    a.normalize, a.uses_difficulty = d["normalize"], d["uses_difficulty"]
    a.divergence_threshold = d["divergence_threshold"] if "divergence_threshold" in d else default_threshold(d["kind"])
    a.level_words = list(d.get("level_words") or [])


def _write_scheme(competition: Competition, doc: dict[str, Any]) -> None:
    """Write ``doc`` over the stored scheme, reusing rows by position (ids of what still exists are kept)."""
    db.session.expire(competition, ["modules"])
    modules = load_scheme(competition)
    wanted = doc["modules"]
    for m in modules[len(wanted):]:
        db.session.delete(m)
    kept = modules[: len(wanted)]
    if any(m.position != i for i, m in enumerate(kept)):
        for i, m in enumerate(kept):  # two steps, so no two modules ever hold the same position
            m.position = -1 - i
        db.session.flush()
    for i, d in enumerate(wanted):
        if i < len(kept):
            m = kept[i]
            old_criteria = list(m.criteria)
        else:
            m = Module(competition_id=competition.id, position=i)
            db.session.add(m)
            old_criteria = []
        m.position, m.name, m.kind, m.weight = i, d["name"], d["kind"], d.get("weight")
        criteria = []
        for j, cd in enumerate(d["criteria"]):
            c = old_criteria[j] if j < len(old_criteria) else Criterion(position=j)
            old_aspects = list(c.aspects) if j < len(old_criteria) else []
            c.position, c.name = j, cd["name"]
            aspects = []
            for k, ad in enumerate(cd["aspects"]):
                a = old_aspects[k] if k < len(old_aspects) else Aspect(position=k)
                a.position = k
                _fill_aspect(a, ad)
                aspects.append(a)
            c.aspects = aspects  # rows left out are deleted (delete-orphan)
            criteria.append(c)
        m.criteria = criteria
    db.session.flush()
    # Factors of aspects that no longer use a difficulty factor would silently never apply: drop them.
    stale = (select(Aspect.id).join(Criterion, Criterion.id == Aspect.criterion_id)
             .join(Module, Module.id == Criterion.module_id)
             .where(Module.competition_id == competition.id, Aspect.uses_difficulty.is_(False)))
    db.session.execute(DifficultyFactor.__table__.delete().where(DifficultyFactor.aspect_id.in_(stale)))
    db.session.expire(competition, ["modules"])


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    canonical = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=lambda v: format_decimal(v)
                           if isinstance(v, Decimal) else str(v))
    return {
        "modules": len(doc["modules"]),
        "criteria": sum(len(m["criteria"]) for m in doc["modules"]),
        "aspects": sum(len(c["aspects"]) for m in doc["modules"] for c in m["criteria"]),
        "sha256": hashlib.sha256(canonical.encode()).hexdigest(),
    }


def replace_scheme(actor, competition_id: int, raw: Any, *, source: str = "json",
                   rows: dict[str, int] | None = None) -> dict[str, Any]:
    """Replace the whole marking scheme from a document (JSON import, XLSX upload, an editor form).

    Every problem is reported (422 ``invalid_scheme``, details.problems with paths) and nothing is written; 409
    ``scheme_locked`` once the competition is running. Returns the stored document.
    """
    competition = managed_competition(actor, competition_id, for_update=True)
    require_scheme_editable(competition)
    doc = load_scheme_document(raw, rows)
    for m in doc["modules"]:
        m.pop("max_mark", None)  # checked, not stored
    _write_scheme(competition, doc)
    record("scheme_replaced", competition, {"source": source, **_summary(doc)}, stream=audit_stream(competition.id))
    return scheme_document(competition)
