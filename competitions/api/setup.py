"""JSON API of competitions: setup (being built)."""

from app.api import Blueprint

blp = Blueprint("competitions_setup_api", __name__, url_prefix="/api/v1", description="Competitions: setup")
