"""Translated names and messages of competitions: states, lifecycle steps, levels, module kinds, aggregation
rules, and the words of setup problems.

Everything here is a lazy string (``_l``) or a function that translates in the request's language, so it is safe
at import time. Services (a refusal's message), forms (problems next to their fields), views and templates share
these texts, so a state or a problem reads the same everywhere. Like ``app.people.labels`` for people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from competitions.domain import CompetitionEvent, CompetitionState

S, E = CompetitionState, CompetitionEvent

# --- names of codes -------------------------------------------------------------------------------------------

STATE_LABELS = {
    S.DRAFT: _l("Draft"),
    S.REGISTRATION_OPEN: _l("Registration open"),
    S.REGISTRATION_CLOSED: _l("Registration closed"),
    S.RUNNING: _l("Running"),
    S.SCORING_CLOSED: _l("Scoring closed"),
    S.PUBLISHED: _l("Results published"),
}
EVENT_LABELS = {
    E.OPEN_REGISTRATION: _l("Open registration"),
    E.CLOSE_REGISTRATION: _l("Close registration"),
    E.START: _l("Start the competition"),
    E.CLOSE_SCORING: _l("Close scoring"),
    E.PUBLISH: _l("Publish the results"),
    E.PUBLISH_CORRECTION: _l("Publish a correction"),
}
LEVEL_LABELS = {
    "national": _l("National"),
    "provincial": _l("Provincial"),
    "city": _l("City"),
    "district": _l("District"),
    "chain": _l("Industry chain"),
    "enterprise": _l("Enterprise"),
}
MODULE_KIND_LABELS = {"theory": _l("Theory"), "practical": _l("Practical"), "other": _l("Other")}
AGGREGATION_LABELS = {
    "mean": _l("Mean"),
    "median": _l("Median"),
    "sum": _l("Sum"),
    "trimmed_mean": _l("Trimmed mean"),
    "trimmed_sum": _l("Trimmed sum"),
}


def state_label(state: str) -> str:
    try:
        return str(STATE_LABELS[S(state)])
    except ValueError:
        return state


def event_label(event: str) -> str:
    try:
        return str(EVENT_LABELS[E(event)])
    except ValueError:
        return event


def iter_states() -> Iterable[tuple[str, str]]:
    """(state, label) in lifecycle order, for filters and badges."""
    return ((s.value, str(STATE_LABELS[s])) for s in S)


# --- problems in words ------------------------------------------------------------------------------------

# marshmallow (and the setup schemas) report these in English; the services pass them through as they are.
_FIXED_MESSAGES = {
    "Missing data for required field.": _l("Required."),
    "Field may not be null.": _l("Required."),
    "Not a valid number.": _l("Enter a number."),
    "Not a valid decimal.": _l("Enter a number."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid boolean.": _l("Choose yes or no."),
    "Not a valid string.": _l("Enter a text."),
    "Not a valid list.": _l("A list is expected here."),
    "Invalid input type.": _l("An object is expected here."),
    "Invalid value.": _l("This value is not valid."),
    "Unknown field.": _l("Unknown field."),
    "Special numeric values (nan or infinity) are not permitted.": _l("Enter a number."),
    "At most 4 decimal places.": _l("At most 4 decimal places."),
    "Too large: at most 10 digits before the decimal point.": _l("Too large: at most 10 digits before the decimal point."),
}
_PATTERNS = (
    (re.compile(r"^Must be one of: (.*)\.$"), lambda m: _("Must be one of: %(choices)s.", choices=m.group(1))),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"),
     lambda m: _("Length must be between %(min)s and %(max)s.", min=m.group(1), max=m.group(2))),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), lambda m: _("At least %(min)s required.", min=m.group(1))),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), lambda m: _("At most %(max)s allowed.", max=m.group(1))),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), lambda m: _("At most %(max)s.", max=m.group(1))),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), lambda m: _("At least %(min)s.", min=m.group(1))),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     lambda m: _("Between %(min)s and %(max)s.", min=m.group(1), max=m.group(2))),
)


def translate_message(message: str) -> str:
    """A problem message in the request's language (services' own messages are already translated)."""
    fixed = _FIXED_MESSAGES.get(message)
    if fixed is not None:
        return str(fixed)
    for pattern, make in _PATTERNS:
        match = pattern.match(message)
        if match:
            return make(match)
    return message


FIELD_LABELS = {
    "name": _l("Name"), "kind": _l("Type"), "weight": _l("Weight (%)"), "max_mark": _l("Max mark"),
    "scale_min": _l("Scale minimum"), "scale_max": _l("Scale maximum"), "scale_step": _l("Scale step"),
    "judges_required": _l("Judges required"), "aggregation": _l("Aggregation"), "trim_k": _l("Marks dropped at each end"),
    "normalize": _l("Normalize to max mark"), "uses_difficulty": _l("Difficulty factor applies"),
    "divergence_threshold": _l("Divergence threshold"), "level_words": _l("Level words"), "criteria": _l("Criteria"),
    "aspects": _l("Aspects"), "modules": _l("Modules"),
}
_STEP = re.compile(r"\.?(?:(modules|criteria|aspects)\[(\d+)\]|([a-z_]+))")


def describe_path(path: str, doc: Any = None) -> str:
    """``modules[1].criteria[0].aspects[2].scale_step`` → "Module 2 “实操” › Criterion 1 … › Scale step"."""
    if not path:
        return ""
    parts: list[str] = []
    node: Any = doc
    for match in _STEP.finditer(path):
        kind, index, name = match.groups()
        if kind:
            i = int(index)
            item = None
            if isinstance(node, dict) and isinstance(node.get(kind), list) and i < len(node[kind]):
                item = node[kind][i]
            label = {"modules": _("Module %(n)d", n=i + 1), "criteria": _("Criterion %(n)d", n=i + 1),
                     "aspects": _("Aspect %(n)d", n=i + 1)}[kind]
            if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
                label += f" “{item['name'].strip()}”"
            parts.append(label)
            node = item
        elif name:
            label = FIELD_LABELS.get(name)
            parts.append(str(label) if label is not None else name)
            node = node.get(name) if isinstance(node, dict) else None
    return " › ".join(parts)
