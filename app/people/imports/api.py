"""JSON API of the worker import: upload for a preview, read it, confirm or discard it, download its errors.

The same service calls as the HTML views; errors come in the ``{"error": …}`` envelope (a file that
cannot be imported: 400 ``import_*``; too large: 413 ``too_large``; confirm refused: 400/409).
"""

from __future__ import annotations

import io

from flask import send_file
from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
from app.people.imports import services
from app.people.imports.schemas import ErrorFileQuerySchema, ImportSchema, UploadFileSchema, UploadFormSchema
from app.tabular import XLSX_MIMETYPE

blp = Blueprint("imports_api", __name__, url_prefix="/api/v1", description="Worker import: preview and confirm")


def _dump(imp) -> dict:
    errors = services.translated_errors(imp)
    return {
        "id": imp.id, "enterprise_id": imp.enterprise_id, "status": imp.status, "filename": imp.filename,
        "file_format": imp.file_format, "encoding": imp.encoding, "row_count": imp.row_count,
        "valid_count": imp.row_count - imp.error_count, "error_row_count": imp.error_count, "error_count": len(errors),
        "created_at": imp.created_at, "confirmed_at": imp.confirmed_at, "errors": errors,
    }


@blp.route("/workers/imports")
class Imports(MethodView):
    @roles_required(Role.HR)
    @blp.arguments(UploadFormSchema, location="form")
    @blp.arguments(UploadFileSchema, location="files")
    @blp.response(201, ImportSchema)
    @blp.alt_response(400, description="The file cannot be imported (empty, wrong headers, not a spreadsheet, …)")
    @blp.alt_response(413, description="The upload is larger than 10 MB")
    def post(self, form, files):
        """Upload an XLSX or CSV file; every row is validated and staged, nothing is imported yet."""
        upload = files["file"]
        return _dump(services.preview_import(current_user, form.get("enterprise_id"), upload.filename or "", upload.read()))


@blp.route("/workers/imports/<import_id>")
class ImportItem(MethodView):
    @roles_required(Role.HR)
    @blp.response(200, ImportSchema)
    def get(self, import_id: str):
        """The preview: counts and every error (row, column, message)."""
        return _dump(services.get_import(current_user, import_id))


@blp.route("/workers/imports/<import_id>/confirm")
class ImportConfirm(MethodView):
    @roles_required(Role.HR)
    @blp.response(200, ImportSchema)
    @blp.alt_response(400, description="The preview has errors: correct the file and upload it again")
    @blp.alt_response(409, description="Already confirmed or discarded, or workers were registered meanwhile")
    def post(self, import_id: str):
        """Import every staged row, or none."""
        return _dump(services.confirm_import(current_user, import_id))


@blp.route("/workers/imports/<import_id>/discard")
class ImportDiscard(MethodView):
    @roles_required(Role.HR)
    @blp.response(200, ImportSchema)
    def post(self, import_id: str):
        """Drop a preview without importing anything."""
        return _dump(services.discard_import(current_user, import_id))


@blp.route("/workers/imports/<import_id>/errors")
class ImportErrors(MethodView):
    @roles_required(Role.HR)
    @blp.arguments(ErrorFileQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "Row, column, message and value of every error (CSV with BOM, or XLSX)",
                                "content": {"text/csv": {}, XLSX_MIMETYPE: {}}}})
    def get(self, args, import_id: str):
        """Download the errors as a file."""
        imp = services.get_import(current_user, import_id)
        content, mimetype, filename = services.error_file(imp, args["format"])
        return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=filename)
