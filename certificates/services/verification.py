"""Verifying a certificate by serial: the stored record and the key ring → ``certificates.domain.verify_certificate``.

Used by the public page ``/v/<serial>``, the JSON API, the manual lookup (serial + full name) and
``flask certs verify``. What leaves this module for the public is :meth:`Verification.public_dict`: the
steps, the masked name and the achievement (only with the certificate's verification code, which its QR address
carries, or after the manual lookup with the holder's full name: serials are sequential), issuer, dates (calendar
days in the installation's time zone, Asia/Shanghai, as the issue date is), status and the serial of a correction —
never the ID number, its hash, the full name, the signature material or the reason for a revocation (the holder
and the issuer see it on their own pages).
"""

from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from app.db import local_date
from app.people.domain import mask_name
from certificates import domain
from certificates.models import Certificate
from certificates.services import issuance, keys

STEP_LABELS = {
    "serial_format": _l("Serial number format and check character"),
    "record_exists": _l("Certificate on record"),
    "signature": _l("Digital signature"),
    "key_valid": _l("Signing key valid on the issue date"),
    "not_revoked": _l("Not revoked"),
    "within_validity": _l("Within the period of validity"),
    "id_match": _l("ID number matches"),
    "pdf_match": _l("PDF file matches"),
}
STEP_EXPLANATIONS = {
    "serial_format": _l("The serial has 14 characters: kind, year, issuer code, number and a check character "
                        "(ISO 7064 MOD 11-2) that catches a mistyped character."),
    "record_exists": _l("The issuer's register holds a certificate with this serial."),
    "signature": _l("The certificate's content is signed with the issuer's Ed25519 key; any change to it breaks "
                    "the signature. The public keys are published at /.well-known/jiangxin-keys.json."),
    "key_valid": _l("The key that signed it was in use on the issue date."),
    "not_revoked": _l("The issuer has neither revoked nor replaced the certificate."),
    "within_validity": _l("Today is within the certificate's period of validity."),
    "id_match": _l("The ID number you entered is the holder's."),
    "pdf_match": _l("The PDF file is the one the issuer produced."),
}
DETAIL_MESSAGES = {
    "length": _l("A serial has 14 characters."),
    "format": _l("A serial is a letter followed by 12 digits and a check character (a digit or X)."),
    "kind": _l("The first letter is not a kind of certificate."),
    "check": _l("The check character does not match: the serial was probably mistyped."),
    "not_found": _l("No certificate with this serial is on record."),
    "unknown_key": _l("The signing key is unknown."),
    "malformed_payload": _l("The stored content cannot be checked."),
    "bad_signature": _l("The signature does not match the content: the certificate was altered."),
    "payload_mismatch": _l("The signed content differs from the record."),
    "before_valid_from": _l("The key was not yet in use on the issue date."),
    "after_valid_until": _l("The key was no longer in use on the issue date."),
    "revoked": _l("The issuer revoked this certificate."),
    "superseded": _l("A corrected certificate replaced this one."),
    "unknown_status": _l("The certificate's status is unknown."),
    "not_yet_valid": _l("The certificate is not valid yet."),
    "expired": _l("The certificate has expired."),
    "mismatch": _l("It does not match."),
    "id_match:mismatch": _l("The ID number you entered is not the holder's."),
    "pdf_match:mismatch": _l("This PDF file is not the one the issuer produced: it may have been altered."),
    "no_id_hash": _l("This certificate was issued without an ID number."),
    "no_pdf_hash": _l("No PDF fingerprint is on record for this certificate."),
    "skipped": _l("Not checked, because an earlier step failed."),
    "not_requested": _l("Not requested."),
}


def step_label(code: str) -> str:
    return str(STEP_LABELS.get(code, code))


def detail_message(code: str | None, step: str | None = None) -> str:
    """What a step's detail code means (a step may say it more precisely: ``<step>:<detail>``)."""
    if not code:
        return ""
    return str(DETAIL_MESSAGES.get(f"{step}:{code}") or DETAIL_MESSAGES.get(code, code))


@dataclass(frozen=True)
class Verification:
    serial: str  # as normalized (may be malformed)
    result: domain.VerificationResult
    certificate: Certificate | None
    superseded_by: str | None = None  # serial of the correction
    requested: frozenset[str] = frozenset()  # optional steps the visitor asked for: id_match, pdf_match
    revealed: bool = False  # the visitor showed the verification code (QR) or the holder's full name

    @property
    def valid(self) -> bool:
        return self.result.valid

    @property
    def failed_step(self) -> domain.Step | None:
        return self.result.failed_step

    @property
    def check_failed(self) -> bool:
        """Whether what failed is one of the visitor's own checks (an ID number or a PDF that does not match) on a
        certificate that is otherwise in force: the page then says the *check* failed, not the certificate."""
        failed = self.failed_step
        return failed is not None and failed.code in ("id_match", "pdf_match")

    def steps(self) -> list[dict[str, Any]]:
        """Steps with translated labels; ``id_match``/``pdf_match`` only when they were asked for. A step's
        explanation says what passing it means, so a failed step carries only what went wrong."""
        out = []
        for s in self.result.steps:
            if s.code in ("id_match", "pdf_match") and s.code not in self.requested:
                continue
            out.append({"code": s.code, "ok": s.ok, "detail": s.detail_code, "label": step_label(s.code),
                        "explanation": "" if s.ok is False else str(STEP_EXPLANATIONS.get(s.code, "")),
                        "message": detail_message(s.detail_code, s.code)})
        return out

    def public_dict(self) -> dict[str, Any]:
        """The public answer (page and API): never more than masked data."""
        cert = self.certificate
        shown = cert is not None and self.result.steps[2].ok is True  # only data whose signature holds
        body: dict[str, Any] = {
            "serial": self.serial,
            "valid": self.valid,
            "status": cert.status if cert is not None else None,
            "steps": self.steps(),
            "certificate": None,
            "superseded_by": self.superseded_by,
            "failed_step": self.failed_step.code if self.failed_step else None,
            "reason": detail_message(self.failed_step.detail_code, self.failed_step.code) if self.failed_step else None,
        }
        body["details_shown"] = bool(shown and self.revealed)
        if shown:
            p = cert.payload
            body["certificate"] = {
                "kind": p.get("kind"),
                "kind_label": issuance.kind_label(p.get("kind", "")),
                # who and what for: only with the verification code or the full name (serials can be walked)
                "holder_name_masked": mask_name(p.get("holder_name", "")) if self.revealed else None,
                "achievement": p.get("achievement") if self.revealed else None,
                "issuer_name": p.get("issuer_name"),
                "issuer_code": p.get("issuer_code"),
                "issued_at": p.get("issued_at"),
                "valid_until": p.get("valid_until"),
                "status_label": (issuance.status_label(cert.status) if self.valid or cert.status != "issued"
                                 else str(_l("On record, not revoked"))),  # never "valid" beside a failed check
                "revoked_at": (local_date(cert.revoked_at).isoformat()
                               if cert.revoked_at and cert.status == "revoked" else None),
                "key_id": cert.key_id,
            }
        return body


def record_of(certificate: Certificate) -> domain.CertificateRecord:
    return domain.CertificateRecord(
        payload=certificate.payload or {}, signature=certificate.signature, status=certificate.status,
        revoked_reason=certificate.revoked_reason, issued_at=certificate.issued_on,
        valid_until=certificate.valid_until, key_id=certificate.key_id, pdf_sha256=certificate.pdf_sha256,
    )


def verify_serial(serial: str, *, code: str | None = None, today: date | None = None, id_number: str | None = None,
                  pdf_sha256: str | None = None) -> Verification:
    """Run every verification step for ``serial`` (any spelling a person might type). ``code``: the verification
    code of the QR address; only when it is the certificate's does the answer name the holder (masked) and the
    achievement."""
    normalized = domain.normalize_serial(serial or "")[:40]
    parsed = domain.parse_serial(normalized)
    certificate = issuance.certificate_by_serial(normalized) if not isinstance(parsed, str) else None
    record = record_of(certificate) if certificate is not None else None
    result = domain.verify_certificate(normalized, record, keys.key_records() if record else [],
                                       today or issuance.today(), id_number=id_number, pdf_sha256=pdf_sha256)
    newer = None
    if certificate is not None and certificate.status == domain.CertificateStatus.SUPERSEDED:
        nxt = issuance.superseded_by(certificate)
        newer = nxt.serial if nxt is not None else None
    requested = frozenset(step for step, given in (("id_match", id_number), ("pdf_match", pdf_sha256)) if given is not None)
    revealed = certificate is not None and domain.same_verify_code(code, certificate.verify_code)
    return Verification(normalized, result, certificate, newer, requested, revealed)


def _name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split()).casefold()


def lookup(serial: str, full_name: str) -> Verification | None:
    """The manual lookup: the verification only when the serial exists *and* the full name is the holder's.

    A wrong name and an unknown serial give the same answer (None), so the form cannot be used to find out
    which serials exist; the comparison runs in constant time.
    """
    verification = verify_serial(serial)
    cert = verification.certificate
    given = _name_key(full_name).encode()
    expected = _name_key(cert.payload.get("holder_name", "") if cert is not None else "").encode()
    same = hmac.compare_digest(given, expected) if given else False
    return replace(verification, revealed=True) if cert is not None and same else None
