"""Token downloads (``Authorization: Bearer …``) of a certificate's PDF: the ordinary view and the ordinary token
login, the same answer as a browser's download, the same access rules, nothing remembered between requests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app.accounts.models import ApiToken, UserRole
from app.accounts.services import create_token
from app.db import db
from tests.certificates import test_download
from tests.conftest import _transaction  # noqa: F401  (the per-test database transaction, off in this folder)

api_url = test_download.api_url
world = test_download.world  # the same fixture: two enterprises, their workers and HR, every role, one certificate


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def tokens(world):
    return {name: create_token(user, "phone").secret for name, user in world["users"].items()}


@pytest.fixture
def stored(app, world, tokens):
    """cert_a with its PDF rendered, stored and recorded (by a first download)."""
    resp = app.test_client().get(api_url(world["cert_a"]), headers=_bearer(tokens["organizer"]))
    assert resp.status_code == 200
    return resp


def _get(app, path, secret, **headers):
    return app.test_client().get(path, headers={**_bearer(secret), **headers})


@pytest.mark.parametrize(("role", "expected"), [
    ("worker_a", 200), ("hr_a", 200), ("organizer", 200), ("admin", 200),
    ("worker_b", 404), ("hr_b", 404), ("judge", 403),
])
def test_who_may_download_with_a_token(app, world, tokens, stored, role, expected):
    resp = _get(app, api_url(world["cert_a"]), tokens[role])
    assert resp.status_code == expected
    if expected == 200:
        assert resp.data == stored.data
    else:
        assert b"%PDF" not in resp.data and "欧阳娜娜" not in resp.get_data(as_text=True)
        assert resp.get_json()["error"]["code"] in ("not_found", "forbidden")


def test_same_answer_as_a_browser_download(app, world, tokens, stored, login):
    path = api_url(world["cert_a"])
    browser = app.test_client()
    login(browser, world["users"]["worker_a"])
    for query in ("", "?inline=1", "?inline=0"):
        token = _get(app, path + query, tokens["worker_a"])
        session = browser.get(path + query)
        assert token.status == session.status == "200 OK" and token.data == session.data == stored.data
        for name in ("Content-Type", "Content-Length", "Content-Disposition", "ETag", "Cache-Control",
                     "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                     "Cross-Origin-Opener-Policy"):
            assert token.headers[name] == session.headers[name], name
        assert token.headers["Cache-Control"] == "private, no-cache"
        assert {v.strip() for v in token.headers["Vary"].split(",")} >= {"Cookie", "Authorization"}
        assert "Set-Cookie" not in token.headers
    assert token.headers["ETag"] == f'"{hashlib.sha256(stored.data).hexdigest()}"'
    assert token.headers["Content-Disposition"].startswith("attachment; ")
    assert _get(app, path + "?inline=1", tokens["worker_a"]).headers["Content-Disposition"].startswith("inline; ")


def test_a_download_notes_the_token_use_like_any_api_request(app, world, tokens, stored):
    user = world["users"]["worker_a"]
    assert _get(app, api_url(world["cert_a"]), tokens["worker_a"]).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    db.session.refresh(token)
    assert token.last_used_at is not None


def test_revoked_token_disabled_user_and_lost_role_are_refused_on_the_next_request(app, world, tokens, stored):
    path = api_url(world["cert_a"])
    assert _get(app, path, tokens["worker_a"]).status_code == 200
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == world["users"]["worker_a"].id))
    token.revoked_at = datetime.now(UTC)
    db.session.flush()
    assert _get(app, path, tokens["worker_a"]).status_code == 401

    hr = world["users"]["hr_a"]
    assert _get(app, path, tokens["hr_a"]).status_code == 200
    hr.is_enabled = False
    db.session.flush()
    assert _get(app, path, tokens["hr_a"]).status_code == 401
    hr.is_enabled = True
    db.session.flush()
    assert _get(app, path, tokens["hr_a"]).status_code == 200
    db.session.delete(db.session.scalar(select(UserRole).where(UserRole.user_id == hr.id)))
    db.session.flush()
    assert _get(app, path, tokens["hr_a"]).status_code == 403


def test_another_users_token_never_gets_their_certificate(app, world, tokens, stored):
    cert_b = world["certificate"](world["worker_b"])
    path_a, path_b = api_url(world["cert_a"]), api_url(cert_b)
    assert _get(app, path_b, tokens["worker_b"]).status_code == 200  # stores it
    for _ in range(2):
        assert _get(app, path_a, tokens["worker_a"]).status_code == 200
        assert _get(app, path_a, tokens["worker_b"]).status_code == 404
        own = _get(app, path_b, tokens["worker_b"])
        assert own.status_code == 200 and quote("李四") in own.headers["Content-Disposition"]
        assert _get(app, path_b, tokens["worker_a"]).status_code == 404


def test_conditional_get_head_unknown_and_bad_tokens(app, world, tokens, stored):
    path = api_url(world["cert_a"])
    etag = stored.headers["ETag"]
    resp = _get(app, path, tokens["worker_a"], **{"If-None-Match": etag})
    assert (resp.status_code, resp.data, resp.headers["ETag"]) == (304, b"", etag)
    assert resp.headers["Cache-Control"] == "private, no-cache"
    assert _get(app, path, tokens["worker_a"], **{"If-None-Match": '"other"'}).status_code == 200
    assert _get(app, path + "?inline=yes", tokens["worker_a"]).headers["Content-Disposition"].startswith("attachment")
    missing = _get(app, "/api/v1/certificates/999999/pdf", tokens["organizer"])
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    bad = _get(app, path, "jx_not-a-real-token")
    assert bad.status_code == 401 and bad.get_json()["error"]["code"] == "unauthorized"
    with_cookie = app.test_client()
    with_cookie.set_cookie("lang", "en")
    assert with_cookie.get(path, headers=_bearer(tokens["worker_a"])).status_code == 200
    head = app.test_client().head(path, headers=_bearer(tokens["worker_a"]))
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag


def test_a_lost_or_damaged_store_file_is_rendered_again(app, world, tokens, stored):
    path = api_url(world["cert_a"])
    sha = hashlib.sha256(stored.data).hexdigest()
    file = world["tmp"] / "certificates" / "pdf" / sha[:2] / f"{sha}.pdf"
    file.write_bytes(b"%PDF-garbage")
    resp = _get(app, path, tokens["worker_a"])
    assert (resp.status_code, resp.data) == (200, stored.data)
    file.unlink()
    resp = _get(app, path, tokens["worker_a"])
    assert (resp.status_code, resp.data) == (200, stored.data)
    assert file.read_bytes() == stored.data  # stored again


# --- the production way: committed data, the app's own engine and sessions ---------------------------------------


def _committed_world(app):
    from app.accounts.models import User
    from app.orgs.models import Enterprise
    from app.people.models import Worker
    from certificates.domain import make_serial
    from certificates.models import Certificate, CertificateIssuer
    from tests.conftest import _uscc

    with app.app_context():
        db.create_all()
        ent = Enterprise(name="丙机械厂", uscc=_uscc(990001), region="北京市")
        db.session.add(ent)
        db.session.flush()
        workers = [Worker(name=name, gender="F", birth_date=datetime(1990, 1, 1).date(), id_type="resident",
                          id_hash=f"{i}" * 64, id_last4="1234", id_encrypted=b"x", mobile=f"1380000000{i}",
                          enterprise_id=ent.id) for i, name in enumerate(("王芳", "赵六"))]
        db.session.add_all(workers)
        db.session.flush()
        users = [User(username=f"tok-{w.id}", display_name=w.name, password_hash="x", worker_id=w.id) for w in workers]
        for user in users:
            user.roles.append(UserRole(role="worker"))
        issuer = CertificateIssuer(code="0777", name="丙机械厂", enterprise_id=ent.id)
        db.session.add_all([*users, issuer])
        db.session.flush()
        cert = Certificate(
            serial=make_serial("award", 2026, "0777", 1), kind="award", issuer_id=issuer.id, template_version_id=None,
            worker_id=workers[0].id, enterprise_id=ent.id, holder_key=f"worker:{workers[0].id}",
            holder_name=workers[0].name, subject_key="manual:t", achievement="一等奖", details={"subject": "测试"},
            payload={"issuer_name": "丙机械厂"}, signature="x", key_id="0" * 16, issued_on=datetime(2026, 11, 22).date())
        db.session.add(cert)
        db.session.flush()
        secrets_ = [create_token(user, "phone").secret for user in users]
        db.session.commit()
        return cert.id, [u.id for u in users], secrets_


def _committed_downloads(app):
    from certificates.models import Certificate

    cert_id, user_ids, (own, other) = _committed_world(app)
    path = f"/api/v1/certificates/{cert_id}/pdf"
    first = _get(app, path, own)
    assert first.status_code == 200  # rendered, stored and recorded (committed by the GET)
    with app.app_context():
        assert f'"{db.session.get(Certificate, cert_id).pdf_sha256}"' == first.headers["ETag"]
    again = _get(app, path, own)
    assert (again.status_code, again.data) == (200, first.data)
    assert again.headers["ETag"] == first.headers["ETag"] and "Set-Cookie" not in again.headers
    assert _get(app, path, other).status_code == 404
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user_ids[0]))
        token.revoked_at = datetime.now(UTC)
        db.session.commit()
    assert _get(app, path, own).status_code == 401
    with app.app_context():
        token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user_ids[0]))
        token.revoked_at = None
        db.session.commit()
    assert _get(app, path, own).status_code == 200
    with app.app_context():
        from app.accounts.models import User

        db.session.get(User, user_ids[0]).is_enabled = False
        db.session.commit()
    assert _get(app, path, own).status_code == 401


@pytest.mark.no_transaction
def test_committed_downloads_sqlite(make_app, sqlite_url):
    _committed_downloads(make_app(sqlite_url))


@pytest.mark.no_transaction
@pytest.mark.postgres
def test_committed_downloads_postgres(make_app, postgres_url):
    _committed_downloads(make_app(postgres_url))
