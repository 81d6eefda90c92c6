"""JSON API of workers, consents and trades for every role; HR of A never sees B's workers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.db import db
from app.people.models import Worker
from tests.app.people.conftest import VALID_ID
from tests.conftest import make_resident_id

ROLES = ["anonymous", "admin", "organizer", "hr_a", "hr_b", "judge", "worker"]


@pytest.fixture
def api(client, people, as_user):
    """api(role) logs in and returns a caller: call(method, path, json=None) -> response."""

    def make(role: str):
        token = as_user(None if role == "anonymous" else people["users"][role])

        def call(method: str, path: str, json=None, **kw):
            return client.open(path, method=method, json=json, headers={"X-CSRFToken": token}, **kw)

        return call

    return make


def _body(trade_id, **overrides):
    data = {"name": "王小明", "id_number": make_resident_id(777, date(1991, 5, 6)), "mobile": "13700001111",
            "trade_id": trade_id, "skill_level": 4}
    data.update(overrides)
    return data


def _envelope(resp, status, code=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    err = resp.get_json()["error"]
    assert set(err) == {"code", "message", "details"}
    if code:
        assert err["code"] == code
    return err


# --- access for every role ------------------------------------------------------------------------------


EXPECTED = {
    # (method, path): status for anonymous, admin, organizer, hr_a, hr_b, judge, worker
    ("GET", "/api/v1/workers"): (401, 403, 403, 200, 200, 403, 403),
    ("GET", "/api/v1/workers/{a}"): (401, 403, 403, 200, 404, 403, 403),
    ("PATCH", "/api/v1/workers/{a}"): (401, 403, 403, 200, 404, 403, 403),
    ("POST", "/api/v1/workers/{a}/deactivate"): (401, 403, 403, 200, 404, 403, 403),
    ("POST", "/api/v1/workers/{a}/reactivate"): (401, 403, 403, 200, 404, 403, 403),
    ("GET", "/api/v1/me/consents"): (401, 403, 403, 403, 403, 403, 200),
    ("PUT", "/api/v1/me/consents"): (401, 403, 403, 403, 403, 403, 200),
    ("GET", "/api/v1/trades"): (401, 200, 200, 200, 200, 200, 200),
    ("GET", "/api/v1/trades/{t}"): (401, 200, 200, 200, 200, 200, 200),
    ("PATCH", "/api/v1/trades/{t}"): (401, 200, 200, 403, 403, 403, 403),
}


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix_of_the_people_api(people, api, role):
    call = api(role)
    failures = []
    for (method, template), by_role in EXPECTED.items():
        path = template.format(a=people["worker_a"].id, t=people["trade"].id)
        json = {} if method in ("PATCH", "PUT") else None
        resp = call(method, path, json=json)
        expected = by_role[ROLES.index(role)]
        if resp.status_code != expected:
            failures.append(f"{method} {path}: {resp.status_code} != {expected}")
        if resp.status_code >= 400:
            _envelope(resp, resp.status_code)
        if role == "hr_b" and "张帅坤" in resp.get_data(as_text=True):
            failures.append(f"{method} {path} leaks enterprise A's worker")
    assert failures == []


@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("judge", 403), ("hr_a", 403), ("worker", 403),
                                              ("organizer", 201), ("admin", 201)])
def test_create_trade_access(people, api, role, status):
    resp = api(role)("POST", "/api/v1/trades", json={"code": "6-20-01-01", "name": "钳工"})
    assert resp.status_code == status


@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("judge", 403), ("admin", 403), ("organizer", 403),
                                              ("worker", 403), ("hr_a", 201)])
def test_create_worker_access(people, api, role, status):
    resp = api(role)("POST", "/api/v1/workers", json=_body(people["trade"].id))
    assert resp.status_code == status
    assert (db.session.scalar(select(Worker).where(Worker.name == "王小明")) is not None) == (status == 201)


# --- workers --------------------------------------------------------------------------------------------


def test_list_is_paginated_masked_and_scoped(people, api, create_worker):
    for i in range(3):
        create_worker(enterprise=people["ent_a"], name=f"赵{i}明", trade=people["trade"])
    resp = api("hr_a")("GET", "/api/v1/workers?per_page=2&page=1")
    assert resp.status_code == 200
    data = resp.get_json()
    assert (data["total"], data["pages"], data["page"], data["per_page"], len(data["items"])) == (4, 2, 1, 2, 2)
    item = next(i for i in api("hr_a")("GET", "/api/v1/workers?q=张").get_json()["items"])
    assert item["name_masked"] == "张*坤" and item["mobile_masked"] == "138****5678"
    assert item["id_masked"] == "*" * 14 + people["worker_a"].id_last4
    assert "name" not in item and "mobile" not in item and "id_number" not in item and "id_hash" not in item
    assert item["trade"] == {"id": people["trade"].id, "code": "6-31-01-03", "name": "电工"}
    text = resp.get_data(as_text=True)
    assert "李" not in text


def test_list_filters(people, api):
    call = api("hr_a")
    assert call("GET", "/api/v1/workers?status=inactive").get_json()["total"] == 0
    assert call("GET", "/api/v1/workers?q=5678").get_json()["total"] == 1
    assert call("GET", f"/api/v1/workers?trade_id={people['other_trade'].id}").get_json()["total"] == 0
    _envelope(call("GET", "/api/v1/workers?status=bogus"), 422, "validation_error")
    _envelope(call("GET", f"/api/v1/workers?enterprise_id={people['ent_b'].id}"), 404, "not_found")


def test_detail_has_full_name_and_masked_contact(people, api):
    data = api("hr_a")("GET", f"/api/v1/workers/{people['worker_a'].id}").get_json()
    assert data["name"] == "张帅坤" and data["mobile_masked"] == "138****5678"
    assert "mobile" not in data and "id_number" not in data
    assert data["publicity_consent"] is False and data["publicity_consent_at"] is None


def test_hr_of_a_gets_404_envelope_for_worker_of_b(people, api):
    call = api("hr_a")
    b = people["worker_b"].id
    for method, path in [("GET", f"/api/v1/workers/{b}"), ("PATCH", f"/api/v1/workers/{b}"),
                         ("POST", f"/api/v1/workers/{b}/deactivate"), ("POST", f"/api/v1/workers/{b}/reactivate")]:
        resp = call(method, path, json={"name": "被改"} if method == "PATCH" else None)
        _envelope(resp, 404, "not_found")
        assert "李乙娜" not in resp.get_data(as_text=True)
    assert people["worker_b"].name == "李乙娜" and people["worker_b"].is_active
    _envelope(call("GET", "/api/v1/workers/999999"), 404, "not_found")


def test_create_derives_gender_and_birth_date(people, api):
    resp = api("hr_a")("POST", "/api/v1/workers", json=_body(people["trade"].id, id_number=VALID_ID.lower()))
    assert resp.status_code == 201
    data = resp.get_json()
    assert data["gender"] == "F" and data["birth_date"] == "1949-12-31" and data["id_masked"].endswith("002X")
    assert VALID_ID not in resp.get_data(as_text=True)


def test_create_validation_errors_per_field(people, api):
    resp = api("hr_a")("POST", "/api/v1/workers", json=_body(people["trade"].id, id_number="110105194912310021",
                                                                 mobile="123", skill_level=8))
    err = _envelope(resp, 422, "validation_error")
    assert set(err["details"]) == {"id_number", "mobile", "skill_level"}


def test_create_missing_required_fields(people, api):
    err = _envelope(api("hr_a")("POST", "/api/v1/workers", json={}), 422)
    assert {"name", "id_number", "trade_id"} <= set(err["details"]["json"])


def test_create_duplicate(people, api, create_worker):
    create_worker(enterprise=people["ent_b"], id_number=VALID_ID)
    resp = api("hr_a")("POST", "/api/v1/workers", json=_body(people["trade"].id, id_number=VALID_ID))
    err = _envelope(resp, 409, "id_registered")
    assert people["ent_b"].name not in resp.get_data(as_text=True)
    assert "id_number" in err["details"]


def test_hr_of_several_must_choose_enterprise(people, api, create_user, client, login):
    from app.accounts.models import Role, UserRole
    from tests.conftest import csrf_token

    hr = create_user(Role.HR, enterprise=people["ent_a"])
    hr.roles.append(UserRole(role=Role.HR, enterprise_id=people["ent_b"].id))
    db.session.flush()
    login(client, hr)
    headers = {"X-CSRFToken": csrf_token(client)}
    assert client.get("/api/v1/workers", headers=headers).get_json()["total"] == 2
    assert client.get(f"/api/v1/workers?enterprise_id={people['ent_b'].id}").get_json()["total"] == 1
    resp = client.post("/api/v1/workers", json=_body(people["trade"].id), headers=headers)
    assert "enterprise_id" in _envelope(resp, 422)["details"]
    resp = client.post("/api/v1/workers", json=_body(people["trade"].id, enterprise_id=people["ent_b"].id), headers=headers)
    assert resp.status_code == 201 and resp.get_json()["enterprise_id"] == people["ent_b"].id


def test_patch_changes_given_fields_only(people, api):
    worker = people["worker_a"]
    old_hash = worker.id_hash
    resp = api("hr_a")("PATCH", f"/api/v1/workers/{worker.id}", json={"name": "张帅", "mobile": None, "id_number": ""})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["mobile_masked"] is None
    db.session.refresh(worker)
    assert (worker.name, worker.mobile, worker.id_hash, worker.skill_level) == ("张帅", None, old_hash, 3)


def test_patch_validation(people, api):
    err = _envelope(api("hr_a")("PATCH", f"/api/v1/workers/{people['worker_a'].id}", json={"id_number": "123"}), 422)
    assert "id_number" in err["details"]


def test_deactivate_reactivate(people, api):
    call, worker = api("hr_a"), people["worker_a"]
    assert call("POST", f"/api/v1/workers/{worker.id}/deactivate").get_json()["is_active"] is False
    assert call("GET", "/api/v1/workers?status=inactive").get_json()["total"] == 1
    assert call("POST", f"/api/v1/workers/{worker.id}/reactivate").get_json()["is_active"] is True


def test_unsafe_methods_need_csrf_for_cookie_clients(people, client, as_user):
    as_user(people["users"]["hr_a"])
    resp = client.post(f"/api/v1/workers/{people['worker_a'].id}/deactivate")
    assert resp.status_code == 400
    db.session.refresh(people["worker_a"])
    assert people["worker_a"].is_active


def test_bearer_token_client(people, client):
    from app.accounts.services import create_token

    secret = create_token(people["users"]["hr_a"], "script").secret
    resp = client.post(f"/api/v1/workers/{people['worker_a'].id}/deactivate", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 200


# --- consents ---------------------------------------------------------------------------------------------


def test_consents_api(people, api):
    call = api("worker")
    data = call("GET", "/api/v1/me/consents").get_json()
    assert data["publicity"] == {"granted": False, "at": None} and data["talent_pool"]["granted"] is False
    assert data["history"] == []
    data = call("PUT", "/api/v1/me/consents", json={"talent_pool": True}).get_json()
    assert data["talent_pool"]["granted"] is True and data["talent_pool"]["at"] and data["publicity"]["granted"] is False
    data = call("PUT", "/api/v1/me/consents", json={"talent_pool": False, "publicity": True}).get_json()
    assert data["talent_pool"]["granted"] is False and data["publicity"]["granted"] is True
    assert [(e["purpose"], e["is_granted"]) for e in data["history"]][0][1] in (True, False)
    assert len(data["history"]) == 3
    _envelope(call("PUT", "/api/v1/me/consents", json={"marketing": True}), 422)


def test_consents_of_unlinked_worker_user(people, client, create_user, login):
    login(client, create_user("worker"))
    _envelope(client.get("/api/v1/me/consents"), 404, "not_found")


def test_hr_sees_consent_state_in_worker_detail(people, api):
    api("worker")("PUT", "/api/v1/me/consents", json={"publicity": True})
    data = api("hr_a")("GET", f"/api/v1/workers/{people['worker_a'].id}").get_json()
    assert data["publicity_consent"] is True and data["publicity_consent_at"]


# --- trades ---------------------------------------------------------------------------------------------


def test_trades_api(people, api):
    call = api("organizer")
    listing = call("GET", "/api/v1/trades?q=6-31").get_json()
    assert [t["name"] for t in listing["items"]] == ["电工"] and listing["total"] == 1
    created = call("POST", "/api/v1/trades", json={"code": "6-20-01-01", "name": "钳工"})
    assert created.status_code == 201
    trade_id = created.get_json()["id"]
    assert call("PATCH", f"/api/v1/trades/{trade_id}", json={"is_active": False}).get_json()["is_active"] is False
    err = _envelope(call("POST", "/api/v1/trades", json={"code": "6-31-01-03", "name": "电工"}), 422)
    assert set(err["details"]) == {"code", "name"}
    err = _envelope(call("POST", "/api/v1/trades", json={"code": "bad", "name": "新"}), 422)
    assert "code" in err["details"]
    _envelope(call("GET", "/api/v1/trades/999999"), 404, "not_found")
    judge = api("judge")  # logs the same client in as a judge
    assert "钳工" not in [t["name"] for t in judge("GET", "/api/v1/trades?per_page=200").get_json()["items"]]


# --- OpenAPI --------------------------------------------------------------------------------------------


def test_openapi_documents_the_people_api(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/workers", "/api/v1/workers/{worker_id}", "/api/v1/workers/{worker_id}/deactivate",
                 "/api/v1/workers/{worker_id}/reactivate", "/api/v1/me/consents", "/api/v1/trades",
                 "/api/v1/trades/{trade_id}"):
        assert path in doc["paths"], path
    assert "id_number" not in doc["components"]["schemas"]["WorkerListItem"]["properties"]
