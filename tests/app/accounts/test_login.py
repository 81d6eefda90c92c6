"""Login and logout: audited, no user enumeration, disabled users refused, safe ?next=, rate limited."""

from __future__ import annotations

import os
import secrets

import pytest
from flask_babel import force_locale, gettext

from app.config import Config
from app.db import db
from tests.app.accounts.conftest import PASSWORD, audit_actions, flashes, form_login, last_audit
from tests.conftest import csrf_token, require

TOO_MANY = "Too many attempts. Please wait a moment and try again."
WRONG = "Wrong username or password."


def _translated(app, msgid: str, locale: str) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(msgid)


def test_login_success_redirects_home_and_is_audited(client, create_user):
    user = create_user("judge")
    resp = form_login(client, user.username)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert user.display_name in home.get_data(as_text=True)
    entry = last_audit()
    assert (entry.action, entry.actor_id, entry.target_id) == ("login", user.id, str(user.id))
    assert user.last_login_at is not None


def test_username_is_case_insensitive(client, create_user):
    create_user("judge", username="MixedCase")
    assert form_login(client, "mixedcase").status_code == 302


def test_failed_login_does_not_reveal_whether_the_user_exists(client, create_user):
    user = create_user("judge")
    wrong_password = form_login(client, user.username, "not-the-password")
    unknown_user = form_login(client, "nobody-" + secrets.token_hex(4), "not-the-password")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert flashes(wrong_password) == flashes(unknown_user) == [_translated(client.application, WRONG, "zh_CN")]
    assert audit_actions() == ["login_failed", "login_failed"]
    assert last_audit().details["username"].startswith("nobody-")
    assert client.get("/").status_code == 302  # still anonymous


def test_login_form_requires_csrf(client, create_user):
    user = create_user("judge")
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302


def test_disabled_user_cannot_log_in(client, create_user):
    user = create_user("judge")
    user.is_enabled = False
    db.session.flush()
    resp = form_login(client, user.username)
    assert resp.status_code == 200
    assert flashes(resp) == [_translated(client.application, WRONG, "zh_CN")]
    assert audit_actions() == ["login_failed"]
    assert client.get("/").status_code == 302


def test_disabling_a_user_ends_their_session(client, login, create_user):
    user = create_user("judge")
    login(client, user)
    assert client.get("/").status_code == 200
    user.is_enabled = False
    db.session.flush()
    resp = client.get("/account")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")


@pytest.mark.parametrize("target", [
    "https://evil.example/steal",
    "//evil.example/steal",
    "/\\evil.example/steal",
    "\\\\evil.example",
    "javascript:alert(1)",
    "http:/evil.example",
    "/\t/evil.example",
])
def test_open_redirect_in_next_is_refused(client, create_user, target):
    user = create_user("judge")
    resp = form_login(client, user.username, next_url=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_next_to_a_local_page_is_followed(client, create_user):
    user = create_user("admin")
    login_page = client.get("/login?next=/admin/users%3Fq%3Dx")
    assert 'value="/admin/users?q=x"' in login_page.get_data(as_text=True)
    resp = form_login(client, user.username, next_url="/admin/users?q=x")
    assert resp.headers["Location"] == "/admin/users?q=x"


def test_protected_page_sends_anonymous_users_to_login_with_next(client):
    resp = client.get("/account")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")


def test_logout_needs_post_with_csrf(client, login, create_user):
    user = create_user("judge")
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/").status_code == 200
    resp = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_login_rate_limit_answers_429_with_a_translated_message(app, client, create_user, monkeypatch, lang):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    client.set_cookie("lang", lang)
    user = create_user("judge")
    for _ in range(3):
        assert form_login(client, user.username, "wrong-password").status_code == 200
    resp = form_login(client, user.username)  # even the right password is refused now
    assert resp.status_code == 429
    assert _translated(app, TOO_MANY, lang) in resp.get_data(as_text=True)
    assert "Retry-After" in resp.headers
    assert client.get("/").status_code == 302  # not logged in
    assert client.get("/login").status_code == 200  # only POSTs are limited


def test_rate_limit_storage_follows_redis_url(monkeypatch, tmp_path):
    monkeypatch.setenv("JIANGXIN_INSTANCE", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)  # SQLite: no secrets needed in the environment
    assert Config().RATELIMIT_STORAGE_URI == "memory://"
    monkeypatch.setenv("REDIS_URL", "redis://example.invalid:6379/3")
    config = Config()
    assert config.RATELIMIT_STORAGE_URI == config.REDIS_URL == "redis://example.invalid:6379/3"


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.mark.redis
@pytest.mark.no_transaction
def test_login_rate_limit_is_kept_in_redis(monkeypatch, tmp_path, make_app):
    import redis

    from app.accounts.models import User, UserRole
    from app.extensions import limiter

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    require(_redis_reachable(url), f"Redis not reachable at {url}")
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("JIANGXIN_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'redis.db'}")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")  # the test client speaks plain HTTP
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "2 per minute")
    config = Config()
    prefix = f"jxtest{secrets.token_hex(4)}"
    config.RATELIMIT_KEY_PREFIX = prefix
    app = make_app("", config=config)
    assert type(limiter.storage).__name__ == "RedisStorage"

    from argon2 import PasswordHasher

    with app.app_context():
        db.create_all()
        weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        user = User(username="redis-user", display_name="R", password_hash=weak.hash("pw"))
        user.roles.append(UserRole(role="judge"))
        db.session.add(user)
        db.session.commit()

    server = redis.Redis.from_url(url)
    try:
        client = app.test_client()
        assert form_login(client, "redis-user", "wrong").status_code == 200
        assert form_login(client, "redis-user", "wrong").status_code == 200
        assert form_login(client, "redis-user", "pw").status_code == 429
        assert [k for k in server.scan_iter(f"*{prefix}*")], "the counter lives in Redis"
        # A second app process sharing the Redis storage sees the same counter.
        other = app.test_client()
        assert form_login(other, "redis-user", "pw").status_code == 429
    finally:
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)
