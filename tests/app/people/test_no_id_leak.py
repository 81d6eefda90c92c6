"""No response shows a worker's full ID number (nor its keyed hash): lists, detail, forms, API, profile, audit."""

from __future__ import annotations

import pytest

from tests.app.people.conftest import VALID_ID, new_worker_data
from tests.conftest import csrf_token

MOBILE = "13566667777"


@pytest.fixture
def registered(client, people, login):
    """A worker created through the API (so the create response is checked too), with a linked user."""
    from app.accounts.models import Role
    from app.db import db
    from app.people.models import Worker

    login(client, people["users"]["hr_a"])
    body = new_worker_data(people["trade"].id, id_number=VALID_ID, mobile=MOBILE, name="钱多多")
    body.pop("birth_date")
    body.pop("gender")
    resp = client.post("/api/v1/workers", json=body, headers={"X-CSRFToken": csrf_token(client)})
    assert resp.status_code == 201
    worker = db.session.get(Worker, resp.get_json()["id"])
    return {"worker": worker, "responses": [resp], "role": Role}


def _assert_clean(resp, worker, where):
    text = resp.get_data(as_text=True)
    assert resp.status_code < 500, where
    for secret in (VALID_ID, VALID_ID.lower(), VALID_ID[:17], worker.id_hash):
        assert secret not in text, f"{where} shows {secret!r}"


def test_no_full_id_number_anywhere(client, people, login, registered, create_user):
    from app.accounts.models import Role

    worker = registered["worker"]
    for resp in registered["responses"]:
        _assert_clean(resp, worker, "POST /api/v1/workers")
    headers = {"X-CSRFToken": csrf_token(client)}
    hr_pages = ["/workers", "/workers?status=all", f"/workers?q={VALID_ID}", f"/workers?q={VALID_ID[-4:]}",
                f"/workers/{worker.id}", f"/workers/{worker.id}/edit", "/api/v1/workers", f"/api/v1/workers?q={VALID_ID}",
                f"/api/v1/workers/{worker.id}"]
    for path in hr_pages:
        resp = client.get(path)
        assert resp.status_code == 200, path
        _assert_clean(resp, worker, path)
        assert MOBILE not in resp.get_data(as_text=True), path
    # A whole ID number is not a search term (it would sit in URLs and logs).
    assert client.get(f"/api/v1/workers?q={VALID_ID}").get_json()["total"] == 0
    for resp in (
        client.patch(f"/api/v1/workers/{worker.id}", json={"id_number": VALID_ID, "skill_level": 2}, headers=headers),
        client.post(f"/api/v1/workers/{worker.id}/deactivate", headers=headers),
        client.post(f"/api/v1/workers/{worker.id}/reactivate", headers=headers),
        # a re-shown form after an error must not echo a valid number either
        client.post("/workers/new", data={**{k: str(v) for k, v in new_worker_data(people["trade"].id).items() if v is not None},
                                          "id_number": VALID_ID, "csrf_token": headers["X-CSRFToken"]}),
        client.post(f"/workers/{worker.id}/edit", data={"name": "", "id_type": "resident", "id_number": VALID_ID,
                                                         "csrf_token": headers["X-CSRFToken"]}),
    ):
        _assert_clean(resp, worker, resp.request.path)

    user = create_user(Role.WORKER, worker=worker)
    login(client, user)
    headers = {"X-CSRFToken": csrf_token(client)}
    for resp in (client.get("/my/profile"), client.get("/api/v1/me/consents"),
                 client.put("/api/v1/me/consents", json={"publicity": True}, headers=headers)):
        assert resp.status_code == 200
        _assert_clean(resp, worker, resp.request.path)

    login(client, create_user(Role.ADMIN))
    resp = client.get("/admin/audit")
    assert resp.status_code == 200
    _assert_clean(resp, worker, "/admin/audit")
    assert "钱多多" not in resp.get_data(as_text=True)
