"""User and role administration: admin only, scoped roles, several roles per user, every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts import services
from app.accounts.models import User
from app.audit.models import AuditEntry
from app.db import db
from app.errors import Conflict, DomainError, PermissionDenied
from tests.app.accounts.conftest import flashes, form_login
from tests.conftest import csrf_token


def _post(client, url, **data):
    data["csrf_token"] = csrf_token(client)
    return client.post(url, data=data)


def _roles(user: User) -> set[tuple[str, int | None]]:
    db.session.refresh(user)
    return {(r.role, r.enterprise_id) for r in user.roles}


def _audits(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_admin_creates_a_user_who_can_log_in(client, logged_in, app):
    admin = logged_in("admin")
    resp = _post(client, "/admin/users/new", username="new.person", display_name="新人", password="a-good-password")
    assert resp.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "new.person"))
    assert resp.headers["Location"] == f"/admin/users/{user.id}"
    assert user.password_hash.startswith("$argon2id$")
    assert "a-good-password" not in user.password_hash
    [entry] = _audits("user_created")
    assert (entry.actor_id, entry.target_id) == (admin.id, str(user.id))
    other = app.test_client()
    assert form_login(other, "new.person", "a-good-password").status_code == 302


@pytest.mark.parametrize("data, reason", [
    ({"username": "x", "display_name": "", "password": "short"}, "short password"),
    ({"username": "", "display_name": "", "password": "a-good-password"}, "no username"),
])
def test_bad_new_user_forms_create_nothing(client, logged_in, data, reason):
    logged_in("admin")
    before = db.session.scalar(select(db.func.count()).select_from(User))
    resp = _post(client, "/admin/users/new", **data)
    assert resp.status_code == 200, reason
    assert db.session.scalar(select(db.func.count()).select_from(User)) == before


def test_duplicate_username_is_refused(client, logged_in, create_user):
    logged_in("admin")
    create_user("judge", username="taken")
    resp = _post(client, "/admin/users/new", username="TAKEN", display_name="", password="a-good-password")
    assert resp.status_code == 409
    assert db.session.scalar(select(db.func.count()).select_from(User).where(User.username.ilike("taken"))) == 1


def test_admin_grants_several_scoped_roles_and_revokes_them(client, logged_in, create_user, create_enterprise, create_worker):
    admin = logged_in("admin")
    ent = create_enterprise()
    worker = create_worker(enterprise=ent)
    user = create_user()
    url = f"/admin/users/{user.id}/roles"
    assert _post(client, url, role="hr", enterprise_id=ent.id).status_code == 302
    assert _post(client, url, role="judge", enterprise_id=0).status_code == 302
    assert _post(client, url, role="worker", enterprise_id=0, worker_id=worker.id).status_code == 302
    assert _roles(user) == {("hr", ent.id), ("judge", None), ("worker", None)}
    assert user.worker_id == worker.id
    assert user.has_role("hr") and user.has_role("judge") and user.has_role("worker")
    assert user.hr_enterprise_ids == {ent.id}

    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert ent.name in page

    judge_role = next(r for r in user.roles if r.role == "judge")
    worker_role = next(r for r in user.roles if r.role == "worker")
    assert _post(client, f"/admin/users/{user.id}/roles/{judge_role.id}/revoke").status_code == 302
    assert _post(client, f"/admin/users/{user.id}/roles/{worker_role.id}/revoke").status_code == 302
    assert _roles(user) == {("hr", ent.id)}
    assert user.worker_id is None

    granted, revoked = _audits("role_granted"), _audits("role_revoked")
    assert [e.details["role"] for e in granted] == ["hr", "judge", "worker"]
    assert granted[0].details["enterprise_id"] == ent.id
    assert granted[2].details["worker_id"] == worker.id
    assert [e.details["role"] for e in revoked] == ["judge", "worker"]
    assert {e.actor_id for e in granted + revoked} == {admin.id}
    assert {e.target_id for e in granted + revoked} == {str(user.id)}


def test_hr_role_needs_an_enterprise(client, logged_in, create_user):
    logged_in("admin")
    user = create_user()
    resp = client.post(f"/admin/users/{user.id}/roles", data={"role": "hr", "enterprise_id": 0, "csrf_token": csrf_token(client)},
                       headers={"Referer": f"http://localhost/admin/users/{user.id}"})
    assert resp.status_code == 302
    assert _roles(user) == set()
    assert _audits("role_granted") == []
    follow = client.get(resp.headers["Location"])
    assert any("enterprise" in f.lower() or "企业" in f for f in flashes(follow))


def test_worker_role_needs_an_existing_worker_record(app_ctx, create_user):
    admin, user = create_user("admin"), create_user()
    with pytest.raises(DomainError) as err:
        services.grant_role(admin, user, "worker")
    assert err.value.code == "worker_required"
    with pytest.raises(DomainError) as err:
        services.grant_role(admin, user, "worker", worker_id=999_999)
    assert err.value.code == "worker_required"
    assert _roles(user) == set()


def test_worker_record_links_to_one_user_only(app_ctx, create_user, create_worker):
    admin, first, second = create_user("admin"), create_user(), create_user()
    worker = create_worker()
    services.grant_role(admin, first, "worker", worker_id=worker.id)
    with pytest.raises(Conflict):
        services.grant_role(admin, second, "worker", worker_id=worker.id)


def test_same_role_twice_is_a_conflict_but_hr_of_two_enterprises_is_fine(app_ctx, create_user, create_enterprise):
    admin, user = create_user("admin"), create_user()
    a, b = create_enterprise(), create_enterprise()
    services.grant_role(admin, user, "hr", enterprise_id=a.id)
    services.grant_role(admin, user, "hr", enterprise_id=b.id)
    with pytest.raises(Conflict):
        services.grant_role(admin, user, "hr", enterprise_id=a.id)
    assert user.hr_enterprise_ids == {a.id, b.id}


def test_unknown_role_is_refused(app_ctx, create_user):
    admin, user = create_user("admin"), create_user()
    with pytest.raises(DomainError) as err:
        services.grant_role(admin, user, "superuser")
    assert err.value.code == "unknown_role"


def test_admin_cannot_demote_or_disable_themselves(app_ctx, create_user):
    admin = create_user("admin")
    with pytest.raises(DomainError):
        services.revoke_role(admin, admin, admin.roles[0].id)
    with pytest.raises(DomainError):
        services.update_user(admin, admin, admin.display_name, is_enabled=False)


def test_admin_disables_a_user_and_it_is_audited(client, logged_in, create_user):
    logged_in("admin")
    user = create_user("judge")
    resp = _post(client, f"/admin/users/{user.id}", display_name=user.display_name)  # unchecked box = disabled
    assert resp.status_code == 302
    db.session.refresh(user)
    assert user.is_enabled is False
    [entry] = _audits("user_updated")
    assert entry.details["is_enabled"] == [True, False]


@pytest.mark.parametrize("roles", [("organizer",), ("hr",), ("judge",), ("worker",), ()])
def test_non_admins_get_403_on_user_administration(client, login, create_user, create_enterprise, create_worker, roles):
    ent = create_enterprise()
    kwargs = {"enterprise": ent} if "hr" in roles else {}
    if "worker" in roles:
        kwargs["worker"] = create_worker(enterprise=ent)
    actor = create_user(*roles, **kwargs)
    target = create_user("judge")
    login(client, actor)
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    assert client.get(f"/admin/users/{target.id}").status_code == 403
    token = csrf_token(client)
    for url, data in (
        ("/admin/users/new", {"username": "sneaky", "password": "a-good-password"}),
        (f"/admin/users/{target.id}", {"display_name": "pwned"}),
        (f"/admin/users/{target.id}/roles", {"role": "admin", "enterprise_id": 0}),
        (f"/admin/users/{target.id}/roles/{target.roles[0].id}/revoke", {}),
    ):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    assert _roles(target) == {("judge", None)}
    assert db.session.scalar(select(User).where(User.username == "sneaky")) is None
    assert _audits("role_granted") == [] and _audits("user_created") == []


def test_services_refuse_non_admins(app_ctx, create_user):
    judge, user = create_user("judge"), create_user()
    with pytest.raises(PermissionDenied):
        services.grant_role(judge, user, "admin")
    with pytest.raises(PermissionDenied):
        services.create_user(judge, "x", "x", "a-good-password")


def test_user_list_searches(client, logged_in, create_user):
    logged_in("admin")
    create_user("judge", username="findme-judge")
    create_user("judge", username="someone-else")
    html = client.get("/admin/users?q=findme").get_data(as_text=True)
    assert "findme-judge" in html
    assert "someone-else" not in html
