"""The append-only, hash-chained audit log (its rules: ``app.audit.domain``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, SmallInteger, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from app.db import db, utcnow


class AuditEntry(db.Model):
    """One entry of one stream's hash chain (``app.audit.services``)."""

    # The unique (stream, seq) is also the index that finds a stream's head and walks its chain.
    __table_args__ = (UniqueConstraint("stream", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(48), default="main", server_default="main")
    seq: Mapped[int]  # 1, 2, 3 … without gaps, in its stream
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(48), index=True)
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The rule of ``hash`` (``app.audit.domain``): 2, keyed, over every column (what ``record`` writes); 1, the legacy
    # unkeyed rule of the entries written before it (the server default gave it to them).
    hash_version: Mapped[int] = mapped_column(SmallInteger, server_default="1")


# Append-only at the database level too: updates and deletes are refused by triggers.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
    "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
    "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
]
POSTGRES_TRIGGERS = [
    "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END $$",
    "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
]

for _stmt in SQLITE_TRIGGERS:
    event.listen(AuditEntry.__table__, "after_create", DDL(_stmt).execute_if(dialect="sqlite"))
for _stmt in POSTGRES_TRIGGERS:
    event.listen(AuditEntry.__table__, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))
