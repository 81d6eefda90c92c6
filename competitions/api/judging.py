"""JSON API of competitions: judging (being built)."""

from app.api import Blueprint

blp = Blueprint("competitions_judging_api", __name__, url_prefix="/api/v1", description="Competitions: judging")
