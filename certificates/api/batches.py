"""JSON API of bulk issuing: upload a file for a preview, confirm it, poll the progress, issue for a competition.

The same service calls as the HTML pages (``certificates.services.batches`` / ``from_results``). The progress
endpoint is what the progress page polls (app/static/js/batch.js).
"""

from __future__ import annotations

import io

import marshmallow as ma
from flask import send_file
from flask.views import MethodView
from flask_login import current_user
from flask_smorest.fields import Upload

from app.api import Blueprint
from app.auth import roles_required
from app.fields import Int, Text
from certificates.services import batches, from_results

blp = Blueprint("certificates_batches_api", __name__, url_prefix="/api/v1",
                description="Certificates: bulk issuing from a file or from published competition results")

ISSUERS = ("organizer", "admin", "hr")
ORGANIZERS = ("organizer", "admin")


class BatchFileSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    file = Upload(required=True, metadata={"description": "XLSX, or CSV in UTF-8 (BOM or not), GBK or GB18030."})


class BatchFormSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    enterprise_id = Int(load_default=None, allow_none=True,
                                      metadata={"description": "Needed when the user is HR of several enterprises."})
    kind = Text(load_default=None, allow_none=True,
                            metadata={"description": "Kind for rows without a 证书类型 column, e.g. award."})
    template_id = Int(load_default=None, allow_none=True)
    subject = Text(load_default="", validate=ma.validate.Length(max=batches.SUBJECT_MAX))
    issued_on = ma.fields.Date(load_default=None, allow_none=True)


class CompetitionBatchSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    template_id = Int(load_default=None, allow_none=True,
                                    metadata={"description": "Template of the award certificates (default: the kind's)."})


class RowErrorSchema(ma.Schema):
    row = ma.fields.Integer(allow_none=True)
    column = ma.fields.String()
    code = ma.fields.String(metadata={"description": "e.g. unknown, other_enterprise, mismatch, glyphs, duplicate, "
                                                     "issue_failed"})
    message = ma.fields.String()
    value = ma.fields.String()


class ProgressSchema(ma.Schema):
    id = ma.fields.String()
    status = ma.fields.String(metadata={"description": "preview | queued | running | done | failed | discarded"})
    status_label = ma.fields.String()
    total = ma.fields.Integer(metadata={"description": "Certificates to issue (rows without errors)."})
    done = ma.fields.Integer()
    failed = ma.fields.Integer()
    skipped = ma.fields.Integer(metadata={"description": "Rows of the file skipped for errors."})
    finished = ma.fields.Boolean()
    started_at = ma.fields.String(allow_none=True)
    finished_at = ma.fields.String(allow_none=True)
    has_zip = ma.fields.Boolean()
    has_errors = ma.fields.Boolean()


class BatchSchema(ProgressSchema):
    source = ma.fields.String(metadata={"description": "file | competition"})
    filename = ma.fields.String()
    competition_id = ma.fields.Integer(allow_none=True)
    enterprise_id = ma.fields.Integer(allow_none=True)
    counts = ma.fields.Dict(metadata={"description": "rows, new, issued (already), bad (skipped)."})
    errors = ma.fields.List(ma.fields.Nested(RowErrorSchema))


def _dump(batch) -> dict:
    return {**batches.progress(batch), "source": batch.source, "filename": batch.filename,
            "competition_id": batch.competition_id, "enterprise_id": batch.enterprise_id,
            "counts": batches.summary(batch), "errors": batches.translated_errors(batch)}


@blp.route("/certificates/batches")
class Batches(MethodView):
    @roles_required(*ISSUERS)
    @blp.arguments(BatchFormSchema, location="form")
    @blp.arguments(BatchFileSchema, location="files")
    @blp.response(201, BatchSchema)
    @blp.alt_response(400, description="The file cannot be read (empty, wrong headers, not a spreadsheet, …)")
    def post(self, form, files):
        """Upload a file: every row is checked and staged; nothing is issued until the batch is confirmed."""
        upload = files["file"]
        batch = batches.preview_file(current_user, upload.filename or "", upload.read(), **form)
        return _dump(batch)


@blp.route("/certificates/batches/<batch_id>")
class BatchProgress(MethodView):
    @roles_required(*ISSUERS)
    @blp.response(200, ProgressSchema)
    def get(self, batch_id: str):
        """Progress: done / failed / total, and whether the ZIP and the error file are ready."""
        return batches.progress(batches.get_batch(current_user, batch_id))


@blp.route("/certificates/batches/<batch_id>/details")
class BatchDetails(MethodView):
    @roles_required(*ISSUERS)
    @blp.response(200, BatchSchema)
    def get(self, batch_id: str):
        """The batch with its counts and every reported row."""
        return _dump(batches.get_batch(current_user, batch_id, with_rows=True))


@blp.route("/certificates/batches/<batch_id>/confirm")
class BatchConfirm(MethodView):
    @roles_required(*ISSUERS)
    @blp.response(202, BatchSchema)
    @blp.alt_response(409, description="Already confirmed or discarded")
    def post(self, batch_id: str):
        """Queue the job: rows without errors are issued, rows with errors reported."""
        return _dump(batches.confirm_batch(current_user, batch_id))


@blp.route("/certificates/batches/<batch_id>/errors")
class BatchErrors(MethodView):
    @roles_required(*ISSUERS)
    @blp.doc(responses={"200": {"description": "Every reported row (CSV with BOM)", "content": {"text/csv": {}}}})
    def get(self, batch_id: str):
        """The error file."""
        batch = batches.get_batch(current_user, batch_id, with_rows=True)
        content, mimetype, filename = batches.error_file(batch, "csv")
        return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=filename)


@blp.route("/competitions/<int:competition_id>/certificates")
class CompetitionCertificates(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(CompetitionBatchSchema)
    @blp.response(202, BatchSchema)
    @blp.alt_response(404, description="No published results")
    @blp.alt_response(409, description="A batch for this competition is running")
    def post(self, args, competition_id: int):
        """Award certificates for the awardees and participation certificates for the rest, from the latest
        published results (idempotent: what is already issued is not issued again)."""
        return _dump(from_results.issue_for_competition(current_user, competition_id, template_id=args["template_id"]))
