"""The audit log for administrators: filter by action and actor, newest first."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.auth import roles_required
from app.db import db

bp = Blueprint("audit", __name__, template_folder="templates")


@bp.route("/admin/audit")
@roles_required(Role.ADMIN)
def log():
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip()
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())  # newest first, whatever the stream
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor:
        stmt = stmt.where(AuditEntry.actor_name == actor)
    pagination = db.paginate(stmt, page=request.args.get("page", 1, type=int), per_page=50, error_out=False)
    actions = db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all()
    return render_template("audit/log.html", pagination=pagination, action=action, actor=actor, actions=actions)
