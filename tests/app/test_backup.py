"""Issue 14 item 12: backups a user can trust. ``flask backup create`` and ``backup restore`` on SQLite (the online
backup API) and PostgreSQL (pg_dump of the verified snapshot; restored through a scratch database on the same
server): back up, change data, restore, verify; a backup whose dump or audit log does not verify is refused and
changes nothing. Each test has a database of its own (a SQLite file, a throwaway PostgreSQL database)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select, text

from app.audit.domain import BACKUP_KEY, derive_key, sign
from app.audit.models import AuditEntry
from app.audit.services import record
from app.db import db
from app.orgs.models import Enterprise

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

pytestmark = pytest.mark.no_transaction


@pytest.fixture(params=["sqlite", "postgres"])
def own(request, make_app, tmp_path):
    """An app on a database of its own, migrated, with an enterprise and audited history, anchored."""
    url = request.getfixturevalue(f"{request.param}_url")
    app = make_app(url, INSTANCE_PATH=tmp_path / "instance")
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        db.session.add(Enterprise(name="甲机械厂", uscc="91110000000000001X", region="北京市"))
        for i in range(3):
            record("role_granted", target_type="user", target_id=i, details={"i": i})
        record("mark_submitted", details={"value": "9.5"}, stream="competition:1")
        db.session.commit()
    assert _cli(app, "audit", "verify").exit_code == 0
    yield app
    with app.app_context():
        db.session.remove()


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _create(app, tmp_path) -> Path:
    result = _cli(app, "backup", "create", "--to", str(tmp_path / "backups"))
    assert result.exit_code == 0, result.output
    path = Path(re.search(r"^backup: (.+)$", result.output, re.M).group(1))
    assert (path / "manifest.json").is_file()
    return path


def _state(app) -> tuple[list[str], int]:
    with app.app_context():
        names = db.session.scalars(select(Enterprise.name).order_by(Enterprise.id)).all()
        entries = db.session.scalar(select(func.count()).select_from(AuditEntry))
        db.session.remove()
    return names, entries


def _change(app) -> None:
    with app.app_context():
        db.session.scalars(select(Enterprise)).one().name = "改名后的厂"
        db.session.add(Enterprise(name="乙汽车厂", uscc="91110000000000002X", region="上海市"))
        record("enterprise_updated", details={"name": "改名后的厂"})
        record("mark_submitted", details={"value": "7"}, stream="competition:1")
        db.session.commit()


def _drop_triggers() -> None:
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entry_no_change ON audit_entry"))


def test_back_up_change_restore_verify(own, tmp_path):
    before = _state(own)
    path = _create(own, tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["audit"]["entries"] == 4 and manifest["alembic_revision"]
    assert manifest["audit"]["streams"]["main"]["seq"] == 3
    assert oct((path / manifest["file"]).stat().st_mode & 0o777) == "0o600"
    _change(own)
    assert _cli(own, "audit", "anchor").exit_code == 0  # the anchor moves past the backup
    assert _state(own) == (["改名后的厂", "乙汽车厂"], 6)
    result = _cli(own, "backup", "restore", str(path), "--yes")
    assert result.exit_code == 0, result.output
    assert "audit log verified, 4 entries" in result.output
    assert "stream main: 1 entries anchored after the backup are gone" in result.output
    assert _state(own) == before == (["甲机械厂"], 4)
    verified = _cli(own, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "audit chain OK: 4 entries" in verified.output and "main #3" in verified.output
    with own.app_context():  # the restored database works on: a new entry chains onto the restored head
        record("login")
        db.session.commit()
    assert _cli(own, "audit", "verify").exit_code == 0


def test_restore_asks_first(own, tmp_path):
    path = _create(own, tmp_path)
    _change(own)
    result = own.test_cli_runner().invoke(args=["backup", "restore", str(path)], input="n\n")
    assert result.exit_code == 1 and "Replace every row of" in result.output
    assert _state(own)[0] == ["改名后的厂", "乙汽车厂"]


def test_a_changed_dump_is_refused_and_changes_nothing(own, tmp_path):
    path = _create(own, tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    dump = path / manifest["file"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    _change(own)
    changed = _state(own)
    result = _cli(own, "backup", "restore", str(path), "--yes")
    assert result.exit_code == 1
    assert "is not the file this backup's manifest names" in result.output
    assert _state(own) == changed


def test_a_backup_whose_audit_log_does_not_verify_is_refused_and_changes_nothing(own, tmp_path):
    """A dump of a tampered log, with a manifest signed as `backup create` would sign it (as by someone holding the
    key): the restore verifies the log itself, finds the edit and leaves the database alone."""
    from app import backup

    path = _create(own, tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    dump = path / manifest["file"]
    with own.app_context():
        _drop_triggers()
        db.session.execute(text("UPDATE audit_entry SET ip = '203.0.113.9' WHERE stream = 'main' AND seq = 2"))
        db.session.commit()
        dump.unlink()
        if db.engine.dialect.name == "sqlite":  # the dump, made without `backup create`'s verification
            backup._sqlite_copy(backup._sqlite_path(), dump, single_file=True)
        else:
            dsn, env = backup._libpq(db.engine.url)
            backup._run(["pg_dump", "--format=custom", "--file", str(dump), dsn], env, "pg_dump")
        manifest.update(sha256=backup._sha256(dump), size=dump.stat().st_size)
        key = derive_key(own.config["AUDIT_HMAC_KEY"], BACKUP_KEY)
        (path / "manifest.json").write_text(json.dumps(sign(manifest, key)))
        db.session.remove()
    _change(own)
    changed = _state(own)
    result = _cli(own, "backup", "restore", str(path), "--yes")
    assert result.exit_code == 1, result.output
    assert "the backup's audit log does not verify, so it was not restored: stream main, entry 2: hash" in result.output
    assert _state(own) == changed


def test_create_refuses_a_log_that_does_not_verify(own, tmp_path):
    with own.app_context():
        _drop_triggers()
        db.session.execute(text("UPDATE audit_entry SET details = '{\"i\": 7}' WHERE stream = 'main' AND seq = 1"))
        db.session.commit()
        db.session.remove()
    result = _cli(own, "backup", "create", "--to", str(tmp_path / "backups"))
    assert result.exit_code == 1
    assert "the audit log does not verify, so no backup was made: stream main, entry 1: hash" in result.output
    assert list((tmp_path / "backups").iterdir()) == []  # nothing half-made left behind


def test_a_backup_needs_the_instance_secrets_it_was_made_with(own, tmp_path):
    path = _create(own, tmp_path)
    own.config["AUDIT_HMAC_KEY"] = "another-installation's-key"
    own.extensions.pop("audit_entry_mac", None)
    result = _cli(own, "backup", "restore", str(path), "--yes")
    assert result.exit_code == 1
    assert "not signed with this installation's AUDIT_HMAC_KEY: put back the instance secrets" in result.output
