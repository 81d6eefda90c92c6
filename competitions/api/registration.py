"""JSON API of competitions: registration (being built)."""

from app.api import Blueprint

blp = Blueprint("competitions_registration_api", __name__, url_prefix="/api/v1", description="Competitions: registration")
