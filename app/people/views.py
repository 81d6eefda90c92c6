"""HTML views for workers, trades and the worker's own profile (STUB: being completed)."""

from flask import Blueprint

from app.accounts.models import Role
from app.auth import roles_required

bp = Blueprint("people", __name__, template_folder="templates")


@bp.route("/workers")
@roles_required(Role.HR)
def workers():
    return "TODO"


@bp.route("/trades")
@roles_required(Role.ORGANIZER, Role.ADMIN)
def trades():
    return "TODO"


@bp.route("/me")
@roles_required(Role.WORKER)
def me():
    return "TODO"
