"""HTML views for enterprises and chains (STUB: being completed)."""

from flask import Blueprint

from app.accounts.models import Role
from app.auth import roles_required

bp = Blueprint("orgs", __name__, template_folder="templates")


@bp.route("/enterprises")
@roles_required(Role.ORGANIZER, Role.ADMIN)
def enterprises():
    return "TODO"


@bp.route("/chains")
@roles_required(Role.ORGANIZER, Role.ADMIN)
def chains():
    return "TODO"
