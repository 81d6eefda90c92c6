"""The person model's data migrations keep existing data, on SQLite and PostgreSQL: workers get their current
employment; a downgrade gives back what was there before.

Each test builds the database of the revision before the change with plain SQL, upgrades over the change, checks
the moved data, downgrades and checks again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app.db import db

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "migrations")
BEFORE_EMPLOYMENT = "b8e05f3a6c21"
EMPLOYMENT = "2d8c5d24abd0"


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
