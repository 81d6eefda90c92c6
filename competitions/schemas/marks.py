"""Schemas of the marks API: judges' mark batches, score sheets, paper double entry, the chief judge's
completeness matrix, divergence decisions, the lock, corrections and judge statistics.

Mark values travel as JSON strings ("2.5") or JSON numbers; the marks blueprint parses JSON numbers as
``Decimal`` (never float), and the service checks them exactly (``value`` is ``Raw`` here on purpose: a wrong
value is a per-item 422 with the scale's words, not a schema error). Values are always *returned* as strings.
Nothing a judge receives has a field for a name, an enterprise, a worker id or an entry id: entries are codes.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.fields import Int, List, Text
from competitions.services.marks.common import MAX_BATCH, check_batch_size

VALUE_DOC = {
    "description": "The mark, exact: a JSON string such as \"2.5\" or a JSON number (read as a decimal, never a "
                   "binary float). Must lie on the aspect's scale (min, max, step).",
    "oneOf": [{"type": "string"}, {"type": "number"}],
}
KEY_DOC = {"description": "Client-made and unique per mark change (e.g. a UUID): a retry with the same key stores "
                          "nothing again and returns the same result."}


def _batch_size_first(data: Any) -> None:
    """The size of a batch is checked before any of its items is read (``check_batch_size``)."""
    if isinstance(data, list | tuple):
        check_batch_size(len(data))


class MarksItemSchema(ma.Schema):
    code = Text(required=True, validate=ma.validate.Length(min=1, max=64),
                            metadata={"description": "The entrant code (the module code with 二次加密)."})
    aspect_id = Int(required=True, strict=True)
    value = ma.fields.Raw(required=True, allow_none=True, metadata=VALUE_DOC)
    idempotency_key = Text(required=True, validate=ma.validate.Length(min=1, max=64), metadata=KEY_DOC)

    @ma.pre_load(pass_collection=True)
    def _batch_size(self, data: Any, many: bool, **kwargs: Any) -> Any:
        if many:
            _batch_size_first(data)
        return data


class MarksPaperSchema(ma.Schema):
    judge_id = Int(required=True, strict=True,
                                 metadata={"description": "The judge whose paper score sheet is typed in."})
    marks = List(ma.fields.Nested(MarksItemSchema), required=True, max_items=MAX_BATCH)

    @ma.pre_load
    def _batch_size(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            _batch_size_first(data.get("marks"))
        return data


class MarksResultSchema(ma.Schema):
    index = ma.fields.Integer(metadata={"description": "Position of the mark in the request."})
    code = ma.fields.String()
    aspect_id = ma.fields.Integer()
    judge_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": ["stored", "duplicate", "unchanged"]})
    mark_id = ma.fields.Integer(allow_none=True)
    revision = ma.fields.Integer(allow_none=True, metadata={"description": "The current revision of this mark."})
    value = ma.fields.String(allow_none=True, metadata={"description": "The current value of this mark."})
    confirmed = ma.fields.Boolean(metadata={"description": "False for a paper mark waiting for its confirmation."})


class MarksBatchResultSchema(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(MarksResultSchema))
    stored = ma.fields.Integer()
    duplicate = ma.fields.Integer()
    unchanged = ma.fields.Integer()


class MarksOwnQuerySchema(ma.Schema):
    module_id = Int(strict=False)


class MarksOwnSchema(ma.Schema):
    module_id = ma.fields.Integer()
    code = ma.fields.String()
    aspect_id = ma.fields.Integer()
    mark_id = ma.fields.Integer()
    revision = ma.fields.Integer()
    value = ma.fields.String()
    confirmed = ma.fields.Boolean()
    remark_requested = ma.fields.Boolean(metadata={"description": "The chief judge asked for a re-mark."})


class MarksOwnListSchema(ma.Schema):
    marks = ma.fields.List(ma.fields.Nested(MarksOwnSchema))


class MarksConfirmedSchema(ma.Schema):
    mark_id = ma.fields.Integer()
    revision = ma.fields.Integer()
    value = ma.fields.String()
    judge_id = ma.fields.Integer()
    entered_by_id = ma.fields.Integer()
    confirmed_by_id = ma.fields.Integer()


class MarksSheetSchema(ma.Schema):
    module_id = Int(required=True, strict=True)
    code = Text(required=True, validate=ma.validate.Length(min=1, max=64))


class MarksSheetResultSchema(ma.Schema):
    module_id = ma.fields.Integer()
    code = ma.fields.String()
    submitted_at = ma.fields.DateTime()
    created = ma.fields.Boolean()


class MarksCellMarkSchema(ma.Schema):
    judge_id = ma.fields.Integer()
    mark_id = ma.fields.Integer()
    revision = ma.fields.Integer()
    value = ma.fields.String()
    entered_by_id = ma.fields.Integer()


class MarksDivergenceStateSchema(ma.Schema):
    spread = ma.fields.String()
    threshold = ma.fields.String()
    state = ma.fields.String(metadata={"enum": ["open", "remark", "accepted"]})
    reason = ma.fields.String()
    decided_by_id = ma.fields.Integer(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)


class MarksCellSchema(ma.Schema):
    aspect_id = ma.fields.Integer()
    marks = ma.fields.List(ma.fields.Nested(MarksCellMarkSchema), metadata={"description": "Counted marks by judge."})
    unconfirmed = ma.fields.List(ma.fields.Nested(MarksCellMarkSchema),
                                 metadata={"description": "Paper marks waiting for a second person."})
    missing = ma.fields.Integer()
    pending_judge_ids = ma.fields.List(ma.fields.Integer())
    divergence = ma.fields.Nested(MarksDivergenceStateSchema, allow_none=True)


class MarksEntryRowSchema(ma.Schema):
    code = ma.fields.String()
    cells = ma.fields.List(ma.fields.Nested(MarksCellSchema))
    sheet_judge_ids = ma.fields.List(ma.fields.Integer())


class MarksJudgeRefSchema(ma.Schema):
    id = ma.fields.Integer()
    display_name = ma.fields.String()


class MarksAspectRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    judges_required = ma.fields.Integer()
    scale_min = ma.fields.String()
    scale_max = ma.fields.String()
    scale_step = ma.fields.String()
    divergence_threshold = ma.fields.String(allow_none=True, metadata={
        "description": "A spread of the counted marks above this is flagged; null: never flagged."})


class MarksCompletenessSchema(ma.Schema):
    module_id = ma.fields.Integer()
    locked_at = ma.fields.DateTime(allow_none=True)
    locked_by_id = ma.fields.Integer(allow_none=True)
    chief_judge_id = ma.fields.Integer(allow_none=True)
    judges = ma.fields.List(ma.fields.Nested(MarksJudgeRefSchema))
    aspects = ma.fields.List(ma.fields.Nested(MarksAspectRefSchema))
    entries = ma.fields.List(ma.fields.Nested(MarksEntryRowSchema))
    missing = ma.fields.Integer()
    unconfirmed = ma.fields.Integer()
    open_divergences = ma.fields.Integer()
    can_lock = ma.fields.Boolean()
    lock_problems = ma.fields.Dict()


class MarksDivergenceDecisionSchema(ma.Schema):
    code = Text(required=True, validate=ma.validate.Length(min=1, max=64))
    aspect_id = Int(required=True, strict=True)
    decision = Text(required=True, validate=ma.validate.OneOf(["remark", "accepted"]))
    reason = Text(multiline=True, load_default="", validate=ma.validate.Length(max=2000),
                              metadata={"description": "Required when accepting."})


class MarksDivergenceResultSchema(ma.Schema):
    code = ma.fields.String()
    aspect_id = ma.fields.Integer()
    decision = ma.fields.String()
    reason = ma.fields.String()
    decided_by_id = ma.fields.Integer()
    decided_at = ma.fields.DateTime()


class MarksChiefChangeSchema(ma.Schema):
    code = Text(required=True, validate=ma.validate.Length(min=1, max=64))
    aspect_id = Int(required=True, strict=True)
    judge_id = Int(required=True, strict=True)
    value = ma.fields.Raw(required=True, allow_none=True, metadata=VALUE_DOC)
    reason = Text(multiline=True, required=True, validate=ma.validate.Length(max=2000))


class MarksLockResultSchema(ma.Schema):
    module_id = ma.fields.Integer()
    locked_at = ma.fields.DateTime()
    locked_by_id = ma.fields.Integer()


class MarksJudgeStatsQuerySchema(ma.Schema):
    relative = ma.fields.Boolean(load_default=False, metadata={
        "description": "Divide each deviation by the aspect's scale range (aspects on different scales weigh alike)."})


class MarksJudgeStatSchema(ma.Schema):
    judge_id = ma.fields.Integer()
    display_name = ma.fields.String()
    marks = ma.fields.Integer()
    compared = ma.fields.Integer(metadata={"description": "Marks in cells with at least two marks."})
    leniency = ma.fields.String(allow_none=True, metadata={
        "description": "Mean signed deviation from the panel median (> 0 lenient, < 0 severe), 4 decimals."})
    mean_abs_deviation = ma.fields.String(allow_none=True)
    divergences = ma.fields.Integer()


class MarksJudgeStatsSchema(ma.Schema):
    module_id = ma.fields.Integer()
    relative = ma.fields.Boolean()
    judges = ma.fields.List(ma.fields.Nested(MarksJudgeStatSchema))
