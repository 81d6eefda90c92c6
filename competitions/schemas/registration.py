"""Schemas of the registration API: entries, decisions, quotas, the registration file and the draw."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from app.api import PageQuerySchema
from app.fields import Int, List, Text

ENTRY_STATUSES = ("registered", "approved", "rejected", "withdrawn")


class RegistrationEntryQuerySchema(PageQuerySchema):
    status = Text(load_default=None, validate=ma.validate.OneOf(ENTRY_STATUSES))
    enterprise_id = Int(load_default=None)


class RegistrationEnterpriseRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class RegistrationWorkerRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    id_last4 = ma.fields.String(metadata={"description": "Last 4 characters of the ID number (never the full number)."})


class RegistrationEntrySchema(ma.Schema):
    id = ma.fields.Integer()
    competition_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "registered | approved | rejected | withdrawn"})
    status_label = ma.fields.String()
    worker = ma.fields.Nested(RegistrationWorkerRefSchema)
    enterprise = ma.fields.Nested(RegistrationEnterpriseRefSchema)
    code = ma.fields.String(allow_none=True, metadata={
        "description": "Entrant code from the draw; shown to organizers, to HR only after decoding."})
    module_codes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), metadata={
        "description": "Module id → second code (二次加密); organizers only."})
    registered_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)


class RegistrationEntryPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(RegistrationEntrySchema))
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


class RegistrationRequestSchema(ma.Schema):
    worker_ids = List(Int(strict=True), required=True,
                                validate=ma.validate.Length(min=1, max=5000),
                                metadata={"description": "Active workers of your enterprises; all or none are registered."})


class RegistrationDecisionSchema(ma.Schema):
    entry_ids = List(Int(strict=True), required=True, validate=ma.validate.Length(min=1, max=5000))
    decision = Text(required=True, validate=ma.validate.OneOf(["approve", "reject"]))
    reason = Text(multiline=True, load_default="", validate=ma.validate.Length(max=2000))


class RegistrationEntryDecisionSchema(ma.Schema):
    decision = Text(required=True, validate=ma.validate.OneOf(["approve", "reject"]))
    reason = Text(multiline=True, load_default="", validate=ma.validate.Length(max=2000))


class RegistrationFileQuerySchema(ma.Schema):
    dry_run = ma.fields.Boolean(load_default=False, metadata={
        "description": "1: only check the file and return the preview; nothing is written."})


class RegistrationFileUploadSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    file = Upload(required=True, metadata={
        "description": "XLSX or CSV with a header row: 证件号码 (required), 证件类型 and 姓名 (optional; a name must "
                       "match the worker)."})


class RegistrationFileErrorSchema(ma.Schema):
    row = ma.fields.Integer(allow_none=True, metadata={"description": "Row as the spreadsheet shows it; null for "
                                                                      "the whole file (quota)."})
    column = ma.fields.String()
    code = ma.fields.String(metadata={"description": "e.g. check, not_found, name_mismatch, duplicate, "
                                                     "already_registered, quota_exceeded"})
    message = ma.fields.String()


class RegistrationFileRowSchema(ma.Schema):
    row = ma.fields.Integer()
    worker_id = ma.fields.Integer()
    name = ma.fields.String()


class RegistrationFileResultSchema(ma.Schema):
    dry_run = ma.fields.Boolean()
    row_count = ma.fields.Integer()
    valid_count = ma.fields.Integer()
    rows = ma.fields.List(ma.fields.Nested(RegistrationFileRowSchema))
    errors = ma.fields.List(ma.fields.Nested(RegistrationFileErrorSchema))
    entries = ma.fields.List(ma.fields.Nested(RegistrationEntrySchema))


class RegistrationQuotaSchema(ma.Schema):
    enterprise_id = Int(required=True, strict=True)
    enterprise_name = Text(dump_only=True)
    max_entries = Int(required=True, strict=True, validate=ma.validate.Range(min=0, max=100_000))
    used = Int(dump_only=True, metadata={"description": "Registered and approved entries."})


class RegistrationQuotasSchema(ma.Schema):
    quotas = List(ma.fields.Nested(RegistrationQuotaSchema), required=True, validate=ma.validate.Length(max=10_000))


class RegistrationQuotaStateSchema(ma.Schema):
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.String()
    max_entries = ma.fields.Integer(allow_none=True, metadata={"description": "null: no limit."})
    used = ma.fields.Integer(metadata={"description": "Registered and approved entries."})


class RegistrationQuotaStatesSchema(ma.Schema):
    quotas = ma.fields.List(ma.fields.Nested(RegistrationQuotaStateSchema))


class RegistrationDrawRequestSchema(ma.Schema):
    redraw = ma.fields.Boolean(load_default=False, metadata={
        "description": "Draw every code again (only while no mark has been entered)."})


class RegistrationDrawResultSchema(ma.Schema):
    competition_id = ma.fields.Integer()
    drawn = ma.fields.Integer(metadata={"description": "Approved entries that received a code."})
    module_codes = ma.fields.Integer(metadata={"description": "Second codes drawn (entries × modules), 0 if unused."})
    redraw = ma.fields.Boolean()
