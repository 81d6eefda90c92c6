"""gunicorn.conf.py holds settings only: gunicorn's own loader accepts every name in it, and the values are sane."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gunicorn.app.base import Application

ROOT = Path(__file__).resolve().parent.parent
CONF = ROOT / "gunicorn.conf.py"


class _Loaded(Application):
    """gunicorn's config, read from gunicorn.conf.py alone (no command line), validated setting by setting."""

    def load_config(self):
        self.loaded = self.load_config_from_file(str(CONF))

    def load(self):  # pragma: no cover - never started
        raise AssertionError("not to be run")


@pytest.fixture
def cfg(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    return _Loaded()


def test_every_name_in_the_file_is_a_gunicorn_setting(cfg):
    names = {name for name in cfg.loaded if not name.startswith("__") and name != "os"}
    assert names <= set(cfg.cfg.settings), names - set(cfg.cfg.settings)  # no hooks, no helpers: settings only
    assert not any(callable(value) for name, value in cfg.loaded.items() if name in names)


def test_the_settings_are_sane(cfg):
    c = cfg.cfg
    assert c.wsgi_app == "wsgi:app"
    assert c.address == [("127.0.0.1", 8000)]  # behind nginx: the loopback address only
    assert c.workers == 2 and c.threads == 8 and c.worker_class_str == "gthread"
    assert c.timeout >= 60 and 0 < c.graceful_timeout <= c.timeout  # a board stream lives ~60 s
    assert c.keepalive > 60  # longer than nginx's upstream keep-alive (60 s): nginx closes idle connections
    assert c.errorlog == "-" and c.loglevel == "info"
    assert c.forwarded_allow_ips == ["127.0.0.1", "::1"]


def test_the_environment_sets_the_number_of_workers(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    assert _Loaded().cfg.workers == 4


def test_gunicorn_started_here_reads_it_and_loads_the_app(tmp_path):
    env = {**os.environ, "JIANGXIN_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'jx.db'}"}
    env.pop("GUNICORN_CMD_ARGS", None)
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
