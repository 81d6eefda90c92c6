"""Marshmallow schemas for the workers, consents and trades API.

Worker output never carries an ID number: only ``id_masked`` (built from the last four characters).
List items carry masked names and mobiles; the detail (HR of the worker's own enterprise) carries the
full name but still the masked mobile. Input schemas only check types; the service checks every rule
and answers 422 with translated messages per field.
"""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from app.api import PageQuerySchema
from app.fields import Int, Text
from app.people.domain import mask_id, mask_mobile, mask_name
from app.people.models import ConsentPurpose, IdType


class PageSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


class TradeRefSchema(ma.Schema):
    id = ma.fields.Integer()
    code = ma.fields.String()
    name = ma.fields.String()


class WorkerListItemSchema(ma.Schema):
    id = ma.fields.Integer()
    enterprise_id = ma.fields.Integer()
    enterprise_name = ma.fields.Function(lambda w: w.enterprise.name)
    name_masked = ma.fields.Function(lambda w: mask_name(w.name), metadata={"description": "张帅坤 → 张*坤"})
    gender = ma.fields.String(allow_none=True, metadata={"description": "M or F"})
    id_type = ma.fields.String()
    id_masked = ma.fields.Function(lambda w: mask_id(w.id_last4, w.id_type),
                                   metadata={"description": "Only the last 4 characters"})
    mobile_masked = ma.fields.Function(lambda w: mask_mobile(w.mobile) if w.mobile else None, allow_none=True)
    trade = ma.fields.Nested(TradeRefSchema, allow_none=True)
    skill_level = ma.fields.Integer(allow_none=True, metadata={"description": "5 (junior worker) … 1 (senior technician)"})
    is_active = ma.fields.Boolean()
    publicity_consent = ma.fields.Function(lambda w: w.publicity_consent_at is not None)
    talent_pool_consent = ma.fields.Function(lambda w: w.talent_pool_consent_at is not None)


class WorkerSchema(WorkerListItemSchema):
    name = ma.fields.String(metadata={"description": "Full name (HR of the worker's enterprise only)"})
    birth_date = ma.fields.Date(allow_none=True)
    publicity_consent_at = ma.fields.DateTime(allow_none=True)
    talent_pool_consent_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class WorkerPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(WorkerListItemSchema))


class WorkerQuerySchema(PageQuerySchema):
    enterprise_id = Int(load_default=None, allow_none=True,
                                      metadata={"description": "One of your HR enterprises; default: all of them"})
    q = Text(load_default="", metadata={"description": "Name, mobile, last 4 of the ID (or the whole ID), trade"})
    status = Text(load_default="active", validate=ma.validate.OneOf(["active", "inactive", "all"]))
    trade_id = Int(load_default=None, allow_none=True)


_ID_TYPES = [t.value for t in IdType]
REQUIRED = {"required": _l("This field is required.")}


class WorkerPatchSchema(ma.Schema):
    name = Text()
    gender = Text(allow_none=True, metadata={"description": "M or F; empty: read from a resident ID number"})
    birth_date = ma.fields.Date(allow_none=True, metadata={"description": "Empty: read from a resident ID number"})
    id_type = Text(metadata={"description": f"One of {', '.join(_ID_TYPES)}"})
    id_number = Text(load_only=True, allow_none=True,
                                 metadata={"description": "Write only; never returned. On PATCH, leave out to keep."})
    mobile = Text(allow_none=True, metadata={"description": "11 digits starting 13–19; null removes it"})
    trade_id = Int(allow_none=True)
    skill_level = Int(allow_none=True, metadata={"description": "1 (highest) … 5"})


class WorkerCreateSchema(WorkerPatchSchema):
    enterprise_id = Int(allow_none=True,
                                      metadata={"description": "Required when you are HR of several enterprises"})
    name = Text(required=True, error_messages=REQUIRED)
    id_type = Text(load_default=IdType.RESIDENT.value, metadata={"description": f"One of {', '.join(_ID_TYPES)}"})
    id_number = Text(required=True, load_only=True, error_messages=REQUIRED,
                                 metadata={"description": "Write only; never returned"})
    trade_id = Int(required=True, error_messages=REQUIRED)


class ConsentStateSchema(ma.Schema):
    granted = ma.fields.Boolean()
    at = ma.fields.DateTime(allow_none=True, metadata={"description": "When it was given; null when not given"})


class ConsentRowSchema(ma.Schema):
    purpose = ma.fields.String()
    scope = ma.fields.String(metadata={"description": "\"all\", or the one context it is narrowed to (e.g. competition:42)"})
    is_granted = ma.fields.Boolean()
    at = ma.fields.DateTime()
    notice_version = ma.fields.String(metadata={"description": "The version of the explanation the worker was shown"})


class ConsentsSchema(ma.Schema):
    publicity = ma.fields.Nested(ConsentStateSchema)
    talent_pool = ma.fields.Nested(ConsentStateSchema)
    history = ma.fields.List(ma.fields.Nested(ConsentRowSchema))


class ConsentsUpdateSchema(ma.Schema):
    publicity = ma.fields.Boolean(metadata={"description": "Name on public results"})
    talent_pool = ma.fields.Boolean(metadata={"description": "Anonymized profile visible to other enterprises"})


assert {f for f in ConsentsUpdateSchema().fields} == {p.value for p in ConsentPurpose}


class TradeSchema(ma.Schema):
    id = Int(dump_only=True)
    code = Text(required=True, error_messages=REQUIRED,
                            metadata={"description": "National occupational code, e.g. 6-31-01-03"})
    name = Text(required=True, error_messages=REQUIRED)
    is_active = ma.fields.Boolean(dump_only=True)


class TradePatchSchema(ma.Schema):
    code = Text()
    name = Text()
    is_active = ma.fields.Boolean(metadata={"description": "false deactivates, true reactivates (never deleted)"})


class TradeQuerySchema(PageQuerySchema):
    q = Text(load_default="", metadata={"description": "Search in code and name"})
    status = Text(load_default="active", validate=ma.validate.OneOf(["active", "inactive", "all"]))


class TradePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(TradeSchema))
