"""Browser sessions end when they should: a copied session cookie stops working at logout, at "log out everywhere",
after a new password, a removed role or a disabled account; API tokens are not sessions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.accounts.models import LoginSession
from app.accounts.services import create_token
from app.db import db, utcnow
from tests.app.accounts.conftest import PASSWORD, audit_actions, form_login
from tests.conftest import csrf_token

NEW_PASSWORD = "another-password-456"


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _browser(app, cookie: str):
    """Another client holding a copy of a session cookie (another device, or a thief)."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def _logged_in(client, worker_page: bool = False) -> bool:
    """Whether ``client``'s cookie still logs it in: a page and the API say so alike."""
    page = client.get("/my/profile" if worker_page else "/account").status_code
    api = client.get("/api/v1/me").status_code
    assert (page, api) in ((200, 200), (302, 401)), (page, api)
    return page == 200


def _post(client, path: str, data: dict | None = None):
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)})


def test_a_copied_cookie_stops_working_at_logout(app, client, create_user, create_worker):
    user = create_user("worker", worker=create_worker())
    form_login(client, user.username)
    copy = _browser(app, _cookie(client))
    assert _logged_in(copy, worker_page=True)
    assert _post(client, "/logout").status_code == 302
    assert not _logged_in(client, worker_page=True)
    assert not _logged_in(copy, worker_page=True)


def test_logout_ends_only_that_session(app, create_user):
    user = create_user("judge")
    laptop, phone = app.test_client(), app.test_client()
    form_login(laptop, user.username)
    form_login(phone, user.username)
    _post(laptop, "/logout")
    assert not _logged_in(laptop)
    assert _logged_in(phone)


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(app, create_user):
    user = create_user("judge")
    laptop, phone = app.test_client(), app.test_client()
    form_login(laptop, user.username)
    form_login(phone, user.username)
    before = _browser(app, _cookie(laptop))  # the laptop's cookie as it was before the change
    resp = _post(laptop, "/account/password", {"current": PASSWORD, "new": NEW_PASSWORD})
    assert resp.status_code == 302
    assert _logged_in(laptop)
    assert not _logged_in(phone)
    assert not _logged_in(before)
    assert form_login(phone, user.username, NEW_PASSWORD).status_code == 302


def test_log_out_everywhere_from_the_account_page(app, create_user):
    user = create_user("judge")
    laptop, phone = app.test_client(), app.test_client()
    form_login(laptop, user.username)
    form_login(phone, user.username)
    copy = _browser(app, _cookie(laptop))
    page = laptop.get("/account").get_data(as_text=True)
    assert 'action="/logout/everywhere"' in page
    resp = _post(laptop, "/logout/everywhere")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert not _logged_in(laptop)
    assert not _logged_in(phone)
    assert not _logged_in(copy)
    assert audit_actions()[-1] == "sessions_ended"
    assert form_login(phone, user.username).status_code == 302  # logging in again works
    assert _logged_in(phone)


def test_log_out_everywhere_needs_csrf(app, client, create_user):
    user = create_user("judge")
    form_login(client, user.username)
    assert client.post("/logout/everywhere").status_code == 400
    assert _logged_in(client)


def test_an_admin_ends_a_users_sessions_by_removing_a_role_resetting_the_password_or_disabling(app, create_user):
    admin = create_user("admin")
    user = create_user("judge", "organizer")
    desk = app.test_client()
    form_login(desk, admin.username)

    def logged_in_user():
        browser = app.test_client()
        form_login(browser, user.username)
        assert _logged_in(browser)
        return browser

    browser = logged_in_user()
    judge_role = next(r for r in user.roles if r.role == "judge")
    assert _post(desk, f"/admin/users/{user.id}/roles/{judge_role.id}/revoke").status_code == 302
    assert not _logged_in(browser)

    browser = logged_in_user()
    resp = _post(desk, f"/admin/users/{user.id}", {"display_name": user.display_name, "is_enabled": "y",
                                                   "password": NEW_PASSWORD})
    assert resp.status_code == 302
    assert not _logged_in(browser)
    user.password_hash = admin.password_hash  # back to PASSWORD
    db.session.commit()

    browser = logged_in_user()
    _post(desk, f"/admin/users/{user.id}", {"display_name": user.display_name})  # disabled
    _post(desk, f"/admin/users/{user.id}", {"display_name": user.display_name, "is_enabled": "y"})  # and enabled again
    assert not _logged_in(browser)  # being enabled again does not bring the old session back
    assert _logged_in(desk)


def test_an_admin_who_changes_their_own_password_or_roles_stays_logged_in(app, client, create_user):
    admin = create_user("admin", "judge")
    form_login(client, admin.username)
    elsewhere = app.test_client()
    form_login(elsewhere, admin.username)
    resp = _post(client, f"/admin/users/{admin.id}", {"display_name": admin.display_name, "is_enabled": "y",
                                                      "password": NEW_PASSWORD})
    assert resp.status_code == 302
    assert _logged_in(client)
    assert not _logged_in(elsewhere)
    judge_role = next(r for r in admin.roles if r.role == "judge")
    assert _post(client, f"/admin/users/{admin.id}/roles/{judge_role.id}/revoke").status_code == 302
    assert _logged_in(client)


def test_api_tokens_outlive_sessions_but_not_a_disabled_account(app, client, create_user):
    admin = create_user("admin")
    user = create_user("judge")
    form_login(client, user.username)
    bearer = {"Authorization": f"Bearer {create_token(user, 'script').secret}"}
    db.session.commit()
    _post(client, "/logout/everywhere")
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 200
    desk = app.test_client()
    form_login(desk, admin.username)
    _post(desk, f"/admin/users/{user.id}", {"display_name": user.display_name})  # disabled
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401


def test_a_session_lasts_at_most_the_session_lifetime(app, client, create_user):
    user = create_user("judge")
    form_login(client, user.username)
    assert _logged_in(client)
    lifetime = app.permanent_session_lifetime
    db.session.execute(update(LoginSession).where(LoginSession.user_id == user.id)
                       .values(created_at=utcnow() - lifetime - timedelta(seconds=1)))
    db.session.commit()
    assert not _logged_in(client)


def test_an_old_login_is_forgotten_at_the_next_one(app, client, create_user):
    user = create_user("judge")
    form_login(app.test_client(), user.username)
    db.session.execute(update(LoginSession).values(created_at=utcnow() - timedelta(days=40)))
    form_login(client, user.username)
    assert len(db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).all()) == 1


def test_a_session_without_its_key_or_generation_is_anonymous(app, client, create_user):
    user = create_user("judge")
    form_login(client, user.username)
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)  # a cookie from before sessions were bound: no generation
    assert not _logged_in(client)
    form_login(client, user.username)
    with client.session_transaction() as sess:
        sess.pop("_session_key")
    assert not _logged_in(client)
    with client.session_transaction() as sess:
        assert "_user_id" not in sess  # the refused login is dropped from the cookie


def test_loading_the_session_user_costs_no_extra_statement(app, client, create_user):
    """The session's checks ride on the statement that loads the user (plus the roles' select, as before)."""
    from tests.conftest import statements_run

    user = create_user("judge")
    form_login(client, user.username)
    user_id = user.id
    db.session.expunge_all()  # a request starts with an empty session: nothing is in the identity map
    cookie = _cookie(client)
    loader = app.login_manager._user_callback

    def load():
        with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
            from flask import session

            assert loader(session["_user_id"]).id == user_id

    seen = [s for s in statements_run(load) if not s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN"))]
    assert len(seen) == 2, seen  # the user (with the session's checks), then the user's roles
