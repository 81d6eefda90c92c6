"""A batch from a file: read and check it, stage it in preview (nothing is issued), then confirm (queue the job
in chunks, after the commit) or discard. Rows with errors are reported and skipped, never issued."""

from __future__ import annotations

import os
import uuid
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from app import tabular
from app.audit.services import record
from app.db import db
from app.errors import Conflict, DomainError
from certificates.domain import CertificateKind
from certificates.models import CertificateBatch
from certificates.services.batches.common import (
    BATCH_MAX_ROWS,
    DISCARDED,
    FILE,
    PREVIEW,
    QUEUED,
    check_template,
    get_batch,
    scope_enterprise,
    todo_rows,
)
from certificates.services.batches.messages import file_message
from certificates.services.batches.rows import check_rows, read_file

CHUNK_SIZE = 20  # rows per job: small enough for two workers to share a batch evenly


class BatchFileInvalid(DomainError):
    """The uploaded file as a whole cannot be read (nothing was stored)."""

    status = 400
    code = "batch_file_invalid"


def preview_file(actor, filename: str, data: bytes, *, enterprise_id: int | None = None, kind: str | None = None,
                 template_id: int | None = None, subject: str = "", issued_on: date | None = None) -> CertificateBatch:
    """Read and check the file; stage it as a batch in preview (nothing is issued)."""
    scope = scope_enterprise(actor, enterprise_id)
    filename = os.path.basename((filename or "").replace("\\", "/"))[:255] or "upload"
    if kind:
        try:
            kind = CertificateKind(kind).value
        except ValueError:
            raise DomainError(_l("Please choose the kind of certificate."), code="kind_invalid",
                              details={"kind": [str(_l("Please choose the kind of certificate."))]}) from None
    template = check_template(actor, template_id)
    if template is not None and kind and template.kind != kind:
        raise DomainError(_l("The template is for another kind of certificate."), code="template_invalid",
                          details={"template_id": [str(_l("The template is for another kind of certificate."))]})
    if not data:
        raise BatchFileInvalid(file_message("empty", {}), code="import_empty")
    max_rows = current_app.config.get("CERTIFICATE_BATCH_MAX_ROWS", BATCH_MAX_ROWS)
    try:
        rows, _found = read_file(filename, data, max_rows, current_app.config.get("MAX_CONTENT_LENGTH"))
    except tabular.FileError as exc:
        raise BatchFileInvalid(file_message(exc.code, exc.params), code=f"import_{exc.code}",
                               details=tabular.error_details(exc)) from None
    if not rows:
        raise BatchFileInvalid(file_message("no_rows", {}), code="import_no_rows")
    staged, errors = check_rows(actor, rows, enterprise_id=scope, default_kind=kind or (template.kind if template else None),
                                default_subject=(subject or "").strip(), default_issued_on=issued_on)
    batch = CertificateBatch(
        id=uuid.uuid4().hex, source=FILE, enterprise_id=scope, template_id=template.id if template else None,
        filename=filename, status=PREVIEW, rows=staged, errors=errors, total=sum(1 for r in staged if r["state"] != "bad"),
        created_by_id=actor.id,
    )
    db.session.add(batch)
    db.session.flush()
    record("certificate_batch.preview", batch, {
        "source": FILE, "filename": filename, "rows": len(staged), "bad_rows": len({e["row"] for e in errors}),
        "enterprise_id": scope,
    }, actor=actor)
    return batch


def summary(batch: CertificateBatch) -> dict[str, int]:
    """Counts for the preview: rows, rows to issue, already issued, rows with errors (skipped)."""
    rows = batch.rows or []
    return {
        "rows": len(rows),
        "new": sum(1 for r in rows if r["state"] == "ok"),
        "issued": sum(1 for r in rows if r["state"] == "issued"),
        "bad": sum(1 for r in rows if r["state"] == "bad"),
    }


def _claim(batch: CertificateBatch, from_status: str, values: dict[str, Any]) -> None:
    result = db.session.execute(
        update(CertificateBatch).where(CertificateBatch.id == batch.id, CertificateBatch.status == from_status)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.expire(batch)
        raise Conflict(_l("This batch was already confirmed or discarded."), code="batch_not_preview")
    for key, value in values.items():
        set_committed_value(batch, key, value)


def confirm_batch(actor, batch_id: str) -> CertificateBatch:
    """Queue the job for every row without errors (rows with errors are reported, not issued)."""
    batch = get_batch(actor, batch_id, with_rows=True)
    if batch.status != PREVIEW:
        raise Conflict(_l("This batch was already confirmed or discarded."), code="batch_not_preview")
    todo = todo_rows(batch)
    if not todo:
        raise DomainError(_l("No row can be issued: every row has an error."), code="batch_nothing_to_issue")
    _claim(batch, PREVIEW, {"status": QUEUED, "total": len(todo), "done": 0, "failed": 0})
    record("certificate_batch.confirm", batch, {"source": batch.source, "total": len(todo)}, actor=actor)
    _enqueue_chunks(batch.id, len(todo))
    return batch


def _enqueue_chunks(batch_id: str, total: int) -> None:
    from app import jobs
    from certificates.services import render

    size = int(current_app.config.get("CERTIFICATE_BATCH_CHUNK", CHUNK_SIZE))
    base = render.known_base_url()  # this request's address: the QR codes the job draws point here
    for start in range(0, total, size):
        jobs.enqueue("certificates.services.batches:run_chunk", batch_id, start, min(start + size, total), base)


def discard_batch(actor, batch_id: str) -> CertificateBatch:
    batch = get_batch(actor, batch_id)
    if batch.status != PREVIEW:
        raise Conflict(_l("This batch was already confirmed or discarded."), code="batch_not_preview")
    _claim(batch, PREVIEW, {"status": DISCARDED, "rows": []})
    record("certificate_batch.discard", batch, {"source": batch.source}, actor=actor)
    return batch
