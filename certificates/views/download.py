"""Downloading a certificate's PDF (HTML side): ``/certificates/<id>.pdf``.

Access (``certificates.services.render.can_download``): a worker their own certificates, HR their
enterprise's, organizers and admins all; anything else is 404. ``?inline=1`` opens it in the browser
instead of saving it (the phone's PDF viewer).
"""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from app.accounts.models import Role
from app.auth import roles_required
from app.extensions import unlimited_read
from certificates.services import render

bp = Blueprint("certificates_download", __name__)


@bp.route("/certificates/<int:certificate_id>.pdf")
@unlimited_read  # no limit applies: skip the limiter's per-request bookkeeping
@roles_required(Role.WORKER, Role.HR, Role.ORGANIZER, Role.ADMIN)
def pdf(certificate_id: int):
    certificate = render.downloadable(current_user, certificate_id)
    return render.pdf_response(certificate, inline=request.args.get("inline") == "1")
