"""Audit streams: each stream is its own hash chain (``main``, and one per competition), verified stream by stream;
on PostgreSQL an append takes its stream's lock only, so one competition's open transaction does not hold up
another competition's writers."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from sqlalchemy import select, text

from app.audit.domain import EntryMac, legacy_digest
from app.audit.models import AuditEntry
from app.audit.services import GENESIS, MAIN, append_pending, record, verify_chain
from app.db import db


def _chain(stream: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.stream == stream).order_by(AuditEntry.id)))


def test_streams_are_chains_of_their_own(app_ctx):
    for i in range(3):
        record("a", details={"i": i}, stream="competition:1")
        record("b", details={"i": i}, stream="competition:2")
        record("c", details={"i": i})
    for stream in ("competition:1", "competition:2", MAIN):
        entries = _chain(stream)
        assert [e.seq for e in entries] == [1, 2, 3]
        assert entries[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert verify_chain() == (9, [])


def test_a_broken_stream_is_named(app_ctx):
    record("a", stream="competition:1")
    record("a", stream="competition:1")
    record("b", stream="competition:2")
    entry = _chain("competition:1")[0]
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entry_no_change ON audit_entry"))
    db.session.execute(text("UPDATE audit_entry SET action = 'forged' WHERE id = :id"), {"id": entry.id})
    db.session.expire_all()
    _count, problems = verify_chain()
    assert [(p.stream, p.seq, p.reason) for p in problems] == [("competition:1", 1, "hash")]


def test_moving_an_entry_to_another_stream_breaks_its_hash():
    args = (1, "2026-12-07T00:00:00.000000Z", 1, "admin", "x", "", "", {}, GENESIS)
    assert legacy_digest(*args, "competition:1") != legacy_digest(*args, "competition:2")
    mac = EntryMac("key")
    keyed = (1, "2026-12-07T00:00:00.000000Z", 1, "admin", "x", "", "", "", {}, GENESIS)
    assert mac.digest("competition:1", *keyed) != mac.digest("competition:2", *keyed) != mac.digest(MAIN, *keyed)


def test_the_main_stream_hashes_as_entries_did_before_streams():
    """Entries written before streams existed are the main stream's: their stored hashes still verify."""
    args = [7, "2026-12-01T08:00:00.000000Z", 3, "hr_steel", "worker_updated", "worker", "12", {"name": "甲"}, "a" * 64]
    before = hashlib.sha256(json.dumps(args, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                                       default=str).encode()).hexdigest()
    assert legacy_digest(*args) == before == legacy_digest(*args, MAIN)


@pytest.mark.no_transaction
def test_another_competitions_commit_goes_through_while_one_is_open(make_app, postgres_url):
    """PostgreSQL: competition 1's transaction holds its stream's append lock; competition 2's writer commits at once
    (a lock timeout of 2 s would fail it otherwise), while a second writer of competition 1 waits for the lock."""
    app = make_app(postgres_url)
    with app.app_context():
        db.create_all()
    holding = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def hold_competition_1() -> None:
        try:
            with app.app_context():
                record("mark_submitted", details={"n": 1}, stream="competition:1")
                append_pending()  # where a commit appends: now it holds the stream's lock
                holding.set()
                release.wait(30)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
            holding.set()

    holder = threading.Thread(target=hold_competition_1)
    holder.start()
    try:
        assert holding.wait(30) and not errors, errors
        with app.app_context():
            db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
            record("mark_submitted", details={"n": 2}, stream="competition:2")
            db.session.commit()  # went through while competition 1's transaction is still open
            db.session.execute(text("SET LOCAL lock_timeout = '200ms'"))
            record("mark_submitted", details={"n": 3}, stream="competition:1")
            with pytest.raises(Exception, match="lock timeout"):
                append_pending()
            db.session.rollback()
    finally:
        release.set()
        holder.join(30)
    assert not errors, errors
    with app.app_context():
        assert verify_chain() == (2, [])
        assert {e.stream for e in db.session.scalars(select(AuditEntry))} == {"competition:1", "competition:2"}
        db.session.remove()
