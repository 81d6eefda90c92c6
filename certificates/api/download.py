"""JSON API side of certificate downloads: ``GET /api/v1/certificates/<id>/pdf`` (the same rules as the page).

A browser downloads with its session cookie; a phone app or a script with ``Authorization: Bearer …``, which
Flask-Login's request loader resolves like any other API request (``app.accounts.services.token_login``). Either
way the view decides access with ``render.downloadable`` (404 for a certificate that is not theirs, 403 for a role
that may not download at all) and answers with ``render.pdf_response`` (ETag, conditional GET, Content-Disposition,
private caching).
"""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
from app.extensions import unlimited_read
from certificates.services import render

blp = Blueprint("certificates_download_api", __name__, url_prefix="/api/v1", description="Certificates: PDF download")

PDF_RESPONSES = {
    "200": {"description": "The PDF (ETag = its SHA-256; Content-Disposition with a UTF-8 file name)",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
    "304": {"description": "Not modified (If-None-Match named the current ETag)"},
    "404": {"description": "No such certificate, or not yours to download"},
}


@blp.route("/certificates/<int:certificate_id>/pdf")
class CertificatePdf(MethodView):
    # No rate limit applies to downloads (none is declared and there are no default limits): skip the limiter's
    # per-request bookkeeping for GET/HEAD.
    @unlimited_read
    @roles_required(Role.WORKER, Role.HR, Role.ORGANIZER, Role.ADMIN)
    @blp.doc(responses=PDF_RESPONSES, parameters=[{
        "in": "query", "name": "inline", "schema": {"type": "integer", "enum": [0, 1]},
        "description": "1: Content-Disposition inline instead of attachment"}])
    def get(self, certificate_id: int):
        """The certificate's PDF (a worker: their own; HR: their enterprise's; organizers and admins: all)"""
        certificate = render.downloadable(current_user, certificate_id)
        return render.pdf_response(certificate, inline=request.args.get("inline") == "1")
