# ruff: noqa: F811  (fixtures imported from certcore_world are used as test arguments)
"""Open Badges 3.0 export: an OpenBadgeCredential as a VC-JWT signed with EdDSA, checked with PyJWT and with PyNaCl
against the key published at /.well-known/jiangxin-keys.json; only for the holder or issuers in scope; never
for an invalid certificate; no name or ID in clear."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from datetime import time as dt_time
from zoneinfo import ZoneInfo

import jwt
import nacl.signing
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.accounts.services import create_token
from certificates import domain
from certificates.services.issuance import issue_certificate, revoke_certificate
from tests.certificates.certcore_world import ID_A, _transaction, world  # noqa: F401


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {create_token(user, 'ob').secret}"}


@pytest.fixture
def cert(world):
    return issue_certificate(world.hr_a, kind="skill_level", worker_id=world.worker_a.id, achievement="职业技能等级三级/高级工",
                             subject_key="skill:6-18-01-01:3").certificate


def test_holder_exports_a_signed_openbadge(client, world, cert):
    resp = client.get(f"/api/v1/certificates/{cert.serial}/openbadge", headers=_bearer(world.worker_user_a))
    assert resp.status_code == 200
    body = resp.get_json()
    token = body["jwt"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["typ"] == "JWT" and header["kid"].endswith(f"#{body['key_id']}")
    jwk = next(k for k in client.get("/.well-known/jiangxin-keys.json").get_json()["keys"] if k["kid"] == body["key_id"])
    raw = domain.b64url_decode(jwk["x"])
    claims = jwt.decode(token, Ed25519PublicKey.from_public_bytes(raw), algorithms=["EdDSA"])
    vc = claims["vc"]
    assert vc == body["credential"]
    # issue dates are Beijing calendar dates: valid from that day's 00:00 in Beijing (already, for one issued today)
    start = datetime.combine(cert.issued_on, dt_time(0, 0), ZoneInfo("Asia/Shanghai"))
    assert claims["nbf"] == int(start.timestamp()) <= datetime.now(UTC).timestamp()
    assert vc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json" in vc["@context"]
    assert vc["id"].endswith(f"/v/{cert.serial}") and claims["jti"] == vc["id"] and claims["iss"] == vc["issuer"]["id"]
    assert vc["issuer"]["name"] == "甲机械厂"
    achievement = vc["credentialSubject"]["achievement"]
    assert achievement["name"] == "职业技能等级三级/高级工" and achievement["achievementType"] == "Certification"
    [identity] = vc["credentialSubject"]["identifier"]
    assert identity["identityHash"] == "sha256$" + hashlib.sha256(("张帅坤" + cert.serial).encode()).hexdigest()
    text = json.dumps(body, ensure_ascii=False)
    assert "张帅坤" not in text and ID_A not in text and cert.payload["holder_id_sha256"] not in text
    # A second, independent Ed25519 path: PyNaCl over the JWS signing input.
    signing_input, _, signature = token.rpartition(".")
    nacl.signing.VerifyKey(raw).verify(signing_input.encode(), domain.b64url_decode(signature))
    # Tampering with the claims breaks it.
    head, payload, sig = token.split(".")
    forged = json.loads(domain.b64url_decode(payload))
    forged["vc"]["credentialSubject"]["achievement"]["name"] = "高级技师"
    forged_payload = domain.b64url_encode(json.dumps(forged).encode())
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{head}.{forged_payload}.{sig}", Ed25519PublicKey.from_public_bytes(raw), algorithms=["EdDSA"])


def test_access(client, world, cert):
    url = f"/api/v1/certificates/{cert.serial}/openbadge"
    assert client.get(url, headers=_bearer(world.hr_a)).status_code == 200
    assert client.get(url, headers=_bearer(world.organizer)).status_code == 200
    assert client.get(url, headers=_bearer(world.hr_b)).status_code == 404
    assert client.get(url, headers=_bearer(world.worker_user_b)).status_code == 404
    assert client.get(url, headers=_bearer(world.judge)).status_code == 403
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/certificates/C2599990999999/openbadge", headers=_bearer(world.organizer)).status_code == 404


def test_revoked_or_altered_certificates_are_not_exported(client, world, cert):
    from app.db import db

    url = f"/api/v1/certificates/{cert.serial}/openbadge"
    cert.payload = {**cert.payload, "achievement": "高级技师"}
    db.session.flush()
    resp = client.get(url, headers=_bearer(world.hr_a))
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_valid"
    cert.payload = {**cert.payload, "achievement": "职业技能等级三级/高级工"}
    db.session.flush()
    assert client.get(url, headers=_bearer(world.hr_a)).status_code == 200
    revoke_certificate(world.hr_a, cert.id, reason="撤销")
    assert client.get(url, headers=_bearer(world.hr_a)).status_code == 409
