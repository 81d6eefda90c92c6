"""Workers (the person), their employments, trades (the occupational catalogue), consents and staged imports.

``Worker`` is the person: one row per ID number for life, whatever enterprise they work for. ``Employment`` rows
are their employment history; ``Worker.enterprise_id`` is a copy of the current employment's enterprise, which
every "own enterprise" rule reads (HR scope, conflicts of interest). Only ``app.people.employment`` changes it after
the worker is created (``move``); a worker's first employment is written with the worker row (``_first_employment``).
"""

from __future__ import annotations

import contextvars
import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    case,
    event,
    insert,
    inspect,
    null,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.db import db, local_date, utcnow
from app.orgs.models import Enterprise


class IdType(enum.StrEnum):
    RESIDENT = "resident"  # 居民身份证 (validated, GB 11643)
    PASSPORT = "passport"
    HK_MACAO = "hk_macao"  # 港澳居民来往内地通行证 / 居住证
    TAIWAN = "taiwan"
    FOREIGN_PERMANENT = "foreign_permanent"
    OTHER = "other"


class ConsentPurpose(enum.StrEnum):
    """What a worker may consent to. A new purpose needs its label, explanation and notice version
    (``app.people.labels``) and, where pages show it with the worker, a ``Worker.<purpose>_consent_at`` below."""

    PUBLICITY = "publicity"  # name on public results
    TALENT_POOL = "talent_pool"  # anonymized profile visible to other enterprises


ALL_SCOPES = "all"  # a consent's scope when it is not narrowed to one competition or context


class Trade(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # e.g. 6-31-01-03
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)


class Worker(db.Model):
    __table_args__ = (Index("ix_worker_enterprise_active_name", "enterprise_id", "is_active", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(1))  # "M" | "F"
    birth_date: Mapped[date | None]
    id_type: Mapped[str] = mapped_column(String(24))
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC-SHA256 of type + number
    id_last4: Mapped[str] = mapped_column(String(4))
    id_encrypted: Mapped[bytes] = mapped_column(LargeBinary)  # AES-GCM, only for printed documents
    mobile: Mapped[str | None] = mapped_column(String(11))
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trade.id"), index=True)
    skill_level: Mapped[int | None]  # 5 (初级工) … 1 (高级技师)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined", innerjoin=True)
    trade: Mapped[Trade | None] = relationship(lazy="joined")


class Employment(db.Model):
    """A period in which a worker works for an enterprise: from ``started_on`` up to, not including, ``ended_on``
    (NULL: the current employment). At most one current employment per worker (a partial unique index)."""

    __table_args__ = (
        Index("uq_employment_current_worker", "worker_id", unique=True,
              sqlite_where=text("ended_on IS NULL"), postgresql_where=text("ended_on IS NULL")),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined", innerjoin=True)


# Set only by ``app.people.employment.move`` while it changes a worker's current employment.
moving_employer: contextvars.ContextVar[bool] = contextvars.ContextVar("moving_employer", default=False)


@event.listens_for(Worker.enterprise_id, "set")
def _employer_follows_employment(worker: Worker, value, oldvalue, initiator) -> None:
    """A stored worker changes enterprise only through an employment (``app.people.employment.move``), so the copy in
    ``Worker.enterprise_id`` and the current employment never disagree."""
    if value != oldvalue and inspect(worker).persistent and not moving_employer.get():
        raise RuntimeError("Worker.enterprise_id follows the current employment: use app.people.employment.move")


@event.listens_for(Worker, "after_insert")
def _first_employment(mapper, connection, worker: Worker) -> None:
    """Every worker starts with one current employment at the enterprise that registered them, from that day on
    (bulk inserts that bypass the ORM write theirs with ``app.people.employment.start_missing``)."""
    connection.execute(insert(Employment.__table__).values(
        worker_id=worker.id, enterprise_id=worker.enterprise_id, started_on=local_date(worker.created_at),
        created_at=utcnow()))


class Transfer(db.Model):
    """A new employer's request to take over a worker's record (转入), waiting for the worker or the current
    employer's HR to confirm or decline it (``app.people.transfers``). At most one pending request per worker."""

    __table_args__ = (
        Index("uq_transfer_pending_worker", "worker_id", unique=True,
              sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"), index=True)
    from_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    to_enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed | declined | cancelled
    name_given: Mapped[str] = mapped_column(String(64))  # the name the new employer's HR typed
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None]

    worker: Mapped[Worker] = relationship(lazy="joined", innerjoin=True)
    from_enterprise: Mapped[Enterprise] = relationship(foreign_keys=[from_enterprise_id], lazy="joined", innerjoin=True)
    to_enterprise: Mapped[Enterprise] = relationship(foreign_keys=[to_enterprise_id], lazy="joined", innerjoin=True)


class Consent(db.Model):
    """One consent given or withdrawn (PIPL Art. 25 separate consent): rows are only ever added, each with its time,
    its actor and the version of the notice the worker was shown. What holds now is the latest row (``consent_since``).

    ``scope`` narrows a consent: "all" (everything the purpose covers) or one context such as "competition:42". A
    scope's own latest row overrides the "all" one there, so a worker can consent for one competition only, or
    everywhere but one.
    """

    __table_args__ = (Index("ix_consent_worker_purpose_scope", "worker_id", "purpose", "scope", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))  # a ConsentPurpose
    scope: Mapped[str] = mapped_column(String(64), default=ALL_SCOPES)
    is_granted: Mapped[bool]
    notice_version: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


def consent_since(worker_id, purpose: str, scope: str = ALL_SCOPES):
    """SQL: since when the worker ``worker_id`` (a column or a value) consents to ``purpose`` in ``scope`` — the
    time of the grant in force — or NULL when they do not. The scope's latest row decides; without one, the latest
    "all" row; without any row, no consent (the default is off). The one definition of "consents now", for one
    worker (``app.people.consents.consents``), a page of workers (``Worker.publicity_consent_at``) or a whole
    competition's results in one query."""
    scopes = [ALL_SCOPES] if scope == ALL_SCOPES else [str(scope), ALL_SCOPES]
    return (select(case((Consent.is_granted, Consent.at), else_=null()))
            .where(Consent.worker_id == worker_id, Consent.purpose == ConsentPurpose(purpose).value,
                   Consent.scope.in_(scopes))
            .order_by(case((Consent.scope == ALL_SCOPES, 1), else_=0), Consent.at.desc(), Consent.id.desc())
            .limit(1).correlate_except(Consent).scalar_subquery())


# What each purpose's consent is now (scope "all"), read with the worker where a page needs it (deferred: the group
# "consents" loads both in one go, or lists undefer it into their own query).
Worker.publicity_consent_at = column_property(consent_since(Worker.id, ConsentPurpose.PUBLICITY.value),
                                              deferred=True, group="consents")
Worker.talent_pool_consent_at = column_property(consent_since(Worker.id, ConsentPurpose.TALENT_POOL.value),
                                                deferred=True, group="consents")


class WorkerImport(db.Model):
    """An uploaded worker file after validation, waiting for HR to confirm.

    ``rows`` holds normalized rows with the ID number already hashed and encrypted, so the plain ID
    number never rests in the database and confirming needs no second parse.
    """

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    encoding: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="preview")  # preview | confirmed | discarded
    row_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    confirmed_at: Mapped[datetime | None]

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")
