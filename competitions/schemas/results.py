"""Marshmallow schemas of the results and board API. Totals are 2-decimal strings (half-up); ``*_exact`` are the
exact values ranking compares ("253/3"). Identity fields (name, enterprise, worker id, entry id) appear only in the
organizer's view after decoding."""

from __future__ import annotations

import marshmallow as ma

from app.fields import Text


class ResultsPublishSchema(ma.Schema):
    reason = Text(multiline=True, load_default="", validate=ma.validate.Length(max=2000),
                              metadata={"description": "Required for a correction (a second or later version)."})


class ResultsModuleHeadSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    weight = ma.fields.String(allow_none=True)
    locked = ma.fields.Boolean()


class ResultsModuleScoreSchema(ma.Schema):
    module_id = ma.fields.Integer()
    score = ma.fields.String(allow_none=True)
    contribution = ma.fields.String(allow_none=True)
    score_exact = ma.fields.String(allow_none=True)


class ResultsAwardSchema(ma.Schema):
    code = ma.fields.String()
    label = ma.fields.String()


class ResultsPromotionSchema(ma.Schema):
    outcome = ma.fields.String()
    current_level = ma.fields.Integer(allow_none=True)
    recommended_level = ma.fields.Integer(allow_none=True)
    title = ma.fields.String(allow_none=True)


class ResultsResultRowSchema(ma.Schema):
    code = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    rank = ma.fields.Integer(allow_none=True)
    shared = ma.fields.Boolean()
    total = ma.fields.String(allow_none=True)
    total_exact = ma.fields.String(allow_none=True)
    complete = ma.fields.Boolean()
    completion_seconds = ma.fields.Integer(allow_none=True)
    modules = ma.fields.List(ma.fields.Nested(ResultsModuleScoreSchema))
    awards = ma.fields.List(ma.fields.Nested(ResultsAwardSchema))
    promotion = ma.fields.Nested(ResultsPromotionSchema, allow_none=True)
    # after decoding only
    entry_id = ma.fields.Integer()
    worker_id = ma.fields.Integer()
    name = ma.fields.String()
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    publicity_consent = ma.fields.Boolean()


class ResultsSchema(ma.Schema):
    competition_id = ma.fields.Integer()
    decoded = ma.fields.Boolean()
    complete = ma.fields.Boolean()
    weighted = ma.fields.Boolean()
    modules = ma.fields.List(ma.fields.Nested(ResultsModuleHeadSchema))
    entries = ma.fields.List(ma.fields.Nested(ResultsResultRowSchema))


class ResultsDecodedSchema(ma.Schema):
    competition_id = ma.fields.Integer()
    decoded = ma.fields.Boolean()


class ResultsVersionSchema(ma.Schema):
    version = ma.fields.Integer()
    published_at = ma.fields.DateTime()
    published_by = ma.fields.String(allow_none=True)
    reason = ma.fields.String()


class ResultsVersionListSchema(ma.Schema):
    versions = ma.fields.List(ma.fields.Nested(ResultsVersionSchema))


class ResultsVersionDetailSchema(ResultsVersionSchema):
    modules = ma.fields.List(ma.fields.Nested(ResultsModuleHeadSchema))
    entries = ma.fields.List(ma.fields.Nested(ResultsResultRowSchema))


class ResultsPublicModuleScoreSchema(ma.Schema):
    module_id = ma.fields.Integer()
    score = ma.fields.String(allow_none=True)


class ResultsPublicModuleHeadSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String()
    weight = ma.fields.String(allow_none=True)


class ResultsPublicRowSchema(ma.Schema):
    code = ma.fields.String(allow_none=True)
    rank = ma.fields.Integer(allow_none=True)
    shared = ma.fields.Boolean()
    status = ma.fields.String()
    total = ma.fields.String(allow_none=True)
    name = ma.fields.String(metadata={"description": "Full name with publicity consent, masked otherwise."})
    name_masked = ma.fields.Boolean()
    enterprise_name = ma.fields.String(allow_none=True, metadata={"description": "Only with consent."})
    modules = ma.fields.List(ma.fields.Nested(ResultsPublicModuleScoreSchema))
    awards = ma.fields.List(ma.fields.Nested(ResultsAwardSchema))


class ResultsCompetitionHeadSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    level = ma.fields.String()


class ResultsPublishedResultsSchema(ma.Schema):
    competition = ma.fields.Nested(ResultsCompetitionHeadSchema)
    version = ma.fields.Integer()
    published_at = ma.fields.DateTime()
    corrected = ma.fields.Boolean()
    reason = ma.fields.String()
    modules = ma.fields.List(ma.fields.Nested(ResultsPublicModuleHeadSchema))
    entries = ma.fields.List(ma.fields.Nested(ResultsPublicRowSchema))
