# ruff: noqa: F811  (fixtures imported from certcore_world are used as test arguments)
"""The certificates API: issue (201, idempotent 200), list, one, revoke, supersede — per role, with tokens and
cookies; errors in the envelope with per-field details and nothing written."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.accounts.services import create_token
from app.db import db
from certificates.models import Certificate
from tests.certificates.certcore_world import ID_A, _transaction, world  # noqa: F401


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_token(user, 'test').secret}"}


def test_issue_is_idempotent_over_the_api(client, world):
    h = _bearer(world.hr_a)
    body = {"kind": "award", "worker_id": world.worker_a.id, "achievement": "荣获一等奖",
            "subject_key": "competition:5:entry:9", "details": {"award": "一等奖", "rank": 1}}
    first = client.post("/api/v1/certificates", json=body, headers=h)
    assert first.status_code == 201
    data = first.get_json()
    assert data["created"] is True
    cert = data["certificate"]
    assert cert["holder_name"] == "张帅坤" and cert["holder_name_masked"] == "张*坤"
    assert re.search(rf"/v/{cert['serial']}\?c=[2-9A-Z]{{10}}$", cert["verification_url"])
    assert cert["details"] == {"award": "一等奖", "rank": 1}
    assert ID_A not in first.get_data(as_text=True)  # the ID is only inside payload as a salted hash
    again = client.post("/api/v1/certificates", json=body, headers=h)
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["certificate"]["serial"] == cert["serial"]
    assert db.session.query(Certificate).count() == 1


def test_issue_errors(client, world):
    h = _bearer(world.hr_b)
    resp = client.post("/api/v1/certificates", json={"kind": "award", "worker_id": world.worker_a.id,
                                                     "achievement": "一等奖"}, headers=h)
    assert resp.status_code == 422 and "worker_id" in resp.get_json()["error"]["details"]
    resp = client.post("/api/v1/certificates", json={"kind": "medal", "achievement": "x"}, headers=h)
    assert resp.status_code == 422 and "kind" in resp.get_json()["error"]["details"]["json"]
    resp = client.post("/api/v1/certificates", json={"kind": "award", "worker_id": world.worker_b.id,
                                                     "achievement": "一等奖", "details": {"score": 9.5}}, headers=h)
    assert resp.status_code == 422 and "details" in resp.get_json()["error"]["details"]
    assert client.post("/api/v1/certificates", json={"kind": "award", "worker_id": world.worker_b.id,
                                                     "achievement": "x"}, headers=_bearer(world.worker_user_b)).status_code == 403
    assert client.get("/api/v1/certificates").status_code == 401
    assert db.session.query(Certificate).count() == 0


def test_list_and_get_per_role(client, world):
    org = _bearer(world.organizer)
    a = client.post("/api/v1/certificates", json={"kind": "award", "worker_id": world.worker_a.id,
                                                  "achievement": "一等奖"}, headers=org).get_json()["certificate"]
    b = client.post("/api/v1/certificates", json={"kind": "award", "worker_id": world.worker_b.id,
                                                  "achievement": "一等奖"}, headers=org).get_json()["certificate"]
    assert client.get("/api/v1/certificates", headers=org).get_json()["total"] == 2
    hr_b = client.get("/api/v1/certificates", headers=_bearer(world.hr_b)).get_json()
    assert [i["serial"] for i in hr_b["items"]] == [b["serial"]]
    assert "holder_name" not in hr_b["items"][0]  # lists carry the masked name only
    mine = client.get("/api/v1/certificates", headers=_bearer(world.worker_user_a)).get_json()
    assert [i["serial"] for i in mine["items"]] == [a["serial"]]
    assert client.get(f"/api/v1/certificates/{a['id']}", headers=_bearer(world.worker_user_a)).status_code == 200
    assert client.get(f"/api/v1/certificates/{b['id']}", headers=_bearer(world.worker_user_a)).status_code == 404
    assert client.get(f"/api/v1/certificates/{a['id']}", headers=_bearer(world.hr_b)).status_code == 404
    assert client.get("/api/v1/certificates", headers=_bearer(world.judge)).status_code == 403
    filtered = client.get("/api/v1/certificates?kind=participation", headers=org).get_json()
    assert filtered["total"] == 0
    assert client.get("/api/v1/certificates?status=nonsense", headers=org).status_code == 422


def test_revoke_and_supersede(client, world):
    h = _bearer(world.hr_a)
    cert = client.post("/api/v1/certificates", json={"kind": "award", "worker_id": world.worker_a.id,
                                                     "achievement": "荣获二等奖"}, headers=h).get_json()["certificate"]
    other = _bearer(world.hr_b)
    assert client.post(f"/api/v1/certificates/{cert['id']}/revoke", json={}, headers=other).status_code == 404
    assert client.post(f"/api/v1/certificates/{cert['id']}/supersede", json={}, headers=other).status_code == 404
    resp = client.post(f"/api/v1/certificates/{cert['id']}/supersede",
                       json={"reason": "奖项录错", "achievement": "荣获一等奖"}, headers=h)
    assert resp.status_code == 201
    new = resp.get_json()
    assert new["supersedes_id"] == cert["id"] and new["serial"] != cert["serial"] and new["achievement"] == "荣获一等奖"
    old = db.session.get(Certificate, cert["id"])
    assert old.status == "superseded"
    resp = client.post(f"/api/v1/certificates/{cert['id']}/revoke", json={"reason": "x"}, headers=h)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_live"
    resp = client.post(f"/api/v1/certificates/{new['id']}/revoke", json={"reason": ""}, headers=h)
    assert resp.status_code == 422
    resp = client.post(f"/api/v1/certificates/{new['id']}/revoke", json={"reason": "作废"}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["status"] == "revoked"
    v = client.get(f"/api/v1/certificates/{new['serial']}/verification").get_json()
    assert v["valid"] is False and v["status"] == "revoked"
    live = db.session.scalars(select(Certificate).where(Certificate.status == "issued")).all()
    assert live == []


def test_cookie_clients_need_the_csrf_header(client, login, world):
    login(client, world.organizer)
    resp = client.post("/api/v1/certificates", json={"kind": "award", "worker_id": world.worker_a.id,
                                                     "achievement": "一等奖"})
    assert resp.status_code == 400 and db.session.query(Certificate).count() == 0
