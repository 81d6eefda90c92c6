# ruff: noqa: F811  (fixtures imported from certcore_world are used as test arguments)
"""Public verification through the page ``/v/<serial>``, the JSON API and the manual lookup: every outcome
(valid, tampered, wrong key, revoked, superseded, expired, unknown, malformed), an independent Ed25519 check
with PyNaCl and the published keys, masking (never the full name, the ID or its hash), rate limits."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import nacl.exceptions
import nacl.signing
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.db import db, local_date
from certificates import domain
from certificates.models import Certificate, CertificateTemplate, CertificateTemplateVersion
from certificates.services import keys
from certificates.services.issuance import issue_certificate, revoke_certificate, supersede_certificate
from tests.certificates.certcore_world import ID_A, _transaction, own_keys, world, write_ring  # noqa: F401


@pytest.fixture
def cert(world) -> Certificate:
    return issue_certificate(world.organizer, kind="award", worker_id=world.worker_a.id, achievement="荣获一等奖",
                             details={"competition": "数控车工竞赛"}).certificate


def _en(client):
    client.set_cookie("lang", "en")
    return client


def _api(client, serial: str, **query) -> dict:
    resp = client.get(f"/api/v1/certificates/{serial}/verification", query_string=query)
    assert resp.status_code == 200
    return resp.get_json()


def _failed(body: dict) -> tuple[str, str] | None:
    failed = [s for s in body["steps"] if s["ok"] is False]
    return (failed[0]["code"], failed[0]["detail"]) if failed else None


def _assert_masked(text: str, cert: Certificate) -> None:
    assert "张帅坤" not in text
    assert ID_A not in text and ID_A[-4:] not in text
    assert cert.payload["holder_id_sha256"] not in text
    assert cert.signature not in text


# --- a valid certificate -----------------------------------------------------------------------------------


def test_valid_certificate_page_and_json(client, cert):
    _en(client)
    resp = client.get(f"/v/{cert.serial}?c={cert.verify_code}")  # the QR code's address
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Valid certificate." in html and "张*坤" in html and "荣获一等奖" in html and "市总工会" in html
    for label in ("Serial number format and check character", "Digital signature", "Not revoked"):
        assert label in html
    _assert_masked(html, cert)
    body = _api(client, cert.serial, c=cert.verify_code)
    assert body["valid"] is True and _failed(body) is None and body["details_shown"] is True
    assert body["certificate"]["holder_name_masked"] == "张*坤"
    assert body["certificate"]["issued_at"] == cert.issued_on.isoformat()
    assert [s["code"] for s in body["steps"]] == list(domain.STEP_CODES[:6])  # optional checks only when asked
    _assert_masked(json.dumps(body, ensure_ascii=False), cert)


def test_by_serial_alone_the_page_names_neither_holder_nor_achievement(client, cert):
    """Found in use: serials are sequential, so anyone could list every holder's masked name and award. By serial
    alone the page confirms validity, kind, issuer and date; the QR code's verification code (or the holder's full
    name, through the lookup) shows the rest. A wrong code is no code."""
    _en(client)
    for code in (None, "2222222222", cert.verify_code[:-1]):
        html = client.get(f"/v/{cert.serial}", query_string={"c": code} if code else {}).get_data(as_text=True)
        assert "Valid certificate." in html and "市总工会" in html and cert.issued_on.isoformat() in html
        assert "张*坤" not in html and "荣获一等奖" not in html and 'id="details-hidden"' in html
        body = _api(client, cert.serial, **({"c": code} if code else {}))
        assert body["valid"] is True and body["details_shown"] is False
        assert body["certificate"]["holder_name_masked"] is None and body["certificate"]["achievement"] is None
    typed = f"{cert.verify_code[:5].lower()} {cert.verify_code[5:]}"  # read off the paper and typed by hand
    assert "张*坤" in client.get(f"/v/{cert.serial}", query_string={"c": typed}).get_data(as_text=True)


def test_every_lookup_by_serial_is_rate_limited(client, cert, app, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFY_PAGE_RATE_LIMIT", "3 per minute")
    pages = [client.get(f"/v/{cert.serial}").status_code for _ in range(4)]
    assert pages == [200, 200, 200, 429]
    api = [client.get(f"/api/v1/certificates/{cert.serial}/verification").status_code for _ in range(4)]
    assert api[-1] == 429


def test_typed_serial_with_hyphens_redirects_to_the_canonical_address(client, cert):
    typed = f"{cert.serial[:3].lower()}-{cert.serial[3:7]}-{cert.serial[7:]}"
    resp = client.get(f"/v/{typed}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/v/{cert.serial}")


def test_signature_checks_with_pynacl_and_the_published_keys(client, cert):
    resp = client.get("/.well-known/jiangxin-keys.json")
    assert resp.status_code == 200 and "public" in resp.headers["Cache-Control"]
    jwk = next(k for k in resp.get_json()["keys"] if k["kid"] == cert.key_id)
    raw = domain.b64url_decode(jwk["x"])
    verify_key = nacl.signing.VerifyKey(raw)
    # The canonical bytes rebuilt the way an outside verifier would (documented: sorted, compact, UTF-8).
    message = json.dumps(cert.payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    signature = domain.b64url_decode(cert.signature)
    verify_key.verify(message, signature)
    tampered = json.loads(message)
    tampered["achievement"] = "荣获特等奖"
    with pytest.raises(nacl.exceptions.BadSignatureError):
        verify_key.verify(json.dumps(tampered, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(),
                          signature)


# --- every way to fail ----------------------------------------------------------------------------------------


def test_tampered_payload(client, cert):
    cert.payload = {**cert.payload, "achievement": "荣获特等奖"}
    db.session.flush()
    body = _api(client, cert.serial)
    assert body["valid"] is False and _failed(body) == ("signature", "bad_signature")
    assert body["certificate"] is None  # nothing from a record whose signature fails is shown
    html = _en(client).get(f"/v/{cert.serial}").get_data(as_text=True)
    assert "Not a valid certificate." in html and "the certificate was altered" in html and "特等奖" not in html


def test_record_changed_outside_the_signed_payload(client, cert):
    cert.valid_until = cert.issued_on + timedelta(days=3650)  # someone extends the validity in the database
    db.session.flush()
    assert _failed(_api(client, cert.serial)) == ("signature", "payload_mismatch")


def test_wrong_key(client, cert, own_keys):
    # A ring where the certificate's key id belongs to no key: verification cannot use a stranger's key.
    write_ring(own_keys, [(Ed25519PrivateKey.generate(), date(2020, 1, 1), None)])
    assert _failed(_api(client, cert.serial)) == ("signature", "unknown_key")


def test_signed_with_another_key_but_claiming_ours(client, cert):
    forger = Ed25519PrivateKey.generate()
    cert.signature = domain.sign(domain.canonical_json(cert.payload), forger)
    db.session.flush()
    body = _api(client, cert.serial)
    assert _failed(body) == ("signature", "bad_signature") and body["valid"] is False


def test_revoked(client, world, cert):
    revoke_certificate(world.organizer, cert.id, reason="获奖资格被取消")
    body = _api(_en(client), cert.serial)
    assert _failed(body) == ("not_revoked", "revoked") and body["status"] == "revoked"
    # the reason is for the holder and the issuer, not the public; the date is Beijing's
    assert "revoked_reason" not in body["certificate"] and body["certificate"]["revoked_at"] == local_date().isoformat()
    html = client.get(f"/v/{cert.serial}").get_data(as_text=True)
    assert "The issuer revoked this certificate." in html and "获奖资格被取消" not in html


def test_a_revocation_just_after_midnight_in_beijing_is_dated_that_day(client, world, cert):
    from datetime import UTC, datetime

    revoke_certificate(world.organizer, cert.id, reason="资格取消")
    cert.revoked_at = datetime(2026, 12, 7, 16, 55, tzinfo=UTC)  # 00:55 on 12-08 in Beijing
    db.session.flush()
    assert _api(client, cert.serial)["certificate"]["revoked_at"] == "2026-12-08"


def test_superseded_links_to_the_correction(client, world, cert):
    new = supersede_certificate(world.organizer, cert.id, reason="奖项写错", achievement="荣获二等奖")
    body = _api(client, cert.serial)
    assert _failed(body) == ("not_revoked", "superseded") and body["superseded_by"] == new.serial
    html = client.get(f"/v/{cert.serial}").get_data(as_text=True)
    assert f'href="/v/{new.serial}"' in html
    assert _api(client, new.serial)["valid"] is True


def test_expired_and_key_window(client, world, own_keys):
    start = date.today() - timedelta(days=800)
    old_key = Ed25519PrivateKey.generate()
    write_ring(own_keys, [(old_key, start, None)])
    template = CertificateTemplate(kind="skill_level", name="一年有效", enterprise_id=None)
    template.versions.append(CertificateTemplateVersion(version=1, title="证书", body="…", issuer_name="市总工会",
                                                        validity_months=12))
    db.session.add(template)
    db.session.flush()
    cert = issue_certificate(world.organizer, kind="skill_level", worker_id=world.worker_a.id, achievement="四级",
                             template_id=template.id, issued_on=start + timedelta(days=1)).certificate
    assert cert.valid_until < date.today()
    body = _api(client, cert.serial)
    assert _failed(body) == ("within_validity", "expired")
    assert body["certificate"]["valid_until"] == cert.valid_until.isoformat()
    # The ring now says the key stopped before the issue date: key_valid fails.
    write_ring(own_keys, [(old_key, start, start), (Ed25519PrivateKey.generate(), start + timedelta(days=1), None)])
    assert _failed(_api(client, cert.serial)) == ("key_valid", "after_valid_until")


def test_unknown_serial(client, cert):
    parsed = domain.parse_serial(cert.serial)
    unknown = domain.make_serial(parsed.kind, parsed.year, parsed.issuer_code, 999_999)
    body = _api(client, unknown)
    assert body["valid"] is False and _failed(body) == ("record_exists", "not_found") and body["certificate"] is None
    assert client.get(f"/v/{unknown}").status_code == 200


@pytest.mark.parametrize(("serial", "detail"), [
    ("C25000100", "length"),
    ("C250001000123Y", "format"),
    ("Z2500010001231", "kind"),
    ("C2500010001232", "check"),  # one digit off the check character
])
def test_malformed_serial(client, serial, detail):
    body = _api(client, serial)
    assert _failed(body) == ("serial_format", detail) and body["certificate"] is None
    assert all(s["detail"] == "skipped" for s in body["steps"][1:6])
    html = _en(client).get(f"/v/{serial}").get_data(as_text=True)
    assert "Not a valid certificate." in html


def test_altered_digit_of_a_real_serial(client, cert):
    digits = list(cert.serial)
    digits[9] = str((int(digits[9]) + 1) % 10)
    assert _failed(_api(client, "".join(digits))) == ("serial_format", "check")


# --- optional checks on the page -------------------------------------------------------------------------------


def _token(client, path):
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_id_number_check(client, cert):
    _en(client)
    token = _token(client, f"/v/{cert.serial}")
    resp = client.post(f"/v/{cert.serial}", data={"csrf_token": token, "id_number": ID_A.lower()})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "ID number matches" in html and "Valid certificate." in html
    assert ID_A not in html and ID_A.lower() not in html  # the number is not echoed back
    resp = client.post(f"/v/{cert.serial}", data={"csrf_token": token, "id_number": "110105198505170000"})
    html = resp.get_data(as_text=True)
    # found in use: "Valid" beside "Not a valid certificate. It does not match.", and the failed step followed by
    # the text of a passed one ("The ID number you entered is the holder's.")
    assert "The check failed." in html and "The ID number you entered is not the holder&#39;s." in html
    assert "Valid certificate." not in html and "Not a valid certificate." not in html
    assert 'class="badge ok">Valid<' not in html and "On record, not revoked" in html
    assert "The ID number you entered is the holder&#39;s." not in html


def test_pdf_hash_check_through_the_api(client, cert):
    cert.pdf_sha256 = "ab" * 32
    db.session.flush()
    checked = _api(client, cert.serial, pdf_sha256="AB" * 32)
    assert checked["valid"] is True and checked["steps"][-1]["code"] == "pdf_match" and checked["steps"][-1]["ok"] is True
    assert _failed(_api(client, cert.serial, pdf_sha256="cd" * 32)) == ("pdf_match", "mismatch")
    resp = client.get(f"/api/v1/certificates/{cert.serial}/verification", query_string={"pdf_sha256": "xyz"})
    assert resp.status_code == 422


# --- manual lookup --------------------------------------------------------------------------------------------


def test_lookup_by_serial_and_full_name(client, cert):
    _en(client)
    token = _token(client, "/v")
    ok = client.post("/v", data={"csrf_token": token, "serial": cert.serial.lower(), "full_name": " 张帅坤 "})
    assert ok.status_code == 200 and "Valid certificate." in ok.get_data(as_text=True)
    assert "张*坤" in ok.get_data(as_text=True) and "荣获一等奖" in ok.get_data(as_text=True), "the full name shows it"

    def answer(serial, name):
        resp = client.post("/v", data={"csrf_token": token, "serial": serial, "full_name": name})
        return resp.status_code, re.sub(r'value="[^"]*"', "", resp.get_data(as_text=True))

    parsed = domain.parse_serial(cert.serial)
    unknown = domain.make_serial(parsed.kind, parsed.year, parsed.issuer_code, 999_999)
    wrong_name = answer(cert.serial, "张帅")
    unknown_serial = answer(unknown, "张帅")
    assert wrong_name == unknown_serial  # the same answer: the form does not tell which serials exist
    assert wrong_name[0] == 200 and "No certificate matches" in wrong_name[1] and "荣获一等奖" not in wrong_name[1]


def test_lookup_is_rate_limited(client, cert):
    token = _token(client, "/v")
    codes = [client.post("/v", data={"csrf_token": token, "serial": cert.serial, "full_name": "某人"}).status_code
             for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


def test_lookup_form_errors(client):
    token = _token(_en(client), "/v")
    resp = client.post("/v", data={"csrf_token": token, "serial": "", "full_name": ""})
    assert resp.status_code == 400 and "This field is required." in resp.get_data(as_text=True)


# --- keys document and OpenAPI ---------------------------------------------------------------------------------


def test_keys_document_lists_old_and_new_keys(client, cert, own_keys):
    keys.active_key()
    old, new = keys.rotate_key()
    doc = client.get("/.well-known/jiangxin-keys.json").get_json()
    by_kid = {k["kid"]: k for k in doc["keys"]}
    assert by_kid[old.key_id]["valid_until"] == old.valid_until.isoformat()
    assert by_kid[new.key_id]["valid_until"] is None
    assert all(set(k) == {"kty", "crv", "alg", "use", "x", "kid", "valid_from", "valid_until"} for k in doc["keys"])
    assert "private_key" not in json.dumps(doc) and "d" not in doc["keys"][0]


def test_openapi_documents_the_verification(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    path = spec["paths"]["/api/v1/certificates/{serial}/verification"]["get"]
    assert path["security"] == []
    assert "/api/v1/certificates" in spec["paths"] and "/api/v1/certificates/{certificate_id}/revoke" in spec["paths"]


def test_every_step_and_detail_code_has_an_explanation():
    from certificates.services.verification import DETAIL_MESSAGES, STEP_EXPLANATIONS, STEP_LABELS

    assert set(STEP_LABELS) == set(domain.STEP_CODES) == set(STEP_EXPLANATIONS)
    codes = {"length", "format", "kind", "check", "not_found", "unknown_key", "malformed_payload", "bad_signature",
             "payload_mismatch", "before_valid_from", "after_valid_until", "revoked", "superseded", "unknown_status",
             "not_yet_valid", "expired", "mismatch", "no_id_hash", "no_pdf_hash", "skipped", "not_requested"}
    assert codes <= set(DETAIL_MESSAGES)



def test_pdf_upload_check(client, cert):
    import io

    from certificates.services.render import pdf_for

    pdf = pdf_for(cert)
    db.session.flush()
    _en(client)
    token = _token(client, f"/v/{cert.serial}")
    resp = client.post(f"/v/{cert.serial}", data={"csrf_token": token, "pdf": (io.BytesIO(pdf.data), "c.pdf")},
                       content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "PDF file matches" in html and "Valid certificate." in html
    altered = pdf.data.replace(b"/Producer", b"/Producex", 1)
    assert altered != pdf.data
    resp = client.post(f"/v/{cert.serial}", data={"csrf_token": token, "pdf": (io.BytesIO(altered), "c.pdf")},
                       content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert "The check failed." in html and "This PDF file is not the one the issuer produced" in html
    assert "Valid certificate." not in html and "The PDF file is the one the issuer produced." not in html
