"""Loading the user of a Bearer token: one statement, nothing kept between requests, no session cookie."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g
from sqlalchemy import event, select

from app.accounts.models import ApiToken
from app.accounts.services import create_token
from app.db import db


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _statements(app):
    seen: list[str] = []

    def listener(conn, cursor, statement, *args):
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            seen.append(statement)

    return seen, listener


def test_token_user_and_roles_load_in_one_statement(app, create_user, create_enterprise):
    ent = create_enterprise()
    user = create_user("hr", "judge", enterprise=ent)
    secret = create_token(user, "script").secret
    loader = app.login_manager._request_callback
    seen, listener = _statements(app)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with app.test_request_context("/api/v1/me", headers=_bearer(secret)):
            from flask import request

            loaded = loader(request)
            assert loaded.id == user.id
            assert loaded.role_names == {"hr", "judge"}
            assert loaded.hr_enterprise_ids == {ent.id}
            assert g.api_token_id == db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
            assert len(seen) == 2  # the loader's statement, then the test's own select above
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def test_tokens_of_two_users_never_mix(app, create_user, create_worker):
    alice = create_user("worker", worker=create_worker(), username="alice-tok")
    bob = create_user("judge", username="bob-tok")
    secrets_ = {alice.username: create_token(alice, "a").secret, bob.username: create_token(bob, "b").secret}
    script = app.test_client()
    for name in ["alice-tok", "bob-tok", "alice-tok", "alice-tok", "bob-tok"]:
        resp = script.get("/api/v1/me", headers=_bearer(secrets_[name]))
        assert resp.status_code == 200
        assert resp.json["username"] == name


def test_revoked_token_and_disabled_user_are_refused_on_the_very_next_request(app, create_user):
    user = create_user("judge")
    other = create_user("judge")
    secret = create_token(user, "script").secret
    other_secret = create_token(other, "script").secret
    script = app.test_client()
    assert script.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    token.revoked_at = datetime.now(UTC)
    db.session.flush()
    assert script.get("/api/v1/me", headers=_bearer(secret)).status_code == 401
    assert script.get("/api/v1/me", headers=_bearer(other_secret)).status_code == 200
    other.is_enabled = False
    db.session.flush()
    assert script.get("/api/v1/me", headers=_bearer(other_secret)).status_code == 401
    other.is_enabled = True
    db.session.flush()
    assert script.get("/api/v1/me", headers=_bearer(other_secret)).status_code == 200


def test_bearer_request_sets_no_session_cookie(app, create_user):
    user = create_user("judge")
    secret = create_token(user, "script").secret
    script = app.test_client()
    for resp in (script.get("/api/v1/me", headers=_bearer(secret)),
                 script.post("/api/v1/tokens", json={"name": "x"}, headers=_bearer(secret))):
        assert resp.status_code in (200, 201)
        assert "Set-Cookie" not in resp.headers
    assert script.get_cookie("session") is None


def test_a_cookie_session_still_round_trips(client, logged_in):
    user = logged_in("judge")
    resp = client.get("/api/v1/me")
    assert resp.status_code == 200 and resp.json["username"] == user.username
    assert "Cookie" in resp.headers.get("Vary", "")


def test_token_login_reads_only_a_bearer_header(app, create_user):
    from datetime import timedelta

    from app.accounts.services import token_login

    user = create_user("judge")
    new = create_token(user, "script")
    for header in (None, "", "Bearer", "Bearer ", "Bearer    ", f"Basic {new.secret}", f"bearer {new.secret}",
                   "Bearer jx_not-a-real-token"):
        assert token_login(header) is None, header
    found = token_login(f"Bearer  {new.secret} ")
    assert (found.user.id, found.token_id, found.note_use) == (user.id, new.token.id, True)  # never noted yet
    new.token.last_used_at = datetime.now(UTC) - timedelta(minutes=5)
    db.session.flush()
    assert token_login(f"Bearer {new.secret}").note_use is False  # noted within the hour
