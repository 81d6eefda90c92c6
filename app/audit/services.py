"""Appending to the audit log and verifying its hash chains.

The log is made of **streams**, each its own hash chain: ``main`` for everything that names no stream, and one
per busy area that asks for one (each competition, and its judges' marks spread over a few more:
``competitions.services.common.audit_stream``). Each entry
stores its stream, its number in the stream (1, 2, 3 … without gaps), the hash of the stream's previous entry and
its own hash — keyed, over every column (``app.audit.domain``) — so removing, reordering or editing any row breaks
its chain from that row on, and nobody without ``AUDIT_HMAC_KEY`` can hash a forged row. What a chain cannot show
(its last entries deleted, or a rewrite by someone holding the key) the anchor outside the database shows
(``app.audit.anchor``): ``verify_log`` checks both.

A transaction's entries are queued by ``record`` and appended together just before it commits (``append_pending``).
Appends to one stream are serialized so two transactions never chain onto the same predecessor: SQLite's write
transactions are BEGIN IMMEDIATE (one writer at a time anyway); PostgreSQL takes a transaction-scoped advisory lock
per stream, at the append, so it is held only for the append and the COMMIT — not while the request builds its
answer. Writers of different streams — judges of two competitions, or of one in different judge streams — never
wait for each other.
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
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import TableClause

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

__all__ = ["GENESIS", "MAIN", "ChainProblem", "LogCheck", "Recorded", "advisory_key", "append_pending", "entry_mac",
           "record", "verify_chain", "verify_log"]


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
    """An appended entry as it was written (the columns of ``AuditEntry`` but its id)."""

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


@dataclass
class _Pending:
    """An entry ``record`` queued: its content, and the transaction (a savepoint, maybe) it belongs to."""

    values: dict[str, Any]
    target: Any
    transaction: Any


def record(action: str, target: Any = None, details: dict[str, Any] | None = None, *,
           actor: Any = None, target_type: str | None = None, target_id: Any = None, stream: str = MAIN) -> None:
    """Add one entry to ``stream`` as part of the current transaction (never commits).

    The entry is queued and appended when the transaction commits, with the transaction's other entries, just
    before the COMMIT (``append_pending``): there the stream's append lock is taken (PostgreSQL), its head read,
    and the entries numbered, chained, hashed and inserted. So a stream's lock is held for the last statements of
    a transaction only, never while a request builds its answer: every judge of a competition appends to the same
    stream. A savepoint rolled back takes its queued entries with it; a rolled-back transaction appends nothing."""
    session = db.session()
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    if target is not None:
        if hasattr(target, "_get_current_object"):  # current_user: the user, not the proxy, is kept until the append
            target = target._get_current_object()
        target_type = target_type or target.__tablename__
        if target_id is None:  # a new object gets its id at the flush before the append
            target_id = getattr(target, "id", None)
    values = {
        "stream": stream,
        "actor_id": getattr(actor, "id", None),
        "actor_name": getattr(actor, "username", "") or "",
        "action": action,
        "target_type": target_type or "",
        "target_id": None if target_id is None else str(target_id),
        "ip": _client_ip(),
        "details": _json_plain(details),
        "hash_version": KEYED,
    }
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append(
        _Pending(values, target if target_id is None else None, transaction))


def append_pending(session: Session | None = None) -> list[Recorded]:
    """Append the entries queued in this transaction now (the session does it before it commits). For each stream
    written, in the order of their names (two transactions never wait for each other in a circle): on PostgreSQL
    its transaction-scoped advisory lock, then its head — not again for a stream appended to earlier in the
    transaction. Then one INSERT of every entry, in the order recorded, each chained onto its stream's previous."""
    session = session or db.session()
    pending: list[_Pending] = session.info.pop(_PENDING, None) or []
    if not pending:
        return []
    session.flush()  # the changes the entries record first (new targets get their ids)
    heads = session.info.setdefault(_HEAD, {})
    postgres = session.get_bind().dialect.name == "postgresql"
    mac = entry_mac()
    chains: dict[str, tuple[int, str]] = {}
    for stream in sorted({item.values["stream"] for item in pending}):
        last = heads.get(stream)
        if last is None:  # the first append to this stream in this transaction: take its lock, read its head
            if postgres:
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key(stream)})
            last = session.execute(_HEAD_STATEMENT, {"stream": stream}).first()
        chains[stream] = (last[0], last[1]) if last else (0, GENESIS)
    at = utcnow()
    rows = []
    for item in pending:  # in the order recorded (ids follow it), each chaining onto its stream's previous entry
        values = dict(item.values)
        stream = values["stream"]
        seq, prev = chains[stream]
        seq += 1
        if values["target_id"] is None:
            values["target_id"] = str(getattr(item.target, "id", "") or "") if item.target is not None else ""
        values.update(seq=seq, at=at, prev_hash=prev)
        values["hash"] = mac.digest(stream, seq, iso(at), values["actor_id"], values["actor_name"], values["action"],
                                    values["target_type"], values["target_id"], values["ip"], values["details"], prev)
        chains[stream] = (seq, values["hash"])
        rows.append(values)
    session.execute(_INSERT, rows)  # one statement (an executemany) for the transaction's entries
    # The transaction holds the streams' append locks until it ends: its next append chains on without reading.
    heads.update(chains)
    return [Recorded(**values) for values in rows]


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
_TABLE = AuditEntry.__table__
_INSERT = _TABLE.insert()


_PENDING = "jiangxin_audit_pending"


@event.listens_for(Session, "before_commit")
def _append_before_commit(session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release keeps its entries queued for the commit
        append_pending(session)


@event.listens_for(Session, "do_orm_execute")
def _append_before_reading_the_log(state) -> None:
    """Reading the log in a transaction that recorded entries sees them (as autoflush shows pending objects)."""
    if state.session.info.get(_PENDING) and state.is_select and _reads_the_log(state.statement):
        append_pending(state.session)


def _reads_the_log(statement) -> bool:
    """Whether a SELECT reads ``audit_entry`` anywhere (a subquery too: ``Query.count``). Walked only while the
    transaction has queued entries."""
    return any(isinstance(e, TableClause) and e.name == _TABLE.name for e in visitors.iterate(statement))


@event.listens_for(Session, "after_transaction_end")
def _forget_head_at_end(session, transaction) -> None:
    if transaction.parent is None:  # the transaction (and its append lock) ended: read the head again
        session.info.pop(_HEAD, None)
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous) -> None:
    """Any rollback, a savepoint's too, may have undone an append (read the head again) and drops the entries
    queued in what it rolled back."""
    session.info.pop(_HEAD, None)
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [p for p in pending if not _within(p.transaction, previous)]


def _within(transaction, ancestor) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


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
