"""Marshmallow schemas for the enterprises and industry chains API."""

from __future__ import annotations

import marshmallow as ma

from app.api import PageQuerySchema


class ChainRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class EnterpriseRefSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    is_active = ma.fields.Boolean()


class EnterpriseSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))
    uscc = ma.fields.String(required=True, metadata={"description": "统一社会信用代码: 18 characters, GB 32100 check character"})
    region = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))
    is_active = ma.fields.Boolean(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    chains = ma.fields.List(ma.fields.Nested(ChainRefSchema), dump_only=True)
    active_workers = ma.fields.Integer(dump_only=True, metadata={"description": "Number of active workers"})


class EnterprisePatchSchema(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=128))
    uscc = ma.fields.String()
    region = ma.fields.String(validate=ma.validate.Length(max=64))
    is_active = ma.fields.Boolean(metadata={"description": "false deactivates, true reactivates (never deleted)"})


class EnterpriseQuerySchema(PageQuerySchema):
    q = ma.fields.String(load_default="", metadata={"description": "Search in name, USCC and region"})
    is_active = ma.fields.Boolean(load_default=None, allow_none=True)


class PageSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


class EnterprisePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(EnterpriseSchema))


class ChainSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=2000))
    created_at = ma.fields.DateTime(dump_only=True)
    members = ma.fields.List(ma.fields.Nested(EnterpriseRefSchema), dump_only=True)


class ChainPatchSchema(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=128))
    description = ma.fields.String(validate=ma.validate.Length(max=2000))


class ChainQuerySchema(PageQuerySchema):
    q = ma.fields.String(load_default="", metadata={"description": "Search in name and description"})


class ChainPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ChainSchema))


class MembersSchema(ma.Schema):
    enterprise_ids = ma.fields.List(ma.fields.Integer(strict=True), required=True,
                                    metadata={"description": "The complete list of member enterprise ids"})
