"""JSON API of the worker import (STUB: being completed)."""

from app.api import Blueprint

blp = Blueprint("imports_api", __name__, url_prefix="/api/v1", description="Worker import: preview and confirm")
