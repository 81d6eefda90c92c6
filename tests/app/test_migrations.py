"""Migrations: upgrade from empty, no drift against the models, a downgrade round trip, append-only audit.

Run on a temp SQLite file and on a throwaway PostgreSQL database (created and dropped here, on the
server of TEST_DATABASE_URL or 127.0.0.1:5432). Nothing here depends on a revision id, because the
history is regenerated when the models settle.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_migrate import check, current, downgrade, upgrade
from sqlalchemy import inspect, text

from app.db import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"




@pytest.fixture(params=["sqlite", "postgres"])
def migrated_app(request, make_app):
    url = request.getfixturevalue(f"{request.param}_url")
    app = make_app(url)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        yield app
        db.session.remove()


def _revision(app) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_history_is_linear_and_date_prefixed():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert len(scripts.get_heads()) == 1, "one linear head, no branches"
    revisions = list(scripts.walk_revisions())
    assert all(not isinstance(r.down_revision, tuple) for r in revisions), "no merge revisions"
    files = [p.name for p in (MIGRATIONS / "versions").glob("*.py")]
    assert files and all(re.match(r"^\d{8}_", f) for f in files), files


@pytest.mark.no_transaction
def test_upgrade_from_empty_creates_every_model_table(migrated_app):
    assert _revision(migrated_app) is not None
    assert _table_names() == set(db.metadata.tables)


@pytest.mark.no_transaction
def test_no_drift_between_models_and_migrations(migrated_app):
    check(directory=str(MIGRATIONS))  # exits (SystemExit) when autogenerate finds differences


@pytest.mark.no_transaction
def test_downgrade_one_step_and_upgrade_again(migrated_app):
    head = _revision(migrated_app)
    downgrade(directory=str(MIGRATIONS), revision="-1")
    assert _revision(migrated_app) != head
    upgrade(directory=str(MIGRATIONS))
    assert _revision(migrated_app) == head
    assert _table_names() == set(db.metadata.tables)
    check(directory=str(MIGRATIONS))
    current(directory=str(MIGRATIONS))


def _insert_audit_row(conn) -> None:
    conn.execute(
        text("INSERT INTO audit_entry (seq, at, actor_name, action, target_type, target_id, ip, details, prev_hash, hash) "
             "VALUES (1, :at, '', 'test', '', '', '', '{}', :h, :h)"),
        {"at": "2024-01-01 00:00:00", "h": "0" * 64},
    )


@pytest.mark.no_transaction
@pytest.mark.parametrize("statement", ["UPDATE audit_entry SET details = '{\"x\": 1}'", "DELETE FROM audit_entry"])
def test_audit_entry_is_append_only_after_upgrade(migrated_app, statement):
    with db.engine.begin() as conn:
        _insert_audit_row(conn)
    with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
        conn.execute(text(statement))
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() == 1


@pytest.mark.no_transaction
def test_downgrade_removes_the_audit_triggers(migrated_app):
    downgrade(directory=str(MIGRATIONS), revision="base")
    with db.engine.connect() as conn:
        if db.engine.dialect.name == "sqlite":
            left = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all()
        else:
            left = conn.execute(text("SELECT proname FROM pg_proc WHERE proname = 'audit_entry_append_only'")).all()
    assert left == []
    assert _table_names() == set()


@pytest.mark.no_transaction
def test_the_migrated_triggers_are_the_models(make_app, tmp_path):
    """SQLite: a migrated database has the same triggers as one made by ``create_all`` — the audit log's, and none of
    the dropped marks setup version's (migration 7d41c2e9a0b5 removes its 44 triggers and its table)."""

    def triggers(app) -> tuple:
        with app.app_context():
            found = dict(db.session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
            tables = {name for (name,) in db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))}
            db.session.remove()
            db.engine.dispose()
        return found, tables

    migrated = make_app(f"sqlite:///{tmp_path / 'migrated.db'}")
    with migrated.app_context():
        upgrade(directory=str(MIGRATIONS))
    created = make_app(f"sqlite:///{tmp_path / 'created.db'}")
    with created.app_context():
        db.create_all()
    migrated_triggers, migrated_tables = triggers(migrated)
    created_triggers, _created_tables = triggers(created)
    assert migrated_triggers == created_triggers
    assert migrated_triggers and not [n for n in migrated_triggers if n.startswith("marks_setup_")]
    assert "marks_setup_version" not in migrated_tables
