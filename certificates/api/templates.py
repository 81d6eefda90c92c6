"""JSON API of certificate templates under /api/v1/certificate-templates (the same rules as the pages).

The seal travels as standard base64 in ``seal_png_base64`` (``null`` removes it; absent keeps the previous
version's). Validation problems are 422 with ``details = {field: [messages]}``; changing a version that
certificates use is 409.
"""

from __future__ import annotations

import base64
import binascii
from functools import wraps

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
from app.errors import DomainError
from app.fields import Int, List, Text
from certificates.pdf import BORDER_STYLES
from certificates.services import render
from certificates.services import templates as services

blp = Blueprint("certificates_templates_api", __name__, url_prefix="/api/v1",
                description="Certificates: templates (versioned, with PDF preview)")

STAFF = (Role.ORGANIZER, Role.ADMIN, Role.HR)


class SignatorySchema(ma.Schema):
    title = Text(load_default="")
    name = Text(required=True)


class VersionSchema(ma.Schema):
    version = ma.fields.Integer()
    title = ma.fields.String()
    body = ma.fields.String()
    issuer_name = ma.fields.String()
    signatories = ma.fields.List(ma.fields.Nested(SignatorySchema))
    primary_color = ma.fields.String()
    border_style = ma.fields.String()
    validity_months = ma.fields.Integer(allow_none=True)
    seal_sha256 = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class TemplateSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String()
    enterprise_id = ma.fields.Integer(allow_none=True)
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    versions = ma.fields.List(ma.fields.Nested(VersionSchema))
    can_manage = ma.fields.Method("_can_manage")

    def _can_manage(self, template) -> bool:
        return services.can_manage(current_user, template)


class TemplateQuerySchema(ma.Schema):
    kind = Text(validate=ma.validate.OneOf(list(services.KIND_LABELS)))
    active = ma.fields.Boolean()


class ContentInSchema(ma.Schema):
    """Validated by the service (all problems at once); here only the JSON types."""

    title = Text(required=True)
    body = Text(multiline=True, required=True)
    issuer_name = Text(required=True)
    signatories = List(ma.fields.Nested(SignatorySchema), load_default=list, max_items=20)
    primary_color = Text(load_default=services.DEFAULT_COLOR)
    border_style = Text(load_default=services.DEFAULT_BORDER,
                                    metadata={"enum": list(BORDER_STYLES)})
    validity_months = Int(allow_none=True, load_default=None, strict=True)
    seal_png_base64 = Text(allow_none=True, metadata={
        "description": "The seal PNG, base64; null removes it; absent keeps the previous version's"})


class TemplateCreateSchema(ContentInSchema):
    kind = Text(required=True, validate=ma.validate.OneOf(list(services.KIND_LABELS)))
    name = Text(required=True)
    enterprise_id = Int(allow_none=True, load_default=None,
                                      metadata={"description": "null: union-wide (organizers); else your enterprise"})


class TemplatePatchSchema(ma.Schema):
    name = Text()
    is_active = ma.fields.Boolean()


def template_in_scope(view):
    """Answer 404 for a template the user cannot see before the body is parsed (else another enterprise's HR
    would learn from a 422 that the template exists)."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        services.get_template(current_user, kwargs["template_id"])
        return view(*args, **kwargs)

    return wrapped


def _seal(data: dict, absent=services.KEEP):
    if "seal_png_base64" not in data:
        return absent
    value = data.pop("seal_png_base64")
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        message = _("The seal must be base64-encoded PNG data.")
        raise DomainError(message, code="invalid_seal", status=422, details={"seal": [message]}) from None


def _content(data: dict) -> dict:
    data = dict(data)
    data.pop("seal_png_base64", None)
    return data


@blp.route("/certificate-templates")
class Templates(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(TemplateQuerySchema, location="query")
    @blp.response(200, TemplateSchema(many=True))
    def get(self, args):
        """Templates you can see (organizers/admins: all; HR: union-wide and your enterprise's), versions included"""
        templates = services.list_templates(current_user, args.get("kind"))
        if "active" in args:
            templates = [t for t in templates if t.is_active == args["active"]]
        return templates

    @roles_required(*STAFF)
    @blp.arguments(TemplateCreateSchema)
    @blp.response(201, TemplateSchema)
    @blp.alt_response(422, description="Invalid fields (details: {field: [messages]})")
    @blp.alt_response(409, description="A template of this kind with this name exists in this scope")
    def post(self, data):
        """Create a template with its version 1"""
        seal = _seal(data, absent=None)
        kind, name, enterprise_id = data.pop("kind"), data.pop("name"), data.pop("enterprise_id")
        return services.create_template(current_user, kind=kind, name=name, enterprise_id=enterprise_id, seal=seal,
                                        **_content(data))


@blp.route("/certificate-templates/<int:template_id>")
class TemplateItem(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, TemplateSchema)
    def get(self, template_id: int):
        """One template with its versions"""
        return services.get_template(current_user, template_id)

    @roles_required(*STAFF)
    @template_in_scope
    @blp.arguments(TemplatePatchSchema)
    @blp.response(200, TemplateSchema)
    def patch(self, data, template_id: int):
        """Rename, deactivate or reactivate"""
        template = services.get_managed_template(current_user, template_id)
        return services.update_template(current_user, template, name=data.get("name"), is_active=data.get("is_active"))


@blp.route("/certificate-templates/<int:template_id>/versions")
class Versions(MethodView):
    @roles_required(*STAFF)
    @template_in_scope
    @blp.arguments(ContentInSchema)
    @blp.response(201, VersionSchema)
    @blp.alt_response(422, description="Invalid fields (details: {field: [messages]})")
    def post(self, data, template_id: int):
        """Add version n+1 (the seal is kept unless seal_png_base64 is given)"""
        template = services.get_managed_template(current_user, template_id)
        return services.add_version(current_user, template, seal=_seal(data), **_content(data))


@blp.route("/certificate-templates/<int:template_id>/versions/<int:version>")
class VersionItem(MethodView):
    @roles_required(*STAFF)
    @blp.response(200, VersionSchema)
    def get(self, template_id: int, version: int):
        """One version"""
        return services.get_version(services.get_template(current_user, template_id), version)

    @roles_required(*STAFF)
    @template_in_scope
    @blp.arguments(ContentInSchema)
    @blp.response(200, VersionSchema)
    @blp.alt_response(409, description="Not the latest version, or certificates use it (add a version instead)")
    def put(self, data, template_id: int, version: int):
        """Correct the latest version while no certificate uses it"""
        template = services.get_managed_template(current_user, template_id)
        return services.update_version(current_user, template, version, seal=_seal(data), **_content(data))


@blp.route("/certificate-templates/<int:template_id>/versions/<int:version>/preview")
class VersionPreview(MethodView):
    @roles_required(*STAFF)
    @blp.doc(responses={"200": {"description": "A PDF with sample data, marked 样张 SPECIMEN",
                                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
    def get(self, template_id: int, version: int):
        """Preview the version as a real PDF with sample data"""
        template = services.get_template(current_user, template_id)
        data = services.preview_pdf(template, services.get_version(template, version))
        resp = Response(data, mimetype="application/pdf")
        resp.headers["Content-Disposition"] = render.content_disposition(
            f"{template.name}-v{version}-样张.pdf", inline=True)
        resp.headers["Cache-Control"] = "private, no-store"
        return resp
