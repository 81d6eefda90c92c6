"""Ed25519 signatures, the public keys document and the verification steps.

The happy path is checked by a separate Ed25519 implementation (PyNaCl / libsodium) that reads the public
key from the exported keys document, as an integrator would.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from certificates.domain import (
    STEP_CODES,
    CertificateKind,
    CertificateRecord,
    KeyRecord,
    Step,
    b64url_decode,
    canonical_json,
    certificate_payload,
    key_id,
    keys_from_document,
    make_serial,
    public_keys_document,
    raw_public_key,
    sign,
    verify,
    verify_certificate,
)

# RFC 8032, section 7.1, TEST 1
RFC_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)

OLD = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # signs 2024-01-01 … 2025-12-31
NEW = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))  # signs from 2026-01-01
STRANGER = Ed25519PrivateKey.from_private_bytes(bytes(range(64, 96)))
OLD_KEY = KeyRecord.for_key(raw_public_key(OLD), date(2024, 1, 1), date(2025, 12, 31))
NEW_KEY = KeyRecord.for_key(raw_public_key(NEW), date(2026, 1, 1))
KEYS = [NEW_KEY, OLD_KEY]
TODAY = date(2026, 6, 1)
ID_NUMBER = "11010519491231002X"


def _b64url_std(text: str) -> bytes:
    """Decoding with the standard library only (not our helper): the integrator's path."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(*, private=OLD, kid=None, issued_at=date(2025, 6, 1), valid_until=date(2027, 5, 31), seq=123, **record):
    serial = make_serial(CertificateKind.AWARD, issued_at.year, "0001", seq)
    kid = kid or key_id(raw_public_key(private))
    payload = certificate_payload(
        serial=serial,
        holder_name="张三",
        holder_id_number=ID_NUMBER,
        achievement="在2025年全市焊工职业技能竞赛中荣获一等奖",
        issuer_name="某市总工会",
        issued_at=issued_at,
        valid_until=valid_until,
        key_id=kid,
    )
    fields = {
        "payload": payload,
        "signature": sign(canonical_json(payload), private),
        "status": "issued",
        "revoked_reason": None,
        "issued_at": issued_at,
        "valid_until": valid_until,
        "key_id": kid,
        "pdf_sha256": hashlib.sha256(b"%PDF-1.7 ...").hexdigest(),
    }
    fields.update(record)
    return serial, CertificateRecord(**fields)


# --- signatures and keys ---------------------------------------------------------------------------------


def test_rfc8032_vector():
    private = Ed25519PrivateKey.from_private_bytes(RFC_SECRET)
    assert raw_public_key(private) == RFC_PUBLIC
    assert b64url_decode(sign(b"", private)) == RFC_SIGNATURE
    assert verify(b"", sign(b"", private), RFC_PUBLIC)
    assert key_id(RFC_PUBLIC) == hashlib.sha256(RFC_PUBLIC).hexdigest()[:16]


def test_signature_is_base64url_without_padding():
    sig = sign(b"payload", OLD)
    assert len(sig) == 86 and "=" not in sig and "+" not in sig and "/" not in sig


@pytest.mark.parametrize("mangle", [
    lambda s: s + "=",                  # padding
    lambda s: s[:-1],                   # short
    lambda s: s[:-1] + ("B" if s[-1] == "A" else "A"),  # other bits
    lambda s: s.replace(s[0], "+", 1),  # standard alphabet
    lambda s: "",
])
def test_malformed_signatures_do_not_verify(mangle):
    assert not verify(b"payload", mangle(sign(b"payload", OLD)), raw_public_key(OLD))


def test_non_canonical_base64_is_refused():
    sig = sign(b"payload", OLD)
    # 64 bytes = 86 characters with 4 unused bits at the end; setting one gives the same bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = sig[:-1] + alphabet[alphabet.index(sig[-1]) | 1]
    assert twin != sig and _b64url_std(twin) == _b64url_std(sig)
    assert not verify(b"payload", twin, raw_public_key(OLD))


@given(st.binary(max_size=200), st.integers(0, 511))
def test_any_flipped_bit_fails(message, bit):
    sig = bytearray(b64url_decode(sign(message, OLD)))
    sig[bit // 8] ^= 1 << (bit % 8)
    assert not verify(message, base64.urlsafe_b64encode(bytes(sig)).rstrip(b"=").decode(), raw_public_key(OLD))
    assert verify(message, sign(message, OLD), raw_public_key(OLD))


def test_keys_document_format_and_round_trip():
    doc = json.loads(json.dumps(public_keys_document(KEYS)))
    assert doc == {"keys": [
        {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
         "x": base64.urlsafe_b64encode(raw_public_key(OLD)).rstrip(b"=").decode(),
         "kid": OLD_KEY.key_id, "valid_from": "2024-01-01", "valid_until": "2025-12-31"},
        {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
         "x": base64.urlsafe_b64encode(raw_public_key(NEW)).rstrip(b"=").decode(),
         "kid": NEW_KEY.key_id, "valid_from": "2026-01-01", "valid_until": None},
    ]}
    assert sorted(keys_from_document(doc), key=lambda k: k.valid_from) == [OLD_KEY, NEW_KEY]


@pytest.mark.parametrize("doc", [
    {},
    {"keys": [{"kty": "OKP", "crv": "Ed25519"}]},
    {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "0" * 16, "valid_from": "2025-01-01"}]},
])
def test_malformed_keys_document(doc):
    with pytest.raises(ValueError):
        keys_from_document(doc)


def test_key_record_checks_its_id():
    with pytest.raises(ValueError):
        KeyRecord("0" * 16, raw_public_key(OLD), date(2024, 1, 1))
    with pytest.raises(ValueError):
        KeyRecord.for_key(raw_public_key(OLD), date(2024, 1, 1), date(2023, 1, 1))


def test_separate_implementation_verifies_with_the_published_key():
    serial, record = issue()
    published = json.loads(json.dumps(public_keys_document(KEYS), ensure_ascii=False))
    jwk = next(k for k in published["keys"] if k["kid"] == record.payload["kid"])
    verify_key = VerifyKey(_b64url_std(jwk["x"]))
    # The integrator re-canonicalizes the downloaded payload with plain json.dumps.
    downloaded = json.loads(json.dumps(record.payload, ensure_ascii=False))
    message = json.dumps(downloaded, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert message == canonical_json(record.payload)
    verify_key.verify(message, _b64url_std(record.signature))  # raises on failure
    with pytest.raises(BadSignatureError):
        verify_key.verify(message.replace("张三".encode(), "张四".encode()), _b64url_std(record.signature))
    other = VerifyKey(_b64url_std(next(k for k in published["keys"] if k["kid"] != jwk["kid"])["x"]))
    with pytest.raises(BadSignatureError):
        other.verify(message, _b64url_std(record.signature))


# --- verification steps ----------------------------------------------------------------------------------


def _summary(result):
    """(code, ok, detail) of every step."""
    return [(s.code, s.ok, s.detail_code) for s in result.steps]


def _failed_at(result, code, detail):
    assert not result.valid
    assert result.failed_step == Step(code, False, detail)
    index = STEP_CODES.index(code)
    assert [s.ok for s in result.steps[:index]] == [True] * index
    assert all(s.ok is None and s.detail_code == "skipped" for s in result.steps[index + 1:])
    assert [s.code for s in result.steps] == list(STEP_CODES)


def test_valid_certificate():
    serial, record = issue()
    result = verify_certificate(serial, record, KEYS, TODAY)
    assert result.valid
    assert _summary(result) == [
        ("serial_format", True, None),
        ("record_exists", True, None),
        ("signature", True, None),
        ("key_valid", True, None),
        ("not_revoked", True, None),
        ("within_validity", True, None),
        ("id_match", None, "not_requested"),
        ("pdf_match", None, "not_requested"),
    ]
    assert result.as_dict()["steps"][0] == {"code": "serial_format", "ok": True, "detail": None}


def test_typed_serial_and_old_key_after_rotation():
    serial, record = issue()  # signed by the old key, verified in 2026 when the new key signs
    grouped = f" {serial[0].lower()}{serial[1:3]}-{serial[3:7]}-{serial[7:13]}-{serial[13]} "
    assert verify_certificate(grouped, record, KEYS, TODAY).valid


def _tampered_name(record):
    return replace(record, payload={**record.payload, "holder_name": "张四"})


@pytest.mark.parametrize(("case", "today", "step", "detail"), [
    ("tampered payload", TODAY, "signature", "bad_signature"),
    ("wrong key", TODAY, "signature", "bad_signature"),
    ("unknown key", TODAY, "signature", "unknown_key"),
    ("float in payload", TODAY, "signature", "malformed_payload"),
    ("record says otherwise", TODAY, "signature", "payload_mismatch"),
    ("another serial's record", TODAY, "signature", "payload_mismatch"),
    ("key not yet valid at issue", TODAY, "key_valid", "before_valid_from"),
    ("key expired at issue", TODAY, "key_valid", "after_valid_until"),
    ("revoked", TODAY, "not_revoked", "revoked"),
    ("superseded", TODAY, "not_revoked", "superseded"),
    ("odd status", TODAY, "not_revoked", "unknown_status"),
    ("expired", date(2027, 6, 1), "within_validity", "expired"),
    ("before issue", date(2025, 5, 31), "within_validity", "not_yet_valid"),
    ("unknown serial", TODAY, "record_exists", "not_found"),
])
def test_failures(case, today, step, detail):
    serial, record = issue()
    if case == "tampered payload":
        record = _tampered_name(record)
    elif case == "wrong key":  # signed by a stranger's key, claiming the old key's id
        serial, record = issue(private=STRANGER, kid=OLD_KEY.key_id)
    elif case == "unknown key":
        serial, record = issue(private=STRANGER)
    elif case == "float in payload":
        record = replace(record, payload={**record.payload, "details": {"score": 95.5}})
    elif case == "record says otherwise":  # the database row extends the validity; the signed document does not
        record = replace(record, valid_until=date(2099, 12, 31))
    elif case == "another serial's record":
        serial = make_serial(CertificateKind.AWARD, 2025, "0001", 124)
    elif case == "key not yet valid at issue":  # issued in 2025 with the key that starts in 2026
        serial, record = issue(private=NEW)
    elif case == "key expired at issue":  # issued in 2026 with the key that ended in 2025
        serial, record = issue(private=OLD, issued_at=date(2026, 3, 1), valid_until=None)
    elif case == "revoked":
        record = replace(record, status="revoked", revoked_reason="issued in error")
    elif case == "superseded":
        record = replace(record, status="superseded")
    elif case == "odd status":
        record = replace(record, status="draft")
    elif case == "unknown serial":
        record = None
    _failed_at(verify_certificate(serial, record, KEYS, today), step, detail)


@pytest.mark.parametrize(("serial", "detail"), [
    ("C2500010001232", "check"),
    ("C250001000123", "length"),
    ("C25000A0001231", "format"),
    ("B2500010001231", "kind"),
    ("", "length"),
])
def test_malformed_serial(serial, detail):
    _, record = issue()
    _failed_at(verify_certificate(serial, record, KEYS, TODAY), "serial_format", detail)


def test_without_end_date_never_expires():
    serial, record = issue(valid_until=None)
    assert verify_certificate(serial, record, KEYS, date(2099, 1, 1)).valid


@pytest.mark.parametrize(("given", "step", "ok", "detail"), [
    ({"id_number": ID_NUMBER}, "id_match", True, None),
    ({"id_number": " 11010519491231002x "}, "id_match", True, None),
    ({"id_number": "110105194912310021"}, "id_match", False, "mismatch"),
    ({"id_number": "１１０１０５"}, "id_match", False, "mismatch"),
    ({"pdf_sha256": hashlib.sha256(b"%PDF-1.7 ...").hexdigest().upper()}, "pdf_match", True, None),
    ({"pdf_sha256": hashlib.sha256(b"%PDF-1.7 forged").hexdigest()}, "pdf_match", False, "mismatch"),
    ({"pdf_sha256": "不是哈希"}, "pdf_match", False, "mismatch"),
])
def test_optional_holder_checks(given, step, ok, detail):
    serial, record = issue()
    result = verify_certificate(serial, record, KEYS, TODAY, **given)
    assert next(s for s in result.steps if s.code == step) == Step(step, ok, detail)
    assert result.valid is (ok is True)


def test_optional_checks_without_stored_values():
    serial, record = issue(pdf_sha256=None)
    result = verify_certificate(serial, record, KEYS, TODAY, pdf_sha256="ab" * 32)
    assert result.failed_step == Step("pdf_match", False, "no_pdf_hash")
    studio = make_serial(CertificateKind.STUDIO_HONOR, 2025, "0001", 1)
    payload = certificate_payload(serial=studio, holder_name="王五劳模创新工作室", holder_id_number=None,
                                  achievement="市级劳模和工匠人才创新工作室", issuer_name="某市总工会",
                                  issued_at=date(2025, 6, 1), key_id=OLD_KEY.key_id)
    record = CertificateRecord(payload, sign(canonical_json(payload), OLD), "issued", None, date(2025, 6, 1), None,
                               OLD_KEY.key_id)
    result = verify_certificate(studio, record, KEYS, TODAY, id_number=ID_NUMBER)
    assert result.failed_step == Step("id_match", False, "no_id_hash")
