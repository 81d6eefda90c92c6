"""JSON API for enterprises and chains (STUB: being completed)."""

from app.api import Blueprint

blp = Blueprint("orgs_api", __name__, url_prefix="/api/v1", description="Enterprises and industry chains")
