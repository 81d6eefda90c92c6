"""HTML pages for enterprises and chains: roles, forms with validation messages, audit, query counts."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from app.db import db
from app.orgs import services
from app.orgs.models import Enterprise, IndustryChain
from tests.app.orgs.conftest import MANAGER_ROLES, ROLES, audit_actions, last_audit, valid_uscc
from tests.conftest import csrf_token


def _pages(home_id: int, chain_id: int) -> list[str]:
    return ["/enterprises", "/enterprises/new", f"/enterprises/{home_id}", "/chains", "/chains/new", f"/chains/{chain_id}"]


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(client, as_role, home, role):
    chain = IndustryChain(name="角色产业链", members=[home])
    db.session.add(chain)
    db.session.flush()
    as_role(role)
    for path in _pages(home.id, chain.id):
        resp = client.get(path)
        if role in MANAGER_ROLES:
            assert resp.status_code == 200, path
        elif role == "anonymous":
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
        else:
            assert resp.status_code == 403, path
            assert home.uscc not in resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ["hr", "judge", "worker", "anonymous"])
def test_posts_refused_for_other_roles(client, as_role, home, role):
    as_role(role)
    token = csrf_token(client)
    before = db.session.scalar(select(Enterprise.is_active).where(Enterprise.id == home.id))
    for path, data in [
        ("/enterprises/new", {"name": "越权企业", "uscc": valid_uscc()}),
        (f"/enterprises/{home.id}/deactivate", {}),
        ("/chains/new", {"name": "越权产业链"}),
    ]:
        resp = client.post(path, data={"csrf_token": token, **data})
        assert resp.status_code == (302 if role == "anonymous" else 403), path
    assert db.session.scalar(select(Enterprise.id).where(Enterprise.name == "越权企业")) is None
    assert db.session.scalar(select(Enterprise.is_active).where(Enterprise.id == home.id)) == before


def test_create_enterprise_through_the_form(client, as_role):
    user = as_role("organizer")
    code = valid_uscc()
    resp = client.post("/enterprises/new", data={"csrf_token": csrf_token(client), "name": "表单企业",
                                                 "uscc": code.lower(), "region": "浙江省"})
    assert resp.status_code == 302
    ent = db.session.scalar(select(Enterprise).where(Enterprise.name == "表单企业"))
    assert ent.uscc == code and resp.headers["Location"].endswith(f"/enterprises/{ent.id}")
    assert last_audit("enterprise_created").actor_id == user.id
    page = client.get("/enterprises?q=表单").get_data(as_text=True)
    assert "表单企业" in page and code in page


@pytest.mark.parametrize(("uscc", "message"), [
    ("123", "must have exactly 18 characters"),
    ("91320100MA1B2C3DIO", "capital letters except I, O, S, V and Z"),
    ("__WRONG_CHECK__", "check character"),
])
def test_uscc_errors_shown_in_the_form(client, as_role, uscc, message):
    if uscc == "__WRONG_CHECK__":
        good = valid_uscc()
        uscc = good[:17] + ("0" if good[17] != "0" else "1")
    as_role("admin")
    client.set_cookie("lang", "en")
    resp = client.post("/enterprises/new", data={"csrf_token": csrf_token(client), "name": "坏代码企业", "uscc": uscc})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert message in html and 'class="error"' in html
    assert db.session.scalar(select(Enterprise.id).where(Enterprise.name == "坏代码企业")) is None


def test_duplicate_name_and_uscc_shown_in_the_form(client, as_role, create_enterprise):
    existing = create_enterprise(name="已有企业")
    as_role("organizer")
    client.set_cookie("lang", "en")
    token = csrf_token(client)
    resp = client.post("/enterprises/new", data={"csrf_token": token, "name": "已有企业", "uscc": valid_uscc()})
    assert resp.status_code == 200 and "An enterprise with this name already exists." in resp.get_data(as_text=True)
    resp = client.post("/enterprises/new", data={"csrf_token": token, "name": "新企业", "uscc": existing.uscc})
    assert "An enterprise with this unified social credit code already exists." in resp.get_data(as_text=True)
    other = create_enterprise(name="另一家")
    resp = client.post(f"/enterprises/{other.id}", data={"csrf_token": token, "name": "已有企业", "uscc": other.uscc})
    assert resp.status_code == 200 and "already exists" in resp.get_data(as_text=True)
    assert db.session.get(Enterprise, other.id).name == "另一家"


def test_edit_deactivate_reactivate(client, as_role, create_enterprise):
    ent = create_enterprise(name="可编辑企业", region="北京市")
    as_role("organizer")
    token = csrf_token(client)
    resp = client.post(f"/enterprises/{ent.id}", data={"csrf_token": token, "name": "已编辑企业", "uscc": ent.uscc,
                                                       "region": "河北省"})
    assert resp.status_code == 302
    assert client.post(f"/enterprises/{ent.id}/deactivate", data={"csrf_token": token}).status_code == 302
    ent = db.session.get(Enterprise, ent.id)
    assert (ent.name, ent.region, ent.is_active) == ("已编辑企业", "河北省", False)
    assert "已编辑企业" in client.get("/enterprises?status=inactive").get_data(as_text=True)
    assert "已编辑企业" not in client.get("/enterprises?status=active").get_data(as_text=True)
    client.post(f"/enterprises/{ent.id}/reactivate", data={"csrf_token": token})
    assert db.session.get(Enterprise, ent.id).is_active is True
    assert audit_actions("enterprise", ent.id) == ["enterprise_updated", "enterprise_deactivated", "enterprise_reactivated"]
    assert client.get("/enterprises/999999").status_code == 404


def test_chain_pages_and_membership(client, as_role, create_enterprise):
    a, b = create_enterprise(name="链成员A"), create_enterprise(name="链成员B")
    inactive = create_enterprise(name="停用企业", is_active=False)
    as_role("organizer")
    token = csrf_token(client)
    resp = client.post("/chains/new", data={"csrf_token": token, "name": "电力装备产业链", "description": "输变电"})
    chain = db.session.scalar(select(IndustryChain).where(IndustryChain.name == "电力装备产业链"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/chains/{chain.id}")
    edit = client.get(f"/chains/{chain.id}").get_data(as_text=True)
    assert "链成员A" in edit and "停用企业" not in edit  # inactive enterprises are not offered
    for ent in (a, b):
        assert client.post(f"/chains/{chain.id}/members", data={"csrf_token": token, "enterprise_id": ent.id}).status_code == 302
    client.post(f"/chains/{chain.id}/members", data={"csrf_token": token, "enterprise_id": inactive.id})
    client.post(f"/chains/{chain.id}/members/{a.id}/remove", data={"csrf_token": token})
    chain = db.session.get(IndustryChain, chain.id)
    assert [e.name for e in chain.members] == ["链成员B"]
    assert audit_actions("industry_chain", chain.id) == ["chain_created", "chain_members_changed", "chain_members_changed",
                                                          "chain_members_changed"]
    listing = client.get("/chains").get_data(as_text=True)
    assert "电力装备产业链" in listing and "链成员B" in listing
    assert "电力装备产业链" in client.get("/enterprises?q=链成员B").get_data(as_text=True)
    resp = client.post(f"/chains/{chain.id}", data={"csrf_token": token, "name": "电力装备产业链", "description": "输变电设备"})
    assert resp.status_code == 302 and last_audit("chain_updated").target_id == str(chain.id)
    client.set_cookie("lang", "en")
    resp = client.post("/chains/new", data={"csrf_token": token, "name": "电力装备产业链"})
    assert "An industry chain with this name already exists." in resp.get_data(as_text=True)
    assert client.get("/chains/999999").status_code == 404


def _count_queries(client, path: str) -> int:
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        # A fresh app context gives the request its own session with a cold identity map, so it loads
        # everything itself instead of finding the test's objects.
        with client.application.app_context():
            resp = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert resp.status_code == 200
    return len([s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))])


def _populate(n: int, create_enterprise, create_worker, prefix: str) -> None:
    chains = [IndustryChain(name=f"{prefix}链{i}") for i in range(3)]
    db.session.add_all(chains)
    for i in range(n):
        ent = create_enterprise(name=f"{prefix}企业{i:03d}")
        chains[i % 3].members.append(ent)
        if i % 2:
            chains[(i + 1) % 3].members.append(ent)
        create_worker(enterprise=ent)
    db.session.flush()


def test_enterprise_list_query_count_is_constant(client, as_role, create_enterprise, create_worker):
    as_role("organizer")
    _populate(10, create_enterprise, create_worker, "十")
    few = _count_queries(client, "/enterprises?per_page=100&q=十企业")
    assert "十企业009" in client.get("/enterprises?per_page=100&q=十企业").get_data(as_text=True)
    _populate(100, create_enterprise, create_worker, "百")
    many = _count_queries(client, "/enterprises?per_page=100&q=百企业")
    page = client.get("/enterprises?per_page=100&q=百企业").get_data(as_text=True)
    assert "百企业099" in page and "百链0" in page
    assert few == many


def test_chain_list_query_count_is_constant(client, as_role, create_enterprise, create_worker):
    as_role("admin")
    _populate(10, create_enterprise, create_worker, "少")
    few = _count_queries(client, "/chains?q=少链")
    _populate(100, create_enterprise, create_worker, "多")
    assert _count_queries(client, "/chains?q=多链") == few


def test_list_page_escapes_names(client, as_role, create_enterprise):
    create_enterprise(name="<script>alert(1)</script>企业")
    as_role("organizer")
    html = client.get("/enterprises").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_services_module_still_feeds_role_form(client, as_role, home):
    as_role("admin")
    assert (home.id, home.name) in services.enterprise_choices()
