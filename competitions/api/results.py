"""JSON API of competitions: results (being built)."""

from app.api import Blueprint

blp = Blueprint("competitions_results_api", __name__, url_prefix="/api/v1", description="Competitions: results")
