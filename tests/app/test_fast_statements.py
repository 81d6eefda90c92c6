"""``fast_rows`` / ``fast_execute`` (app.db): on SQLite a Core statement run on the DB-API cursor gives exactly what
Core gives — the same values with the same types (exact decimals, UTC datetimes, booleans), ``IN`` lists of any
length, constants written into the statement — in the session's transaction and savepoints, with cursor events
and SQLAlchemy's IntegrityError. Elsewhere (PostgreSQL) it is Core itself."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, bindparam, select
from sqlalchemy.exc import IntegrityError

from app.db import ExactDecimal, UTCDateTime, core_rows, db, fast_execute, fast_rows
from tests.conftest import statements_run

meta = MetaData()
probe = Table(
    "fast_probe", meta,
    Column("id", Integer, primary_key=True),
    Column("code", String(8), unique=True, nullable=False),
    Column("amount", ExactDecimal()),
    Column("at", UTCDateTime()),
    Column("flag", Boolean, nullable=False),
)
ROWS = [
    {"code": "a", "amount": Decimal("0.30"), "at": datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=UTC), "flag": True},
    {"code": "b", "amount": Decimal("12.5"), "at": datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC), "flag": False},
    {"code": "c", "amount": None, "at": None, "flag": True},
]


@pytest.fixture
def table(app_ctx):
    meta.create_all(db.session.connection())  # in the test's transaction: rolled back with it
    ids = [fast_execute(probe.insert(), dict(row)) for row in ROWS]
    return ids


STATEMENTS = {
    "everything": (select(probe).order_by(probe.c.id), {}),
    "in list": (select(probe.c.code, probe.c.amount).where(probe.c.code.in_(bindparam("codes", expanding=True)))
                .order_by(probe.c.code), {"codes": ["c", "a"]}),
    "one in list": (select(probe.c.id).where(probe.c.code.in_(bindparam("codes", expanding=True))), {"codes": ["b"]}),
    "empty in list": (select(probe.c.id).where(probe.c.code.in_(bindparam("codes", expanding=True))), {"codes": []}),
    # three values run as four (the list padded with its last value): the same rows
    "padded in list": (select(probe.c.code).where(probe.c.code.in_(bindparam("codes", expanding=True)))
                       .order_by(probe.c.code), {"codes": ["c", "zz", "a"]}),
    "constant": (select(probe.c.code, probe.c.at).where(probe.c.flag.is_(True), probe.c.code != "zzz")
                 .order_by(probe.c.code), {}),
    "labels and scalar": (select(probe.c.code.label("name"),
                                 select(probe.c.amount).where(probe.c.code == "b").scalar_subquery().label("b_amount"))
                          .where(probe.c.id == bindparam("id")), {"id": 1}),
}


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_fast_rows_equal_core_rows(table, name):
    stmt, params = STATEMENTS[name]
    params = {k: (v if k != "id" else table[0]) for k, v in params.items()}
    fast, core = fast_rows(stmt, params), core_rows(stmt, params)
    assert [tuple(r) for r in fast] == [tuple(r) for r in core]
    assert [[type(v) for v in r] for r in fast] == [[type(v) for v in r] for r in core]
    assert [r._fields for r in fast] == [tuple(r._fields) for r in core] or not fast


def test_values_come_back_exact(table):
    [a] = fast_rows(select(probe).where(probe.c.code == bindparam("code")), {"code": "a"})
    assert a.amount == Decimal("0.30") and str(a.amount) in ("0.30", "0.3000")  # SQLite: text; PostgreSQL: NUMERIC
    assert a.at == ROWS[0]["at"] and a.at.tzinfo is not None
    assert a.flag is True


def test_an_update_and_the_new_rows_key(table):
    fast_execute(probe.update().where(probe.c.id == bindparam("pid")).values(flag=False), {"pid": table[0]})
    assert [r.flag for r in fast_rows(select(probe.c.flag).order_by(probe.c.id), {})] == [False, False, True]
    assert table == sorted(table) and len(set(table)) == 3
    assert [r.id for r in core_rows(select(probe.c.id).order_by(probe.c.id))] == table


def test_a_unique_violation_is_sqlalchemys_integrity_error_and_a_savepoint_undoes_it(table):
    with pytest.raises(IntegrityError), db.session.begin_nested():
        fast_execute(probe.insert(), {"code": "d", "amount": Decimal(1), "at": None, "flag": True})
        fast_execute(probe.insert(), {"code": "a", "amount": Decimal(1), "at": None, "flag": True})
    # the savepoint rolled back both inserts, the rows before it stay
    assert sorted(r.code for r in fast_rows(select(probe.c.code), {})) == ["a", "b", "c"]


def test_cursor_listeners_see_the_statements(table):
    seen = statements_run(lambda: fast_rows(select(probe.c.id).where(probe.c.code == bindparam("code")), {"code": "b"}))
    assert any("FROM fast_probe" in s for s in seen)
