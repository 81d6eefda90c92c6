"""The login-sessions migration keeps every user and what hangs on them, up and down, on SQLite and PostgreSQL: the
user table gets its session generation in place (a batch copy would cascade-delete roles, tokens and audit links)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app.db import db

MIGRATIONS = str(Path(__file__).resolve().parents[3] / "migrations")
BEFORE = "411dda53e5ad"
LOGIN_SESSIONS = "04406d1bf823"


@pytest.fixture(params=["sqlite", "postgres"])
def old_app(request, make_app):
    app = make_app(request.getfixturevalue(f"{request.param}_url"))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=BEFORE)
        yield app
        db.session.remove()


def _rows(sql: str) -> list[tuple]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


@pytest.mark.no_transaction
def test_users_keep_their_roles_and_tokens_up_and_down(old_app):
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO \"user\" (id, username, display_name, password_hash, is_enabled, created_at) "
                          "VALUES (1, 'j1', 'j1', 'x', true, '2025-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO user_role (id, user_id, role, created_at) "
                          "VALUES (1, 1, 'judge', '2025-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO api_token (id, user_id, name, token_hash, prefix, created_at) "
                          "VALUES (1, 1, 't', :h, 'jx_', '2025-01-01 00:00:00')"), {"h": "0" * 64})
    upgrade(directory=MIGRATIONS, revision=LOGIN_SESSIONS)
    assert _rows("SELECT id, session_generation FROM \"user\"") == [(1, 0)]
    assert _rows("SELECT count(*) FROM login_session") == [(0,)]
    downgrade(directory=MIGRATIONS, revision=BEFORE)
    assert _rows("SELECT user_id, role FROM user_role") == [(1, "judge")]
    assert _rows("SELECT user_id FROM api_token") == [(1,)]
