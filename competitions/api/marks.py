"""JSON API of competitions: marks (being built)."""

from app.api import Blueprint

blp = Blueprint("competitions_marks_api", __name__, url_prefix="/api/v1", description="Competitions: marks")
