"""JSON API side of certificate downloads: ``GET /api/v1/certificates/<id>/pdf`` (the same rules as the page)."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
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
    @roles_required(Role.WORKER, Role.HR, Role.ORGANIZER, Role.ADMIN)
    @blp.doc(responses=PDF_RESPONSES, parameters=[{
        "in": "query", "name": "inline", "schema": {"type": "integer", "enum": [0, 1]},
        "description": "1: Content-Disposition inline instead of attachment"}])
    def get(self, certificate_id: int):
        """The certificate's PDF (a worker: their own; HR: their enterprise's; organizers and admins: all)"""
        certificate = render.downloadable(current_user, certificate_id)
        return render.pdf_response(certificate, inline=request.args.get("inline") == "1")
