"""The enterprises and chains API: every role, envelope errors, validation, membership, OpenAPI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.db import db
from app.orgs.models import Enterprise, IndustryChain
from tests.app.orgs.conftest import MANAGER_ROLES, ROLES, audit_actions, last_audit, valid_uscc
from tests.conftest import csrf_token


@pytest.fixture
def api(client, as_role):
    """api(role) logs in and returns call(method, path, json=None) sending the CSRF header."""

    def for_role(role: str):
        as_role(role)
        client.set_cookie("lang", "en")
        token = csrf_token(client)

        def call(method: str, path: str, json=None):
            return client.open(path, method=method, json=json, headers={"X-CSRFToken": token})

        return call

    return for_role


def _envelope(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize("role", ROLES)
def test_reading_by_role(api, home, create_enterprise, role):
    other = create_enterprise(name="他家企业")
    chain = IndustryChain(name="读取产业链", members=[home, other])
    db.session.add(chain)
    db.session.flush()
    call = api(role)
    listing = call("GET", "/api/v1/enterprises?per_page=200")
    one, foreign = call("GET", f"/api/v1/enterprises/{home.id}"), call("GET", f"/api/v1/enterprises/{other.id}")
    chains, chain_one = call("GET", "/api/v1/chains"), call("GET", f"/api/v1/chains/{chain.id}")
    if role in MANAGER_ROLES:
        names = {e["name"] for e in listing.get_json()["items"]}
        assert {"本家企业", "他家企业"} <= names
        assert one.status_code == foreign.status_code == chains.status_code == chain_one.status_code == 200
        assert {m["name"] for m in chain_one.get_json()["members"]} == {"本家企业", "他家企业"}
    elif role == "hr":
        body = listing.get_json()
        assert [e["name"] for e in body["items"]] == ["本家企业"] and body["total"] == 1
        assert one.status_code == 200 and one.get_json()["uscc"] == home.uscc
        _envelope(foreign, 404, "not_found")
        assert other.uscc not in foreign.get_data(as_text=True)
        _envelope(chains, 403, "forbidden")
        _envelope(chain_one, 403, "forbidden")
    else:
        status, code = (401, "unauthorized") if role == "anonymous" else (403, "forbidden")
        for resp in (listing, one, foreign, chains, chain_one):
            _envelope(resp, status, code)
            assert home.uscc not in resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_writing_by_role(api, home, role):
    chain = IndustryChain(name="写入产业链")
    db.session.add(chain)
    db.session.flush()
    call = api(role)
    responses = [
        call("POST", "/api/v1/enterprises", {"name": f"{role}企业", "uscc": valid_uscc()}),
        call("PATCH", f"/api/v1/enterprises/{home.id}", {"region": "改过的地区"}),
        call("POST", "/api/v1/chains", {"name": f"{role}产业链"}),
        call("PATCH", f"/api/v1/chains/{chain.id}", {"description": "改过"}),
        call("PUT", f"/api/v1/chains/{chain.id}/members", {"enterprise_ids": [home.id]}),
    ]
    if role in MANAGER_ROLES:
        assert [r.status_code for r in responses] == [201, 200, 201, 200, 200]
        assert responses[1].get_json()["region"] == "改过的地区"
        assert [m["id"] for m in responses[4].get_json()["members"]] == [home.id]
    else:
        status, code = (401, "unauthorized") if role == "anonymous" else (403, "forbidden")
        for resp in responses:
            _envelope(resp, status, code)
        assert db.session.scalar(select(Enterprise.id).where(Enterprise.name == f"{role}企业")) is None
        assert db.session.get(Enterprise, home.id).region != "改过的地区"


def test_create_enterprise_and_read_back(api, create_worker):
    call = api("organizer")
    code = valid_uscc()
    resp = call("POST", "/api/v1/enterprises", {"name": "接口企业", "uscc": code.lower(), "region": "广东省"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert (body["name"], body["uscc"], body["region"], body["is_active"], body["chains"], body["active_workers"]) == (
        "接口企业", code, "广东省", True, [], 0)
    create_worker(enterprise=db.session.get(Enterprise, body["id"]))
    got = call("GET", f"/api/v1/enterprises/{body['id']}").get_json()
    assert got["active_workers"] == 1
    assert audit_actions("enterprise", body["id"]) == ["enterprise_created"]


@pytest.mark.parametrize(("uscc", "message"), [
    ("91320100", "must have exactly 18 characters"),
    ("91320100MA1B2C3DZ5", "capital letters except I, O, S, V and Z"),
    (None, "check character"),
])
def test_uscc_errors_in_the_envelope(api, uscc, message):
    if uscc is None:
        good = valid_uscc()
        uscc = good[:17] + ("0" if good[17] != "0" else "1")
    resp = api("admin")("POST", "/api/v1/enterprises", {"name": "坏代码接口企业", "uscc": uscc})
    error = _envelope(resp, 422, "invalid_uscc")
    assert message in error["message"] and message in error["details"]["uscc"][0]
    assert db.session.scalar(select(Enterprise.id).where(Enterprise.name == "坏代码接口企业")) is None


def test_schema_errors_in_the_envelope(api):
    call = api("organizer")
    error = _envelope(call("POST", "/api/v1/enterprises", {"uscc": valid_uscc()}), 422, "validation_error")
    assert "name" in str(error["details"])
    _envelope(call("PUT", "/api/v1/chains/1/members", {"enterprise_ids": "x"}), 422, "validation_error")


def test_duplicates_are_409(api, create_enterprise):
    existing = create_enterprise(name="接口重名")
    call = api("organizer")
    error = _envelope(call("POST", "/api/v1/enterprises", {"name": "接口重名", "uscc": valid_uscc()}), 409, "duplicate_name")
    assert error["message"] == "An enterprise with this name already exists." and "name" in error["details"]
    _envelope(call("POST", "/api/v1/enterprises", {"name": "另一个", "uscc": existing.uscc}), 409, "duplicate_uscc")
    call("POST", "/api/v1/chains", {"name": "接口重名链"})
    _envelope(call("POST", "/api/v1/chains", {"name": "接口重名链"}), 409, "duplicate_name")


def test_unknown_ids_are_404(api):
    call = api("admin")
    for method, path, json in [
        ("GET", "/api/v1/enterprises/999999", None), ("PATCH", "/api/v1/enterprises/999999", {"region": "x"}),
        ("GET", "/api/v1/chains/999999", None), ("PATCH", "/api/v1/chains/999999", {"name": "x"}),
        ("PUT", "/api/v1/chains/999999/members", {"enterprise_ids": []}),
    ]:
        _envelope(call(method, path, json), 404, "not_found")


def test_deactivate_reactivate_and_filter(api, create_enterprise):
    ent = create_enterprise(name="接口停用")
    call = api("organizer")
    assert call("PATCH", f"/api/v1/enterprises/{ent.id}", {"is_active": False}).get_json()["is_active"] is False
    inactive = call("GET", "/api/v1/enterprises?is_active=false&per_page=200").get_json()["items"]
    assert "接口停用" in {e["name"] for e in inactive}
    active = call("GET", "/api/v1/enterprises?is_active=true&per_page=200").get_json()["items"]
    assert "接口停用" not in {e["name"] for e in active}
    call("PATCH", f"/api/v1/enterprises/{ent.id}", {"is_active": True})
    assert audit_actions("enterprise", ent.id) == ["enterprise_deactivated", "enterprise_reactivated"]
    assert db.session.get(Enterprise, ent.id) is not None  # never deleted


def test_pagination_and_search(api, create_enterprise):
    for i in range(5):
        create_enterprise(name=f"分页企业{i}")
    call = api("organizer")
    body = call("GET", "/api/v1/enterprises?q=分页企业&per_page=2&page=3").get_json()
    assert (body["total"], body["pages"], body["page"], body["per_page"]) == (5, 3, 3, 2)
    assert [e["name"] for e in body["items"]] == ["分页企业4"]
    _envelope(call("GET", "/api/v1/enterprises?per_page=0"), 422, "validation_error")


def test_chain_members_put(api, create_enterprise):
    a, b = create_enterprise(name="接口成员A"), create_enterprise(name="接口成员B")
    stopped = create_enterprise(name="接口成员停用", is_active=False)
    call = api("organizer")
    chain = call("POST", "/api/v1/chains", {"name": "接口产业链", "description": "说明"}).get_json()
    resp = call("PUT", f"/api/v1/chains/{chain['id']}/members", {"enterprise_ids": [b.id, a.id]})
    assert [m["name"] for m in resp.get_json()["members"]] == ["接口成员A", "接口成员B"]
    second = call("POST", "/api/v1/chains", {"name": "接口产业链二"}).get_json()
    call("PUT", f"/api/v1/chains/{second['id']}/members", {"enterprise_ids": [a.id]})
    chains_of_a = call("GET", f"/api/v1/enterprises/{a.id}").get_json()["chains"]
    assert {c["name"] for c in chains_of_a} == {"接口产业链", "接口产业链二"}
    error = _envelope(call("PUT", f"/api/v1/chains/{chain['id']}/members", {"enterprise_ids": [a.id, 999999]}), 422,
                      "unknown_enterprise")
    assert "999999" in error["message"]
    _envelope(call("PUT", f"/api/v1/chains/{chain['id']}/members", {"enterprise_ids": [stopped.id]}), 422, "inactive_enterprise")
    resp = call("PUT", f"/api/v1/chains/{chain['id']}/members", {"enterprise_ids": []})
    assert resp.get_json()["members"] == []
    assert last_audit("chain_members_changed").details == {"added": [], "removed": sorted([a.id, b.id])}
    patched = call("PATCH", f"/api/v1/chains/{chain['id']}", {"name": "接口产业链改名"}).get_json()
    assert patched["name"] == "接口产业链改名" and patched["description"] == "说明"
    assert audit_actions("industry_chain", chain["id"]) == ["chain_created", "chain_members_changed",
                                                            "chain_members_changed", "chain_updated"]


def test_bearer_token_without_csrf(client, users):
    from app.accounts.services import create_token

    secret = create_token(users["organizer"], "script").secret
    db.session.commit()
    resp = client.post("/api/v1/enterprises", json={"name": "脚本企业", "uscc": valid_uscc()},
                       headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 201


def test_cookie_client_needs_csrf(client, as_role):
    as_role("organizer")
    resp = client.post("/api/v1/enterprises", json={"name": "无令牌企业", "uscc": valid_uscc()})
    assert resp.status_code == 400 and "error" in resp.get_json()


def test_openapi_documents_the_routes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/enterprises"])
    assert {"get", "patch"} <= set(paths["/api/v1/enterprises/{enterprise_id}"])
    assert {"get", "post"} <= set(paths["/api/v1/chains"])
    assert {"get", "patch"} <= set(paths["/api/v1/chains/{chain_id}"])
    assert "put" in paths["/api/v1/chains/{chain_id}/members"]
    assert "Enterprise" in spec["components"]["schemas"] and "Members" in spec["components"]["schemas"]


def test_schema_messages_are_in_the_users_language(api, client):
    call = api("organizer")
    client.set_cookie("lang", "zh_CN")
    error = _envelope(call("POST", "/api/v1/enterprises", {"uscc": valid_uscc(), "bogus": 1}), 422, "validation_error")
    details = error["details"]["json"] if "json" in error["details"] else error["details"]
    assert details["name"] == ["必填。"] and details["bogus"] == [str(zh("Unknown field."))]
    error = _envelope(call("GET", "/api/v1/enterprises?per_page=0"), 422, "validation_error")
    assert "Must be" not in str(error["details"]) and ("至少" in str(error["details"]) or "之间" in str(error["details"]))


def zh(text: str) -> str:
    from flask_babel import force_locale, gettext

    with force_locale("zh_CN"):
        return gettext(text)
