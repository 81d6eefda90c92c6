"""Consents (PIPL Art. 25 separate consent): asking whether a worker consents now, giving and withdrawing.

A consent is rows of ``Consent``, only ever added: each grant or withdrawal with its purpose, scope, time, actor
and notice version. ``consents(worker, purpose, scope)`` answers "does this worker consent to <purpose> (in
<scope>) now?"; ``consenting`` answers it for many workers in one query; both, the worker list and the results'
publication read the one SQL definition, ``app.people.models.consent_since``. Consent is read when a page is
served, so a withdrawal counts at once. Only the worker's own user changes their consents; each change is audited.
Services flush; the request commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.services import record
from app.db import db, utcnow
from app.errors import PermissionDenied
from app.people.labels import CONSENT_FIELDS, CONSENT_NOTICE_VERSIONS
from app.people.models import ALL_SCOPES, Consent, ConsentPurpose, Worker, consent_since
from app.people.services import ValidationFailed

__all__ = ["ALL_SCOPES", "consent_since", "consenting", "consents", "last_change", "scope_of"]

_SCOPE_RE = re.compile(r"^(all|[a-z_]{1,40}:[0-9]{1,20})$")


def scope_of(kind: str, object_id: int) -> str:
    """The scope of one context, e.g. ``scope_of("competition", 42)`` → "competition:42"."""
    return f"{kind}:{int(object_id)}"


def _purpose(purpose: str) -> ConsentPurpose:
    try:
        return ConsentPurpose(purpose)
    except ValueError:
        raise ValidationFailed({"purpose": [_l("Unknown consent.")]}) from None


def _scope(scope: str) -> str:
    if not isinstance(scope, str) or not _SCOPE_RE.match(scope):
        raise ValueError(f"not a consent scope: {scope!r}")
    return scope


# --- asking --------------------------------------------------------------------------------------------------


def consenting(worker_ids: Iterable[int], purpose: str, scope: str = ALL_SCOPES) -> dict[int, datetime]:
    """Worker id → since when, for those of ``worker_ids`` who consent to ``purpose`` in ``scope`` now. One query."""
    ids = sorted(set(worker_ids))
    if not ids:
        return {}
    since = consent_since(Worker.id, _purpose(purpose).value, _scope(scope)).label("since")
    rows = db.session.execute(select(Worker.id, since).where(Worker.id.in_(ids)))
    return {wid: at for wid, at in rows if at is not None}


def consents(worker: Worker | int, purpose: str, scope: str = ALL_SCOPES) -> bool:
    """Does this worker consent to ``purpose`` (in ``scope``) now?"""
    worker_id = worker if isinstance(worker, int) else worker.id
    return worker_id in consenting([worker_id], purpose, scope)


def last_change():
    """SQL: the id of the newest consent row of anyone (NULL: none), one seek in the primary key. It moves with every
    grant and withdrawal: caches of pages that show names per consent (the live board) read it to know when to
    rebuild."""
    return select(func.max(Consent.id)).scalar_subquery()


def consent_state(worker: Worker) -> dict[str, datetime | None]:
    """{purpose: since when given, or None} for every purpose, scope "all" (one query for all purposes)."""
    return {p.value: getattr(worker, CONSENT_FIELDS[p]) for p in ConsentPurpose}


def consent_history(worker: Worker, limit: int = 100) -> list[Consent]:
    return list(db.session.scalars(
        select(Consent).where(Consent.worker_id == worker.id).order_by(Consent.at.desc(), Consent.id.desc()).limit(limit)))


# --- giving and withdrawing ----------------------------------------------------------------------------------


def record_consent(worker: Worker, purpose: str, granted: bool, *, actor_id: int | None, scope: str = ALL_SCOPES,
                   at: datetime | None = None) -> Consent:
    """Add one row (no permission check: ``set_consent`` is the worker's way; the demo data set uses this)."""
    purpose_enum = _purpose(purpose)
    row = Consent(worker_id=worker.id, purpose=purpose_enum.value, scope=_scope(scope), is_granted=granted,
                  notice_version=CONSENT_NOTICE_VERSIONS[purpose_enum], at=at or utcnow(), actor_id=actor_id)
    db.session.add(row)
    db.session.flush()
    db.session.expire(worker, [CONSENT_FIELDS[p] for p in ConsentPurpose])
    return row


def set_consent(actor, worker: Worker, purpose: str, granted: bool, *, scope: str = ALL_SCOPES) -> bool:
    """Give or withdraw one consent; only the worker's own user may. Returns whether it changed."""
    if not actor.has_role(Role.WORKER) or actor.worker_id != worker.id:
        raise PermissionDenied(_l("Only the worker can give or withdraw a consent."))
    purpose_enum = _purpose(purpose)
    if consents(worker, purpose_enum.value, scope) == granted:
        return False
    record_consent(worker, purpose_enum.value, granted, actor_id=actor.id, scope=scope)
    details: dict[str, Any] = {"purpose": purpose_enum.value}
    if scope != ALL_SCOPES:
        details["scope"] = scope
    record("consent_granted" if granted else "consent_withdrawn", worker, details)
    return True


def set_consents(actor, worker: Worker, changes: dict[str, bool]) -> list[str]:
    """Several purposes at once (API PUT); returns the purposes that changed."""
    return [p for p, granted in changes.items() if set_consent(actor, worker, p, granted)]
