"""Database base: declarative base with a naming convention, UTC timestamps, SQLite tuning.

SQLite is the embedded default, so it is set up for concurrent web use: WAL, synchronous=NORMAL,
foreign keys on, a 5 s busy timeout, and write transactions that start with ``BEGIN IMMEDIATE``.
A deferred BEGIN that first reads and then writes fails at once with "database is locked" when another
writer got in between; an immediate BEGIN takes the write lock up front and waits (busy_timeout) for it.
Reads (GET/HEAD requests) keep a deferred BEGIN so readers never queue behind writers. A write view declared
``reads_first`` reads and validates in a deferred transaction too and takes the write lock only for its write phase
(``begin_writes``). Writers queue first come, first served within a process and take turns between processes
through a file lock (``WriteQueue``), so no worker starves in SQLite's sleeping busy handler.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: processes fall back to SQLite's busy handler
    fcntl = None  # type: ignore[assignment]

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, Numeric, Pool, String, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class ExactDecimal(TypeDecorator):
    """Exact decimals (marks, weights, factors) on every backend.

    PostgreSQL stores NUMERIC(14, 4). SQLite has no exact decimal type (SQLAlchemy would go through
    floats and warn), so there the value is stored as its canonical text; arithmetic happens in Python
    with ``Decimal`` anyway, and SQL never orders by these columns.
    """

    impl = Numeric(14, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(14, 4, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal takes Decimal, not {type(value).__name__}")
        if not value.is_finite():
            raise ValueError("ExactDecimal stores finite values only")
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value) if not isinstance(value, Decimal) else value


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), Decimal: ExactDecimal()},
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


db = SQLAlchemy(model_class=Base)

# "IMMEDIATE" or "DEFERRED": how the next SQLite transaction in this context begins.
sqlite_begin_mode: contextvars.ContextVar[str] = contextvars.ContextVar("sqlite_begin_mode", default="IMMEDIATE")
# True while a ``reads_first`` request is still in its read phase (see ``begin_writes``).
sqlite_reads_first: contextvars.ContextVar[bool] = contextvars.ContextVar("sqlite_reads_first", default=False)


def reads_first(view):
    """Declare a write view whose service reads (and validates) first and calls ``begin_writes()`` before its
    first write. On SQLite the request then begins DEFERRED — its reads take no write lock, so requests of other
    threads and processes read and validate at the same time — and only the short write phase holds the lock.
    The service must re-check, after ``begin_writes()``, whatever it read that a concurrent writer could have
    changed (it runs in a new transaction). Elsewhere (PostgreSQL) nothing changes."""
    view._reads_first = True
    return view


def is_reads_first(view, method: str) -> bool:
    """Whether ``view`` (a view function, or a MethodView's ``as_view``) declares ``reads_first`` for ``method``."""
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower(), None)
    return bool(getattr(view, "_reads_first", False))


def reading_first() -> bool:
    """True in the read phase of a ``reads_first`` request on SQLite (``begin_writes`` not called yet)."""
    return sqlite_reads_first.get() and db.session.get_bind().dialect.name == "sqlite"


def begin_writes() -> bool:
    """End the read phase of a ``reads_first`` request: on SQLite the read-only transaction is ended (its loaded
    objects stay loaded) and the write transaction begins ``BEGIN IMMEDIATE`` (its turn in the write queue first).
    Returns True when it did so — the caller then re-checks what it read; False (nothing to do) outside a read phase
    and on PostgreSQL.

    The read transaction is ended and the write transaction begun on the same database connection, within the
    session's one transaction: ``COMMIT`` and ``BEGIN IMMEDIATE`` as two statements, rather than the session
    committing and beginning anew (~250 µs of bookkeeping, once per group of judges' batches). Nothing is lost by it:
    the read phase wrote nothing, so no commit hook has anything to do for it."""
    if not reading_first():
        return False
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_writes() must come before the request's first write")
    sqlite_reads_first.set(False)
    sqlite_begin_mode.set("IMMEDIATE")  # the request's teardown resets both to what they were
    if session.in_transaction():
        connection = session.connection()
        if session.get_nested_transaction() is None and not connection.in_nested_transaction():
            _restart_immediate(connection)
        else:  # a savepoint (a session joined to an outer transaction, as the tests' is): the plain way
            keep = session.expire_on_commit
            session.expire_on_commit = False  # reads only: nothing to expire, and the caller keeps using them
            try:
                session.commit()
            finally:
                session.expire_on_commit = keep
    return True


def _restart_immediate(conn) -> None:
    """End the SQLite connection's (read) transaction and begin a write transaction on it, as ``_sqlite_on_begin``
    begins one: its turn in the write queue, then ``BEGIN IMMEDIATE``; the queue's turn is left at its end."""
    _driver_statement(conn, "COMMIT")
    _take_turn(conn)
    try:
        _driver_statement(conn, "BEGIN IMMEDIATE")
    except BaseException:
        _leave_queue(conn.info)
        raise
    conn.info[_IMMEDIATE_KEY] = True


def _driver_statement(conn, sql: str) -> None:
    """Run ``sql`` on the connection's DB-API cursor (``_cursor_execute``)."""
    _cursor_execute(conn, sql, ()).close()


def _cursor_execute(connection, sql: str, arguments, *, many: bool = False):
    """Execute on a new DB-API cursor of the connection (``many``: ``executemany`` of a list of argument lists),
    seen by cursor listeners (query counters, tracing) as any statement is, a database error raised as SQLAlchemy's
    (IntegrityError…); returns the cursor."""
    cursor = connection.connection.driver_connection.cursor()
    dispatch = connection.dispatch
    if dispatch.before_cursor_execute:
        dispatch.before_cursor_execute(connection, cursor, sql, arguments, None, many)
    try:
        if many:
            cursor.executemany(sql, arguments)
        else:
            cursor.execute(sql, arguments)
    except connection.dialect.loaded_dbapi.Error as exc:
        from sqlalchemy.exc import DBAPIError

        cursor.close()
        raise DBAPIError.instance(sql, arguments, exc, connection.dialect.loaded_dbapi.Error,
                                  dialect=connection.dialect) from exc
    if dispatch.after_cursor_execute:
        dispatch.after_cursor_execute(connection, cursor, sql, arguments, None, many)
    return cursor


def core_rows(stmt, params: dict[str, Any] | None = None) -> list:
    """Plain result rows of a Core statement on the session's connection (no ORM entities, no ORM execution
    machinery: the cheap way for hot paths). Core statements do not autoflush, so whatever the caller changed
    through the ORM is flushed first, as an ORM query would (nothing to do, and free, when nothing is pending)."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(stmt, params or {}).all()


class _Prepared:
    """One Core statement compiled once for SQLite and one set of list lengths of its expanding parameters
    (``IN`` lists): the SQL text, how to turn a parameter dict into the positional arguments (each value through
    its column type's bind processor) and each result column's result processor."""

    __slots__ = ("sql", "order", "row", "results")

    def __init__(self, stmt, dialect, lengths: dict[str, int], column_keys: list[str] | None) -> None:
        from collections import namedtuple

        compiled = stmt.compile(dialect=dialect, column_keys=column_keys)
        sql = compiled.string
        for name, n in lengths.items():  # what SQLAlchemy does per execution, done once per list length
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * n))
        self.sql = sql
        # (name, the IN list's length or 0, bind processor, the value written into the statement: used when not a
        # parameter)
        self.order = [(name, lengths.get(name, 0) if bind.expanding else 0,
                       bind.type.dialect_impl(dialect).bind_processor(dialect),
                       _NO_VALUE if bind.required else bind.effective_value)
                      for name, bind in ((name, compiled.binds[name]) for name in compiled.positiontup)]
        self.row = self.results = None
        if getattr(stmt, "is_select", False):
            columns = list(stmt.selected_columns)
            self.row = namedtuple("Row", [c.key or f"c{i}" for i, c in enumerate(columns)], rename=True)
            processors = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
            self.results = processors if any(processors) else None

    def arguments(self, params: dict[str, Any]) -> list:
        out: list = []
        for name, length, process, fixed in self.order:
            value = params[name] if fixed is _NO_VALUE or name in params else fixed
            if length:  # an IN list, padded to the compiled length with its last value (the same set)
                values = list(value) if process is None else [process(v) for v in value]
                out.extend(values + values[-1:] * (length - len(values)))
            else:
                out.append(value if process is None else process(value))
        return out

    def rows(self, cursor) -> list:
        make, processors = self.row._make, self.results
        if processors is None:
            return [make(r) for r in cursor.fetchall()]
        return [make([v if p is None else p(v) for p, v in zip(processors, r, strict=True)]) for r in cursor.fetchall()]


_NO_VALUE = object()
_prepared: dict[tuple, _Prepared] = {}  # (statement id, list lengths, INSERT/UPDATE columns) → compiled, or None
_prepared_statements: list = []  # the statements of those keys, kept alive so that no id is reused
_CONNECTION_KEY = "jiangxin_fast_connection"


def current_connection(session=None):
    """The session's ``Connection`` in its current transaction or savepoint (begun, or the SAVEPOINT emitted, if need
    be), asked of the session once per transaction or savepoint: each ask is ~20–70 µs of bookkeeping, and the hot
    paths ask for every statement."""
    session = session or db.session()
    known = session.info.get(_CONNECTION_KEY)
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None or known is None or known[0] is not transaction:
        connection = session.connection()
        known = session.info[_CONNECTION_KEY] = (session.get_nested_transaction() or session.get_transaction(),
                                                 connection)
    return known[1]


def _run_prepared(stmt, params: dict[str, Any], *, select: bool):
    """Execute ``stmt`` on the session's SQLite connection through the DB-API cursor, or return None when it must
    go through SQLAlchemy (another database; an empty ``IN`` list, which SQLAlchemy rewrites; an INSERT whose
    columns have Python-side defaults the caller did not give). (Run for every statement of a judge's mark: kept
    to the few steps each one needs.)"""
    session = db.session()
    session.flush()  # whatever the caller changed through the ORM first, as an ORM query would (free when clean)
    connection = current_connection(session)
    if connection.dialect.name != "sqlite":
        return None
    prepared = _prepare(stmt, params, select=select, dialect=connection.dialect)
    if prepared is None:
        return None
    return prepared, _cursor_execute(connection, prepared.sql, prepared.arguments(params))


def _prepare(stmt, params: dict[str, Any], *, select: bool, dialect) -> _Prepared | None:
    """``stmt`` compiled once for these parameters (the lengths of their IN lists; an INSERT's or UPDATE's
    columns); None when SQLAlchemy must run it."""
    # IN lists compile to the next power of two (padded with their last value): a group's lists of 1…64 values
    # share 7 compiled forms per list instead of 64
    lengths: tuple = ()
    for name, value in params.items():
        if isinstance(value, list | tuple):
            if not value:
                return None
            lengths += ((name, 1 << (len(value) - 1).bit_length()),)
    key = (id(stmt), lengths, None if select else tuple(params))
    prepared = _prepared.get(key, _UNPREPARED)
    if prepared is _UNPREPARED:
        prepared = _Prepared(stmt, dialect=dialect, lengths=dict(lengths), column_keys=None if select else sorted(params))
        if not select and any(name not in params for name, *_rest in prepared.order):
            prepared = None  # e.g. a default to compute: SQLAlchemy's job
        if len(_prepared) < 512:  # hot statements only
            _prepared[key] = prepared
            _prepared_statements.append(stmt)
    return prepared


_UNPREPARED = object()


def fast_rows(stmt, params: dict[str, Any]) -> list:
    """``core_rows`` for the hottest paths (a judge's mark): on SQLite the statement is compiled once (per list
    length of its ``IN`` parameters) and runs on the session's DB-API cursor, in the session's transaction, without
    SQLAlchemy's per-execution work (~50 µs a statement, several times what SQLite itself takes). Rows are named
    tuples with the column types' result processing (``Decimal``, ``datetime``, ``bool``), like Core's rows. Other
    databases, and statements this cannot run, go through ``core_rows``. Cursor events (before/after_cursor_execute)
    still fire, with no execution context."""
    done = _run_prepared(stmt, params, select=True)
    if done is None:
        return core_rows(stmt, params)
    prepared, cursor = done
    try:
        return prepared.rows(cursor)
    finally:
        cursor.close()


def fast_execute(stmt, params: dict[str, Any]) -> int | None:
    """An INSERT / UPDATE run like ``fast_rows``; returns the new row's primary key for an INSERT (SQLite's rowid),
    else None."""
    done = _run_prepared(stmt, params, select=False)
    if done is None:
        result = db.session.connection().execute(stmt, params)
        return result.inserted_primary_key[0] if getattr(stmt, "is_insert", False) else None
    _prepared_, cursor = done
    try:
        return cursor.lastrowid if getattr(stmt, "is_insert", False) else None
    finally:
        cursor.close()


# --- inserts held back and sent together (a group of judges' marks in one SQLite write transaction) --------------

_DEFERRED_KEY = "jiangxin_deferred_inserts"


class _Deferred:
    """The rows ``fast_insert`` held back on one connection (per statement and set of columns, in order of first
    use), and the next id of each table that gives ids up front."""

    __slots__ = ("rows", "next_ids", "sending")

    def __init__(self, next_ids: dict[str, int]) -> None:
        self.rows: dict[tuple, tuple[Any, list[dict[str, Any]]]] = {}
        self.next_ids = next_ids
        self.sending = False

    def count(self) -> int:
        return sum(len(rows) for _stmt, rows in self.rows.values())

    def send(self, connection) -> None:
        """Every row held back, one ``executemany`` per statement (one compiled statement stepped once a row: a
        multi-row VALUES measured slower in SQLite than single inserts), seen by cursor listeners."""
        self.sending = True
        try:
            while self.rows:
                stmt, rows = self.rows.pop(next(iter(self.rows)))
                prepared = _prepare(stmt, rows[0], select=False, dialect=connection.dialect)
                arguments = [prepared.arguments(row) for row in rows]
                _cursor_execute(connection, prepared.sql, arguments, many=True).close()
        finally:
            self.sending = False


def defer_inserts(next_ids: dict[str, int]) -> None:
    """From now on in this SQLite write transaction, ``fast_insert`` holds its rows back: they are sent, one
    ``executemany`` per statement, just before the connection's next other statement or its commit, and dropped by
    a rollback — a group's marks and audit entries in two statements instead of two a mark.

    ``next_ids``: table name → the first id to give a row held back (read under the write lock: max(id) + 1, the id
    SQLite itself would give), for callers that need the new row's id at once (``new_id=True``)."""
    if not holds_write_lock():
        raise RuntimeError("defer_inserts() needs a SQLite write transaction (BEGIN IMMEDIATE)")
    current_connection().info[_DEFERRED_KEY] = _Deferred(dict(next_ids))


def fast_insert(stmt, values: dict[str, Any], *, new_id: bool = False) -> int | None:
    """``fast_execute`` of an INSERT: its new row's id. While ``defer_inserts`` is on, the row is held back instead
    (with ``new_id`` it is given the next id of its table, which is returned; otherwise None is returned)."""
    connection = current_connection()
    deferred = connection.info.get(_DEFERRED_KEY)
    table = stmt.table.name
    if deferred is None or (new_id and table not in deferred.next_ids):
        return fast_execute(stmt, values)
    db.session().flush()  # the caller's ORM changes go first, as with ``fast_execute`` (free when clean)
    if new_id:
        values = {**values, "id": deferred.next_ids[table]}
        deferred.next_ids[table] += 1
    key = (id(stmt), tuple(values))
    held = deferred.rows.get(key)
    if held is None:  # the first such row: can it be held back at all?
        if _prepare(stmt, values, select=False, dialect=connection.dialect) is None:
            return fast_execute(stmt, values)  # SQLAlchemy's to run: at once, after the rows held back, with its id
        held = deferred.rows[key] = (stmt, [])
    held[1].append(values)
    return values.get("id")


def writes_so_far() -> int:
    """SQLite: rows this connection has written (``total_changes``) or holds back to write — a number that moves
    whenever anything is written (to tell whether a refused step wrote anything)."""
    connection = current_connection()
    deferred = connection.info.get(_DEFERRED_KEY)
    held = deferred.count() if deferred is not None else 0
    return connection.connection.driver_connection.total_changes + held


@event.listens_for(Engine, "before_cursor_execute")
def _send_deferred_first(conn, cursor, statement, parameters, context, executemany) -> None:
    """Any other statement on a connection holding rows back (a read, an UPDATE, a savepoint's release or rollback)
    runs after them, as it would have."""
    deferred = conn.info.get(_DEFERRED_KEY)
    if deferred is not None and deferred.rows and not deferred.sending:
        deferred.send(conn)


@event.listens_for(Engine, "release_savepoint")
def _send_deferred_at_release(conn, name, context) -> None:
    """A savepoint ends (the tests' transactions are savepoints of one connection): its rows are sent, and no later
    insert is held back with ids given then."""
    deferred = conn.info.pop(_DEFERRED_KEY, None)
    if deferred is not None and deferred.rows:
        deferred.send(conn)


@event.listens_for(Engine, "rollback_savepoint")
def _drop_deferred_at_rollback(conn, name, context) -> None:
    conn.info.pop(_DEFERRED_KEY, None)  # (what it held back was inside the savepoint: undone with it)


SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA mmap_size=268435456",  # 256 MiB: pages read in place, not copied (a write elsewhere empties the cache)
)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
        return
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own BEGIN is always deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


WRITE_QUEUE_TIMEOUT = 60.0  # seconds a write transaction may wait for its turn in this process


class WriteQueue:
    """First come, first served among one process's write transactions on one SQLite file, and a fair turn
    between processes.

    SQLite's busy handler is not a queue: a waiter sleeps and polls (1, 2, 5 … then every 100 ms), so under
    sustained load a newcomer keeps winning and an early waiter can pass the busy timeout ("database is
    locked") although the database is only ever held for milliseconds. Writers of this process therefore
    queue here (handing the turn over directly, no polling). Between processes (gunicorn workers, CLI, job
    workers) the thread whose turn it is also takes an exclusive ``flock`` on ``<database>-writer.lock``: a
    process that keeps handing the turn among its own threads releases the file lock at every commit, and the
    kernel wakes the other processes' waiters at once instead of leaving them to SQLite's sleeping poll, which
    under load could starve a whole worker past the busy timeout (a 500). Only then ``BEGIN IMMEDIATE`` runs;
    the busy timeout is left for writers that do not use this queue.
    """

    def __init__(self, lock_path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._busy = False
        self._lock_path = lock_path if fcntl is not None else None
        self._fd: int | None = None
        self._pid = 0

    def acquire(self, timeout: float) -> bool:
        with self._lock:
            if not self._busy and not self._waiting:
                self._busy = True
                return self._lock_file()
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return self._lock_file()
        with self._lock:
            if turn.is_set():  # handed over just as the wait timed out
                return self._lock_file()
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        self._unlock_file()
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()  # the turn passes on; still busy
            else:
                self._busy = False

    def _lock_file(self) -> bool:
        if self._lock_path is None:
            return True
        try:
            if self._fd is None or self._pid != os.getpid():  # a forked child needs its own open file
                self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                self._pid = os.getpid()
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # the kernel wakes us when the holder commits
        except OSError:  # e.g. a read-only directory: fall back to SQLite's busy handler
            self._lock_path = None
        return True

    def _unlock_file(self) -> None:
        if self._lock_path is not None and self._fd is not None and self._pid == os.getpid():
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_write_queues: dict[str, WriteQueue] = {}
_write_queues_lock = threading.Lock()
_QUEUE_KEY = "jiangxin_write_queue"


def _write_queue(database: str | None) -> WriteQueue | None:
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    with _write_queues_lock:
        queue = _write_queues.get(database)
        if queue is None:
            lock_path = None if database.startswith("file:") else database + "-writer.lock"
            queue = _write_queues[database] = WriteQueue(lock_path)
        return queue


def _leave_queue(info: dict) -> None:
    queue = info.pop(_QUEUE_KEY, None)
    if queue is not None:
        queue.release()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    mode = sqlite_begin_mode.get()
    if mode == "IMMEDIATE":
        _take_turn(conn)
    try:
        _driver_statement(conn, f"BEGIN {mode}")  # (the DB-API cursor: SQLAlchemy's execution path costs ~30 µs)
    except BaseException:
        _leave_queue(conn.info)
        raise
    conn.info[_IMMEDIATE_KEY] = mode == "IMMEDIATE"


def _take_turn(conn) -> None:
    """Wait for the connection's turn in its database's write queue (kept until its transaction ends)."""
    queue = _write_queue(conn.engine.url.database)
    if queue is not None:
        if not queue.acquire(WRITE_QUEUE_TIMEOUT):
            import sqlite3

            raise sqlite3.OperationalError("database is locked (write queue timeout)")
        conn.info[_QUEUE_KEY] = queue


@event.listens_for(Engine, "commit")
def _sqlite_on_commit(conn):
    _end_then_leave(conn, "commit")


@event.listens_for(Engine, "rollback")
def _sqlite_on_rollback(conn):
    _end_then_leave(conn, "rollback")


def _end_then_leave(conn, how: str) -> None:
    """A write transaction ends: end it on the database, then leave the write queue.

    SQLAlchemy fires its ``commit`` and ``rollback`` events *before* it ends the transaction on the DB-API
    connection. Leaving the queue there handed the turn to the next writer while this COMMIT (a few hundred µs;
    milliseconds when it checkpoints the WAL) still held SQLite's write lock: the next ``BEGIN IMMEDIATE`` found
    the database busy and slept in SQLite's busy handler, 1 ms at least — under a stream of judges' marks, about
    half of all write transactions began that way. So the transaction is ended here, on the DB-API connection,
    and only then is the turn handed on; SQLAlchemy's own commit or rollback that follows finds no transaction
    open and does nothing. If ending it here fails, SQLAlchemy's own attempt raises the error its usual way, and
    the turn is left when the transaction is rolled back or its connection returned to the pool."""
    deferred = conn.info.pop(_DEFERRED_KEY, None)
    if deferred is not None and deferred.rows and how == "commit":
        deferred.send(conn)  # the rows held back are part of what commits (an error here fails the commit)
    if conn.info.get(_QUEUE_KEY) is not None:
        try:
            getattr(conn.connection.driver_connection, how)()
        except conn.dialect.loaded_dbapi.Error:
            return
    _leave_queue(conn.info)
    conn.info.pop(_IMMEDIATE_KEY, None)


_IMMEDIATE_KEY = "jiangxin_immediate"


def holds_write_lock() -> bool:
    """True while the session's SQLite transaction began IMMEDIATE: it holds the database's write lock until it
    ends, so no other writer can come in between its reads and its writes (a unique constraint can only be hit by
    its own statements). False elsewhere, PostgreSQL included."""
    session = db.session()
    if not session.in_transaction():
        return False
    connection = current_connection(session)
    return connection.dialect.name == "sqlite" and bool(connection.info.get(_IMMEDIATE_KEY))


@event.listens_for(Pool, "checkin")
def _sqlite_on_checkin(dbapi_connection, connection_record):
    # A connection returned (or invalidated) without commit/rollback must not keep the turn.
    if connection_record is not None:
        connection_record.info.pop(_DEFERRED_KEY, None)
        _leave_queue(connection_record.info)
