"""Schemas of the judging API: the judge pool, panels, declared conflicts and a judge's assignments.

What a judge receives (``JudgingConflictSchema`` for judges, ``JudgingAssignmentSchema``) has no field for a worker,
an enterprise or an entry id: only entrant codes.
"""

from __future__ import annotations

import marshmallow as ma

from app.fields import Int, List, Text


class JudgingEnterpriseRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class JudgingJudgeSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()
    is_enabled = ma.fields.Boolean()
    enterprise = ma.fields.Nested(JudgingEnterpriseRefSchema, allow_none=True, metadata={
        "description": "The judge's enterprise, for conflict checks (own enterprise, same industry chain)."})


class JudgingJudgeProfileSchema(ma.Schema):
    enterprise_id = Int(required=True, allow_none=True, strict=True)


class JudgingPanelMemberSchema(ma.Schema):
    id = ma.fields.Integer()
    username = ma.fields.String()
    display_name = ma.fields.String()


class JudgingPanelSchema(ma.Schema):
    module_id = ma.fields.Integer()
    module_name = ma.fields.String()
    chief_judge_id = ma.fields.Integer(allow_none=True)
    judges = ma.fields.List(ma.fields.Nested(JudgingPanelMemberSchema))


class JudgingPanelsSchema(ma.Schema):
    panels = ma.fields.List(ma.fields.Nested(JudgingPanelSchema))


class JudgingPanelUpdateSchema(ma.Schema):
    judge_ids = List(Int(strict=True), required=True, validate=ma.validate.Length(max=200))
    chief_judge_id = Int(load_default=None, allow_none=True, strict=True, metadata={
        "description": "Must be one of judge_ids."})


class JudgingConflictCreateSchema(ma.Schema):
    judge_id = Int(load_default=None, allow_none=True, strict=True, metadata={
        "description": "Organizers: the judge. A judge declaring for themselves may leave it out."})
    entry_id = Int(load_default=None, allow_none=True, strict=True, metadata={
        "description": "Organizers only; otherwise name the entrant by code."})
    code = Text(load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=16), metadata={
        "description": "The entrant code (with module_id: the module's second code)."})
    module_id = Int(load_default=None, allow_none=True, strict=True)
    reason = Text(multiline=True, load_default="", validate=ma.validate.Length(max=2000))


class JudgingConflictDeleteQuerySchema(ma.Schema):
    judge_id = Int(required=True)
    entry_id = Int(required=True)


class JudgingConflictSchema(ma.Schema):
    """Organizers get judge and entry; a judge gets only the code and the reason."""

    id = ma.fields.Integer()
    judge_id = ma.fields.Integer()
    entry_id = ma.fields.Integer()
    code = ma.fields.String(allow_none=True, metadata={"description": "The entry code (judges: only without 二次加密)."})
    module_codes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), metadata={
        "description": "Module id → second code (judges: only modules of their panels)."})
    reason = ma.fields.String()
    created_at = ma.fields.DateTime()


class JudgingConflictsSchema(ma.Schema):
    conflicts = ma.fields.List(ma.fields.Nested(JudgingConflictSchema))


class JudgingAspectSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "M (measurement) | J (judgement)"})
    max_mark = ma.fields.String(metadata={"description": "Exact decimal as text, e.g. \"0.5\"."})
    scale_min = ma.fields.String(metadata={"description": "Exact decimal as text, e.g. \"0.5\"."})
    scale_max = ma.fields.String(metadata={"description": "Exact decimal as text, e.g. \"0.5\"."})
    scale_step = ma.fields.String(metadata={"description": "Exact decimal as text, e.g. \"0.5\"."})
    judges_required = ma.fields.Integer()
    level_words = ma.fields.List(ma.fields.String(), metadata={"description": "The words for each judgement level."})


class JudgingCriterionSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    aspects = ma.fields.List(ma.fields.Nested(JudgingAspectSchema))


class JudgingAssignmentSchema(ma.Schema):
    competition_id = ma.fields.Integer()
    competition_name = ma.fields.String()
    competition_status = ma.fields.String()
    module_id = ma.fields.Integer()
    module_name = ma.fields.String()
    module_kind = ma.fields.String()
    locked = ma.fields.Boolean()
    is_chief = ma.fields.Boolean()
    uses_module_codes = ma.fields.Boolean(metadata={"description": "True: codes are the module's second codes."})
    criteria = ma.fields.List(ma.fields.Nested(JudgingCriterionSchema))
    codes = ma.fields.List(ma.fields.String(), metadata={
        "description": "Entrant codes you may mark (conflicted entrants are left out), sorted."})


class JudgingAssignmentsSchema(ma.Schema):
    assignments = ma.fields.List(ma.fields.Nested(JudgingAssignmentSchema))
