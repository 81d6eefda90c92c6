"""Schemas of the transfers API. A transfer's output is what its reader may see (``services.view``): the requesting
side gets back what it typed (the name as typed, the masked number) and its own enterprise, never the person's
current employer or record until the transfer is confirmed."""

from __future__ import annotations

import marshmallow as ma

from app.fields import Int, Text
from app.people.models import IdType
from app.people.schemas import REQUIRED

_ID_TYPES = [t.value for t in IdType]


class TransferRequestSchema(ma.Schema):
    enterprise_id = Int(allow_none=True,
                                      metadata={"description": "Your enterprise that takes the person over; required "
                                                               "when you are HR of several"})
    id_type = Text(load_default=IdType.RESIDENT.value, metadata={"description": f"One of {', '.join(_ID_TYPES)}"})
    id_number = Text(required=True, load_only=True, error_messages=REQUIRED,
                                 metadata={"description": "Write only; never returned"})
    name = Text(required=True, error_messages=REQUIRED,
                            metadata={"description": "The full name, checked against the record"})


class TransferSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "pending | confirmed | declined | cancelled"})
    name = ma.fields.String(metadata={"description": "The requesting side: the name as typed; the worker and the "
                                                     "current employer's HR: the worker's name"})
    id_masked = ma.fields.String()
    to_enterprise_id = ma.fields.Integer()
    to_enterprise_name = ma.fields.String()
    from_enterprise_id = ma.fields.Integer(allow_none=True, metadata={"description": "Null for the requesting side"})
    from_enterprise_name = ma.fields.String(allow_none=True)
    worker_id = ma.fields.Integer(allow_none=True, metadata={"description": "Set when you may open the worker's record"})
    requested_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    can_decide = ma.fields.Boolean(metadata={"description": "You may confirm or decline it"})
    can_cancel = ma.fields.Boolean(metadata={"description": "You may cancel it"})


class TransferListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TransferSchema))
