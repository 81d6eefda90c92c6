"""Issue 14 item 3: ``flask audit verify`` detects every way of tampering with the log that the issue names — a
changed column (``ip`` included), the last entries deleted, an entry deleted in the middle, an edit with every later
hash recomputed, an inserted entry — once the log was anchored outside the database.

The attacker here has the database (triggers dropped, any SQL) but neither the instance secrets nor the anchor
file; they know how the old rule hashed (SHA-256 of a JSON of the row: anyone could recompute it)."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select, text

from app.audit.models import AuditEntry
from app.audit.services import record, verify_chain
from app.db import db
from tests.app.audit.support import drop_triggers

STREAM = "competition:7"


@pytest.fixture
def log(app, app_ctx, create_user):
    """Six entries in the main stream and four in a competition's, from a client address, then anchored by a
    successful ``audit verify``."""
    admin = create_user("admin")
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        for i in range(6):
            record("role_granted", target_type="user", target_id=i, details={"role": "judge", "i": i}, actor=admin)
        for i in range(4):
            record("mark_submitted", target_type="mark", target_id=i, details={"value": str(i)}, actor=admin,
                   stream=STREAM)
    result = _verify(app)
    assert result.exit_code == 0, result.output
    return admin


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def _rows(stream: str = "main") -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.stream == stream).order_by(AuditEntry.seq)))


def _public_hash(row: AuditEntry, prev_hash: str) -> str:
    """The hash anyone can compute: the old rule, SHA-256 of the row's JSON."""
    fields = [row.seq, row.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), row.actor_id, row.actor_name, row.action,
              row.target_type, row.target_id, row.details, prev_hash]
    if row.stream != "main":
        fields.append(row.stream)
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


def _rehash_from(seq: int, stream: str = "main") -> None:
    """Recompute every hash from ``seq`` on so that each entry names its predecessor's (new) hash."""
    rows = _rows(stream)
    prev = rows[seq - 2].hash if seq > 1 else "0" * 64
    for row in rows[seq - 1:]:
        digest = _public_hash(row, prev)
        db.session.execute(text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE id = :id"),
                           {"p": prev, "h": digest, "id": row.id})
        prev = digest
    db.session.expire_all()


def _broken(app) -> list[tuple[str, int, str]]:
    db.session.expire_all()
    _count, problems = verify_chain()
    result = _verify(app)
    assert result.exit_code == 1, result.output
    assert "audit chain BROKEN" in result.output
    return [(p.stream, p.seq, p.reason) for p in problems]


# 1. a changed column — every column the chain covers, the client address first


def test_a_changed_ip_is_detected(app, log):
    drop_triggers()
    db.session.execute(text("UPDATE audit_entry SET ip = '203.0.113.9' WHERE stream = 'main' AND seq = 3"))
    assert _broken(app) == [("main", 3, "hash")]


@pytest.mark.parametrize("column, value", [
    ("actor_name", "'someone_else'"),
    ("action", "'role_revoked'"),
    ("target_type", "'worker'"),
    ("target_id", "'99'"),
    ("details", "'{\"role\": \"admin\", \"i\": 2}'"),
    ("ip", "''"),
    ("actor_id", "NULL"),
    ("at", "'2026-01-01 00:00:00'"),
])
def test_every_changed_column_is_detected(app, log, column, value):
    drop_triggers()
    db.session.execute(text(f"UPDATE audit_entry SET {column} = {value} WHERE stream = 'main' AND seq = 3"))
    assert ("main", 3, "hash") in _broken(app)


def test_an_entry_moved_to_another_stream_is_detected(app, log):
    drop_triggers()
    db.session.execute(text(f"UPDATE audit_entry SET stream = '{STREAM}', seq = 5 WHERE stream = 'main' AND seq = 6"))
    problems = _broken(app)
    assert (STREAM, 5, "hash") in problems
    assert ("main", 6, "truncated") in problems  # the main stream lost its anchored head


# 2. the last entries deleted


def test_deleted_last_entries_are_detected(app, log):
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_entry WHERE stream = 'main' AND seq >= 5"))
    assert _broken(app) == [("main", 6, "truncated")]


def test_a_deleted_stream_is_detected(app, log):
    drop_triggers()
    db.session.execute(text(f"DELETE FROM audit_entry WHERE stream = '{STREAM}'"))
    assert _broken(app) == [(STREAM, 4, "truncated")]


# 3. an entry deleted in the middle


def test_a_deleted_middle_entry_is_detected(app, log):
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_entry WHERE stream = 'main' AND seq = 3"))
    assert set(_broken(app)) == {("main", 4, "gap"), ("main", 4, "prev_hash")}


def test_a_deleted_middle_entry_with_the_rest_renumbered_and_rehashed_is_detected(app, log):
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_entry WHERE stream = 'main' AND seq = 3"))
    for seq in (4, 5, 6):
        db.session.execute(text("UPDATE audit_entry SET seq = :n WHERE stream = 'main' AND seq = :s"),
                           {"n": seq - 1, "s": seq})
    _rehash_from(3)
    problems = _broken(app)
    assert ("main", 3, "hash") in problems and ("main", 6, "truncated") in problems


# 4. an edit with every later hash recomputed


def test_an_edit_with_every_later_hash_recomputed_is_detected(app, log):
    drop_triggers()
    db.session.execute(text("UPDATE audit_entry SET details = '{\"role\": \"admin\", \"i\": 2}' "
                            "WHERE stream = 'main' AND seq = 3"))
    _rehash_from(3)
    problems = _broken(app)
    assert [p for p in problems if p[1] == 3] == [("main", 3, "hash")]  # the key is not the attacker's


def test_an_edit_rehashed_by_the_old_rule_is_detected(app, log):
    """Marking the rewritten entries as hashed by the old, unkeyed rule does not help: a stream that is keyed stays
    keyed."""
    drop_triggers()
    db.session.execute(text("UPDATE audit_entry SET details = '{\"role\": \"admin\", \"i\": 2}' "
                            "WHERE stream = 'main' AND seq = 3"))
    db.session.execute(text("UPDATE audit_entry SET hash_version = 1 WHERE stream = 'main' AND seq >= 3"))
    _rehash_from(3)
    assert set(_broken(app)) == {*(("main", s, "version") for s in (3, 4, 5, 6)), ("main", 6, "anchor")}


def test_the_whole_log_rewritten_by_the_old_rule_is_detected(app, log):
    """Even rewritten from its first entry on (so that no keyed entry is left to contradict it), the log no longer
    matches its anchor."""
    drop_triggers()
    db.session.execute(text("UPDATE audit_entry SET details = '{\"role\": \"admin\", \"i\": 2}' "
                            "WHERE stream = 'main' AND seq = 3"))
    db.session.execute(text("UPDATE audit_entry SET hash_version = 1 WHERE stream = 'main'"))
    _rehash_from(1)
    problems = _broken(app)
    assert ("main", 1, "version") in problems and ("main", 6, "anchor") in problems


def test_a_rewrite_by_someone_holding_the_key_is_detected_by_the_anchor(app, log):
    """The key alone is not enough either: the anchor outside the database still names the old head."""
    from app.audit.domain import iso
    from app.audit.services import entry_mac

    drop_triggers()
    db.session.execute(text("UPDATE audit_entry SET details = '{\"role\": \"admin\", \"i\": 2}' "
                            "WHERE stream = 'main' AND seq = 3"))
    rows = _rows()
    prev = rows[1].hash
    for row in rows[2:]:
        digest = entry_mac().digest(row.stream, row.seq, iso(row.at), row.actor_id, row.actor_name, row.action,
                                    row.target_type, row.target_id, row.ip, row.details, prev)
        db.session.execute(text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE id = :id"),
                           {"p": prev, "h": digest, "id": row.id})
        prev = digest
    assert _broken(app) == [("main", 6, "anchor")]


# 5. an inserted entry


def _insert(stream: str, seq: int, prev_hash: str, at: str, version: int | None = None) -> None:
    values = {"stream": stream, "seq": seq, "at": at, "prev": prev_hash, "h": "0" * 64}
    columns = "stream, seq, at, actor_name, action, target_type, target_id, ip, details, prev_hash, hash"
    params = ":stream, :seq, :at, 'admin', 'role_granted', 'user', '42', '192.0.2.7', '{\"role\": \"admin\"}', :prev, :h"
    if version is not None:
        columns, params, values["v"] = columns + ", hash_version", params + ", :v", version
    db.session.execute(text(f"INSERT INTO audit_entry ({columns}) VALUES ({params})"), values)


def _at(row: AuditEntry) -> str:
    return row.at.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_an_entry_appended_by_the_attacker_is_detected(app, log):
    drop_triggers()
    rows = _rows()
    _insert("main", 7, rows[-1].hash, _at(rows[-1]), version=2)
    _rehash_from(7)
    assert _broken(app) == [("main", 7, "hash")]


def test_an_entry_appended_by_the_old_rule_is_detected(app, log):
    drop_triggers()
    rows = _rows()
    _insert("main", 7, rows[-1].hash, _at(rows[-1]), version=1)
    _rehash_from(7)
    assert _broken(app) == [("main", 7, "version")]


def test_an_entry_inserted_in_the_middle_is_detected(app, log):
    drop_triggers()
    for seq in (6, 5, 4):  # make room for a new entry 4
        db.session.execute(text("UPDATE audit_entry SET seq = :n WHERE stream = 'main' AND seq = :s"),
                           {"n": seq + 1, "s": seq})
    rows = _rows()
    _insert("main", 4, rows[2].hash, _at(rows[2]), version=2)
    _rehash_from(4)
    problems = _broken(app)
    assert ("main", 4, "hash") in problems and ("main", 6, "anchor") in problems
