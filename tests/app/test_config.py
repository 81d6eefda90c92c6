"""Secrets: generated into instance/ on SQLite (one host); required from the environment with any other
database, where several hosts must share them — the app refuses to start without them."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import config as config_module
from app.config import SECRET_NAMES, Config, MissingSecrets, is_sqlite_url

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"  # never connected to: the config refuses first
KEYS = {"SECRET_KEY": "s" * 48, "ID_HMAC_KEY": "h" * 48,
        "ID_ENCRYPTION_KEY": base64.urlsafe_b64encode(b"e" * 32).decode(), "AUDIT_HMAC_KEY": "a" * 48}


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A production environment on a fresh instance directory, with no secrets given."""
    for name in (*SECRET_NAMES, "DATABASE_URL", "REDIS_URL", "JIANGXIN_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIANGXIN_INSTANCE", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize("url, sqlite", [
    ("sqlite://", True), ("sqlite:////srv/jx.db", True), ("sqlite+pysqlite:///x.db", True),
    ("postgresql+psycopg://u@h/db", False), ("postgresql://u@h/db", False), ("mysql://u@h/db", False),
])
def test_is_sqlite_url(url, sqlite):
    assert is_sqlite_url(url) is sqlite


def test_postgres_without_secrets_in_the_environment_refuses_to_start(env, tmp_path):
    env.setenv("DATABASE_URL", POSTGRES)
    with pytest.raises(MissingSecrets) as refused:
        Config()
    assert refused.value.missing == ["SECRET_KEY", "ID_HMAC_KEY", "ID_ENCRYPTION_KEY", "AUDIT_HMAC_KEY"]
    message = refused.value.format_message()
    assert "SECRET_KEY, ID_HMAC_KEY, ID_ENCRYPTION_KEY, AUDIT_HMAC_KEY must be set in the environment" in message
    assert "not SQLite" in message
    assert not (tmp_path / "secrets.json").exists()  # nothing generated for this host alone


@pytest.mark.parametrize("given", [("SECRET_KEY",), ("SECRET_KEY", "ID_HMAC_KEY"), ("ID_ENCRYPTION_KEY",),
                                   ("SECRET_KEY", "ID_HMAC_KEY", "ID_ENCRYPTION_KEY")])
def test_postgres_with_some_secrets_names_the_missing_ones(env, given):
    env.setenv("DATABASE_URL", POSTGRES)
    for name in SECRET_NAMES:
        env.setenv(name, KEYS[name] if name in given else "")  # an empty variable counts as missing
    with pytest.raises(MissingSecrets) as refused:
        Config()
    assert refused.value.missing == [n for n in SECRET_NAMES if n not in given]


def test_postgres_with_every_secret_starts_and_writes_no_secrets_file(env, tmp_path):
    env.setenv("DATABASE_URL", POSTGRES)
    for name, value in KEYS.items():
        env.setenv(name, value)
    config = Config()
    assert tuple(getattr(config, name) for name in SECRET_NAMES) == tuple(KEYS.values())
    assert config.SQLALCHEMY_DATABASE_URI == POSTGRES
    assert not (tmp_path / "secrets.json").exists()


def test_the_message_points_at_keys_generated_earlier(env, tmp_path):
    """A host that used to generate its keys (before this check) is told where they are."""
    Config()  # SQLite: generated into instance/secrets.json
    env.setenv("DATABASE_URL", POSTGRES)
    with pytest.raises(MissingSecrets, match="secrets.json holds keys generated earlier"):
        Config()


def test_sqlite_still_generates_missing_secrets(env, tmp_path):
    config = Config()
    assert config.SQLALCHEMY_DATABASE_URI.startswith("sqlite:")
    assert all(getattr(config, name) for name in SECRET_NAMES)
    assert (tmp_path / "secrets.json").exists()
    env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert Config().SECRET_KEY == config.SECRET_KEY


def test_an_instance_from_before_the_audit_key_gets_one_and_keeps_its_keys(env, tmp_path):
    """Upgrading a SQLite installation: its secrets.json had three keys; the audit log's key is added to them."""
    import json

    old = {name: KEYS[name] for name in ("SECRET_KEY", "ID_HMAC_KEY", "ID_ENCRYPTION_KEY")}
    (tmp_path / "secrets.json").write_text(json.dumps(old))
    config = Config()
    assert {name: getattr(config, name) for name in old} == old
    assert config.AUDIT_HMAC_KEY and config.AUDIT_HMAC_KEY not in old.values()
    assert json.loads((tmp_path / "secrets.json").read_text())["AUDIT_HMAC_KEY"] == config.AUDIT_HMAC_KEY


def test_the_tests_config_brings_its_own_keys_on_postgres(env):
    """TestingConfig never reads the environment's secrets nor instance/: the suite runs on PostgreSQL as is."""
    config = config_module.TestingConfig(SQLALCHEMY_DATABASE_URI=POSTGRES)
    assert all(getattr(config, name) for name in SECRET_NAMES)


def test_create_app_refuses_without_secrets_on_postgres(env):
    from app import create_app

    env.setenv("DATABASE_URL", POSTGRES)
    with pytest.raises(MissingSecrets):
        create_app()


def _flask(tmp_path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (*SECRET_NAMES, "DATABASE_URL", "JIANGXIN_CONFIG")}
    env.update(JIANGXIN_INSTANCE=str(tmp_path), **extra)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_flask_refuses_to_start_on_postgres_without_secrets(tmp_path):
    done = _flask(tmp_path, "db", "upgrade", DATABASE_URL=POSTGRES)
    assert done.returncode == 1, done
    assert done.stderr.startswith("Error: SECRET_KEY, ID_HMAC_KEY, ID_ENCRYPTION_KEY, AUDIT_HMAC_KEY must be set"), \
        done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "secrets.json").exists()


def test_flask_on_postgres_with_secrets_gets_past_the_check(tmp_path):
    """With the keys the app is built (`flask routes` needs no database connection)."""
    done = _flask(tmp_path, "routes", DATABASE_URL=POSTGRES, **KEYS)
    assert done.returncode == 0, done.stderr
    assert "/login" in done.stdout
