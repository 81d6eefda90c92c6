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


@pytest.mark.no_transaction
@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_the_write_turn_is_handed_on_only_after_the_transaction_ended_on_the_database(app, sqlite_only, file_engine,
                                                                                      monkeypatch, end):
    """When the write queue hands the turn to the next writer, SQLite's write lock is already free: that writer's
    BEGIN IMMEDIATE goes straight in instead of sleeping in SQLite's busy handler (SQLAlchemy fires its commit and
    rollback events before it ends the transaction on the connection)."""
    from app.db import WriteQueue

    path = file_engine.url.database
    seen: list[str] = []
    release = WriteQueue.release

    def checked_release(queue):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append("free")
        except sqlite3.OperationalError as exc:
            seen.append(str(exc))
        finally:
            other.close()
        release(queue)

    monkeypatch.setattr(WriteQueue, "release", checked_release)
    with file_engine.connect() as conn:
        conn.begin()
        conn.execute(text("UPDATE counter SET value = value + 1"))
        getattr(conn, end)()
    assert seen == ["free"]
    with file_engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM counter")).scalar_one() == (1 if end == "commit" else 0)


def test_write_queue_hands_turns_over_in_arrival_order():
    """SQLite's busy handler polls (a newcomer can overtake an early waiter); our queue must not."""
    import threading

    from app.db import WriteQueue

    queue = WriteQueue()
    assert queue.acquire(1)  # the first writer holds the turn
    order: list[int] = []
    waiting = []
    for i in range(5):
        t = threading.Thread(target=lambda i=i: (queue.acquire(5), order.append(i), queue.release()))
        t.start()
        waiting.append(t)
        deadline = threading.Event()
        while len(queue._waiting) < i + 1 and not deadline.wait(0.001):  # each is queued before the next starts
            pass
    queue.release()
    for t in waiting:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert queue.acquire(0) and not queue.acquire(0.01)  # free again, then held
    queue.release()


def _file_lock_is_free(path: str) -> bool:
    import fcntl
    import os

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_write_queue_turn_holds_the_file_lock_other_processes_wait_on(tmp_path):
    """The thread whose turn it is holds ``<db>-writer.lock``; another process's queue (its own open file) waits
    on it and gets it the moment the turn is released."""
    from app.db import WriteQueue

    path = str(tmp_path / "x.db-writer.lock")
    ours, theirs = WriteQueue(path), WriteQueue(path)
    assert ours.acquire(1)
    assert not _file_lock_is_free(path)
    got = threading.Event()
    other = threading.Thread(target=lambda: (theirs.acquire(5), got.set()))
    other.start()
    ours.release()
    assert got.wait(5)  # woken by the release, no polling
    assert not _file_lock_is_free(path)
    theirs.release()
    other.join(5)
    assert _file_lock_is_free(path)


@pytest.mark.no_transaction
def test_a_writer_of_another_process_waits_past_the_busy_timeout_instead_of_failing(app, sqlite_only, tmp_path):
    """The HTTP 500 seen under the marks benchmark: one gunicorn worker kept handing the write turn among its own
    threads while the other's writer slept in SQLite's busy handler until the busy timeout ("database is locked").
    Now that writer waits on the file lock, which is released at every commit."""
    from sqlalchemy import event

    from app.db import WriteQueue

    path = tmp_path / "busy.db"
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def short_busy_timeout(dbapi_connection, record):
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter (id, value) VALUES (1, 0)"))
    other_process = WriteQueue(str(path) + "-writer.lock")  # what another worker's queue holds
    holder = sqlite3.connect(path, isolation_level=None)
    assert other_process.acquire(1)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE counter SET value = value + 1")
    started, errors = threading.Event(), []

    def write():
        started.set()
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE counter SET value = value + 10"))
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    assert started.wait(5)
    threading.Event().wait(0.3)  # the other worker holds the database for 6 busy timeouts
    holder.execute("COMMIT")
    other_process.release()
    writer.join(10)
    holder.close()
    assert not errors, errors
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM counter")).scalar_one() == 11
    engine.dispose()
