"""Appending to the audit log and verifying its hash chains.

The log is made of **streams**, each its own hash chain: ``main`` for everything that names no stream, and one
per busy area that asks for one (each competition: ``competitions.services.common.audit_stream``). Each entry
stores its stream, its number in the stream (1, 2, 3 … without gaps), the hash of the stream's previous entry and
its own hash — keyed, over every column (``app.audit.domain``) — so removing, reordering or editing any row breaks
its chain from that row on, and nobody without ``AUDIT_HMAC_KEY`` can hash a forged row. What a chain cannot show
(its last entries deleted, or a rewrite by someone holding the key) the anchor outside the database shows
(``app.audit.anchor``): ``verify_log`` checks both.

Appends to one stream are serialized so two transactions never chain onto the same predecessor: SQLite's write
transactions are BEGIN IMMEDIATE (one writer at a time anyway); PostgreSQL takes a transaction-scoped advisory lock
per stream. Writers of different streams — judges of two competitions — never wait for each other.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, request
from flask_login import current_user
from sqlalchemy import bindparam, event, select, text
from sqlalchemy.orm import Session

from app.audit.domain import (
    GENESIS,
    KEYED,
    MAIN,
    Anchor,
    ChainProblem,
    EntryMac,
    Head,
    StreamCheck,
    iso,
    missing_stream,
)
from app.audit.models import AuditEntry
from app.db import db, utcnow

__all__ = ["GENESIS", "MAIN", "ChainProblem", "LogCheck", "Recorded", "advisory_key", "entry_mac", "record",
           "verify_chain", "verify_log"]


def advisory_key(stream: str) -> int:
    """The PostgreSQL advisory lock key of a stream: 64 bits of a hash of its name, as a signed bigint."""
    digest = hashlib.sha256(b"jiangxin-audit:" + stream.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def entry_mac() -> EntryMac:
    """The keyed hash rule under this app's ``AUDIT_HMAC_KEY`` (set up once per app)."""
    mac = current_app.extensions.get("audit_entry_mac")
    if mac is None:
        mac = current_app.extensions["audit_entry_mac"] = EntryMac(current_app.config["AUDIT_HMAC_KEY"])
    return mac


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
    hash_version: int


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
        "hash_version": KEYED,
    }
    values["hash"] = entry_mac().digest(stream, seq, iso(values["at"]), values["actor_id"], values["actor_name"], action,
                                        values["target_type"], values["target_id"], values["ip"], values["details"], prev)
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


@dataclass
class LogCheck:
    """What a walk of the log found: entries checked, problems, and each stream's head as walked."""

    count: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    heads: dict[str, Head] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_log(session: Session | None = None, anchor: Anchor | None = None, *, since_anchor: bool = False,
               batch_size: int = 5000) -> LogCheck:
    """Walk every stream's chain in order and compare it with ``anchor`` (each anchored head must still be there,
    with its hash). ``since_anchor``: check only what was appended after the anchored heads (the anchored entries
    themselves are compared; streams the anchor does not know are walked whole) — what ``audit anchor`` does every
    few minutes. ``session``: another database's (a backup being restored); by default the app's."""
    session = session or db.session
    mac = entry_mac()
    anchored = dict(anchor.heads) if anchor else {}
    result = LogCheck()
    streams = session.scalars(select(AuditEntry.stream).distinct().order_by(AuditEntry.stream)).all()
    for stream in streams:
        head = anchored.pop(stream, None)
        start = head if since_anchor else None
        check = StreamCheck(stream, mac, anchored=head, start=start)
        stmt = select(AuditEntry).where(AuditEntry.stream == stream)
        if start is not None:
            stmt = stmt.where(AuditEntry.seq >= start.seq)
        for entry in session.scalars(stmt.order_by(AuditEntry.seq).execution_options(yield_per=batch_size)):
            check.add(entry)
        result.problems += check.finish()
        result.count += check.count
        if check.head is not None:
            result.heads[stream] = check.head
    result.problems += [missing_stream(stream, head) for stream, head in sorted(anchored.items())]
    return result


def verify_chain(batch_size: int = 5000) -> tuple[int, list[ChainProblem]]:
    """Walk every stream's chain, compared with this installation's anchor; return (entries checked, problems)."""
    from app.audit.anchor import read_anchor

    result = verify_log(anchor=read_anchor().anchor, batch_size=batch_size)
    return result.count, result.problems


@dataclass
class AnchorOutcome:
    """What ``verify_and_anchor`` compared the log with, what it found, and the anchor it wrote (if any)."""

    read: Any  # app.audit.anchor.AnchorRead
    check: LogCheck
    reset: bool = False
    written: Anchor | None = None
    write_error: str = ""  # why a new anchor could not be written (the log itself may verify)

    @property
    def ok(self) -> bool:
        from app.audit.anchor import INVALID

        return self.check.ok and (self.read.status != INVALID or self.reset)


def verify_and_anchor(*, since_anchor: bool = False, reset: bool = False, write: bool = True) -> AnchorOutcome:
    """Verify the log against this installation's anchor and, when it verifies, advance the anchor to the heads.

    ``since_anchor``: only what was appended after the anchor (``audit anchor``); otherwise the whole log
    (``audit verify``). ``reset``: the operator's decision to anchor the log as it now is — it must still verify
    as a chain, but it is not compared with the old anchor (after a deliberate restore, or a new key). An invalid
    anchor file fails the check unless ``reset``."""
    from app.audit.anchor import OK, anchor_lock, read_anchor, write_anchor
    from app.audit.domain import heads_extend

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(anchor_lock())
        except OSError as exc:  # e.g. the anchor's directory belongs to the user of the timer: compare, don't write
            write_error = f"{exc.strerror}: {exc.filename}"
        else:
            write_error = ""
        read = read_anchor()
        compare = None if reset else read.anchor
        check = verify_log(anchor=compare, since_anchor=since_anchor and compare is not None)
        outcome = AnchorOutcome(read, check, reset)
        if not outcome.ok or not write:
            return outcome
        if compare is not None and not heads_extend(compare.heads, check.heads):  # (verify_log reports truncation)
            return outcome
        if read.status == OK and not reset and dict(read.anchor.heads) == check.heads:
            return outcome  # nothing new to anchor
        if not write_error:
            try:
                outcome.written = write_anchor(check.heads)
            except OSError as exc:
                write_error = f"{exc.strerror}: {exc.filename}"
        outcome.write_error = write_error
        return outcome


def replace_anchor(heads: dict[str, Head]) -> Anchor:
    """Anchor ``heads`` whatever the anchor said before (``backup restore``, which has verified them)."""
    from app.audit.anchor import anchor_lock, write_anchor

    with anchor_lock():
        return write_anchor(heads)
