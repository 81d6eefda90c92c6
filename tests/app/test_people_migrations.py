"""The person model's data migrations keep existing data, on SQLite and PostgreSQL: workers get their current
employment; consent columns and their history become consent rows; a downgrade gives back what was there before.

Each test builds the database of the revision before the change with plain SQL, upgrades over the change, checks
the moved data, downgrades and checks again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app.db import db

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")
BEFORE_EMPLOYMENT = "b8e05f3a6c21"
EMPLOYMENT = "2d8c5d24abd0"
TRANSFERS = "1ba239d748e3"
CONSENTS = "258f8bc91b61"


@pytest.fixture(params=["sqlite", "postgres"])
def old_app(request, make_app):
    """An app whose database is at the revision before the person model."""
    app = make_app(request.getfixturevalue(f"{request.param}_url"))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE_EMPLOYMENT)
        yield app
        db.session.remove()


def _rows(sql: str, **params) -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def _seed() -> None:
    """Two enterprises and three workers (one registered late in the UTC evening: the next day in Beijing)."""
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO enterprise (id, name, uscc, region, is_active, created_at) VALUES "
                          "(1, '甲', '911100000000000011', '', true, '2025-01-01 00:00:00'), "
                          "(2, '乙', '911100000000000022', '', true, '2025-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO \"user\" (id, username, display_name, password_hash, is_enabled, created_at) "
                          "VALUES (1, 'w1', 'w1', 'x', true, '2025-01-01 00:00:00')"))
        for wid, ent, created, publicity, talent in (
                (1, 1, "2025-03-01 08:00:00", "2025-04-01 09:00:00", None),
                (2, 1, "2025-03-01 17:30:00", None, None),
                (3, 2, "2025-05-05 10:00:00", None, "2025-06-01 10:00:00")):
            conn.execute(text(
                "INSERT INTO worker (id, enterprise_id, name, id_type, id_hash, id_last4, id_encrypted, is_active, "
                "publicity_consent_at, talent_pool_consent_at, created_at, updated_at) VALUES (:id, :ent, :name, "
                "'resident', :hash, '1234', :blob, true, :publicity, :talent, :created, :created)"),
                {"id": wid, "ent": ent, "name": f"工人{wid}", "hash": f"{wid:064d}", "blob": b"x", "created": created,
                 "publicity": publicity, "talent": talent})


def _iso(value) -> str:
    return str(value)[:10]


@pytest.mark.no_transaction
def test_every_worker_gets_its_current_employment_and_a_downgrade_drops_them(old_app):
    _seed()
    upgrade(directory=MIGRATIONS, revision=EMPLOYMENT)
    rows = _rows("SELECT worker_id, enterprise_id, started_on, ended_on FROM employment ORDER BY worker_id")
    assert [(w, e, _iso(s), end) for w, e, s, end in rows] == [
        (1, 1, "2025-03-01", None), (2, 1, "2025-03-02", None), (3, 2, "2025-05-05", None)]
    downgrade(directory=MIGRATIONS, revision=BEFORE_EMPLOYMENT)
    assert _rows("SELECT id, enterprise_id FROM worker ORDER BY id") == [(1, 1), (2, 1), (3, 2)]
    upgrade(directory=MIGRATIONS, revision=EMPLOYMENT)
    assert len(_rows("SELECT id FROM employment")) == 3


def _events() -> None:
    """Worker 1: publicity given, withdrawn, given again (its column agrees). Worker 2: an event says given but the
    column says not (written without its event). Worker 3: talent pool in the column only."""
    with db.engine.begin() as conn:
        for wid, purpose, granted, at in ((1, "publicity", True, "2025-03-10 08:00:00"),
                                          (1, "publicity", False, "2025-03-20 08:00:00"),
                                          (1, "publicity", True, "2025-04-01 09:00:00"),
                                          (2, "publicity", True, "2025-05-01 08:00:00")):
            conn.execute(text("INSERT INTO consent_event (worker_id, purpose, is_granted, at, actor_id) "
                              "VALUES (:w, :p, :g, :at, 1)"), {"w": wid, "p": purpose, "g": granted, "at": at})


@pytest.mark.no_transaction
def test_consent_columns_and_history_become_rows_and_come_back(old_app):
    _seed()
    upgrade(directory=MIGRATIONS, revision=TRANSFERS)
    _events()
    upgrade(directory=MIGRATIONS, revision=CONSENTS)
    rows = _rows("SELECT worker_id, purpose, scope, is_granted, notice_version, at, actor_id FROM consent ORDER BY id")
    assert [(w, p, s, bool(g), v, str(at)[:16], a) for w, p, s, g, v, at, a in rows] == [
        (1, "publicity", "all", True, "1", "2025-03-10 08:00", 1),
        (1, "publicity", "all", False, "1", "2025-03-20 08:00", 1),
        (1, "publicity", "all", True, "1", "2025-04-01 09:00", 1),
        (2, "publicity", "all", True, "1", "2025-05-01 08:00", 1),
        (2, "publicity", "all", False, "1", "2025-05-01 08:00", None),  # the column said: not given
        (3, "talent_pool", "all", True, "1", "2025-06-01 10:00", None),  # the column said: given
    ]
    columns = {c["name"] for c in inspect(db.engine).get_columns("worker")}
    assert not {"publicity_consent_at", "talent_pool_consent_at"} & columns
    assert "consent_event" not in inspect(db.engine).get_table_names()
    assert len(_rows("SELECT id FROM employment")) == 3  # the worker table kept its rows and their references

    downgrade(directory=MIGRATIONS, revision=TRANSFERS)
    state = _rows("SELECT id, publicity_consent_at, talent_pool_consent_at FROM worker ORDER BY id")
    assert [(w, p and str(p)[:16], t and str(t)[:16]) for w, p, t in state] == [
        (1, "2025-04-01 09:00", None), (2, None, None), (3, None, "2025-06-01 10:00")]
    assert len(_rows("SELECT id FROM consent_event")) == 6
    upgrade(directory=MIGRATIONS, revision=CONSENTS)
    assert len(_rows("SELECT id FROM consent")) == 6  # the events again, and the columns now agree with them
