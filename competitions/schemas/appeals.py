"""Schemas of the appeals API (申诉): filing, listing and deciding appeals (the full view for organizers and HR,
the blind view for chief judges), and publishing a correction."""

from __future__ import annotations

import marshmallow as ma

from app.fields import Int, Text

APPEAL_STATUSES = ("open", "upheld", "rejected")


class AppealQuerySchema(ma.Schema):
    status = Text(load_default=None, validate=ma.validate.OneOf(APPEAL_STATUSES))


class AppealRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class AppealSchema(ma.Schema):
    id = ma.fields.Integer()
    competition_id = ma.fields.Integer()
    entry_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "open | upheld | rejected"})
    status_label = ma.fields.String()
    worker = ma.fields.Nested(AppealRefSchema)
    enterprise = ma.fields.Nested(AppealRefSchema)
    code = ma.fields.String(allow_none=True, metadata={
        "description": "Entrant code; organizers see it, HR only after decoding."})
    module = ma.fields.Nested(AppealRefSchema)
    text = ma.fields.String()
    filed_at = ma.fields.DateTime()
    filed_by = ma.fields.String()
    decision = ma.fields.String(metadata={
        "description": "The note (uphold) or reason (reject) of the organizer or chief judge who decided."})
    decided_at = ma.fields.DateTime(allow_none=True)
    decided_by = ma.fields.String(allow_none=True)
    next_step = ma.fields.String(allow_none=True, metadata={
        "description": "After upholding: publish_correction (results published: publish a corrected version with "
                       "POST …/appeals/<id>/correction or …/results/publish) or correct_marks (before publication)."})


class AppealListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AppealSchema))


class AppealFileSchema(ma.Schema):
    entry_id = Int(required=True, strict=True)
    module_id = Int(required=True, strict=True)
    text = Text(multiline=True, required=True, validate=ma.validate.Length(min=1, max=5000), metadata={
        "description": "What the appeal is about (in writing, as the rules require)."})


class AppealDecisionSchema(ma.Schema):
    decision = Text(required=True, validate=ma.validate.OneOf(["uphold", "reject"]))
    note = Text(multiline=True, required=True, validate=ma.validate.Length(min=1, max=2000), metadata={
        "description": "Uphold: what will be corrected. Reject: the reason."})


class AppealCorrectionSchema(ma.Schema):
    reason = Text(multiline=True, load_default="", validate=ma.validate.Length(max=2000), metadata={
        "description": "The correction's reason; empty: «Appeal <id> upheld: <note>»."})


class AppealCorrectionResultSchema(ma.Schema):
    appeal_id = ma.fields.Integer()
    version = ma.fields.Integer()
    reason = ma.fields.String()
    published_at = ma.fields.DateTime()


class ChiefAppealSchema(ma.Schema):
    """An appeal as the chief judge of its module sees it (blind coding): the entrant code of the module, no
    worker, enterprise, worker or entry id, and not who filed it."""

    id = ma.fields.Integer()
    competition_id = ma.fields.Integer()
    module_id = ma.fields.Integer()
    module_name = ma.fields.String()
    code = ma.fields.String(allow_none=True, metadata={
        "description": "The entrant code judges see in this module (the module code with 二次加密)."})
    status = ma.fields.String(metadata={"description": "open | upheld | rejected"})
    status_label = ma.fields.String()
    text = ma.fields.String()
    filed_at = ma.fields.DateTime()
    decision = ma.fields.String(metadata={"description": "The note (uphold) or reason (reject) of whoever decided."})
    decided_at = ma.fields.DateTime(allow_none=True)
    decided_by = ma.fields.String(allow_none=True)
    next_step = ma.fields.String(allow_none=True, metadata={
        "description": "After upholding: correct_marks (the chief judge corrects the marks after the lock) or "
                       "publish_correction (results published: correct the marks, then the organizer publishes a "
                       "corrected version)."})


class ChiefAppealListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ChiefAppealSchema))
