from tests.conftest import csrf_token


def test_login_page_renders_in_chinese_by_default(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert "Content-Security-Policy" in resp.headers


def test_index_for_admin(client, create_user, login):
    admin = create_user("admin")
    login(client, admin)
    resp = client.get("/")
    assert resp.status_code == 200, resp.data
    assert admin.display_name in resp.get_data(as_text=True)


def test_real_login_and_audit(client, create_user, app):
    from app.accounts.services import hash_password
    user = create_user("judge", password_hash=hash_password("correct-horse-1"))
    token = csrf_token(client)
    resp = client.post("/login", data={"username": user.username, "password": "correct-horse-1", "csrf_token": token})
    assert resp.status_code == 302
    from sqlalchemy import select

    from app.audit.models import AuditEntry
    from app.db import db
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)) == "login"
