"""ORM classes of certificates: issuers (with their ORG4 code and yearly sequences), templates and their
versions, issued certificates (signed payload, status, supersede chain) and bulk issuing batches.

A certificate is never deleted or edited after issue: revocation sets ``status``/``revoked_*``; a
correction issues a new certificate whose ``supersedes_id`` points at the old one, and the old one becomes
``superseded``. At most one *live* (``status = 'issued'``) certificate exists per holder, subject and kind
(partial unique index ``uq_certificate_live``), which is what makes issuing idempotent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import db, utcnow
from certificates.domain import new_verify_code


class CertificateIssuer(db.Model):
    """Who issues: the union (``enterprise_id`` NULL, used by organizers) or one enterprise (used by its HR).

    ``code`` is the ORG4 part of the serial (four digits, see certificates.domain)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(4), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SerialSequence(db.Model):
    """The last SEQ6 used by an issuer in a year (all kinds share it). Taken under a row lock / conditional
    update, so numbers are never reused, also under concurrent issuing."""

    issuer_id: Mapped[int] = mapped_column(ForeignKey("certificate_issuer.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


class CertificateTemplate(db.Model):
    """A named template of one kind; its content lives in versions (never edited once used)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))  # certificates.domain.CertificateKind value
    name: Mapped[str] = mapped_column(String(200))
    # Scope: NULL = union-wide (organizers); else the enterprise whose HR manages it.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[CertificateTemplateVersion]] = relationship(
        back_populates="template", order_by="CertificateTemplateVersion.version", cascade="all, delete-orphan"
    )


class CertificateTemplateVersion(db.Model):
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("certificate_template.id", ondelete="CASCADE"))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(100))  # e.g. 荣誉证书
    body: Mapped[str] = mapped_column(Text)  # with placeholders such as {holder_name}, {achievement}
    signatories: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"title": "主任", "name": "…"}]
    issuer_name: Mapped[str] = mapped_column(String(200))
    seal_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    seal_sha256: Mapped[str | None] = mapped_column(String(64))
    primary_color: Mapped[str] = mapped_column(String(7), default="#b22222")  # #rrggbb
    border_style: Mapped[str] = mapped_column(String(16), default="double")  # none | single | double | ornate
    validity_months: Mapped[int | None]  # None: no expiry
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    template: Mapped[CertificateTemplate] = relationship(back_populates="versions")


class Certificate(db.Model):
    __table_args__ = (
        Index(
            "uq_certificate_live", "holder_key", "subject_key", "kind", unique=True,
            sqlite_where=text("status = 'issued'"), postgresql_where=text("status = 'issued'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(14), unique=True)
    # random, in the QR address: shows the holder's masked name and the achievement (certificates.domain)
    verify_code: Mapped[str] = mapped_column(String(16), default=new_verify_code)
    kind: Mapped[str] = mapped_column(String(24))
    issuer_id: Mapped[int] = mapped_column(ForeignKey("certificate_issuer.id"))
    template_version_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_template_version.id"))
    # The holder: a worker of the registry (most kinds) or another holder (e.g. a studio); holder_key is
    # "worker:<id>" or "<type>:<id>" and, with subject_key and kind, identifies a live certificate.
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)  # holder's, at issue
    holder_key: Mapped[str] = mapped_column(String(64))
    holder_name: Mapped[str] = mapped_column(String(100))
    # What it certifies, e.g. "competition:12:entry:34" or "manual:<uuid>"; with a competition the id too.
    subject_key: Mapped[str] = mapped_column(String(120))
    competition_id: Mapped[int | None] = mapped_column(ForeignKey("competition.id"), index=True)
    achievement: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What was signed (certificates.domain.certificate_payload) and the signature over its canonical JSON.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    signature: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(16))
    issued_on: Mapped[date]
    valid_until: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="issued")  # issued | revoked | superseded
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), unique=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))  # of the rendered PDF, once rendered
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("certificate_batch.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    issuer: Mapped[CertificateIssuer] = relationship(lazy="joined")
    template_version: Mapped[CertificateTemplateVersion | None] = relationship()
    supersedes: Mapped[Certificate | None] = relationship(remote_side="Certificate.id")


class CertificateBatch(db.Model):
    """Bulk issuing: from a file (preview → per-row errors → confirm) or from a published competition
    result; runs as a background job and reports progress (done / failed / total)."""

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex: not guessable
    source: Mapped[str] = mapped_column(String(16))  # file | competition
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)  # HR scope
    competition_id: Mapped[int | None] = mapped_column(ForeignKey("competition.id"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_template.id"))
    issuer_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_issuer.id"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(16), default="preview")  # preview | queued | running | done | failed | discarded
    rows: Mapped[list[Any]] = mapped_column(JSON, default=list)  # staged rows (dropped when finished)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"row": n, "field": f, "code": c, "message": m}]
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
