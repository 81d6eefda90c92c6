"""Marshmallow schemas of the worker import API (multipart upload in, preview/summary out)."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from app.fields import Int, Text


class UploadFileSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    file = Upload(required=True, metadata={"description": "The worker file: XLSX, or CSV in UTF-8, GBK or GB18030."})


class UploadFormSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    enterprise_id = Int(load_default=None, allow_none=True,
                                      metadata={"description": "Needed when the user is HR of several enterprises."})


class ImportErrorSchema(ma.Schema):
    row = ma.fields.Integer(metadata={"description": "Row number as the spreadsheet shows it (the header is row 1)."})
    column = ma.fields.String(metadata={"description": "name, gender, birth_date, id_type, id_number, mobile, trade, "
                                                       "skill_level"})
    code = ma.fields.String(metadata={"description": "Stable reason code, e.g. check, format, unknown, duplicate, "
                                                     "registered_here, registered_elsewhere, formula."})
    message = ma.fields.String(metadata={"description": "Translated message (Accept-Language / lang cookie)."})
    value = ma.fields.String(metadata={"description": "The offending value as in the file (never an ID number)."})


class ImportSchema(ma.Schema):
    id = ma.fields.String()
    enterprise_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "preview | confirmed | discarded"})
    filename = ma.fields.String()
    file_format = ma.fields.String(metadata={"description": "xlsx | csv"})
    encoding = ma.fields.String(allow_none=True, metadata={"description": "Detected CSV encoding: UTF-8, UTF-8-BOM, "
                                                                          "UTF-16, GBK or GB18030."})
    row_count = ma.fields.Integer()
    valid_count = ma.fields.Integer()
    error_row_count = ma.fields.Integer()
    error_count = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    confirmed_at = ma.fields.DateTime(allow_none=True)
    errors = ma.fields.List(ma.fields.Nested(ImportErrorSchema))


class ErrorFileQuerySchema(ma.Schema):
    format = Text(load_default="csv", validate=ma.validate.OneOf(["csv", "xlsx"]))
