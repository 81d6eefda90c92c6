"""Marshmallow schemas for the enterprises and industry chains API."""

from __future__ import annotations

import marshmallow as ma

from app.api import PageQuerySchema
from app.fields import Int, List, Text


class ChainRefSchema(ma.Schema):
    id = Int()
    name = Text()


class EnterpriseRefSchema(ma.Schema):
    id = Int()
    name = Text()
    is_active = ma.fields.Boolean()


class EnterpriseSchema(ma.Schema):
    id = Int(dump_only=True)
    name = Text(required=True, validate=ma.validate.Length(min=1, max=128))
    uscc = Text(required=True, metadata={"description": "统一社会信用代码: 18 characters, GB 32100 check character"})
    region = Text(load_default="", validate=ma.validate.Length(max=64))
    is_active = ma.fields.Boolean(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    chains = ma.fields.List(ma.fields.Nested(ChainRefSchema), dump_only=True)
    active_workers = Int(dump_only=True, metadata={"description": "Number of active workers"})


class EnterprisePatchSchema(ma.Schema):
    name = Text(validate=ma.validate.Length(min=1, max=128))
    uscc = Text()
    region = Text(validate=ma.validate.Length(max=64))
    is_active = ma.fields.Boolean(metadata={"description": "false deactivates, true reactivates (never deleted)"})


class EnterpriseQuerySchema(PageQuerySchema):
    q = Text(load_default="", metadata={"description": "Search in name, USCC and region"})
    is_active = ma.fields.Boolean(load_default=None, allow_none=True)


class PageSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


class EnterprisePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(EnterpriseSchema))


class ChainSchema(ma.Schema):
    id = Int(dump_only=True)
    name = Text(required=True, validate=ma.validate.Length(min=1, max=128))
    description = Text(multiline=True, load_default="", validate=ma.validate.Length(max=2000))
    created_at = ma.fields.DateTime(dump_only=True)
    members = ma.fields.List(ma.fields.Nested(EnterpriseRefSchema), dump_only=True)


class ChainPatchSchema(ma.Schema):
    name = Text(validate=ma.validate.Length(min=1, max=128))
    description = Text(multiline=True, validate=ma.validate.Length(max=2000))


class ChainQuerySchema(PageQuerySchema):
    q = Text(load_default="", metadata={"description": "Search in name and description"})


class ChainPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ChainSchema))


class MembersSchema(ma.Schema):
    enterprise_ids = List(Int(strict=True), required=True, max_items=10_000,
                                    metadata={"description": "The complete list of member enterprise ids"})
