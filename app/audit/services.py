"""Appending to the audit log and verifying its hash chain.

Each entry stores the hash of the previous entry and its own hash over a canonical JSON of its
content, so removing, reordering or editing any row breaks the chain from that row on. Appends are
serialized (SQLite: the write transaction is BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped
advisory lock) so two requests never chain onto the same predecessor.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.db import db, utcnow

GENESIS = "0" * 64
_ADVISORY_LOCK_KEY = 0x4A58_4155  # "JXAU"


def entry_digest(seq: int, at_iso: str, actor_id: int | None, actor_name: str, action: str,
                 target_type: str, target_id: str, details: dict[str, Any], prev_hash: str) -> str:
    payload = json.dumps(
        [seq, at_iso, actor_id, actor_name, action, target_type, target_id, details, prev_hash],
        ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _at_iso(entry: AuditEntry) -> str:
    return _iso(entry.at)


@dataclass(frozen=True)
class Recorded:
    """An appended entry as ``record`` wrote it (the columns of ``AuditEntry``)."""

    id: int
    seq: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    target_type: str
    target_id: str
    ip: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


def record(action: str, target: Any = None, details: dict[str, Any] | None = None, *,
           actor: Any = None, target_type: str | None = None, target_id: Any = None) -> Recorded:
    """Append one entry in the current transaction (flushes, never commits), with one INSERT outside the unit of
    work (no ``AuditEntry`` object: the marks API appends one per mark); read it back with a query if needed."""
    session = db.session()
    last = session.info.get(_HEAD)
    if last is None:  # the first append of this transaction: take the append lock, read the head
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        last = session.execute(_HEAD_STATEMENT).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    if target is not None:
        target_type = target_type or target.__tablename__
        target_id = target_id if target_id is not None else getattr(target, "id", "")
    values = {
        "seq": seq,
        "at": utcnow(),
        "actor_id": getattr(actor, "id", None),
        "actor_name": getattr(actor, "username", "") or "",
        "action": action,
        "target_type": target_type or "",
        "target_id": str(target_id if target_id is not None else ""),
        "ip": _client_ip(),
        "details": _json_plain(details),
        "prev_hash": prev,
    }
    values["hash"] = entry_digest(seq, _iso(values["at"]), values["actor_id"], values["actor_name"], action,
                                  values["target_type"], values["target_id"], values["details"], prev)
    session.flush()  # the caller's changes first, so the entry follows what it records
    entry = Recorded(id=session.execute(_INSERT, values).inserted_primary_key[0], **values)
    # The transaction holds the append lock until it ends, so its next append chains onto this one without
    # reading the head again (a batch of 25 marks: one head query, not 25).
    session.info[_HEAD] = (seq, entry.hash)
    return entry


_SCALARS = (str, int, bool, type(None))


def _json_plain(details: dict[str, Any] | None) -> dict[str, Any]:
    """``details`` as JSON gives it back (what is stored, and what the digest is over): a copy of a flat dict of
    strings, whole numbers, booleans and nulls as it is (the marks API's entries, one a mark), anything else
    through JSON (``default=str``)."""
    if not details:
        return {}
    if all(type(k) is str and type(v) in _SCALARS for k, v in details.items()):
        return dict(details)
    return json.loads(json.dumps(details, ensure_ascii=False, default=str))


def _client_ip() -> str:
    return (request.remote_addr or "") if has_request_context() else ""


_HEAD = "jiangxin_audit_head"
_HEAD_STATEMENT = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_INSERT = AuditEntry.__table__.insert()


@event.listens_for(Session, "after_transaction_end")
def _forget_head_at_end(session, transaction) -> None:
    if transaction.parent is None:  # the transaction (and its append lock) ended: read the head again
        session.info.pop(_HEAD, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_head_on_rollback(session, _previous) -> None:
    # Any rollback, a savepoint's too, may have undone an append.
    session.info.pop(_HEAD, None)


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str  # "gap" | "prev_hash" | "hash"


def verify_chain(batch_size: int = 5000) -> tuple[int, list[ChainProblem]]:
    """Walk the whole log in order; return (entries checked, problems)."""
    problems: list[ChainProblem] = []
    expected_seq, prev = 1, GENESIS
    count = 0
    stmt = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch_size)
    for entry in db.session.scalars(stmt):
        count += 1
        if entry.seq != expected_seq:
            problems.append(ChainProblem(entry.seq, "gap"))
        if entry.prev_hash != prev:
            problems.append(ChainProblem(entry.seq, "prev_hash"))
        digest = entry_digest(entry.seq, _at_iso(entry), entry.actor_id, entry.actor_name, entry.action,
                              entry.target_type, entry.target_id, entry.details, entry.prev_hash)
        if digest != entry.hash:
            problems.append(ChainProblem(entry.seq, "hash"))
        expected_seq, prev = entry.seq + 1, entry.hash
    return count, problems
