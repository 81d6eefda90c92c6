"""The import through /api/v1: preview → read → confirm with a Bearer token; errors in the envelope."""

from __future__ import annotations

import codecs

from app.accounts.services import create_token
from app.db import db
from app.people.models import WorkerImport
from tests.app.people.imports.conftest import counts, csv_bytes, multipart, resident_id, row, xlsx_bytes

URL = "/api/v1/workers/imports"


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_token(user, 'import script').secret}"}


def test_round_trip_with_bearer_token(world, client):
    headers = _bearer(world["hr_a"])
    before = counts()[0]
    resp = client.post(URL, headers=headers, **multipart({}, csv_bytes([row(1), row(2)], encoding="gbk"), "名单.csv"))
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["status"] == "preview" and body["encoding"] == "GBK" and body["file_format"] == "csv"
    assert (body["row_count"], body["valid_count"], body["error_row_count"], body["errors"]) == (2, 2, 0, [])
    assert counts()[0] == before
    got = client.get(f"{URL}/{body['id']}", headers=headers)
    assert got.status_code == 200 and got.json["id"] == body["id"]
    done = client.post(f"{URL}/{body['id']}/confirm", headers=headers)
    assert done.status_code == 200 and done.json["status"] == "confirmed" and done.json["confirmed_at"]
    assert counts()[0] == before + 2
    again = client.post(f"{URL}/{body['id']}/confirm", headers=headers)
    assert again.status_code == 409 and again.json["error"]["code"] == "import_already_confirmed"
    assert counts()[0] == before + 2


def test_preview_lists_errors_per_row(world, client):
    headers = _bearer(world["hr_a"])
    data = xlsx_bytes([row(1), row(2, mobile="12345"), row(3, id_number=world["id_b"]), row(4, trade="宇航员")])
    body = client.post(URL, headers=headers, **multipart({}, data, "w.xlsx")).json
    assert body["encoding"] is None and body["file_format"] == "xlsx"
    assert (body["row_count"], body["valid_count"], body["error_row_count"]) == (4, 1, 3)
    assert [(e["row"], e["column"], e["code"]) for e in body["errors"]] == [
        (3, "mobile", "format"), (4, "id_number", "registered_elsewhere"), (5, "trade", "unknown")]
    assert all(e["message"] for e in body["errors"])
    assert world["id_b"] not in str(body)
    before = counts()[0]
    refused = client.post(f"{URL}/{body['id']}/confirm", headers=headers)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "import_has_errors"
    assert counts()[0] == before
    errors = client.get(f"{URL}/{body['id']}/errors", headers=headers)
    assert errors.status_code == 200 and errors.data.startswith(codecs.BOM_UTF8)
    assert client.get(f"{URL}/{body['id']}/errors?format=xlsx", headers=headers).data.startswith(b"PK")


def test_file_errors_use_the_envelope(world, client):
    headers = _bearer(world["hr_a"])
    before = counts()
    resp = client.post(URL, headers=headers, **multipart({}, "名称,号码\r\n张三,1\r\n".encode(), "w.csv"))
    assert resp.status_code == 400
    err = resp.json["error"]
    assert err["code"] == "import_missing_headers" and "证件号码" in err["message"]
    assert err["details"]["columns"] == ["姓名", "证件号码", "工种代码/工种"]
    resp = client.post(URL, headers=headers, **multipart({}, b"\x89PNG\r\n\x1a\n\x00\x00", "a.xlsx"))
    assert resp.status_code == 400 and resp.json["error"]["code"] == "import_bad_xlsx"
    resp = client.post(URL, headers=headers, data={})
    assert resp.status_code == 422 and "file" in resp.json["error"]["details"]["files"]
    assert counts() == before


def test_upload_over_10_mb_is_413_envelope(world, client):
    headers = _bearer(world["hr_a"])
    before = counts()
    resp = client.post(URL, headers=headers, **multipart({}, b"x" * (10 * 1024 * 1024 + 10), "big.csv"))
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "too_large" and "10 MB" in resp.json["error"]["message"]
    assert counts() == before


def test_other_enterprise_gets_404(world, client):
    body = client.post(URL, headers=_bearer(world["hr_a"]), **multipart({}, csv_bytes([row(1)]), "a.csv")).json
    other = _bearer(world["hr_b"])
    before = counts()[0]
    for method, path in (("get", ""), ("post", "/confirm"), ("post", "/discard"), ("get", "/errors")):
        resp = getattr(client, method)(f"{URL}/{body['id']}{path}", headers=other)
        assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"
    assert counts()[0] == before
    assert db.session.get(WorkerImport, body["id"]).status == "preview"
    # and HR of B cannot stage an import for enterprise A
    resp = client.post(URL, headers=other, **multipart({"enterprise_id": str(world["ent_a"].id)}, csv_bytes([row(2)]), "a.csv"))
    assert resp.status_code == 404


def test_cookie_client_needs_csrf(world, client, login):
    login(client, world["hr_a"])
    before = counts()
    resp = client.post(URL, **multipart({}, csv_bytes([row(1)]), "a.csv"))
    assert resp.status_code == 400
    assert counts() == before  # nothing staged without the token
    from tests.conftest import csrf_token

    resp = client.post(URL, headers={"X-CSRFToken": csrf_token(client)}, **multipart({}, csv_bytes([row(1)]), "a.csv"))
    assert resp.status_code == 201


def test_non_hr_is_refused(world, client, create_user):
    from app.accounts.models import Role

    judge = create_user(Role.JUDGE)
    resp = client.post(URL, headers=_bearer(judge), **multipart({}, csv_bytes([row(1)]), "a.csv"))
    assert resp.status_code == 403


def test_openapi_documents_the_import(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/workers/imports" in spec["paths"]
    post = spec["paths"]["/api/v1/workers/imports"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert "/api/v1/workers/imports/{import_id}/confirm" in spec["paths"]


def test_resident_id_helper_is_valid():
    from app.people.domain import validate_resident_id

    assert validate_resident_id(resident_id(1)) is None
