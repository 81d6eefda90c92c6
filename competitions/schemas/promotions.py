"""Marshmallow schemas of the promotion-decision API (竞赛晋级): recommendations of the latest published results
version with the organizer's decision, and the body of a decision."""

from __future__ import annotations

import marshmallow as ma

from app.fields import Text


class PromotionDecideSchema(ma.Schema):
    decision = Text(required=True, validate=ma.validate.OneOf(["confirmed", "declined"]),
                                metadata={"description": "confirmed | declined"})
    note = Text(multiline=True, load_default="", validate=ma.validate.Length(max=2000),
                            metadata={"description": "The reason; required when declining (422 otherwise)."})


class PromotionDecisionSchema(ma.Schema):
    decision = ma.fields.String(metadata={"description": "confirmed | declined"})
    label = ma.fields.String()
    note = ma.fields.String()
    version = ma.fields.Integer(metadata={"description": "The results version the decision was made on."})
    decided_by = ma.fields.String(allow_none=True)
    decided_at = ma.fields.DateTime()
    stale = ma.fields.Boolean(metadata={"description": "Made on an older version than the latest."})
    changed = ma.fields.Boolean(metadata={"description": "The latest version recommends something else: the "
                                                         "decision no longer counts until decided again."})
    recommended_level = ma.fields.Integer(allow_none=True, metadata={"description": "The level decided on."})
    recommended_level_label = ma.fields.String(allow_none=True)


class PromotionRowSchema(ma.Schema):
    entry_id = ma.fields.Integer()
    code = ma.fields.String(allow_none=True)
    rank = ma.fields.Integer(allow_none=True)
    name = ma.fields.String(allow_none=True)
    enterprise_name = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(metadata={"description": "promote | title_only | level_unknown"})
    current_level = ma.fields.Integer(allow_none=True, metadata={"description": "1 (highest) … 5"})
    current_level_label = ma.fields.String(allow_none=True)
    recommended_level = ma.fields.Integer(allow_none=True)
    recommended_level_label = ma.fields.String(allow_none=True)
    title = ma.fields.String(allow_none=True, metadata={"description": "Honour code, e.g. national_technical_expert"})
    title_label = ma.fields.String(allow_none=True)
    decision = ma.fields.Nested(PromotionDecisionSchema, allow_none=True)


class PromotionListSchema(ma.Schema):
    competition_id = ma.fields.Integer()
    version = ma.fields.Integer(allow_none=True, metadata={"description": "Latest published version; null before "
                                                                          "publication."})
    promotions = ma.fields.List(ma.fields.Nested(PromotionRowSchema))
