"""Schemas of the competition setup API: competitions, lifecycle, marking scheme, difficulty factors, rules.

Numbers: every decimal (weights, marks, scales, factors, percentages) is a JSON string or a JSON number. The
setup API parses request bodies with ``app.api.parse_json_exact`` (see ``DecimalJsonParser``), so a JSON number is
read from its text, exactly: ``30.5`` is ``Decimal("30.5")`` and never passes through a binary float. Stored
values have at most 4 decimal places and fewer than 10 digits before the point (NUMERIC(14, 4)); anything
finer is refused, never rounded. Responses always give decimals as strings.

Validation errors of this API are 422 with ``details.problems``: a list of ``{"path", "code", "message"}``
where ``path`` points into the request body, e.g. ``modules[1].criteria[0].aspects[2].scale_step``.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload

from app.api import ExactJsonParser, PageQuerySchema
from app.fields import TEXT_MESSAGES, Int, List, Text
from app.inputs import TextRefused, clean_text
from competitions.domain import Aggregation, AspectKind, CompetitionEvent, CompetitionState, ModuleKind

LEVELS = ("national", "provincial", "city", "district", "chain", "enterprise")
STATES = [s.value for s in CompetitionState]
# "publish" and "publish_correction" belong to the results area (competitions.services.results).
SETUP_EVENTS = [e.value for e in CompetitionEvent if e not in (CompetitionEvent.PUBLISH, CompetitionEvent.PUBLISH_CORRECTION)]

MAX_PLACES = 4  # NUMERIC(14, 4)
MAX_ABS = Decimal(10) ** 10
MAX_MODULES, MAX_CRITERIA, MAX_ASPECTS = 50, 200, 500  # per scheme, per module, per criterion
MAX_DIFFICULTY_ITEMS = 20_000


# --- exact decimals --------------------------------------------------------------------------------------


def decimal_problem(value: Decimal) -> str | None:
    """Why ``value`` cannot be stored exactly (NUMERIC(14, 4)), or None."""
    if not value.is_finite():
        return "Not a valid number."
    if abs(value) >= MAX_ABS:
        return "Too large: at most 10 digits before the decimal point."
    if value != value.quantize(Decimal(1).scaleb(-MAX_PLACES), rounding=ROUND_DOWN):
        return f"At most {MAX_PLACES} decimal places."
    return None


class ExactDecimal(ma.fields.Decimal):
    """A decimal given as a JSON string or number (read exactly), at most 4 places; dumped as a string."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("description", "Decimal as a string (or a JSON number, read exactly); at most 4 places")
        super().__init__(as_string=True, allow_nan=False, **kwargs)

    def _validated(self, value: Any) -> Decimal:
        if isinstance(value, bool) or isinstance(value, float):
            # Floats never come from the setup API's own parser; other callers must not pass them either.
            raise self.make_error("invalid")
        if isinstance(value, str):
            value = value.strip()
        num = super()._validated(value)
        problem = decimal_problem(num)
        if problem:
            raise ma.ValidationError(problem)
        return num

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return format_decimal(Decimal(value) if isinstance(value, str | int) else value)


def format_decimal(value: Decimal) -> str:
    """Canonical text: no exponent, no trailing zeros (``Decimal("30.0000")`` → ``"30"``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


class DecimalJsonParser(ExactJsonParser):
    """The setup API's parser: exact decimals (NaN/Infinity are invalid JSON), and validation errors become
    ``details.problems`` with dotted/indexed paths."""

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        from flask_babel import gettext as _

        from app.errors import DomainError

        raise DomainError(_("The request contains invalid data."), code="validation_error",
                          status=error_status_code or 422, details={"problems": flatten_errors(error.messages)})


def flatten_errors(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """marshmallow's nested error dict → [{"path", "code", "message"}], e.g. ``modules[1].criteria[0].name``.

    The location key ``json`` (webargs) is dropped; other locations (``query``, ``files``) stay as a prefix.
    """
    out: list[dict[str, str]] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, sub in node.items():
                if key == "_schema":
                    walk(sub, path)
                elif isinstance(key, int):
                    walk(sub, f"{path}[{key}]")
                elif not path and key == "json":
                    walk(sub, "")
                else:
                    walk(sub, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list | tuple):
            for item in node:
                if isinstance(item, dict | list | tuple):
                    walk(item, path)
                else:
                    out.append({"path": path, "code": "invalid", "message": str(item)})
        else:
            out.append({"path": path, "code": "invalid", "message": str(node)})

    walk(messages, prefix)
    return out


# --- competitions ----------------------------------------------------------------------------------------


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class TrimmedString(Text):
    def __init__(self, **kwargs: Any):
        super().__init__(strip=True, **kwargs)


class SetupTradeRefSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()


class SetupCompetitionInSchema(ma.Schema):
    """Fields an organizer sets. On create, ``name`` and ``level`` are required."""

    name = TrimmedString(validate=ma.validate.Length(min=1, max=200))
    level = Text(validate=ma.validate.OneOf(LEVELS),
                             metadata={"description": "national | provincial | city | district | chain | enterprise"})
    trade_id = Int(allow_none=True, strict=True)
    organizer_name = TrimmedString(validate=ma.validate.Length(max=200), metadata={"description": "主办单位"})
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    venue = TrimmedString(validate=ma.validate.Length(max=200))
    appeal_window_minutes = Int(strict=True, validate=ma.validate.Range(min=0, max=7 * 24 * 60),
                                              metadata={"description": "Appeals may be filed this long after a module ends"})
    board_freeze_at = ma.fields.AwareDateTime(allow_none=True, metadata={
        "description": "From this time the public board stops updating until publication (with a UTC offset)"})
    conflict_same_chain = ma.fields.Boolean(metadata={"description": "Judges may not mark entrants of their industry chain"})
    uses_module_codes = ma.fields.Boolean(metadata={"description": "二次加密: a second blind code per module"})


class SetupCompetitionCreateSchema(SetupCompetitionInSchema):
    name = TrimmedString(required=True, validate=ma.validate.Length(min=1, max=200))
    level = Text(required=True, validate=ma.validate.OneOf(LEVELS),
                             metadata={"description": "national | provincial | city | district | chain | enterprise"})


class SetupCompetitionSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    level = ma.fields.String()
    trade_id = ma.fields.Integer(allow_none=True)
    trade = ma.fields.Nested(SetupTradeRefSchema, allow_none=True)
    organizer_name = ma.fields.String()
    starts_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date(allow_none=True)
    venue = ma.fields.String()
    status = ma.fields.String(metadata={"description": " → ".join(STATES)})
    appeal_window_minutes = ma.fields.Integer()
    board_freeze_at = ma.fields.DateTime(allow_none=True)
    conflict_same_chain = ma.fields.Boolean()
    uses_module_codes = ma.fields.Boolean()
    is_decoded = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    allowed_events = ma.fields.Method("_allowed_events", metadata={"description": "Lifecycle events possible now"})

    def _allowed_events(self, obj) -> list[str]:
        from competitions.domain import allowed_events

        return [str(e) for e in allowed_events(obj.status)]


class SetupPageSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


class SetupCompetitionPageSchema(SetupPageSchema):
    items = ma.fields.List(ma.fields.Nested(SetupCompetitionSchema))


class SetupCompetitionQuerySchema(PageQuerySchema):
    status = Text(load_default=None, validate=ma.validate.OneOf(STATES))
    level = Text(load_default=None, validate=ma.validate.OneOf(LEVELS))
    trade_id = Int(load_default=None, metadata={"description": "Only competitions in this trade"})
    q = Text(load_default="", metadata={"description": "Search in the name"})


# --- lifecycle --------------------------------------------------------------------------------------------


class SetupTransitionInSchema(ma.Schema):
    event = Text(required=True, validate=ma.validate.OneOf(SETUP_EVENTS),
                             metadata={"description": "open_registration | close_registration | start | close_scoring "
                                                      "(publishing is done through the results API)"})
    note = TrimmedString(load_default="", validate=ma.validate.Length(max=2000))


class SetupTransitionSchema(ma.Schema):
    id = ma.fields.Integer()
    event = ma.fields.String()
    from_status = ma.fields.String()
    to_status = ma.fields.String()
    actor_id = ma.fields.Integer(allow_none=True)
    actor_name = ma.fields.String(allow_none=True)
    at = ma.fields.DateTime()
    note = ma.fields.String()


class SetupTransitionResultSchema(ma.Schema):
    competition = ma.fields.Nested(SetupCompetitionSchema)
    transition = ma.fields.Nested(SetupTransitionSchema)


# --- modules ---------------------------------------------------------------------------------------------


class SetupModuleSchema(ma.Schema):
    id = ma.fields.Integer()
    position = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    weight = ExactDecimal(allow_none=True)
    ends_at = ma.fields.DateTime(allow_none=True, metadata={"description": "The appeal window runs from here"})
    locked_at = ma.fields.DateTime(allow_none=True, metadata={"description": "Chief judge sign-off"})


class SetupModulePatchSchema(ma.Schema):
    ends_at = ma.fields.AwareDateTime(required=True, allow_none=True, metadata={
        "description": "When the module ended (with a UTC offset); null clears it"})


# --- marking scheme ---------------------------------------------------------------------------------------


class SetupAspectDocSchema(ma.Schema):
    id = Int(allow_none=True, metadata={"description": "Given on export; ignored on import"})
    name = TrimmedString(required=True, validate=ma.validate.Length(min=1, max=300))
    kind = Text(required=True, validate=ma.validate.OneOf([k.value for k in AspectKind]),
                            metadata={"description": "M (measurement) | J (judgement)"})
    max_mark = ExactDecimal(required=True)
    scale_min = ExactDecimal(load_default=Decimal(0))
    scale_max = ExactDecimal(required=True)
    scale_step = ExactDecimal(load_default=Decimal(1))
    judges_required = Int(strict=True, load_default=1, validate=ma.validate.Range(max=99))
    aggregation = Text(load_default=Aggregation.MEAN.value,
                                   validate=ma.validate.OneOf([a.value for a in Aggregation]),
                                   metadata={"description": "mean | median | sum | trimmed_mean | trimmed_sum"})
    trim_k = Int(strict=True, load_default=0, validate=ma.validate.Range(max=49),
                               metadata={"description": "Trimmed rules drop this many highest and lowest marks"})
    normalize = ma.fields.Boolean(load_default=False,
                                  metadata={"description": "points = aggregate / scale_max × max_mark"})
    uses_difficulty = ma.fields.Boolean(load_default=False, metadata={
        "description": "The entry's difficulty factor (难度系数) multiplies the points"})
    divergence_threshold = ExactDecimal(allow_none=True, metadata={
        "description": "Flag when judges' marks differ by more than this; null: never. "
                       "Left out: 1 for J aspects, null for M aspects"})
    level_words = List(TrimmedString(validate=ma.validate.Length(max=200)), load_default=list,
                                 validate=ma.validate.Length(max=101),
                                 metadata={"description": "The words for each judgement level, lowest first"})


class SetupCriterionDocSchema(ma.Schema):
    id = Int(allow_none=True, metadata={"description": "Given on export; ignored on import"})
    name = TrimmedString(required=True, validate=ma.validate.Length(min=1, max=200))
    aspects = List(ma.fields.Nested(SetupAspectDocSchema), required=True,
                             validate=ma.validate.Length(max=MAX_ASPECTS))


class SetupModuleDocSchema(ma.Schema):
    id = Int(allow_none=True, metadata={"description": "Given on export; ignored on import"})
    name = TrimmedString(required=True, validate=ma.validate.Length(min=1, max=200))
    kind = Text(load_default=ModuleKind.OTHER.value, validate=ma.validate.OneOf([k.value for k in ModuleKind]),
                            metadata={"description": "theory | practical | other"})
    weight = ExactDecimal(allow_none=True, load_default=None,
                          metadata={"description": "Percent; every module has one (summing to 100) or none has"})
    max_mark = ExactDecimal(allow_none=True, load_default=None, metadata={
        "description": "Σ of the aspects' max marks. Given on export; on import optional and checked, not stored"})
    criteria = List(ma.fields.Nested(SetupCriterionDocSchema), required=True,
                              validate=ma.validate.Length(max=MAX_CRITERIA))


class SetupSchemeDocSchema(ma.Schema):
    """The marking scheme as one document (import and export)."""

    modules = List(ma.fields.Nested(SetupModuleDocSchema), required=True, validate=ma.validate.Length(max=MAX_MODULES))


class SetupProblemSchema(ma.Schema):
    path = ma.fields.String()
    code = ma.fields.String()
    message = ma.fields.String()
    row = ma.fields.Integer(metadata={"description": "XLSX uploads: the spreadsheet row"})


class SetupSchemeCheckSchema(ma.Schema):
    valid = ma.fields.Boolean()
    problems = ma.fields.List(ma.fields.Nested(SetupProblemSchema))


class SetupSchemeUploadSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "XLSX: one sheet, a header row, one row per aspect"})


# --- difficulty factors -----------------------------------------------------------------------------------


class SetupDifficultyItemSchema(ma.Schema):
    entry_id = Int(required=True, strict=True)
    aspect_id = Int(required=True, strict=True)
    factor = ExactDecimal(required=True, allow_none=True,
                          metadata={"description": "0 < factor ≤ 10; null removes the factor"})


# --- rules ------------------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    try:
        return clean_text(text)
    except TextRefused as exc:
        raise ma.ValidationError(TEXT_MESSAGES[exc.reason]) from None


class _Pair(ma.fields.Field):
    """A two-element JSON array [code, number]; the number is an int or an exact decimal (string or number)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ma.ValidationError("Must be a list of two items.")
        first, second = value
        if not isinstance(first, str) or not first.strip() or len(first) > 64:
            raise ma.ValidationError("The first item must be a text of 1 to 64 characters.")
        first = _clean(first)
        if isinstance(second, str):
            try:
                second = Decimal(second.strip())
            except InvalidOperation:
                raise ma.ValidationError("Not a valid number.") from None
        if isinstance(second, bool) or not isinstance(second, int | Decimal):
            raise ma.ValidationError("Not a valid number.")
        if isinstance(second, Decimal):
            problem = decimal_problem(second)
            if problem:
                raise ma.ValidationError(problem)
        return [first.strip(), second]


class _TieBreakItem(ma.fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if (not isinstance(value, list | tuple) or len(value) != 2
                or not all(isinstance(v, str) for v in value)):
            raise ma.ValidationError('Must be a list of two texts: [key, "asc" | "desc"].')
        return [_clean(value[0]).strip(), _clean(value[1]).strip()]


class SetupAwardRuleSchema(ma.Schema):
    type = Text(required=True, validate=ma.validate.OneOf(["proportional", "fixed", "medals", "threshold"]))
    tiers = List(_Pair(), validate=ma.validate.Length(min=1, max=20), metadata={
        "description": 'proportional: [[code, "percent"], …]; fixed: [[code, count], …]'})
    rounding = Text(validate=ma.validate.OneOf(["floor", "ceil", "half_up"]))
    at_least_one = ma.fields.Boolean(metadata={
        "description": "proportional: every tier with a share gets at least one award when the field has at least "
                       "as many entrants as such tiers (default true: the winner always gets the first tier)"})
    codes = List(TrimmedString(validate=ma.validate.Length(min=1, max=64)), validate=ma.validate.Length(equal=3))
    min_field = List(Int(strict=True), validate=ma.validate.Length(equal=3))
    min_total = ExactDecimal()
    code = TrimmedString(validate=ma.validate.Length(min=1, max=64))
    unless = List(TrimmedString(validate=ma.validate.Length(min=1, max=64)), validate=ma.validate.Length(max=20))

    @ma.validates_schema
    def _shape(self, data, **kwargs):
        kind = data.get("type")
        required = {"proportional": ("tiers",), "fixed": ("tiers",), "threshold": ("min_total",)}.get(kind, ())
        errors = {name: ["Missing data for required field."] for name in required if name not in data}
        allowed = {"proportional": {"tiers", "rounding", "at_least_one"}, "fixed": {"tiers"}, "medals": {"codes", "min_field"},
                   "threshold": {"min_total", "code", "unless"}}.get(kind, set()) | {"type"}
        for name in data:
            if name not in allowed:
                errors[name] = [f"Not used by {kind} awards."]
        for i, tier in enumerate(data.get("tiers") or []):
            value = tier[1]
            if kind == "fixed" and not isinstance(value, int):
                errors.setdefault("tiers", {})[i] = ["The count must be a whole number."]
            if kind == "proportional" and not isinstance(value, Decimal | int):
                errors.setdefault("tiers", {})[i] = ["The percent must be a number."]
        if errors:
            raise ma.ValidationError(errors)


class SetupPromotionBandSchema(ma.Schema):
    first_rank = Int(required=True, strict=True)
    last_rank = Int(required=True, strict=True)
    action = Text(required=True, validate=ma.validate.OneOf(["up_one_level", "to_level"]))
    target_level = Int(strict=True, allow_none=True)
    title = TrimmedString(allow_none=True, validate=ma.validate.Length(min=1, max=64),
                          metadata={"description": "An honour code, e.g. national_technical_expert (全国技术能手)"})


class SetupRulesSchema(ma.Schema):
    """Ranking and award rules. Left out on PUT: the default (Chinese tie-break chain; proportional awards
    10 / 20 / 30 %; no promotion bands). An empty list means none (e.g. no tie-break: equal totals share the place)."""

    tie_break = List(_TieBreakItem(), validate=ma.validate.Length(max=20), metadata={
        "description": 'Keys in order: [["completion_time", "asc"], ["module_kind:practical", "desc"], '
                       '["module:<module id>", "desc"], …]'})
    award_rules = List(ma.fields.Nested(SetupAwardRuleSchema), validate=ma.validate.Length(max=10))
    promotion_bands = List(ma.fields.Nested(SetupPromotionBandSchema), validate=ma.validate.Length(max=20))
