"""Personal API tokens (shown once, only SHA-256 stored, revocable) and CSRF for cookie API clients."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from app.accounts.models import ApiToken
from app.db import db
from tests.conftest import csrf_token


def _create_on_account_page(client, name="ci script") -> str:
    page = client.get("/account")
    assert page.status_code == 200
    resp = client.post("/account/tokens", data={"name": name, "csrf_token": csrf_token(client)})
    assert resp.status_code == 200
    match = re.search(r'<p class="secret">(jx_[A-Za-z0-9_-]+)</p>', resp.get_data(as_text=True))
    assert match, "the new token is shown once"
    return match.group(1)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_token_is_shown_once_and_only_its_sha256_is_stored(app, client, logged_in):
    user = logged_in("judge")
    secret = _create_on_account_page(client)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.name, token.prefix, token.token_hash}
    assert secret.startswith(token.prefix)
    account = client.get("/account").get_data(as_text=True)
    assert "ci script" in account
    assert secret not in account  # listed by name and prefix only


def test_bearer_token_authenticates_api_requests(app, client, logged_in):
    user = logged_in("judge")
    secret = _create_on_account_page(client)
    script = app.test_client()  # no cookies
    resp = script.get("/api/v1/me", headers=_bearer(secret))
    assert resp.status_code == 200
    assert resp.json["username"] == user.username
    assert resp.json["roles"] == [{"role": "judge", "enterprise_id": None}]
    # a token client needs no CSRF token for unsafe methods
    resp = script.post("/api/v1/tokens", json={"name": "from a script"}, headers=_bearer(secret))
    assert resp.status_code == 201
    assert resp.json["token"].startswith("jx_")


def test_missing_or_wrong_token_is_401_with_envelope(app):
    script = app.test_client()
    for headers in ({}, _bearer("jx_not-a-real-token"), {"Authorization": "Basic abc"}):
        resp = script.get("/api/v1/me", headers=headers)
        assert resp.status_code == 401
        assert resp.json["error"]["code"] == "unauthorized"
        assert set(resp.json["error"]) == {"code", "message", "details"}


def test_revoked_token_is_refused(app, client, logged_in):
    user = logged_in("judge")
    secret = _create_on_account_page(client)
    script = app.test_client()
    assert script.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    resp = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    assert script.get("/api/v1/me", headers=_bearer(secret)).status_code == 401
    from tests.app.accounts.conftest import audit_actions

    assert audit_actions()[-2:] == ["token_created", "token_revoked"]


def test_token_of_a_disabled_user_is_refused(app, client, logged_in):
    user = logged_in("judge")
    secret = _create_on_account_page(client)
    user.is_enabled = False
    db.session.flush()
    assert app.test_client().get("/api/v1/me", headers=_bearer(secret)).status_code == 401


def test_token_does_not_work_on_html_pages(app, client, logged_in):
    logged_in("admin")
    secret = _create_on_account_page(client)
    script = app.test_client()
    for path in ("/account", "/admin/users", "/"):
        resp = script.get(path, headers=_bearer(secret))
        assert resp.status_code == 302, path
        assert resp.headers["Location"].startswith("/login")


def test_user_cannot_revoke_someone_elses_token(app, client, logged_in, create_user, login):
    logged_in("judge")
    secret = _create_on_account_page(client)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == hashlib.sha256(secret.encode()).hexdigest()))
    other = app.test_client()
    login(other, create_user("judge"))
    resp = other.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRFToken": csrf_token(other)})
    assert resp.status_code == 404
    assert app.test_client().get("/api/v1/me", headers=_bearer(secret)).status_code == 200


def test_cookie_api_post_needs_the_csrf_header(client, logged_in):
    logged_in("judge")
    resp = client.post("/api/v1/tokens", json={"name": "no csrf"})
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "bad_request"
    assert db.session.scalar(select(ApiToken).where(ApiToken.name == "no csrf")) is None
    resp = client.post("/api/v1/tokens", json={"name": "with csrf"}, headers={"X-CSRFToken": csrf_token(client)})
    assert resp.status_code == 201
    assert resp.json["name"] == "with csrf"
    token_id = resp.json["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 400
    assert client.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRFToken": csrf_token(client)}).status_code == 204


def test_api_lists_own_tokens_without_secrets(client, logged_in):
    logged_in("judge")
    _create_on_account_page(client, "one")
    resp = client.get("/api/v1/tokens")
    assert resp.status_code == 200
    assert [t["name"] for t in resp.json] == ["one"]
    assert "token" not in resp.json[0] and "token_hash" not in resp.json[0]


# --- "last used" ---------------------------------------------------------------------------------------------


def _token_of(user) -> ApiToken:
    db.session.expire_all()
    return db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))


def test_a_token_s_last_use_is_noted_at_most_once_an_hour(app, client, logged_in):
    from datetime import timedelta

    from app.db import utcnow

    user = logged_in("judge")
    secret = _create_on_account_page(client)
    assert _token_of(user).last_used_at is None
    assert "从未使用" in client.get("/account").get_data(as_text=True)  # the account page's "Last used": never
    script = app.test_client()
    before = utcnow()
    assert script.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    first = _token_of(user).last_used_at
    assert first is not None and before <= first <= utcnow()
    assert "从未使用" not in client.get("/account").get_data(as_text=True)
    assert script.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    assert _token_of(user).last_used_at == first  # within the hour: not written again

    token = _token_of(user)
    token.last_used_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    resp = script.get("/api/v1/tokens", headers=_bearer(secret))
    assert resp.status_code == 200
    assert _token_of(user).last_used_at > utcnow() - timedelta(minutes=1)  # an hour old: noted again
    listed = script.get("/api/v1/tokens", headers=_bearer(secret)).json
    assert [t["last_used_at"] is not None for t in listed] == [True]  # the API lists it


def test_a_failed_note_of_use_does_not_fail_the_request(app, client, logged_in, monkeypatch):
    import app.accounts.services as services

    logged_in("judge")
    secret = _create_on_account_page(client)

    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "note_token_use", broken)
    assert app.test_client().get("/api/v1/me", headers=_bearer(secret)).status_code == 200


def test_a_revoked_token_is_not_noted(app, client, logged_in):
    from app.accounts.services import revoke_token

    user = logged_in("judge")
    secret = _create_on_account_page(client)
    revoke_token(user, _token_of(user).id)
    db.session.commit()
    assert app.test_client().get("/api/v1/me", headers=_bearer(secret)).status_code == 401
    assert _token_of(user).last_used_at is None


# --- a token for a script, without scraping the login form (issue 15, item 24) ---------------------------------


def _actions() -> list[str]:
    from app.audit.models import AuditEntry

    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_script_gets_a_token_with_the_accounts_username_and_password(app, create_user):
    user = create_user("judge", username="judge-script")
    db.session.commit()
    script = app.test_client()
    resp = script.post("/api/v1/tokens", json={"name": "评分脚本", "username": " Judge-Script ",
                                               "password": "password-123"})
    assert resp.status_code == 201, resp.json
    secret = resp.json["token"]
    assert "password" not in resp.json and "username" not in resp.json
    me = script.get("/api/v1/me", headers=_bearer(secret))
    assert me.status_code == 200 and me.json["username"] == "judge-script"
    assert _actions()[-2:] == ["login", "token_created"]
    assert db.session.scalar(select(ApiToken.name).where(ApiToken.user_id == user.id)) == "评分脚本"


def test_a_wrong_password_is_401_creates_nothing_and_stays_counted(app, create_user):
    from app.accounts.models import LoginThrottle

    user = create_user("judge", username="judge-guess")
    db.session.commit()
    script = app.test_client()
    resp = script.post("/api/v1/tokens", json={"name": "x", "username": "judge-guess", "password": "wrong-one"},
                       headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "wrong_password" and resp.json["error"]["message"] == "用户名或密码错误。"
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)) is None
    # the refusal keeps what the login throttle and the audit log must know (every other error rolls back)
    assert _actions()[-1] == "login_failed"
    assert db.session.scalar(select(LoginThrottle.failures).where(LoginThrottle.account == "judge-guess")) == 1


def test_without_credentials_or_with_both_kinds_the_token_request_is_refused(app, client, create_user, logged_in):
    script = app.test_client()
    resp = script.post("/api/v1/tokens", json={"name": "x"})
    assert resp.status_code == 401 and resp.json["error"]["code"] == "unauthorized"
    resp = script.post("/api/v1/tokens", json={"name": "x", "username": "nobody"})
    assert resp.status_code == 401
    logged_in("judge")
    resp = client.post("/api/v1/tokens", json={"name": "x", "username": "someone", "password": "p"},
                       headers={"X-CSRFToken": csrf_token(client)})
    assert resp.status_code == 422 and resp.json["error"]["code"] == "validation_error"
    assert db.session.scalar(select(ApiToken)) is None


def test_token_requests_by_password_are_limited_per_address(app, create_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    create_user("judge", username="judge-rate")
    db.session.commit()
    script = app.test_client()
    body = {"name": "x", "username": "judge-rate", "password": "wrong"}
    assert [script.post("/api/v1/tokens", json=body).status_code for _ in range(3)] == [401, 401, 429]


def test_the_operator_makes_a_token_on_the_command_line(app, create_user):
    create_user("judge", username="hr-import")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["users", "token", "HR-Import", "--name", "nightly"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("jx_") and "nightly" in result.stderr
    assert app.test_client().get("/api/v1/me", headers=_bearer(secret)).json["username"] == "hr-import"
    assert _actions()[-2:] == ["token_created", "token_created_by_operator"]
    missing = app.test_cli_runner().invoke(args=["users", "token", "nobody"])
    assert missing.exit_code != 0 and "no enabled account" in missing.output
