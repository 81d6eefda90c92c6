"""JSON API of issued certificates: list, one, issue, revoke, supersede (``/api/v1/certificates``).

The same service calls as the HTML pages (certificates.services.issuance). Organizers/admins see and manage
every certificate; HR those of their enterprises' holders (another enterprise's certificate is 404); a worker
lists and reads their own. Issuing is idempotent: the same holder, subject and kind answers 200 with
``created: false`` and the live certificate (201 when a new one was issued).
"""

from __future__ import annotations

from functools import wraps

from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint, page_body
from app.auth import roles_required
from certificates.schemas import (
    CertificatePageSchema,
    CertificateQuerySchema,
    CertificateSchema,
    IssueResultSchema,
    IssueSchema,
    OpenBadgeSchema,
    RevokeSchema,
    SupersedeSchema,
)
from certificates.services import issuance, openbadge

blp = Blueprint("certificates_api", __name__, url_prefix="/api/v1", description="Issued certificates")

ISSUING_ROLES = (Role.ORGANIZER, Role.ADMIN, Role.HR)
READING_ROLES = (*ISSUING_ROLES, Role.WORKER)


def manageable_first(view):
    """Answer 404 for a certificate outside the actor's scope before the body is even parsed (no hint, from a
    422, that the certificate exists)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        issuance.get_manageable(current_user, kwargs["certificate_id"])
        return view(*args, **kwargs)

    return wrapped


@blp.route("/certificates")
class Certificates(MethodView):
    @roles_required(*READING_ROLES)
    @blp.arguments(CertificateQuerySchema, location="query")
    @blp.response(200, CertificatePageSchema)
    @blp.alt_response(403, description="Neither an issuer nor a worker")
    def get(self, args):
        """List the certificates you may see (newest first; masked names)"""
        return page_body(issuance.list_certificates(current_user, **args))

    @roles_required(*ISSUING_ROLES)
    @blp.arguments(IssueSchema)
    @blp.response(201, IssueResultSchema)
    @blp.alt_response(200, schema=IssueResultSchema, description="Already issued: the live certificate, created false")
    @blp.alt_response(404, description="No such worker in your scope")
    @blp.alt_response(422, description="Invalid fields (e.g. a character the certificate font cannot print), "
                                        "a message per field in details")
    def post(self, data):
        """Issue one certificate (idempotent per holder, subject and kind)"""
        result = issuance.issue_certificate(current_user, **data)
        return {"created": result.created, "certificate": result.certificate}, 201 if result.created else 200


@blp.route("/certificates/<int:certificate_id>")
class CertificateItem(MethodView):
    @roles_required(*READING_ROLES)
    @blp.response(200, CertificateSchema)
    @blp.alt_response(404, description="No such certificate in your scope")
    def get(self, certificate_id: int):
        """One certificate with its signed payload"""
        return issuance.get_certificate(current_user, certificate_id)


@blp.route("/certificates/<int:certificate_id>/revoke")
class CertificateRevoke(MethodView):
    @roles_required(*ISSUING_ROLES)
    @manageable_first
    @blp.arguments(RevokeSchema)
    @blp.response(200, CertificateSchema)
    @blp.alt_response(404, description="No such certificate in your scope")
    @blp.alt_response(409, description="Already revoked or superseded")
    def post(self, data, certificate_id: int):
        """Revoke a certificate with a reason (it is never deleted; verification then says revoked)"""
        return issuance.revoke_certificate(current_user, certificate_id, reason=data["reason"])


@blp.route("/certificates/<int:certificate_id>/supersede")
class CertificateSupersede(MethodView):
    @roles_required(*ISSUING_ROLES)
    @manageable_first
    @blp.arguments(SupersedeSchema)
    @blp.response(201, CertificateSchema)
    @blp.alt_response(404, description="No such certificate in your scope")
    @blp.alt_response(409, description="Already revoked or superseded")
    @blp.alt_response(422, description="Invalid fields")
    def post(self, data, certificate_id: int):
        """Correct a certificate: a new certificate under a new serial replaces it (returns the new one)"""
        reason = data.pop("reason")
        return issuance.supersede_certificate(current_user, certificate_id, reason=reason, **data)


@blp.route("/certificates/<serial>/openbadge")
class CertificateOpenBadge(MethodView):
    @roles_required(*READING_ROLES)
    @blp.response(200, OpenBadgeSchema)
    @blp.alt_response(404, description="No such certificate in your scope")
    @blp.alt_response(409, description="The certificate is not valid (revoked, replaced, expired or altered)")
    def get(self, serial: str):
        """Export as an Open Badges 3.0 OpenBadgeCredential, signed as a VC-JWT (EdDSA) with the certificate key

        The holder (worker) or an issuer in scope. Verify the JWT with the public key of its kid in
        /.well-known/jiangxin-keys.json. The holder appears only as a salted SHA-256 of the full name.
        """
        return openbadge.export(current_user, serial)
