"""JSON API for workers and trades (STUB: being completed)."""

from app.api import Blueprint

blp = Blueprint("people_api", __name__, url_prefix="/api/v1", description="Workers and trades")
