"""Forms of the organizer's competition-setup pages: the competition, lifecycle steps, the marking-scheme
editor, difficulty factors and the rules.

Forms only parse input into the shapes ``competitions.services.setup`` takes (the JSON shapes of
``competitions.domain.config`` for the rules, the import document for the scheme); every rule is checked by the
services, so the pages and the API refuse the same things. Problems the services report by path
(``modules[1].criteria[0].aspects[2].scale_step``, ``award_rules[1]``) are put back next to the field that
produced them, in the words of ``competitions.labels`` (which also translates the few messages that come
untranslated from marshmallow).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional

from app.forms import Form
from competitions.domain import Aggregation, AspectKind, ModuleKind
from competitions.labels import AGGREGATION_LABELS, LEVEL_LABELS, MODULE_KIND_LABELS, describe_path, translate_message
from competitions.schemas.setup import LEVELS, SETUP_EVENTS, format_decimal


def optional_int(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- the competition --------------------------------------------------------------------------------------


class CompetitionForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter a name.")), Length(max=200)])
    level = SelectField(_l("Level"), choices=[], validate_choice=False,
                        validators=[AnyOf(LEVELS, message=_l("Choose a level."))])
    trade_id = SelectField(_l("Trade"), coerce=optional_int, choices=[], validate_choice=False)
    organizer_name = StringField(_l("Organizer"), validators=[Length(max=200)],
                                 render_kw={"placeholder": _l("e.g. City Federation of Trade Unions")})
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    venue = StringField(_l("Venue"), validators=[Length(max=200)])

    def __init__(self, *args, trade_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = [(k, str(v)) for k, v in LEVEL_LABELS.items()]
        self.trade_id.choices = [("", "—")] + list(trade_choices)

    def values(self) -> dict[str, Any]:
        return {"name": (self.name.data or "").strip(), "level": self.level.data, "trade_id": self.trade_id.data,
                "organizer_name": (self.organizer_name.data or "").strip(), "starts_on": self.starts_on.data,
                "ends_on": self.ends_on.data, "venue": (self.venue.data or "").strip()}


class TransitionForm(Form):
    event = HiddenField(validators=[AnyOf(SETUP_EVENTS, message=_l("Unknown lifecycle step."))])
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=2000)])


def _local_zone() -> ZoneInfo:
    """The app's time zone (Asia/Shanghai) as a zoneinfo zone (Flask-Babel's pytz zone cannot be used with replace)."""
    return ZoneInfo(str(get_timezone()))


def local_input(value) -> str:
    """An aware datetime as the value of a datetime-local input, in the app's time zone."""
    return value.astimezone(_local_zone()).strftime("%Y-%m-%dT%H:%M") if value else ""


class SettingsForm(Form):
    """The competition's own settings that sit on the rules page."""

    appeal_window_minutes = IntegerField(
        _l("Appeal window (minutes after a module ends)"),
        validators=[DataRequired(message=_l("Enter a number of minutes.")),
                    NumberRange(min=0, max=7 * 24 * 60, message=_l("Between 0 and 10080 minutes (7 days)."))],
        render_kw={"inputmode": "numeric"})
    board_freeze_at = DateTimeLocalField(_l("Freeze the public board at"), format="%Y-%m-%dT%H:%M",
                                         validators=[Optional()])
    conflict_same_chain = BooleanField(_l("Judges may not mark entrants from enterprises of their own industry chain"))
    uses_module_codes = BooleanField(_l("Second blind code per module (二次加密)"))

    def values(self) -> dict[str, Any]:
        freeze = self.board_freeze_at.data
        if freeze is not None:
            freeze = freeze.replace(tzinfo=_local_zone())
        return {"appeal_window_minutes": self.appeal_window_minutes.data, "board_freeze_at": freeze,
                "conflict_same_chain": bool(self.conflict_same_chain.data),
                "uses_module_codes": bool(self.uses_module_codes.data)}

    def fill(self, competition) -> None:
        self.appeal_window_minutes.data = competition.appeal_window_minutes
        freeze = competition.board_freeze_at
        self.board_freeze_at.data = freeze.astimezone(_local_zone()).replace(tzinfo=None) if freeze else None
        self.conflict_same_chain.data = competition.conflict_same_chain
        self.uses_module_codes.data = competition.uses_module_codes


class ModuleEndForm(Form):
    ends_at = DateTimeLocalField(_l("Module ended at"), format="%Y-%m-%dT%H:%M", validators=[Optional()])

    def value(self):
        return self.ends_at.data.replace(tzinfo=_local_zone()) if self.ends_at.data else None


class SchemeImportForm(Form):
    file = FileField(_l("Scheme file (JSON or XLSX)"), validators=[FileRequired(_l("Choose a file to upload."))],
                     render_kw={"accept": ".json,.xlsx,application/json,"
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})


# --- problems on a page ------------------------------------------------------------------------------------


def problem_lines(problems: list[dict[str, Any]], doc: Any = None) -> list[dict[str, Any]]:
    """Problems for a page: where (in words), the spreadsheet row if any, and the translated message."""
    return [{"path": p.get("path", ""), "where": describe_path(p.get("path", ""), doc), "row": p.get("row"),
             "message": translate_message(p.get("message", ""))} for p in problems]


# --- the marking-scheme editor ------------------------------------------------------------------------------

ASPECT_TEXT_FIELDS = ("name", "max_mark", "scale_min", "scale_max", "scale_step", "judges_required", "trim_k",
                      "divergence_threshold")
MODULE_KINDS = [(k.value, MODULE_KIND_LABELS[k.value]) for k in ModuleKind]
ASPECT_KINDS = [(AspectKind.MEASUREMENT.value, _l("M — measurement")), (AspectKind.JUDGEMENT.value, _l("J — judgement"))]
AGGREGATIONS = [(a.value, AGGREGATION_LABELS[a.value]) for a in Aggregation]
NEVER = "-"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format_decimal(value)
    return str(value)


def new_aspect() -> dict[str, Any]:
    return {"name": "", "kind": "M", "max_mark": "", "scale_min": "0", "scale_max": "", "scale_step": "1",
            "judges_required": "1", "aggregation": "mean", "trim_k": "0", "normalize": False, "uses_difficulty": False,
            "divergence_threshold": "", "level_words": ""}


def new_criterion() -> dict[str, Any]:
    return {"name": "", "aspects": [new_aspect()]}


def new_module() -> dict[str, Any]:
    return {"name": "", "kind": "practical", "weight": "", "max_mark": "", "criteria": [new_criterion()]}


def editor_state(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored scheme document as the editor's text values."""
    modules = []
    for m in document["modules"]:
        criteria = []
        for c in m["criteria"]:
            aspects = []
            for a in c["aspects"]:
                item = {k: _text(a.get(k)) for k in ASPECT_TEXT_FIELDS}
                item.update(kind=a["kind"], aggregation=a["aggregation"], normalize=bool(a["normalize"]),
                            uses_difficulty=bool(a["uses_difficulty"]), level_words="\n".join(a.get("level_words") or []))
                if a.get("divergence_threshold") is None and a["kind"] == AspectKind.JUDGEMENT:
                    item["divergence_threshold"] = NEVER
                aspects.append(item)
            criteria.append({"name": c["name"], "aspects": aspects})
        modules.append({"name": m["name"], "kind": m["kind"], "weight": _text(m.get("weight")), "max_mark": "",
                        "criteria": criteria})
    return modules


def _indices(form: MultiDict, pattern: str) -> list[int]:
    found = set()
    rx = re.compile(pattern)
    for key in form:
        match = rx.fullmatch(key)
        if match:
            found.add(int(match.group(1)))
    return sorted(found)


def parse_editor(form: MultiDict) -> list[dict[str, Any]]:
    """The editor's posted fields (``m-0-name``, ``m-0-c-1-a-2-max_mark``, …) as its text values, in order."""
    modules = []
    for i in _indices(form, r"m-(\d+)-name"):
        mp = f"m-{i}-"
        criteria = []
        for j in _indices(form, rf"m-{i}-c-(\d+)-name"):
            cp = f"{mp}c-{j}-"
            aspects = []
            for k in _indices(form, rf"m-{i}-c-{j}-a-(\d+)-name"):
                ap = f"{cp}a-{k}-"
                item = {name: form.get(ap + name, "").strip() for name in ASPECT_TEXT_FIELDS}
                item.update(kind=form.get(ap + "kind", "M"), aggregation=form.get(ap + "aggregation", "mean"),
                            normalize=bool(form.get(ap + "normalize")), uses_difficulty=bool(form.get(ap + "uses_difficulty")),
                            level_words=form.get(ap + "level_words", ""))
                aspects.append(item)
            criteria.append({"name": form.get(cp + "name", "").strip(), "aspects": aspects})
        modules.append({"name": form.get(mp + "name", "").strip(), "kind": form.get(mp + "kind", "other"),
                        "weight": form.get(mp + "weight", "").strip(), "max_mark": form.get(mp + "max_mark", "").strip(),
                        "criteria": criteria})
    return modules


def _int_or_text(value: str) -> int | str:
    return int(value) if re.fullmatch(r"-?\d{1,6}", value) else value


def editor_document(modules: list[dict[str, Any]]) -> dict[str, Any]:
    """The editor's values as the raw import document (decimals stay text: the service reads them exactly)."""
    out = []
    for m in modules:
        criteria = []
        for c in m["criteria"]:
            aspects = []
            for a in c["aspects"]:
                doc: dict[str, Any] = {"name": a["name"], "kind": a["kind"], "aggregation": a["aggregation"],
                                       "normalize": a["normalize"], "uses_difficulty": a["uses_difficulty"],
                                       "level_words": [w.strip() for w in a["level_words"].splitlines() if w.strip()]}
                for key in ("max_mark", "scale_min", "scale_max", "scale_step"):
                    if a[key] != "":
                        doc[key] = a[key]
                for key in ("judges_required", "trim_k"):
                    if a[key] != "":
                        doc[key] = _int_or_text(a[key])
                threshold = a["divergence_threshold"]
                if threshold == NEVER:
                    doc["divergence_threshold"] = None
                elif threshold != "":
                    doc["divergence_threshold"] = threshold
                aspects.append(doc)
            criteria.append({"name": c["name"], "aspects": aspects})
        module: dict[str, Any] = {"name": m["name"], "kind": m["kind"], "weight": m["weight"] or None, "criteria": criteria}
        if m.get("max_mark"):
            module["max_mark"] = m["max_mark"]
        out.append(module)
    return {"modules": out}


_OP = re.compile(r"(add_module|add_criterion|add_aspect|remove|up|down)(?::(\d+(?:\.\d+){0,2}))?")


def apply_op(modules: list[dict[str, Any]], op: str) -> bool:
    """Add, remove or move one item of the editor's values (not saved); False when ``op`` makes no sense."""
    match = _OP.fullmatch(op or "")
    if match is None:
        return False
    action, where = match.group(1), match.group(2)
    path = [int(p) for p in where.split(".")] if where else []
    if action == "add_module":
        modules.append(new_module())
        return True
    try:
        if action == "add_criterion" and len(path) == 1:
            modules[path[0]]["criteria"].append(new_criterion())
            return True
        if action == "add_aspect" and len(path) == 2:
            modules[path[0]]["criteria"][path[1]]["aspects"].append(new_aspect())
            return True
        if action in ("remove", "up", "down") and path:
            items: list[Any] = modules
            for depth, index in enumerate(path[:-1]):
                items = items[index]["criteria" if depth == 0 else "aspects"]
            index = path[-1]
            if index >= len(items):
                return False
            if action == "remove":
                del items[index]
            else:
                other = index - 1 if action == "up" else index + 1
                if not 0 <= other < len(items):
                    return False
                items[index], items[other] = items[other], items[index]
            return True
    except (IndexError, KeyError):
        return False
    return False


def editor_errors(problems: list[dict[str, Any]]) -> dict[str, list[str]]:
    """{path → [messages]}: each problem under its own path (the template shows them next to the field)."""
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.get("path", ""), []).append(translate_message(p.get("message", "")))
    return out


def error_prefixes(errors: dict[str, list[str]]) -> set[str]:
    """Every path that has a problem at or below it (``modules[0]``, ``modules[0].criteria[1]``, …)."""
    out = set()
    for path in errors:
        for match in re.finditer(r"\]", path):
            out.add(path[: match.end()])
        out.add(path)
    return out


# --- difficulty factors -------------------------------------------------------------------------------------


def parse_factor(text: str) -> Decimal | None | str:
    """A typed factor: Decimal, None (empty: remove), or the text itself when it is not a number."""
    text = (text or "").strip().replace("，", ".").replace(",", ".")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return value if value.is_finite() else text


# --- rules --------------------------------------------------------------------------------------------------

TIE_BREAK_KINDS = ("theory", "practical", "other")
PRIZE_CODES = ("first_prize", "second_prize", "third_prize", "gold", "silver", "bronze", "medallion_for_excellence")
ROUNDINGS = [("floor", _l("Round down")), ("ceil", _l("Round up")), ("half_up", _l("Round half up"))]
BAND_ACTIONS = [("up_one_level", _l("Up one skill level")), ("to_level", _l("To a skill level"))]
TITLE_LABELS = {"national_technical_expert": _l("National technical expert (全国技术能手)")}
EMPTY_TIERS = 4


def _tier_rows(rule: dict[str, Any] | None, defaults: list[tuple[str, str]]) -> list[dict[str, str]]:
    tiers = [(str(c), _text(v) if not isinstance(v, str) else v) for c, v in (rule or {}).get("tiers", [])] or defaults
    rows = [{"code": c, "value": v} for c, v in tiers]
    while len(rows) < EMPTY_TIERS:
        rows.append({"code": "", "value": ""})
    return rows


def rules_state(document: dict[str, Any]) -> dict[str, Any]:
    """The stored rules (JSON shapes of competitions.domain.config) as the rules form's text values."""
    by_type: dict[str, dict[str, Any]] = {}
    kept = []
    for rule in document["award_rules"]:
        if rule.get("type") in by_type:
            kept.append(rule)  # a second rule of the same type (set through the API) is kept as it is
        else:
            by_type[rule.get("type")] = rule
    medals = by_type.get("medals") or {}
    threshold = by_type.get("threshold") or {}
    state = {
        "tb": [{"key": key, "dir": direction} for key, direction in document["tie_break"]],
        "prop": {"on": "proportional" in by_type, "rounding": (by_type.get("proportional") or {}).get("rounding", "floor"),
                 "at_least_one": (by_type.get("proportional") or {}).get("at_least_one", True),
                 "tiers": _tier_rows(by_type.get("proportional"),
                                     [("first_prize", "10"), ("second_prize", "20"), ("third_prize", "30")])},
        "fixed": {"on": "fixed" in by_type,
                  "tiers": _tier_rows(by_type.get("fixed"), [("first_prize", "1"), ("second_prize", "2"), ("third_prize", "3")])},
        "medals": {"on": "medals" in by_type, "codes": list(medals.get("codes", ["gold", "silver", "bronze"])),
                   "min": [str(n) for n in medals.get("min_field", [4, 5, 6])]},
        "thr": {"on": "threshold" in by_type, "min_total": _text(threshold.get("min_total")),
                "code": threshold.get("code", "medallion_for_excellence"),
                "unless": list(threshold.get("unless", ["gold", "silver", "bronze"]))},
        "bands": [{"first": str(b["first_rank"]), "last": str(b["last_rank"]), "action": b["action"],
                   "level": str(b.get("target_level") or ""), "title": b.get("title") or ""}
                  for b in document["promotion_bands"]],
        "kept": kept,
    }
    return pad_rules_state(state)


def pad_rules_state(state: dict[str, Any]) -> dict[str, Any]:
    """Empty rows to fill in: at least 2 more tie-break keys and promotion bands."""
    while len(state["tb"]) < max(3, len([r for r in state["tb"] if r["key"]]) + 2):
        state["tb"].append({"key": "", "dir": "desc"})
    while len(state["bands"]) < max(2, len([b for b in state["bands"] if b["first"] or b["last"]]) + 1):
        state["bands"].append({"first": "", "last": "", "action": "up_one_level", "level": "", "title": ""})
    return state


def parse_rules_form(form: MultiDict, kept: list[dict[str, Any]]) -> dict[str, Any]:
    def rows(prefix: str, names: tuple[str, ...]) -> list[dict[str, str]]:
        return [{n: form.get(f"{prefix}-{i}-{n}", "").strip() for n in names}
                for i in _indices(form, rf"{prefix}-(\d+)-{names[0]}")]

    state = {
        "tb": rows("tb", ("key", "dir")),
        "prop": {"on": bool(form.get("prop-on")), "rounding": form.get("prop-rounding", "floor"),
                 "at_least_one": bool(form.get("prop-at-least-one")),
                 "tiers": rows("prop", ("code", "value"))},
        "fixed": {"on": bool(form.get("fixed-on")), "tiers": rows("fixed", ("code", "value"))},
        "medals": {"on": bool(form.get("medals-on")), "codes": ["gold", "silver", "bronze"],
                   "min": [form.get(f"medals-min-{i}", "").strip() for i in range(3)]},
        "thr": {"on": bool(form.get("thr-on")), "min_total": form.get("thr-min_total", "").strip(),
                "code": form.get("thr-code", "medallion_for_excellence"), "unless": form.getlist("thr-unless")},
        "bands": rows("band", ("first", "last", "action", "level", "title")),
        "kept": kept if not form.get("drop-kept") else [],
    }
    return state


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _whole(text: str) -> int | None:
    return int(text) if re.fullmatch(r"\d{1,6}", text or "") else None


def rules_from_state(state: dict[str, Any], tie_break_keys: set[str]) -> tuple[dict[str, Any], dict[str, list[str]],
                                                                                dict[str, list[str]]]:
    """(values for ``set_rules``, errors by form key, {service path prefix → form keys}) of the rules form."""
    errors: dict[str, list[str]] = {}
    where: dict[str, list[str]] = {"award_rules": [], "tie_break": [], "promotion_bands": []}

    def err(key: str, message: Any) -> None:
        errors.setdefault(key, []).append(str(message))

    tie_break = []
    for i, row in enumerate(state["tb"]):
        if not row["key"]:
            continue
        if row["key"] not in tie_break_keys:
            err(f"tb-{i}", _("Unknown tie-break key."))
        if row["dir"] not in ("asc", "desc"):
            err(f"tb-{i}", _("Choose a direction."))
        tie_break.append([row["key"], row["dir"]])
        where["tie_break"].append(f"tb-{i}")

    award_rules: list[dict[str, Any]] = []

    def tiers(section: str, whole: bool) -> list[list[Any]]:
        out = []
        for i, row in enumerate(state[section]["tiers"]):
            if not row["code"] and not row["value"]:
                continue
            if row["code"] not in PRIZE_CODES:
                err(f"{section}-{i}", _("Choose an award."))
                continue
            value = _whole(row["value"]) if whole else _number(row["value"])
            if value is None:
                err(f"{section}-{i}", _("Enter a whole number.") if whole else _("Enter a number."))
                continue
            out.append([row["code"], value if whole else format_decimal(value)])
        if not out and not any(k.startswith(f"{section}-") for k in errors):
            err(section, _("Give at least one award tier."))
        return out

    if state["prop"]["on"]:
        rounding = state["prop"]["rounding"]
        if rounding not in dict(ROUNDINGS):
            err("prop", _("Choose how counts are rounded."))
        award_rules.append({"type": "proportional", "tiers": tiers("prop", whole=False), "rounding": rounding,
                            "at_least_one": state["prop"]["at_least_one"]})
        where["award_rules"].append("prop")
    if state["fixed"]["on"]:
        award_rules.append({"type": "fixed", "tiers": tiers("fixed", whole=True)})
        where["award_rules"].append("fixed")
    if state["medals"]["on"]:
        mins = [_whole(v) for v in state["medals"]["min"]]
        if any(v is None for v in mins):
            err("medals", _("Enter the minimum field of each medal as a whole number."))
        award_rules.append({"type": "medals", "codes": ["gold", "silver", "bronze"],
                            "min_field": [v if v is not None else 0 for v in mins]})
        where["award_rules"].append("medals")
    if state["thr"]["on"]:
        total = _number(state["thr"]["min_total"])
        if total is None:
            err("thr", _("Enter the minimum total as a number."))
        code = state["thr"]["code"] if state["thr"]["code"] in PRIZE_CODES else "medallion_for_excellence"
        award_rules.append({"type": "threshold", "min_total": format_decimal(total) if total is not None else "0",
                            "code": code, "unless": [u for u in state["thr"]["unless"] if u in PRIZE_CODES]})
        where["award_rules"].append("thr")
    for rule in state["kept"]:
        award_rules.append(rule)
        where["award_rules"].append("kept")

    bands = []
    for i, row in enumerate(state["bands"]):
        if not row["first"] and not row["last"]:
            continue
        first, last = _whole(row["first"]), _whole(row["last"])
        if first is None or last is None:
            err(f"band-{i}", _("Enter the first and the last rank as whole numbers."))
            continue
        band: dict[str, Any] = {"first_rank": first, "last_rank": last, "action": row["action"]}
        if row["action"] not in dict(BAND_ACTIONS):
            err(f"band-{i}", _("Choose an action."))
            continue
        if row["action"] == "to_level":
            level = _whole(row["level"])
            if level is None:
                err(f"band-{i}", _("Choose the target skill level."))
                continue
            band["target_level"] = level
        if row["title"]:
            band["title"] = row["title"][:64]
        bands.append(band)
        where["promotion_bands"].append(f"band-{i}")
    return {"tie_break": tie_break, "award_rules": award_rules, "promotion_bands": bands}, errors, where


_RULE_PATH = re.compile(r"^(tie_break|award_rules|promotion_bands)(?:\[(\d+)\])?")


def rules_problem_errors(problems: list[dict[str, Any]], where: dict[str, list[str]]) -> dict[str, list[str]]:
    """The service's rule problems (``award_rules[1]``, ``promotion_bands``) under the form keys that made them."""
    out: dict[str, list[str]] = {}
    for p in problems:
        match = _RULE_PATH.match(p.get("path", ""))
        key = "form"
        if match:
            section, index = match.group(1), match.group(2)
            keys = where.get(section, [])
            if index is not None and int(index) < len(keys):
                key = keys[int(index)]
            elif section == "promotion_bands":
                key = "bands"
        out.setdefault(key, []).append(translate_message(p.get("message", "")))
    return out
