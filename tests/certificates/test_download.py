"""Downloading a certificate's PDF: who may, the content-addressed store, ETag / conditional GET, file name."""

from __future__ import annotations

import hashlib
import io
import itertools
from datetime import date
from urllib.parse import quote

import pytest
from pypdf import PdfReader

from app.db import db
from certificates.domain import make_serial
from certificates.models import Certificate, CertificateIssuer, CertificateTemplate, CertificateTemplateVersion
from certificates.services import render
from tests.conftest import _transaction  # noqa: F401  (the per-test database transaction, off in this folder)

_seq = itertools.count(1)


@pytest.fixture
def world(app_ctx, create_enterprise, create_worker, create_user, tmp_path, monkeypatch, app):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))  # a store of this test's own
    ent_a, ent_b = create_enterprise(name="甲机械厂"), create_enterprise(name="乙电力公司")
    worker_a = create_worker(name="欧阳娜娜", enterprise=ent_a)
    worker_b = create_worker(name="李四", enterprise=ent_b)
    code = f"{8000 + next(_seq) % 1000:04d}"
    issuer = CertificateIssuer(code=code, name="甲机械厂", enterprise_id=ent_a.id)
    template = CertificateTemplate(kind="award", name="获奖证书", enterprise_id=ent_a.id)
    template.versions.append(CertificateTemplateVersion(
        version=1, title="荣誉证书", body="{holder_name} 同志：\n在{subject}中荣获{achievement}。", issuer_name="甲机械厂",
        signatories=[{"title": "厂长", "name": "王建国"}]))
    db.session.add_all([issuer, template])
    db.session.flush()

    def certificate(worker, **kw) -> Certificate:
        serial = make_serial("award", 2026, code, next(_seq))
        values = dict(serial=serial, kind="award", issuer_id=issuer.id, template_version_id=template.versions[0].id,
                      worker_id=worker.id, enterprise_id=worker.enterprise_id, holder_key=f"worker:{worker.id}",
                      holder_name=worker.name, subject_key=f"manual:{serial}", achievement="一等奖",
                      details={"subject": "2026年全市焊工技能竞赛"}, payload={"issuer_name": "甲机械厂"},
                      signature="x", key_id="0" * 16, issued_on=date(2026, 11, 22))
        values.update(kw)
        cert = Certificate(**values)
        db.session.add(cert)
        db.session.flush()
        return cert

    users = {
        "admin": create_user("admin"), "organizer": create_user("organizer"),
        "hr_a": create_user("hr", enterprise=ent_a), "hr_b": create_user("hr", enterprise=ent_b),
        "judge": create_user("judge"),
        "worker_a": create_user("worker", worker=worker_a), "worker_b": create_user("worker", worker=worker_b),
    }
    cert_a = certificate(worker_a)
    return {"users": users, "cert_a": cert_a, "worker_a": worker_a, "worker_b": worker_b, "certificate": certificate,
            "tmp": tmp_path}


def url(cert) -> str:
    return f"/certificates/{cert.id}.pdf"


def api_url(cert) -> str:
    return f"/api/v1/certificates/{cert.id}/pdf"


@pytest.mark.parametrize(("role", "html", "api"), [
    ("worker_a", 200, 200),  # the holder
    ("hr_a", 200, 200),  # HR of the holder's enterprise
    ("organizer", 200, 200),
    ("admin", 200, 200),
    ("worker_b", 404, 404),  # another worker
    ("hr_b", 404, 404),  # HR of another enterprise
    ("judge", 403, 403),
])
def test_who_may_download(client, login, world, role, html, api):
    login(client, world["users"][role])
    for path, expected in ((url(world["cert_a"]), html), (api_url(world["cert_a"]), api)):
        resp = client.get(path)
        assert resp.status_code == expected, (path, resp.status_code)
        if expected == 200:
            assert resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
        else:
            assert b"%PDF" not in resp.data and "欧阳娜娜" not in resp.get_data(as_text=True)


def test_anonymous_is_sent_to_log_in(client, world):
    resp = client.get(url(world["cert_a"]))
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get(api_url(world["cert_a"])).status_code == 401


def test_unknown_certificate_is_404(client, login, world):
    login(client, world["users"]["organizer"])
    assert client.get("/certificates/999999.pdf").status_code == 404
    assert client.get("/api/v1/certificates/999999/pdf").get_json()["error"]["code"] == "not_found"


def test_download_records_the_hash_stores_the_file_and_names_it(client, login, world):
    cert = world["cert_a"]
    login(client, world["users"]["worker_a"])
    resp = client.get(url(cert))
    assert resp.status_code == 200
    sha = hashlib.sha256(resp.data).hexdigest()
    assert resp.headers["ETag"] == f'"{sha}"'
    assert "private" in resp.headers["Cache-Control"] and "no-cache" in resp.headers["Cache-Control"]
    db.session.expire_all()
    assert db.session.get(Certificate, cert.id).pdf_sha256 == sha
    stored = world["tmp"] / "certificates" / "pdf" / sha[:2] / f"{sha}.pdf"
    assert stored.read_bytes() == resp.data
    assert stored.stat().st_mode & 0o777 == 0o600  # personal data: the app's user only
    assert (world["tmp"] / "certificates" / "pdf").stat().st_mode & 0o777 == 0o700
    disposition = resp.headers["Content-Disposition"]
    name = f"荣誉证书-欧阳娜娜-{cert.serial}.pdf"
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert f'filename="{cert.serial}.pdf"' in disposition  # the ASCII fallback keeps what it can
    inline = client.get(url(cert) + "?inline=1")
    assert inline.headers["Content-Disposition"].startswith("inline; ") and inline.data == resp.data
    text = PdfReader(io.BytesIO(resp.data)).pages[0].extract_text()
    assert "欧阳娜娜" in text and cert.serial in text


def test_conditional_get_answers_304_without_rendering(client, login, world, monkeypatch):
    cert = world["cert_a"]
    login(client, world["users"]["hr_a"])
    first = client.get(url(cert))
    etag = first.headers["ETag"]

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(render, "render_certificate", no_render)
    for path in (url(cert), api_url(cert)):
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    stale = client.get(url(cert), headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200 and stale.data == first.data  # from the store: still no render


def test_first_download_with_a_matching_etag_is_304_too(client, login, world):
    """A client that computed the hash elsewhere (e.g. the bulk ZIP) and asks before the hash is recorded."""
    cert = world["certificate"](world["worker_a"])
    with client.application.test_request_context():
        sha = hashlib.sha256(render.render(cert)).hexdigest()
    login(client, world["users"]["worker_a"])
    resp = client.get(url(cert), headers={"If-None-Match": f'"{sha}"'})
    assert resp.status_code == 304 and resp.headers["ETag"] == f'"{sha}"'


def test_a_lost_store_file_is_rendered_again_with_the_same_bytes(client, login, world):
    cert = world["cert_a"]
    login(client, world["users"]["organizer"])
    first = client.get(url(cert)).data
    sha = hashlib.sha256(first).hexdigest()
    (world["tmp"] / "certificates" / "pdf" / sha[:2] / f"{sha}.pdf").unlink()
    again = client.get(url(cert))
    assert again.status_code == 200 and again.data == first
    # A damaged file is not served either.
    path = world["tmp"] / "certificates" / "pdf" / sha[:2] / f"{sha}.pdf"
    path.write_bytes(b"%PDF-garbage")
    assert client.get(url(cert)).data == first


def test_qr_points_to_the_public_base_url(client, login, world, app, monkeypatch):
    from tests.certificates.test_pdf import drawn_qr, segno_cells

    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://jx.example.org")
    cert = world["cert_a"]
    login(client, world["users"]["worker_a"])
    data = client.get(url(cert)).data
    drawn, _, _ = drawn_qr(data)
    assert drawn == segno_cells(f"https://jx.example.org/v/{cert.serial}?c={cert.verify_code}")[0]


def test_without_public_base_url_the_request_host_is_used(client, login, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", None)
    cert = world["cert_a"]
    login(client, world["users"]["worker_a"])
    data = client.get(url(cert)).data
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert f"http://localhost/v/{cert.serial}" in text  # the test client's host


def test_certificate_without_template_uses_the_kinds_default(client, login, world):
    cert = world["certificate"](world["worker_a"], template_version_id=None, kind="participation",
                                achievement="参赛")
    login(client, world["users"]["worker_a"])
    resp = client.get(url(cert))
    assert resp.status_code == 200
    text = PdfReader(io.BytesIO(resp.data)).pages[0].extract_text()
    assert "参赛证书" in text and "欧阳娜娜" in text


def test_pdf_for_outside_a_request_reuses_the_store(world, app, caplog, monkeypatch):
    monkeypatch.setattr(render, "_warned", False)  # the warning is given once per process
    cert = world["cert_a"]
    first = render.pdf_for(cert)  # no request: the fallback base URL, logged
    assert cert.pdf_sha256 == first.sha256
    assert render.pdf_for(cert).data == first.data
    assert any("PUBLIC_BASE_URL" in r.getMessage() for r in caplog.records)
