"""The worker's "My certificates" page (phone first): their own certificates only — kind, achievement,
issuer, date, status — with the PDF download, the public verification page and a share link to copy.

Only ``Certificate.worker_id == current_user.worker_id``: an HR or organizer role on the same account does not
widen this page (their certificates pages do that). A worker account without a linked worker sees an
explanation, not someone else's list.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import url_for_optional
from app.auth import roles_required
from app.db import db
from certificates.models import Certificate
from certificates.services.render import verification_url

bp = Blueprint("certificates_my", __name__, template_folder="../templates")


def verification_path(serial: str, code: str) -> str:
    """The public verification page of a certificate (``/v/<serial>?c=<code>``: with its verification code, which
    shows whose it is and what for), whichever blueprint serves it."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == "/v/<serial>":
            return url_for(rule.endpoint, serial=serial, c=code)
    return f"/v/{serial}?c={code}"



def my_certificates(actor) -> list[Certificate]:
    if not actor.worker_id:
        return []
    stmt = (select(Certificate).options(joinedload(Certificate.issuer))
            .where(Certificate.worker_id == actor.worker_id)
            .order_by(Certificate.issued_on.desc(), Certificate.id.desc()))
    return list(db.session.scalars(stmt).unique())


@bp.route("/my/certificates")
@roles_required("worker")
def index():
    from certificates.services.issuance import kind_label, status_label

    items = []
    for c in my_certificates(current_user):
        items.append({
            "certificate": c, "kind": kind_label(c.kind), "status": status_label(c.status),
            "pdf_url": url_for_optional("certificates_download.pdf", certificate_id=c.id),
            "verify_url": verification_path(c.serial, c.verify_code), "share_url": verification_url(c.serial, c.verify_code),
            "issuer": (c.payload or {}).get("issuer_name") or c.issuer.name,
        })
    return render_template("certificates/my/index.html", items=items, linked=bool(current_user.worker_id))
