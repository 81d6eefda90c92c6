"""Database base: declarative base with a naming convention, UTC timestamps, SQLite tuning.

SQLite is the embedded default, so it is set up for concurrent web use: WAL, synchronous=NORMAL,
foreign keys on, a 5 s busy timeout, and write transactions that start with ``BEGIN IMMEDIATE``.
A deferred BEGIN that first reads and then writes fails at once with "database is locked" when another
writer got in between; an immediate BEGIN takes the write lock up front and waits (busy_timeout) for it.
Reads (GET/HEAD requests) keep a deferred BEGIN so readers never queue behind writers (the request hook in
``app/__init__.py`` sets the mode per request).

That is all the tuning there is: every statement goes through SQLAlchemy, every write through the request's one
transaction. A venue's judges (tens of marks a second) are served many times over this way; anything faster would
need a second write path, and the project keeps one.
"""

from __future__ import annotations

import contextvars
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, Numeric, String, event
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


def local_date(at: datetime | None = None) -> date:
    """The calendar day of ``at`` (default: now) in the installation's time zone (``BABEL_DEFAULT_TIMEZONE``,
    Asia/Shanghai): the days of employments, memberships and the like."""
    from flask import current_app

    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return (at or utcnow()).astimezone(zone).date()


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


SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA mmap_size=268435456",  # 256 MiB: pages read in place, not copied (a write elsewhere empties the cache)
)


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.split(".")[0] in ("sqlite3", "pysqlite2")


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if not _is_sqlite(dbapi_connection):
        return
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own BEGIN is always deferred).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"BEGIN {sqlite_begin_mode.get()}")
