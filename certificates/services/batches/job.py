"""The job of a batch: each chunk issues its rows (one short transaction per certificate), renders the PDFs outside
any write transaction and adds to the batch's counters; the chunk that completes the batch writes
``certificates.zip`` and ``errors.csv`` and marks it done. The job functions commit (they run outside requests)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app.accounts.models import User
from app.audit.services import record
from app.db import db, sqlite_begin_mode, utcnow
from app.errors import DomainError, PermissionDenied
from certificates.models import Certificate, CertificateBatch, CertificateTemplate
from certificates.services.batches.common import (
    ACTIVE,
    DONE,
    FAILED,
    QUEUED,
    RUNNING,
    batch_dir,
    errors_path,
    live_certificates,
    todo_rows,
    zip_path,
)
from certificates.services.batches.reads import error_file

log = logging.getLogger("jiangxin.certificates.batches")

PROGRESS_INTERVAL = 0.5  # seconds between two progress writes of a chunk


def pdf_name(serial: str, name: str) -> str:
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", name or "").strip("_")[:40]
    return f"{serial}_{safe}.pdf" if safe else f"{serial}.pdf"


def run_chunk(batch_id: str, start: int, end: int, base_url: str | None = None) -> None:
    """Job: issue and render rows ``start:end`` of the batch's rows to issue; the last chunk finalizes.

    Each certificate is issued in its own short transaction and its PDF rendered outside any write
    transaction; the counters are added after each row so the progress page moves row by row. ``base_url``:
    the address of the site that queued the job, for the verification links in the PDFs.
    """
    from certificates.services import render

    with render.base_url_of(base_url):
        _run_chunk(batch_id, start, end)


def _run_chunk(batch_id: str, start: int, end: int) -> None:
    batch = db.session.get(CertificateBatch, batch_id)
    if batch is None or batch.status not in ACTIVE:
        log.warning("batch %s is not queued (status %s): chunk %d:%d skipped", batch_id,
                    getattr(batch, "status", None), start, end)
        return
    if batch.status == QUEUED:
        db.session.execute(update(CertificateBatch).where(CertificateBatch.id == batch_id,
                                                          CertificateBatch.status == QUEUED)
                           .values(status=RUNNING, started_at=utcnow()).execution_options(synchronize_session=False))
    actor = db.session.get(User, batch.created_by_id) if batch.created_by_id else None
    rows = todo_rows(batch)[start:end]
    competition_id, template_id, issuer_id, source = batch.competition_id, batch.template_id, batch.issuer_id, batch.source
    template_kind = db.session.get(CertificateTemplate, template_id).kind if template_id else None
    db.session.commit()
    out_dir = batch_dir(batch_id) / "pdf"
    out_dir.mkdir(parents=True, exist_ok=True)
    done = failed = 0
    errors: list[dict[str, Any]] = []
    last = time.monotonic()
    for row in rows:
        ok, error = _issue_row(actor, row, batch_id=batch_id, competition_id=competition_id,
                               template_id=template_id if row["kind"] == template_kind else None,
                               issuer_id=issuer_id, source=source, out_dir=out_dir)
        done, failed = done + ok, failed + (not ok)
        if error is not None:
            errors.append(error)
        if time.monotonic() - last >= PROGRESS_INTERVAL:  # the page moves smoothly without a write per row
            _add_progress(batch_id, done, failed, errors)
            done = failed = 0
            errors = []
            last = time.monotonic()
    if done or failed:
        _add_progress(batch_id, done, failed, errors)
    _finish_if_complete(batch_id)


def _issue_row(actor, row: dict[str, Any], *, batch_id: str, competition_id: int | None, template_id: int | None,
               issuer_id: int | None, source: str, out_dir: Path) -> tuple[bool, dict[str, Any] | None]:
    from app.people.services import ValidationFailed
    from certificates.services import render
    from certificates.services.issuance import issue_certificate

    try:
        if actor is None:
            raise PermissionDenied()
        result = issue_certificate(
            actor, kind=row["kind"], worker_id=row["worker_id"], holder_name=row.get("name") or None,
            subject_key=row["subject_key"], achievement=row["achievement"], details=row.get("details") or None,
            template_id=template_id, issuer_id=issuer_id, competition_id=competition_id, batch_id=batch_id,
            issued_on=date.fromisoformat(row["issued_on"]) if row.get("issued_on") else None,
        )
        certificate_id = result.certificate.id
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        messages = [m for msgs in (exc.details or {}).values() for m in msgs]
        return False, {"row": row["row"], "column": "row", "code": "issue_failed",
                       "message": " ".join(messages) or str(exc.message)}
    except DomainError as exc:
        db.session.rollback()
        return False, {"row": row["row"], "column": "row", "code": "issue_failed", "message": str(exc.message)}
    except Exception:
        db.session.rollback()
        log.exception("batch %s row %s: issuing failed", batch_id, row.get("row"))
        return False, {"row": row["row"], "column": "row", "code": "internal"}
    # Render in a read-only (deferred) transaction: on SQLite it takes no write lock, so another worker
    # process issues while this one draws. The PDF goes to the content-addressed store (render.store); its
    # hash is recorded in the next short write transaction (pdf_for would flush it inside this read).
    token = sqlite_begin_mode.set("DEFERRED")
    try:
        certificate = db.session.get(Certificate, certificate_id)
        recorded = certificate.pdf_sha256
        data = render.read_stored(recorded) if recorded else None
        sha = recorded
        if data is None:
            data = render.render(certificate)
            sha = render.store(data)
        (out_dir / pdf_name(certificate.serial, certificate.holder_name)).write_bytes(data)
        db.session.rollback()
    except Exception:
        db.session.rollback()
        log.exception("batch %s row %s: rendering failed", batch_id, row.get("row"))
        return False, {"row": row["row"], "column": "row", "code": "internal"}
    finally:
        sqlite_begin_mode.reset(token)
    if sha != recorded:
        db.session.execute(update(Certificate).where(Certificate.id == certificate_id).values(pdf_sha256=sha)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    return True, None


def _add_progress(batch_id: str, done: int, failed: int, errors: list[dict[str, Any]]) -> None:
    """Add to the counters (and the error list) in one short write; the database adds, so chunks running in
    other processes never overwrite each other's counts."""
    values: dict[str, Any] = {"done": CertificateBatch.done + done, "failed": CertificateBatch.failed + failed}
    if errors:
        # errors is a JSON list: read and write it under the row lock (PostgreSQL) / the write lock (SQLite)
        stmt = select(CertificateBatch.errors).where(CertificateBatch.id == batch_id)
        if db.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        current = db.session.execute(stmt).scalar_one()
        values["errors"] = list(current or []) + errors
    db.session.execute(update(CertificateBatch).where(CertificateBatch.id == batch_id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def _finish_if_complete(batch_id: str) -> None:
    """The chunk whose rows complete the batch claims the finish (conditional UPDATE) and writes the files."""
    claimed = db.session.execute(
        update(CertificateBatch)
        .where(CertificateBatch.id == batch_id, CertificateBatch.finished_at.is_(None),
               CertificateBatch.status == RUNNING,
               CertificateBatch.done + CertificateBatch.failed >= CertificateBatch.total)
        .values(finished_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if claimed != 1:
        return
    try:
        write_files(batch_id)
        batch = db.session.get(CertificateBatch, batch_id)
        status = FAILED if batch.done == 0 and batch.failed else DONE
        db.session.execute(update(CertificateBatch).where(CertificateBatch.id == batch_id)
                           .values(status=status, rows=_slim_rows(batch.rows or []))
                           .execution_options(synchronize_session=False))
        creator = db.session.get(User, batch.created_by_id) if batch.created_by_id else None
        record("certificate_batch.finish", batch, {"done": batch.done, "failed": batch.failed, "total": batch.total,
                                                    "status": status}, actor=creator)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("batch %s: writing the ZIP and error file failed", batch_id)
        db.session.execute(update(CertificateBatch).where(CertificateBatch.id == batch_id).values(status=FAILED)
                           .execution_options(synchronize_session=False))
        db.session.commit()


def _slim_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What stays of the staged rows once the batch is finished: row numbers, names and states only."""
    return [{"row": r["row"], "name": r.get("name", ""), "state": r["state"], "kind": r.get("kind"),
             "achievement": r.get("achievement", "")} for r in rows]


def batch_certificates(batch: CertificateBatch) -> list[Certificate]:
    """The live certificates of the batch's rows: issued by it, or already there before (idempotent re-runs)."""
    keys = {(f"worker:{r['worker_id']}", r["subject_key"], r["kind"]) for r in todo_rows(batch)
            if r.get("worker_id") and r.get("subject_key")}
    found = live_certificates(keys)
    created = db.session.scalars(select(Certificate).where(Certificate.batch_id == batch.id)).unique().all()
    by_id = {c.id: c for c in found.values()}
    for c in created:
        by_id.setdefault(c.id, c)
    return sorted(by_id.values(), key=lambda c: c.serial)


def write_files(batch_id: str) -> None:
    """``certificates.zip`` (a PDF per certificate of the batch, rendered now if the chunk did not) and
    ``errors.csv`` (UTF-8 with BOM) in the batch's directory."""
    from certificates.services.render import pdf_for

    batch = db.session.get(CertificateBatch, batch_id)
    folder = batch_dir(batch_id)
    pdf_dir = folder / "pdf"
    pdf_dir.mkdir(parents=True, exist_ok=True)
    tmp = folder / "certificates.zip.tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:  # PDFs are compressed already
        for c in batch_certificates(batch):
            name = pdf_name(c.serial, c.holder_name)
            path = pdf_dir / name
            data = path.read_bytes() if path.exists() else pdf_for(c).data
            zf.writestr(name, data)
    os.replace(tmp, zip_path(batch_id))
    content, _mimetype, _filename = error_file(batch, "csv")
    errors_path(batch_id).write_bytes(content)
    shutil.rmtree(pdf_dir, ignore_errors=True)
