"""Appending to the audit log and verifying its hash chains.

The log is made of **streams**, each its own hash chain: ``main`` for everything that names no stream, and one
per busy area that asks for one (each competition: ``competitions.services.common.audit_stream``). Each entry
stores its stream, its number in the stream (1, 2, 3 … without gaps), the hash of the stream's previous entry and
its own hash over a canonical JSON of its content, so removing, reordering or editing any row breaks its chain from
that row on.

Appends to one stream are serialized so two transactions never chain onto the same predecessor: SQLite's write
transactions are BEGIN IMMEDIATE (one writer at a time anyway); PostgreSQL takes a transaction-scoped advisory lock
per stream. Writers of different streams — judges of two competitions — never wait for each other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import bindparam, event, select, text
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.db import db, utcnow

GENESIS = "0" * 64
MAIN = "main"


def advisory_key(stream: str) -> int:
    """The PostgreSQL advisory lock key of a stream: 64 bits of a hash of its name, as a signed bigint."""
    digest = hashlib.sha256(b"jiangxin-audit:" + stream.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def entry_digest(seq: int, at_iso: str, actor_id: int | None, actor_name: str, action: str,
                 target_type: str, target_id: str, details: dict[str, Any], prev_hash: str, stream: str = MAIN) -> str:
    fields: list[Any] = [seq, at_iso, actor_id, actor_name, action, target_type, target_id, details, prev_hash]
    if stream != MAIN:  # the main stream's entries hash as they did before there were streams
        fields.append(stream)
    payload = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _at_iso(entry: AuditEntry) -> str:
    return _iso(entry.at)


@dataclass(frozen=True)
class Recorded:
    """An appended entry as ``record`` wrote it (the columns of ``AuditEntry``)."""

    id: int
    stream: str
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
           actor: Any = None, target_type: str | None = None, target_id: Any = None, stream: str = MAIN) -> Recorded:
    """Append one entry to ``stream`` in the current transaction (flushes, never commits), with one INSERT outside
    the unit of work (no ``AuditEntry`` object: judges append one per mark); read it back with a query if needed."""
    session = db.session()
    heads = session.info.setdefault(_HEAD, {})
    last = heads.get(stream)
    if last is None:  # the first append to this stream in this transaction: take its append lock, read its head
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(stream)})
        last = session.execute(_HEAD_STATEMENT, {"stream": stream}).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    if target is not None:
        target_type = target_type or target.__tablename__
        target_id = target_id if target_id is not None else getattr(target, "id", "")
    values = {
        "stream": stream,
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
                                  values["target_type"], values["target_id"], values["details"], prev, stream)
    session.flush()  # the caller's changes first, so the entry follows what it records
    entry = Recorded(id=session.execute(_INSERT, values).inserted_primary_key[0], **values)
    # The transaction holds the stream's append lock until it ends, so its next append chains onto this one without
    # reading the head again (a batch of 25 marks: one head query, not 25).
    heads[stream] = (seq, entry.hash)
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


def stream_head(stream: str):
    """SQL: the ``seq`` of the newest entry of ``stream`` (NULL while it has none), one seek in the unique (stream,
    seq) index. It moves with every change audited in the stream, in that change's own transaction: the live board
    reads a competition's to know whether anything of it changed (``competitions.services.board``)."""
    return (select(AuditEntry.seq).where(AuditEntry.stream == stream).order_by(AuditEntry.seq.desc()).limit(1)
            .scalar_subquery())


_HEAD = "jiangxin_audit_head"
_HEAD_STATEMENT = (select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.stream == bindparam("stream"))
                   .order_by(AuditEntry.seq.desc()).limit(1))
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
    stream: str = MAIN


def verify_chain(batch_size: int = 5000) -> tuple[int, list[ChainProblem]]:
    """Walk every stream's chain in order; return (entries checked, problems)."""
    problems: list[ChainProblem] = []
    count = 0
    for stream in db.session.scalars(select(AuditEntry.stream).distinct().order_by(AuditEntry.stream)).all():
        expected_seq, prev = 1, GENESIS
        stmt = (select(AuditEntry).where(AuditEntry.stream == stream).order_by(AuditEntry.seq)
                .execution_options(yield_per=batch_size))
        for entry in db.session.scalars(stmt):
            count += 1
            if entry.seq != expected_seq:
                problems.append(ChainProblem(entry.seq, "gap", stream))
            if entry.prev_hash != prev:
                problems.append(ChainProblem(entry.seq, "prev_hash", stream))
            digest = entry_digest(entry.seq, _at_iso(entry), entry.actor_id, entry.actor_name, entry.action,
                                  entry.target_type, entry.target_id, entry.details, entry.prev_hash, stream)
            if digest != entry.hash:
                problems.append(ChainProblem(entry.seq, "hash", stream))
            expected_seq, prev = entry.seq + 1, entry.hash
    return count, problems
