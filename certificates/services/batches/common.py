"""What the use cases of certificate batches share: states and sources, limits, who sees which batch, the
templates an issuer may use, the live certificates of a set of rows, and where a batch's files are."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import defer

from app.accounts.models import Role
from app.db import db
from app.errors import DomainError, NotFound, PermissionDenied
from app.orgs.models import Enterprise
from app.people.services import chosen_enterprise_id
from certificates.domain import CertificateStatus
from certificates.models import Certificate, CertificateBatch, CertificateTemplate

FILE, COMPETITION = "file", "competition"
PREVIEW, QUEUED, RUNNING, DONE, FAILED, DISCARDED = "preview", "queued", "running", "done", "failed", "discarded"
ACTIVE = (QUEUED, RUNNING)
JOB_ERROR_CODES = ("issue_failed", "internal")  # rows that failed in the job (the others were skipped at preview)

BATCH_MAX_ROWS = 5_000
SUBJECT_MAX = 120
ACHIEVEMENT_MAX = 300
DETAIL_MAX = 100
MANAGERS = (Role.ORGANIZER, Role.ADMIN)


def is_manager(actor) -> bool:
    return bool(actor is not None and actor.is_authenticated and actor.has_role(*MANAGERS))


def require_issuer(actor) -> None:
    if not (is_manager(actor) or actor.hr_enterprise_ids):
        raise PermissionDenied()


def hr_enterprises(actor) -> list[Enterprise]:
    ids = actor.hr_enterprise_ids
    if not ids or is_manager(actor):
        return []
    return list(db.session.scalars(select(Enterprise).where(Enterprise.id.in_(ids)).order_by(Enterprise.name)))


def scope_enterprise(actor, enterprise_id: int | None) -> int | None:
    """None for organizers (any worker); HR: the chosen (or only) enterprise of theirs."""
    require_issuer(actor)
    return None if is_manager(actor) else chosen_enterprise_id(actor, enterprise_id)


def get_batch(actor, batch_id: str, *, with_rows: bool = False) -> CertificateBatch:
    """A batch the actor may see (managers: all; HR: their enterprises'); anything else is NotFound."""
    require_issuer(actor)
    if not isinstance(batch_id, str) or not re.fullmatch(r"[0-9a-f]{32}", batch_id):
        raise NotFound()
    stmt = select(CertificateBatch).where(CertificateBatch.id == batch_id)
    if not with_rows:
        stmt = stmt.options(defer(CertificateBatch.rows))
    batch = db.session.scalars(stmt).one_or_none()
    if batch is None:
        raise NotFound()
    if not is_manager(actor) and batch.enterprise_id not in actor.hr_enterprise_ids:
        raise NotFound()
    return batch


def recent_batches(actor, limit: int = 10) -> list[CertificateBatch]:
    require_issuer(actor)
    stmt = (select(CertificateBatch).options(defer(CertificateBatch.rows), defer(CertificateBatch.errors))
            .order_by(CertificateBatch.created_at.desc()).limit(limit))
    if not is_manager(actor):
        stmt = stmt.where(CertificateBatch.enterprise_id.in_(actor.hr_enterprise_ids))
    return list(db.session.scalars(stmt))


def template_choices(actor, kind: str | None = None) -> list[CertificateTemplate]:
    """Active templates the actor may use (managers: the union's; HR: their enterprises')."""
    stmt = select(CertificateTemplate).where(CertificateTemplate.is_active.is_(True))
    if is_manager(actor):
        stmt = stmt.where(CertificateTemplate.enterprise_id.is_(None))
    else:
        stmt = stmt.where(CertificateTemplate.enterprise_id.in_(actor.hr_enterprise_ids))
    if kind:
        stmt = stmt.where(CertificateTemplate.kind == kind)
    return list(db.session.scalars(stmt.order_by(CertificateTemplate.kind, CertificateTemplate.name)))


def check_template(actor, template_id: int | None) -> CertificateTemplate | None:
    if template_id is None:
        return None
    template = next((t for t in template_choices(actor) if t.id == template_id), None)
    if template is None:
        raise DomainError(_l("Please choose one of your templates."), code="template_invalid",
                          details={"template_id": [str(_l("Please choose one of your templates."))]})
    return template


def live_certificates(keys: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Certificate]:
    """(holder key, subject key, kind) → the live certificate, for the given keys."""
    if not keys:
        return {}
    holders = sorted({k[0] for k in keys})
    found: dict[tuple[str, str, str], Certificate] = {}
    for i in range(0, len(holders), 1000):
        stmt = select(Certificate).where(Certificate.holder_key.in_(holders[i:i + 1000]),
                                         Certificate.status == CertificateStatus.ISSUED)
        for c in db.session.scalars(stmt).unique():
            key = (c.holder_key, c.subject_key, c.kind)
            if key in keys:
                found[key] = c
    return found


def todo_rows(batch: CertificateBatch) -> list[dict[str, Any]]:
    return [r for r in batch.rows or [] if r["state"] != "bad"]


def batch_dir(batch_id: str) -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "batches" / batch_id


def zip_path(batch_id: str) -> Path:
    return batch_dir(batch_id) / "certificates.zip"


def errors_path(batch_id: str) -> Path:
    return batch_dir(batch_id) / "errors.csv"
