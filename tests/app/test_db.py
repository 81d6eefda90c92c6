"""SQLite tuning on live connections: pragmas, BEGIN IMMEDIATE for writes, no "database is locked".

These run against the test app's own engine and against a separate SQLite file engine (the event
listeners in ``app.db`` apply to every engine), so they need no rolled-back transaction around them.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from app.db import SQLITE_PRAGMAS, UTCDateTime, db, sqlite_begin_mode


def _is_sqlite(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


@pytest.fixture
def sqlite_only(app):
    if not _is_sqlite(app):
        pytest.skip("SQLite-specific behaviour; this run uses PostgreSQL")


@pytest.fixture
def file_engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'concurrency.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter (id, value) VALUES (1, 0)"))
    yield engine
    engine.dispose()


@pytest.mark.no_transaction
def test_pragmas_in_effect_on_the_app_engine(app, sqlite_only):
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_pragma_list_is_the_documented_one():
    assert SQLITE_PRAGMAS == (
        "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000",
        "PRAGMA mmap_size=268435456",
    )


@pytest.mark.no_transaction
def test_foreign_keys_are_enforced(app, sqlite_only, file_engine):
    with file_engine.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))"))
    with pytest.raises(Exception, match="FOREIGN KEY"), file_engine.begin() as conn:
        conn.execute(text("INSERT INTO child (id, parent_id) VALUES (1, 99)"))


@pytest.mark.no_transaction
def test_write_transaction_begins_immediate(app, sqlite_only, file_engine):
    statements: list[str] = []
    from sqlalchemy import event

    def capture(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(file_engine, "before_cursor_execute", capture)
    try:
        with file_engine.begin() as conn:
            conn.execute(text("UPDATE counter SET value = value + 1"))
    finally:
        event.remove(file_engine, "before_cursor_execute", capture)
    assert statements[0] == "BEGIN IMMEDIATE"


@pytest.mark.no_transaction
def test_immediate_begin_takes_the_write_lock_up_front(app, sqlite_only, file_engine):
    """Right after BEGIN (before any write) another writer cannot get in; with DEFERRED it could."""
    path = file_engine.url.database
    with file_engine.connect() as conn:
        conn.begin()
        conn.execute(text("SELECT value FROM counter")).scalar()
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
        conn.rollback()

    token = sqlite_begin_mode.set("DEFERRED")
    try:
        with file_engine.connect() as conn:
            conn.begin()
            conn.execute(text("SELECT value FROM counter")).scalar()
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # a deferred reader holds no write lock
                other.execute("ROLLBACK")
            finally:
                other.close()
            conn.rollback()
    finally:
        sqlite_begin_mode.reset(token)


@pytest.mark.no_transaction
def test_two_threads_read_then_write_without_database_is_locked(app, sqlite_only, file_engine):
    """T1 holds the write lock while T2 starts; T2 waits (busy_timeout) instead of failing."""
    t1_in_transaction = threading.Event()
    errors: list[BaseException] = []

    def first():
        try:
            with file_engine.begin() as conn:
                value = conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
                t1_in_transaction.set()
                # T2 is now (or soon) blocked in BEGIN IMMEDIATE; write and commit.
                conn.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)
            t1_in_transaction.set()

    def second():
        try:
            assert t1_in_transaction.wait(10)
            with file_engine.begin() as conn:
                value = conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one()
                conn.execute(text("UPDATE counter SET value = :v WHERE id = 1"), {"v": value + 1})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    with file_engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM counter WHERE id = 1")).scalar_one() == 2  # no lost update


def test_get_requests_read_deferred_and_posts_write_immediate(app):
    hook = next(f for f in app.before_request_funcs[None] if f.__name__ == "_begin_mode")
    for method, expected in (("GET", "DEFERRED"), ("HEAD", "DEFERRED"), ("POST", "IMMEDIATE"), ("DELETE", "IMMEDIATE")):
        with app.test_request_context("/", method=method):
            hook()
            assert sqlite_begin_mode.get() == expected
            app.do_teardown_request()
        assert sqlite_begin_mode.get() == "IMMEDIATE"  # reset after the request


@pytest.mark.parametrize("value", [
    datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    datetime(2024, 5, 1, 20, 0, tzinfo=timezone(timedelta(hours=8))),
])
def test_utc_datetimes_round_trip_timezone_aware(app_ctx, value):
    from app.audit.models import AuditEntry

    entry = AuditEntry(seq=10_000_000, at=value, action="test", details={}, prev_hash="0" * 64, hash="0" * 64)
    db.session.add(entry)
    db.session.flush()
    db.session.expire(entry)
    loaded = entry.at
    assert loaded.tzinfo is not None
    assert loaded == value


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2024, 1, 1), None)
