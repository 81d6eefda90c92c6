"""Bulk issuing from a file: preview with every row's errors, bad rows reported and skipped, idempotent re-runs,
GBK CSV and XLSX, HR scope, progress JSON, ZIP and error file."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.db import db
from tests.conftest import _transaction, csrf_token, make_resident_id  # noqa: F401  (database tests)

BORN = date(1977, 7, 7)


def _csv(rows, encoding="utf-8-sig", header=("姓名", "证件号码", "证书类型", "证书事项", "获奖等级", "发证日期")) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.fixture
def world(app_ctx, create_enterprise, create_worker, create_user):
    ent_a, ent_b = create_enterprise(name="甲钢铁"), create_enterprise(name="乙电网")
    workers = [create_worker(name=f"工人{i:03d}", enterprise=ent_a, id_number=make_resident_id(i, BORN))
               for i in range(196)]
    rare = create_worker(name="𠮷祥", enterprise=ent_a, id_number=make_resident_id(300, BORN))
    other = create_worker(name="乙工人", enterprise=ent_b, id_number=make_resident_id(301, BORN))
    return {
        "ent_a": ent_a, "ent_b": ent_b, "workers": workers, "rare": rare, "other": other,
        "hr_a": create_user("hr", enterprise=ent_a), "hr_b": create_user("hr", enterprise=ent_b),
        "organizer": create_user("organizer"),
    }


def _id(worker_index: int) -> str:
    return make_resident_id(worker_index, BORN)


def _file_rows(world) -> list[tuple]:
    """200 rows: 195 good and 5 bad (unknown worker, name mismatch, other enterprise, glyph, duplicate)."""
    subject = "2026年市职工职业技能大赛 焊工赛项"
    rows = [(f"工人{i:03d}", _id(i), "获奖证书", subject, "优秀奖", "") for i in range(195)]
    rows.insert(10, ("无名氏", make_resident_id(999, BORN), "获奖证书", subject, "优秀奖", ""))  # unknown worker
    rows.insert(20, ("工人九九", _id(195), "获奖证书", subject, "优秀奖", ""))  # name mismatch (工人195)
    rows.insert(30, ("乙工人", make_resident_id(301, BORN), "获奖证书", subject, "优秀奖", ""))  # enterprise B
    rows.insert(40, ("𠮷祥", make_resident_id(300, BORN), "获奖证书", subject, "优秀奖", ""))  # glyph missing
    rows.insert(50, rows[5])  # the same certificate as an earlier row
    assert len(rows) == 200
    return rows


def _live_count() -> int:
    from certificates.models import Certificate

    return db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.status == "issued"))


def test_preview_reports_each_bad_row_and_stores_nothing(world):
    from certificates.services import batches

    batch = batches.preview_file(world["hr_a"], "awards.csv", _csv(_file_rows(world)))
    assert batch.status == "preview"
    assert batches.summary(batch) == {"rows": 200, "new": 195, "issued": 0, "bad": 5}
    codes = {(e["row"], e["column"], e["code"]) for e in batch.errors}
    # the header is row 1, so list index i is row i + 2
    assert (12, "worker", "unknown") in codes
    assert (22, "name", "mismatch") in codes
    assert (32, "worker", "other_enterprise") in codes
    assert (42, "name", "glyphs") in codes
    assert (52, "row", "duplicate") in codes
    assert _live_count() == 0
    messages = {e["code"]: e["message"] for e in batches.translated_errors(batch)}
    assert "𠮷" in messages["glyphs"]
    assert "乙" not in messages["other_enterprise"]  # another enterprise is never named


def test_200_rows_5_bad_issue_195_and_a_second_run_duplicates_nothing(world, client, login):
    from certificates.models import Certificate, CertificateBatch
    from certificates.services import batches

    login(client, world["hr_a"])
    data = _csv(_file_rows(world))
    token = csrf_token(client)
    resp = client.post("/certificates/batches", data={"csrf_token": token, "file": (io.BytesIO(data), "awards.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.data
    batch_id = resp.headers["Location"].rsplit("/", 1)[-1]
    client.set_cookie("lang", "en")
    page = client.get(f"/certificates/batches/{batch_id}")
    assert page.status_code == 200
    assert b"The name does not match the registry" in page.data and b"Rows with errors: 5." in page.data
    assert b"Page 1 of 2" in page.data and "工人096".encode() not in page.data  # 100 rows a page
    errors_page = client.get(f"/certificates/batches/{batch_id}?only=errors").get_data(as_text=True)
    assert errors_page.count('class="row-error"') == 5

    resp = client.post(f"/certificates/batches/{batch_id}/confirm", data={"csrf_token": token})
    assert resp.status_code == 302
    batch = db.session.get(CertificateBatch, batch_id)
    db.session.refresh(batch)
    assert (batch.status, batch.total, batch.done, batch.failed) == ("done", 195, 195, 0), batch.errors[-3:]
    assert _live_count() == 195
    assert db.session.scalar(select(func.count()).select_from(Certificate).where(Certificate.batch_id == batch_id)) == 195

    progress = client.get(f"/api/v1/certificates/batches/{batch_id}").get_json()
    assert progress["finished"] and progress["done"] == 195 and progress["total"] == 195
    assert progress["has_zip"] and progress["has_errors"] and progress["skipped"] == 5

    zresp = client.get(f"/certificates/batches/{batch_id}/certificates.zip")
    assert zresp.status_code == 200 and zresp.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zresp.data)) as zf:
        names = zf.namelist()
        assert len(names) == 195 and len(set(names)) == 195
        assert all(zf.read(n).startswith(b"%PDF") for n in names[:3])
    zresp.close()

    eresp = client.get(f"/certificates/batches/{batch_id}/errors")
    text = eresp.data.decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text[1:])))
    assert sorted(int(r[0]) for r in lines[1:]) == [12, 22, 32, 42, 52]
    assert batches.errors_path(batch_id).read_bytes() == eresp.data

    # the same file again: every good row is "already issued", nothing new
    again = batches.preview_file(world["hr_a"], "awards.csv", data)
    assert batches.summary(again) == {"rows": 200, "new": 0, "issued": 195, "bad": 5}
    batches.confirm_batch(world["hr_a"], again.id)
    db.session.refresh(again)
    assert (again.status, again.done, again.failed) == ("done", 195, 0)
    assert _live_count() == 195
    with zipfile.ZipFile(batches.zip_path(again.id)) as zf:
        assert len(zf.namelist()) == 195


def test_gbk_csv_and_xlsx(world):
    import openpyxl

    from certificates.services import batches
    from certificates.services.issuance import today

    day = today()
    rows = [(f"工人{i:03d}", _id(i), "参赛证书", "技能比武（第一届）", "参赛", f"{day.year}/{day.month}/{day.day}")
            for i in range(3)]
    rows.append(("工人003", _id(3), "参赛证书", "技能比武（第一届）", "参赛", "2000-01-01"))  # before the signing key
    gbk = batches.preview_file(world["hr_a"], "gbk.csv", _csv(rows, encoding="gbk"))
    assert batches.summary(gbk)["new"] == 3
    assert [(e["row"], e["code"]) for e in gbk.errors] == [(5, "before_key")]
    assert gbk.rows[0]["name"] == "工人000" and gbk.rows[0]["subject"] == "技能比武（第一届）"
    assert gbk.rows[0]["issued_on"] == day.isoformat() and gbk.rows[0]["kind"] == "participation"

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "证件号码", "获奖等级", "公式"])
    ws.append(["工人003", _id(3), "一等奖", "x"])
    ws.append(["工人004", _id(4), "=1+1", ""])
    buf = io.BytesIO()
    wb.save(buf)
    xlsx = batches.preview_file(world["organizer"], "a.xlsx", buf.getvalue(), kind="award", subject="年度表彰")
    assert batches.summary(xlsx) == {"rows": 2, "new": 1, "issued": 0, "bad": 1}
    assert {(e["row"], e["column"], e["code"]) for e in xlsx.errors} == {(3, "achievement", "formula"),
                                                                          (3, "achievement", "missing")}


def test_file_that_cannot_be_read_stores_nothing(world):
    from certificates.models import CertificateBatch
    from certificates.services import batches

    with pytest.raises(batches.BatchFileInvalid) as exc:
        batches.preview_file(world["hr_a"], "x.csv", _csv([("a", "b")], header=("工种", "等级")))
    assert exc.value.code == "import_missing_headers"
    with pytest.raises(batches.BatchFileInvalid):
        batches.preview_file(world["hr_a"], "x.csv", b"")
    assert db.session.scalar(select(func.count()).select_from(CertificateBatch)) == 0


def test_hr_of_another_enterprise_sees_nothing(world, client, login):
    from certificates.services import batches

    batch = batches.preview_file(world["hr_a"], "a.csv", _csv([("工人000", _id(0), "获奖证书", "表彰", "一等奖", "")]))
    login(client, world["hr_b"])
    token = csrf_token(client)
    for url in (f"/certificates/batches/{batch.id}", f"/api/v1/certificates/batches/{batch.id}",
                f"/certificates/batches/{batch.id}/errors"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/certificates/batches/{batch.id}/confirm", data={"csrf_token": token}).status_code == 404
    # and HR B cannot issue to A's workers through a file of their own
    own = batches.preview_file(world["hr_b"], "b.csv", _csv([("工人000", _id(0), "获奖证书", "表彰", "一等奖", "")]))
    assert [e["code"] for e in own.errors] == ["other_enterprise"]
    login(client, world["organizer"])
    assert client.get(f"/api/v1/certificates/batches/{batch.id}").status_code == 200


def test_worker_and_judge_cannot_use_bulk_issuing(world, client, login, create_user):
    login(client, create_user("worker", worker=world["workers"][0]))
    assert client.get("/certificates/batches").status_code == 403
    login(client, create_user("judge"))
    assert client.get("/api/v1/certificates/batches/" + "a" * 32).status_code == 403


def test_confirm_twice_and_discard(world):
    from app.errors import Conflict
    from certificates.services import batches

    batch = batches.preview_file(world["organizer"], "a.csv", _csv([("工人000", _id(0), "获奖证书", "表彰", "一等奖", "")]))
    batches.discard_batch(world["organizer"], batch.id)
    with pytest.raises(Conflict):
        batches.confirm_batch(world["organizer"], batch.id)
    assert _live_count() == 0


def test_progress_json_while_queued_and_a_row_that_fails_while_issuing(world, app, monkeypatch):
    """Jobs held back (as if the pool were busy): the progress reads queued 0/n; a row failing in the job is
    counted as failed and lands in the error file."""
    from certificates.services import batches

    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    submitted = []
    monkeypatch.setattr("app.jobs.submit", lambda app_, name, func, args: submitted.append((func, args)))
    batch = batches.preview_file(world["organizer"], "a.csv", _csv(
        [(f"工人{i:03d}", _id(i), "获奖证书", "表彰", "一等奖", "") for i in range(3)]))
    with app.test_request_context("/", base_url="https://venue.example"):  # confirmed on a site at this address
        batches.confirm_batch(world["organizer"], batch.id)
    db.session.commit()  # the job is handed over after the commit
    # the job carries the request's address for the QR codes it draws
    assert submitted == [("certificates.services.batches:run_chunk", (batch.id, 0, 3, "https://venue.example"))]
    p = batches.progress(batch)
    assert (p["status"], p["done"], p["failed"], p["total"], p["finished"]) == ("queued", 0, 0, 3, False)

    # the second row's name can no longer be printed (as if the staged row said so): issuing refuses it
    batch.rows[1]["name"] = "工人𠮷"
    batches.run_chunk(*submitted[0][1])
    db.session.refresh(batch)
    assert (batch.status, batch.done, batch.failed) == ("done", 2, 1)
    from certificates.models import Certificate
    from certificates.services import render

    issued = db.session.scalars(select(Certificate).where(Certificate.batch_id == batch.id)).all()
    assert len(issued) == 2
    for cert in issued:  # rendered outside any request, yet pointing at the site that queued the job
        text = PdfReader(io.BytesIO(render.pdf_for(cert).data)).pages[0].extract_text()
        assert f"https://venue.example/v/{cert.serial}" in text and "localhost" not in text
    content = batches.errors_path(batch.id).read_text("utf-8-sig")
    assert re.search(r"^3,", content, re.M) and "𠮷" in content


def test_api_upload_confirm_and_details(world, client):
    from app.accounts.services import create_token

    token = create_token(world["hr_a"], "api").secret
    headers = {"Authorization": f"Bearer {token}"}
    data = _csv([("工人000", _id(0), "", "", "技术能手", ""), ("工人001", _id(1), "", "", "技术能手", ""),
                 ("工人999", _id(2), "", "", "技术能手", "")])
    resp = client.post("/api/v1/certificates/batches", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "api.csv"), "kind": "craftsman_title", "subject": "2026年度工匠"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "preview" and body["counts"] == {"rows": 3, "new": 2, "issued": 0, "bad": 1}
    assert [(e["row"], e["column"], e["code"]) for e in body["errors"]] == [(4, "name", "mismatch")]
    resp = client.post(f"/api/v1/certificates/batches/{body['id']}/confirm", headers=headers)
    assert resp.status_code == 202 and resp.get_json()["done"] == 2
    assert client.post(f"/api/v1/certificates/batches/{body['id']}/confirm", headers=headers).status_code == 409
    details = client.get(f"/api/v1/certificates/batches/{body['id']}/details", headers=headers).get_json()
    assert details["status"] == "done" and details["skipped"] == 1
    bad = client.post("/api/v1/certificates/batches", headers=headers, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b"\x89PNG\r\n"), "x.csv")})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "import_not_spreadsheet"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_error_file_escapes_every_formula_prefix(app_ctx, prefix, fmt):
    import openpyxl
    from flask import current_app

    from certificates.models import CertificateBatch
    from certificates.services import batches

    batch = CertificateBatch(id="b" * 32, rows=[{"row": 2, "name": prefix + "名", "state": "bad"}],
                             errors=[{"row": 2, "column": "kind", "code": "unknown", "value": prefix + "SUM(A1)"}])
    with current_app.test_request_context():
        content, _mimetype, _name = batches.error_file(batch, fmt)
    if fmt == "csv":
        cells = [c for line in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")) for c in line]
    else:
        ws = openpyxl.load_workbook(io.BytesIO(content)).active
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
        cells = [c.value for row in ws.iter_rows() for c in row]
    texts = [c for c in cells if isinstance(c, str) and c]
    assert not any(t[0] in "=+-@\t\r" for t in texts)
    assert sum(1 for t in texts if t[0] == "'") == 2
