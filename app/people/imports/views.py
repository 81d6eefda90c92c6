"""HTML views of the worker import (STUB: being completed)."""

from flask import Blueprint

from app.accounts.models import Role
from app.auth import roles_required

bp = Blueprint("imports", __name__, template_folder="templates")


@bp.route("/workers/import")
@roles_required(Role.HR)
def upload():
    return "TODO"
