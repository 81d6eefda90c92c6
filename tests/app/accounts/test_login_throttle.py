"""Login limits: a venue's judges behind one address all get in; guessing one account's password stops after five
tries, in every process (the count is in the database); several processes with a per-process limiter are warned of.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from app import PER_PROCESS_LIMITER, _warn_of_a_per_process_limiter
from app.accounts import services, throttle
from app.accounts.models import LoginThrottle, User, UserRole
from app.audit.models import AuditEntry
from app.config import Config
from app.db import db, utcnow
from tests.app.accounts.conftest import PASSWORD, flashes, form_login

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # the parameters of tests/conftest.py's hash
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch):
    """A right password is not re-hashed with the production parameters (a second per login): the test hashes
    count as current."""
    monkeypatch.setattr(services, "_hasher", FAST)


def _later(monkeypatch, seconds: float) -> None:
    """The throttle's clock moves ``seconds`` ahead."""
    start = utcnow()
    monkeypatch.setattr(throttle, "utcnow", lambda: start + timedelta(seconds=seconds))


def _guess(client, username: str, password: str):
    return form_login(client, username, password)


# --- a venue behind one address --------------------------------------------------------------------------------

def test_a_hundred_judges_behind_one_address_all_log_in_within_a_minute(app, create_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", Config.LOGIN_RATE_LIMIT)  # the default, not the tests' own
    judges = [create_user("judge") for _ in range(100)]
    started = time.monotonic()
    for judge in judges:
        browser = app.test_client()  # every judge's own tablet, all behind the venue's one NAT address (127.0.0.1)
        resp = form_login(browser, judge.username)
        assert resp.status_code == 302, (judge.username, resp.status_code)
        assert browser.get("/api/v1/me").json["username"] == judge.username
    assert time.monotonic() - started < 60


# --- one account, one process ----------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_sixth_guess_is_refused_even_with_the_right_password_until_the_wait_passes(app, client, create_user,
                                                                                       monkeypatch, lang):
    client.set_cookie("lang", lang)
    user = create_user("judge")
    for _ in range(5):
        resp = _guess(client, user.username, "wrong-password")
        assert resp.status_code == 200 and len(flashes(resp)) == 1
    refused = _guess(client, user.username, PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] in ("59", "60")
    with app.test_request_context(), force_locale(lang):
        wording = gettext("Too many failed logins for this account. Try again at %(time)s (in %(wait)s).")
    pattern = re.escape(wording).replace(re.escape("%(time)s"), r"\d\d:\d\d:\d\d").replace(re.escape("%(wait)s"), ".+?")
    assert re.search(pattern, refused.get_data(as_text=True)), refused.get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 401  # not logged in

    _later(monkeypatch, 30)
    assert _guess(client, user.username, PASSWORD).status_code == 429  # still waiting
    _later(monkeypatch, 61)
    assert _guess(client, user.username, PASSWORD).status_code == 302
    assert db.session.get(LoginThrottle, user.username.lower()) is None  # the right password clears the count


def test_the_wait_doubles_and_refused_attempts_do_not_count(app, client, create_user, monkeypatch):
    user = create_user("judge")
    for _ in range(5):
        _guess(client, user.username, "wrong-password")
    for _ in range(3):
        assert _guess(client, user.username, "wrong-password").status_code == 429
    _later(monkeypatch, 61)
    assert _guess(client, user.username, "wrong-password").status_code == 200  # the sixth guess, after the wait
    assert _guess(client, user.username, PASSWORD).headers["Retry-After"] in ("119", "120")


def test_a_right_password_starts_the_count_again(app, client, create_user):
    user = create_user("judge")
    for _round in range(3):
        for _ in range(4):
            assert _guess(client, user.username, "wrong-password").status_code == 200
        assert _guess(client, user.username, PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": _csrf(client)})


def _csrf(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client)


def test_unknown_names_and_other_spellings_are_throttled_alike(app, create_user):
    user = create_user("judge", username="Zhang.Wei")
    known, unknown = app.test_client(), app.test_client()
    for n in range(5):
        assert _guess(known, ["zhang.wei", "ZHANG.WEI", " Zhang.Wei "][n % 3], "wrong").status_code == 200
        assert _guess(unknown, "nobody-here", "wrong").status_code == 200
    a, b = _guess(known, user.username, PASSWORD), _guess(unknown, "nobody-here", "wrong")
    assert a.status_code == b.status_code == 429
    assert a.headers["Retry-After"] == b.headers["Retry-After"]


def test_forgotten_rows_are_pruned_when_new_names_come(app, client, create_user):
    db.session.add_all([LoginThrottle(account=f"old{n}", failures=3, last_attempt_at=utcnow() - timedelta(days=2))
                        for n in range(3)]
                       + [LoginThrottle(account="recent", failures=3, last_attempt_at=utcnow() - timedelta(hours=2))])
    db.session.commit()
    _guess(client, "someone-new", "wrong")
    left = set(db.session.scalars(select(LoginThrottle.account)))
    assert left == {"recent", "someone-new"}


# --- one account, several processes ----------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgres"])
def two_processes(request, make_app):
    """Two separately built apps on one database (two processes as far as the app can tell), its tables made,
    without CSRF (the guesses are plain POSTs), and one judge with the password PASSWORD."""
    url = request.getfixturevalue(f"{request.param}_url")
    first = make_app(url, WTF_CSRF_ENABLED=False)
    second = make_app(url, WTF_CSRF_ENABLED=False)
    with first.app_context():
        db.create_all()
        user = User(username="judge-x", display_name="X", password_hash=FAST.hash(PASSWORD))
        user.roles.append(UserRole(role="judge"))
        db.session.add(user)
        db.session.commit()
    return first, second


def _post_login(app, password: str) -> int:
    return app.test_client().post("/login", data={"username": "judge-x", "password": password}).status_code


@pytest.mark.no_transaction
def test_guesses_through_two_processes_are_counted_together(two_processes, monkeypatch):
    first, second = two_processes
    assert [_post_login(app, "wrong") for app in (first, second, first, second, first)] == [200] * 5
    assert _post_login(second, PASSWORD) == 429
    assert _post_login(first, PASSWORD) == 429
    _later(monkeypatch, 61)
    assert _post_login(second, PASSWORD) == 302


@pytest.mark.no_transaction
def test_forty_parallel_guesses_through_two_processes_check_five_passwords(two_processes):
    first, second = two_processes
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda n: _post_login((first, second)[n % 2], f"guess-{n}"), range(40)))
    assert sorted(statuses) == [200] * 5 + [429] * 35
    with first.app_context():
        checked = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "login_failed"))
    assert checked == 5  # only five passwords were ever compared


# --- the per-address limiter: warned of when each process counts for itself ------------------------------------

def _bare_app(storage: str) -> Flask:
    bare = Flask("limiter-warning")
    bare.config["RATELIMIT_STORAGE_URI"] = storage
    bare.add_url_rule("/", "index", lambda: "ok")
    _warn_of_a_per_process_limiter(bare)
    return bare


@pytest.mark.parametrize(("storage", "multiprocess", "warned"), [
    ("memory://", True, True), ("memory://", False, False), ("redis://127.0.0.1:6379/3", True, False),
])
def test_a_per_process_limiter_under_several_processes_is_warned_of_once(caplog, storage, multiprocess, warned):
    bare = _bare_app(storage)
    client = bare.test_client()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert client.get("/", environ_overrides={"wsgi.multiprocess": multiprocess}).data == b"ok"
    expected = [PER_PROCESS_LIMITER % storage] if warned else []
    assert [r.getMessage() for r in caplog.records if r.name == bare.logger.name] == expected


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_with_two_workers_and_no_redis_logs_the_warning(tmp_path):
    port = _free_port()
    env = {**os.environ, "JIANGXIN_INSTANCE": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'jx.db'}"}
    for name in ("REDIS_URL", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"):
        env.pop(name, None)
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "1", "-b", f"127.0.0.1:{port}"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("gunicorn did not answer: " + log.read_text())
        time.sleep(0.2)
        assert "while several processes serve this app" in log.read_text(), log.read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
