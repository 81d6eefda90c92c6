"""Export of a certificate as an Open Badges 3.0 ``OpenBadgeCredential``, signed as a VC-JWT (EdDSA / Ed25519)
with the installation's active certificate signing key.

The JWT (RFC 7519, compact JWS) has the header ``{"alg": "EdDSA", "typ": "JWT", "kid": "<base>/.well-known/
jiangxin-keys.json#<kid>", "jwk": {public key}}`` and the claims ``iss`` (issuer id), ``jti`` (credential id),
``nbf`` (the issue date's 00:00 in the installation's time zone, Asia/Shanghai by default — issue dates are
dates of that calendar), ``exp`` (end of the last valid day there, when the certificate expires) and ``vc``
(the credential). Anyone verifies it with the public key published at ``/.well-known/jiangxin-keys.json``.

The credential says who holds it only as an OB ``IdentityObject`` of type ``name``, hashed:
``sha256$`` + SHA-256 hex of the holder's full name followed by the salt (the serial) — a verifier who knows
the name can check it; the JSON shows neither the name nor any ID number. The credential's ``id`` is the
public verification address ``<base>/v/<serial>``, where its current status (revoked, replaced) is shown.

Only a certificate that verifies (signature, key, not revoked, not expired) is exported: an export of a
revoked or altered record would carry a fresh signature over stale data.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, time, timedelta
from typing import Any

import jwt
from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l

from app.errors import Conflict
from certificates import domain
from certificates.models import Certificate
from certificates.services import issuance, keys
from certificates.services.verification import detail_message, verify_serial

CONTEXTS = ["https://www.w3.org/2018/credentials/v1", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
ACHIEVEMENT_TYPES = {
    domain.CertificateKind.AWARD: "Award",
    domain.CertificateKind.PARTICIPATION: "CertificateOfCompletion",
    domain.CertificateKind.SKILL_LEVEL: "Certification",
    domain.CertificateKind.APPRENTICE_GRADUATION: "ApprenticeshipCertificate",
    domain.CertificateKind.CRAFTSMAN_TITLE: "MasterCertificate",
    domain.CertificateKind.STUDIO_HONOR: "Award",
}


def base_url() -> str:
    try:
        from certificates.services.render import public_base_url
    except ImportError:  # pragma: no cover - a build without PDF rendering
        base = current_app.config.get("PUBLIC_BASE_URL")
        return str(base).rstrip("/") if base else (request.url_root.rstrip("/") if has_request_context() else "")
    return public_base_url()


def _start_of(day) -> datetime:
    """00:00 of ``day`` in the installation's time zone (the calendar issue dates are written in), as UTC."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")
    return datetime.combine(day, time(0, 0), tz).astimezone(UTC)


def _timestamp(day) -> str:
    return _start_of(day).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity_hash(name: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((name + salt).encode("utf-8")).hexdigest()


def credential(certificate: Certificate) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential (VC data model 1.1, as OB 3.0 uses it)."""
    base = base_url()
    payload = certificate.payload or {}
    issuer_name = payload.get("issuer_name") or certificate.issuer.name
    kind = domain.CertificateKind(certificate.kind)
    serial = certificate.serial
    vc: dict[str, Any] = {
        "@context": CONTEXTS,
        "id": f"{base}/v/{serial}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": f"urn:jiangxin:issuer:{certificate.issuer.code}", "type": ["Profile"], "name": issuer_name},
        "issuanceDate": _timestamp(certificate.issued_on),
        "name": f"{issuance.kind_label(kind)} {serial}",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [{
                "type": "IdentityObject", "identityType": "name", "hashed": True, "salt": serial,
                "identityHash": identity_hash(payload.get("holder_name") or certificate.holder_name, serial),
            }],
            "achievement": {
                "id": f"urn:jiangxin:achievement:{hashlib.sha256(certificate.subject_key.encode()).hexdigest()[:32]}",
                "type": ["Achievement"],
                "achievementType": ACHIEVEMENT_TYPES[kind],
                "name": certificate.achievement,
                "description": certificate.achievement,
                "criteria": {"narrative": certificate.achievement},
                "creator": {"id": f"urn:jiangxin:issuer:{certificate.issuer.code}", "type": ["Profile"],
                            "name": issuer_name},
            },
        },
    }
    if certificate.valid_until:
        vc["expirationDate"] = _timestamp(certificate.valid_until + timedelta(days=1))
    return vc


def export(actor, serial: str) -> dict[str, Any]:
    """``{"jwt": compact VC-JWT, "credential": the decoded credential}`` for a certificate the actor may see."""
    normalized = domain.normalize_serial(serial)
    certificate = issuance.certificate_by_serial(normalized)
    if certificate is None or not actor.is_authenticated or not issuance.can_see_certificate(actor, certificate):
        from app.errors import NotFound

        raise NotFound(_l("This certificate does not exist or is not yours to see."))
    verification = verify_serial(normalized)
    if not verification.valid:
        failed = verification.failed_step
        raise Conflict(_l("Only a valid certificate can be exported: %(reason)s",
                          reason=detail_message(failed.detail_code if failed else None)), code="not_valid")
    vc = credential(certificate)
    signing = keys.active_key()
    claims: dict[str, Any] = {
        "iss": vc["issuer"]["id"],
        "jti": vc["id"],
        "nbf": int(_start_of(certificate.issued_on).timestamp()),
        "iat": int(datetime.now(UTC).timestamp()),
        "vc": vc,
    }
    if certificate.valid_until:
        claims["exp"] = int(_start_of(certificate.valid_until + timedelta(days=1)).timestamp())
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": domain.b64url_encode(domain.raw_public_key(signing.private_key))}
    headers = {"kid": f"{base_url()}/.well-known/jiangxin-keys.json#{signing.key_id}", "jwk": jwk, "typ": "JWT"}
    token = jwt.encode(claims, signing.private_key, algorithm="EdDSA", headers=headers)
    return {"jwt": token, "credential": vc, "key_id": signing.key_id}
