"""Pure certificate rules: serials, canonical JSON, Ed25519 signatures, verification, Chinese line breaking.

No Flask, no database. Functions that judge user input return a reason code (views translate codes);
functions given programming errors raise ``ValueError``. This docstring is the specification that
integrators implement to check a certificate offline.

1. Serial ``{K}{YY}{ORG4}{SEQ6}{C}`` — 14 characters
----------------------------------------------------
====  ================================================================================================
K     kind letter: C award, P participation, S skill level, A apprentice graduation, M craftsman title,
      H studio honor (:class:`CertificateKind`)
YY    last two digits of the issue year (2000–2099); equals the year of ``issued_at``
ORG4  issuer code: **four decimal digits** ``0000``–``9999`` (alphabet ``0123456789``, no letters)
SEQ6  the issuer's sequence number within the year, ``000001``–``999999``
C     check character ``0``–``9`` or ``X``
====  ================================================================================================

The check character is ISO 7064 MOD 11-2 (the pure system of the resident ID card, GB 11643), computed
by python-stdnum's ``stdnum.iso7064.mod_11_2.calc_check_digit`` over a 13-digit string: the kind's
**check digit** followed by the 12 digits YY ORG4 SEQ6. Kind check digits: C→1, P→2, S→3, A→4, M→5,
H→6 (7, 8, 9 and 0 are free for future kinds). Example: award, 2025, issuer 0001, number 123 →
digits ``1250001000123`` → check character ``1`` → serial ``C2500010001231``.

Why a table for the kind letter, and why ORG4 has no letters: MOD 11-2 has only 11 check values, so at a
position that allows more than 11 characters two of them must give the same check character
(pigeonhole) and replacing one by the other is not detected — whatever letter-to-number mapping is used.
The usual mappings even fail for the six kind letters: ISO 7064's alphanumeric values (A=10 … Z=35)
taken modulo 11 make S (28) and H (17) equal, and expanding them to digit strings (``"25"``, ``"17"``)
makes P and H contribute equally (2·2+5 = 2·1+7 = 9). With at most 10 possible characters per position
and distinct digits for them, **every single-character substitution is detected**, and so is every
transposition of two different characters unless they are exactly 10 positions apart (the order of 2
modulo 11 is 10); a letter moved to a digit position, or a digit to the kind position, already fails the
format check. 10,000 issuer codes per installation, one million certificates per issuer and year.

Input is normalized before parsing: NFKC (full-width characters typed with a Chinese IME), spaces and
hyphens removed, upper case — ``c25-0001-000123-x`` style input is accepted. A serial can never be taken
for the national 22-character certificate number or an 18-character ID number: it has 14 characters and
starts with a letter.

2. Canonical JSON (the bytes that are signed)
---------------------------------------------
The UTF-8 encoding of the JSON text produced by these rules (:func:`canonical_json`):

* no whitespace outside strings; separators ``,`` and ``:``;
* object keys are strings, NFC-normalized, sorted by Unicode code point (= by their UTF-8 bytes);
  two keys equal after normalization are an error;
* strings are NFC-normalized and written as UTF-8 characters (no ``\\uXXXX`` for non-ASCII); the only
  escapes are ``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t`` and ``\\u00xx`` (lowercase hex) for the other
  characters U+0000–U+001F; lone surrogates are an error;
* integers in decimal, within ±(2^53 − 1); ``true``/``false``; ``None`` is kept as ``null`` (never
  dropped);
* **no floating-point numbers** (an error). A ``Decimal`` becomes a string in fixed-point notation that
  keeps its exponent (``Decimal("1.50")`` → ``"1.50"``, ``Decimal("1E+2")`` → ``"100"``; NaN and infinities
  are an error). A ``date`` becomes ``"YYYY-MM-DD"``; a ``datetime`` must be timezone-aware and becomes
  UTC ``"YYYY-MM-DDTHH:MM:SS[.ffffff]Z"`` (the fraction only when non-zero); naive datetimes are an error;
* lists and tuples become arrays in their order; any other type is an error.

For documents whose keys are in the Basic Multilingual Plane this is exactly RFC 8785 (JCS), and for a
payload parsed back from JSON it is Python's
``json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``.

3. The certificate payload (:func:`certificate_payload`)
-------------------------------------------------------
A flat object: ``v`` (1), ``serial``, ``kind`` (``award``, ``participation``, ``skill_level``,
``apprentice_graduation``, ``craftsman_title``, ``studio_honor``), ``holder_name``, ``holder_id_sha256``,
``achievement``, ``issuer_name``, ``issuer_code`` (ORG4), ``issued_at`` and ``valid_until`` (dates or
``null``), ``kid`` (the signing key id) and ``details`` (an object of kind-specific fields, e.g. the
occupation and level of a skill-level certificate; ``{}`` when none).

``holder_id_sha256`` is the lowercase hex SHA-256 of the UTF-8 bytes of ``serial + ":" + id_number``,
the ID number normalized by NFKC, removal of all whitespace and upper-casing (``null`` for holders
without one, e.g. a studio). No secret is involved, so anyone who knows the ID number can check it
offline; the serial as salt makes one person's hashes differ between certificates. It is **not** a
secret: ID numbers have little entropy (region, birth date, sequence) and can be found from the hash by
trying them, so the hash should not be shown to the public more than needed.

4. Signatures and keys
----------------------
Ed25519 (RFC 8032, pure) over the canonical JSON bytes of the payload. Signatures and public keys are
base64url without padding. A key id (``kid``) is the first 16 hex characters of the SHA-256 of the
32-byte raw public key. The public keys document (:func:`public_keys_document`) is::

    {"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "x": "<base64url>",
               "kid": "<16 hex>", "valid_from": "YYYY-MM-DD", "valid_until": "YYYY-MM-DD" | null}]}

A key may sign certificates issued from ``valid_from`` to ``valid_until`` inclusive (``null``: open);
old keys stay in the document after rotation so that old certificates still verify.

5. Verification (:func:`verify_certificate`)
--------------------------------------------
Ordered steps, each ``ok`` (True), failed (False, with a detail code) or not run (None); after the first
failure the remaining steps are reported with ``detail_code="skipped"``:

``serial_format`` (length / format / kind / check) → ``record_exists`` (not_found) → ``signature``
(unknown_key / malformed_payload / bad_signature / payload_mismatch) → ``key_valid`` (before_valid_from /
after_valid_until) → ``not_revoked`` (revoked / superseded / unknown_status) → ``within_validity``
(not_yet_valid / expired) → ``id_match`` (mismatch / no_id_hash) and ``pdf_match`` (mismatch /
no_pdf_hash), the last two only when the visitor gives an ID number or a PDF hash (else
``not_requested``). The certificate is valid when no step failed.

6. Line breaking (:func:`break_lines`)
--------------------------------------
Breaks between any two CJK characters; Latin words and numbers (runs of narrow non-space characters,
ASCII punctuation included, e.g. ``GB/T``, ``5.3%``) stay together; dashes ``——`` and ellipses ``……``
are not split; a line never starts with closing punctuation (:data:`NO_LINE_START`) nor ends with opening
punctuation (:data:`NO_LINE_END`) — the character before is moved to the next line with it (kinsoku,
GB/T 15834-2011 §4). Spaces at the end of a line hang (not measured); ``\\n`` forces a break.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from stdnum.iso7064 import mod_11_2

# --- 1. Serials ------------------------------------------------------------------------------------------


class CertificateKind(StrEnum):
    """Kinds of certificate; the value is the stable code used in payloads and the database."""

    AWARD = "award"  # 获奖证书 / 荣誉证书
    PARTICIPATION = "participation"  # 参赛证书
    SKILL_LEVEL = "skill_level"  # 职业技能等级证书
    APPRENTICE_GRADUATION = "apprentice_graduation"  # 出师证书
    CRAFTSMAN_TITLE = "craftsman_title"  # 工匠称号
    STUDIO_HONOR = "studio_honor"  # 创新工作室荣誉

    @property
    def letter(self) -> str:
        return _KIND_LETTER[self]

    @property
    def check_digit(self) -> str:
        """The digit standing for the kind letter in the check character computation."""
        return _KIND_CHECK_DIGIT[self]

    @classmethod
    def from_letter(cls, letter: str) -> CertificateKind:
        """The kind for a serial's first letter; ``ValueError`` for an unknown letter."""
        try:
            return _LETTER_KIND[letter]
        except KeyError:
            raise ValueError(f"unknown certificate kind letter {letter!r}") from None


_KIND_LETTER = {
    CertificateKind.AWARD: "C",
    CertificateKind.PARTICIPATION: "P",
    CertificateKind.SKILL_LEVEL: "S",
    CertificateKind.APPRENTICE_GRADUATION: "A",
    CertificateKind.CRAFTSMAN_TITLE: "M",
    CertificateKind.STUDIO_HONOR: "H",
}
_LETTER_KIND = {letter: kind for kind, letter in _KIND_LETTER.items()}
_KIND_CHECK_DIGIT = {kind: str(i) for i, kind in enumerate(CertificateKind, start=1)}  # C1 P2 S3 A4 M5 H6

SERIAL_LENGTH = 14
ISSUER_CODE_ALPHABET = "0123456789"
SEQ_MAX = 999_999
_SERIAL_RE = re.compile(r"^[A-Z][0-9]{12}[0-9X]$")
_BODY_RE = re.compile(r"^[A-Z][0-9]{12}$")
_ISSUER_CODE_RE = re.compile(r"^[0-9]{4}$")
_SERIAL_SEPARATORS = re.compile(r"[\s\-]+")

SerialError = Literal["length", "format", "kind", "check"]


@dataclass(frozen=True, slots=True)
class ParsedSerial:
    serial: str  # normalized, 14 characters
    kind: CertificateKind
    year: int  # 2000 + YY
    issuer_code: str  # ORG4
    seq: int


def normalize_serial(value: str) -> str:
    """Full-width to ASCII, spaces and hyphens removed, upper case."""
    return _SERIAL_SEPARATORS.sub("", unicodedata.normalize("NFKC", value or "")).upper()


def is_issuer_code(code: str) -> bool:
    return isinstance(code, str) and bool(_ISSUER_CODE_RE.match(code))


def serial_check_char(body: str) -> str:
    """The check character for the first 13 characters of a serial (kind letter + 12 digits)."""
    if not isinstance(body, str) or not _BODY_RE.match(body):
        raise ValueError(f"not a serial body (a letter and 12 digits): {body!r}")
    kind = CertificateKind.from_letter(body[0])
    return mod_11_2.calc_check_digit(kind.check_digit + body[1:])


def make_serial(kind: CertificateKind | str, year: int, org4: str, seq: int) -> str:
    """``make_serial(CertificateKind.AWARD, 2025, "0001", 123)`` → ``"C2500010001231"``."""
    kind = CertificateKind(kind)
    if not isinstance(year, int) or not 2000 <= year <= 2099:
        raise ValueError(f"year must be 2000–2099, got {year!r}")
    if not is_issuer_code(org4):
        raise ValueError(f"issuer code must be 4 digits, got {org4!r}")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= SEQ_MAX:
        raise ValueError(f"sequence must be 1–{SEQ_MAX}, got {seq!r}")
    body = f"{kind.letter}{year % 100:02d}{org4}{seq:06d}"
    return body + serial_check_char(body)


def parse_serial(value: str) -> ParsedSerial | SerialError:
    """The parsed serial, or the first problem: ``length``, ``format``, ``kind`` or ``check``."""
    s = normalize_serial(value)
    if len(s) != SERIAL_LENGTH:
        return "length"
    if not _SERIAL_RE.match(s):
        return "format"
    if s[0] not in _LETTER_KIND:
        return "kind"
    if serial_check_char(s[:13]) != s[13]:
        return "check"
    return ParsedSerial(
        serial=s, kind=_LETTER_KIND[s[0]], year=2000 + int(s[1:3]), issuer_code=s[3:7], seq=int(s[7:13])
    )


# --- verification codes ---------------------------------------------------------------------------------------
#
# Serials are sequential, so anyone can type the next one. By serial alone the public page therefore confirms only
# that a certificate is valid, its kind, issuer and date; who holds it (masked name) and what for (achievement) need
# the certificate's random verification code — carried in its QR address, ``/v/<serial>?c=<code>`` — or the
# holder's full name (as the national lookup asks for serial + name).

VERIFY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read off paper without doubt
VERIFY_CODE_LENGTH = 10  # 31**10 ≈ 8·10^14 (49 bits): far past any rate-limited guessing


def new_verify_code() -> str:
    """A fresh random verification code (``secrets``)."""
    return "".join(secrets.choice(VERIFY_CODE_ALPHABET) for _ in range(VERIFY_CODE_LENGTH))


def normalize_verify_code(value: str | None) -> str:
    """As typed or scanned: full-width to ASCII, spaces and hyphens removed, upper case."""
    return normalize_serial(value or "")


def same_verify_code(given: str | None, stored: str | None) -> bool:
    """Whether ``given`` is the certificate's code (constant time; an empty or missing code never matches)."""
    if not given or not stored:
        return False
    return hmac.compare_digest(normalize_verify_code(given).encode(), stored.encode())


# --- 2. Canonical JSON -------------------------------------------------------------------------------------


class CanonicalizationError(ValueError):
    """A value that has no canonical JSON form (float, naive datetime, unknown type, …)."""


MAX_SAFE_INTEGER = 2**53 - 1


def _canonical_str(value: str) -> str:
    s = unicodedata.normalize("NFC", str.__str__(value))
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalizationError("string with a lone surrogate") from None
    return s


def _canonical_value(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _canonical_str(value)
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalizationError(f"integer outside ±(2**53 - 1): {value}")
        return int(value)
    if isinstance(value, float):
        raise CanonicalizationError("floats are not allowed in signed documents; use Decimal or a string")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CanonicalizationError(f"non-finite Decimal: {value}")
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise CanonicalizationError("naive datetime; give a timezone-aware one")
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{utc.microsecond:06d}" if utc.microsecond else "") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalizationError(f"object keys must be strings, got {type(key).__name__}")
            k = _canonical_str(key)
            if k in out:
                raise CanonicalizationError(f"duplicate key after NFC normalization: {k!r}")
            out[k] = _canonical_value(item)
        return out
    if isinstance(value, list | tuple):
        return [_canonical_value(item) for item in value]
    raise CanonicalizationError(f"type {type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 JSON bytes of ``value`` (see the module docstring, section 2)."""
    return json.dumps(
        _canonical_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


# --- 3. Certificate payload ----------------------------------------------------------------------------

PAYLOAD_VERSION = 1
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def normalize_id_number(value: str) -> str:
    """NFKC (full-width digits), all whitespace removed, upper case — as hashed in ``holder_id_sha256``."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or "")).upper()


def holder_id_hash(serial: str, id_number: str) -> str:
    """Lowercase hex SHA-256 of ``serial:id_number`` (both normalized)."""
    material = f"{normalize_serial(serial)}:{normalize_id_number(id_number)}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def certificate_payload(
    *,
    serial: str,
    holder_name: str,
    holder_id_number: str | None,
    achievement: str,
    issuer_name: str,
    issued_at: date,
    key_id: str,
    valid_until: date | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The document to sign. Kind, issuer code and year come from the serial (one source of truth).

    Raises ``ValueError`` for inconsistent input: a malformed serial, ``issued_at`` in another year than
    the serial's YY, ``valid_until`` before ``issued_at``, a malformed key id, an empty name or
    achievement, or details that cannot be canonicalized.
    """
    parsed = parse_serial(serial)
    if isinstance(parsed, str):
        raise ValueError(f"invalid serial {serial!r}: {parsed}")
    if normalize_serial(serial) != serial:
        raise ValueError(f"serial must be given normalized: {serial!r}")
    if type(issued_at) is not date:
        raise ValueError("issued_at must be a date (not a datetime)")
    if issued_at.year != parsed.year:
        raise ValueError(f"issued_at {issued_at} is not in the serial's year {parsed.year}")
    if valid_until is not None and (type(valid_until) is not date or valid_until < issued_at):
        raise ValueError("valid_until must be a date on or after issued_at")
    if not isinstance(key_id, str) or not _KEY_ID_RE.match(key_id):
        raise ValueError(f"key id must be 16 lowercase hex characters, got {key_id!r}")
    holder_name = (holder_name or "").strip()
    achievement = (achievement or "").strip()
    if not holder_name or not achievement or not (issuer_name or "").strip():
        raise ValueError("holder name, achievement and issuer name are required")
    id_hash = None
    if holder_id_number is not None:
        if not normalize_id_number(holder_id_number):
            raise ValueError("empty holder ID number (give None for holders without one)")
        id_hash = holder_id_hash(serial, holder_id_number)
    payload = {
        "v": PAYLOAD_VERSION,
        "serial": parsed.serial,
        "kind": str(parsed.kind),
        "holder_name": holder_name,
        "holder_id_sha256": id_hash,
        "achievement": achievement,
        "issuer_name": issuer_name.strip(),
        "issuer_code": parsed.issuer_code,
        "issued_at": issued_at,
        "valid_until": valid_until,
        "kid": key_id,
        "details": dict(details or {}),
    }
    # Return the canonical form (NFC strings, ISO dates): what is stored is exactly what is signed.
    canonical: dict[str, Any] = json.loads(canonical_json(payload))
    return canonical


# --- 4. Ed25519 signatures and keys --------------------------------------------------------------------


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; ``ValueError`` for anything else (also non-canonical forms)."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url without padding") from None
    if b64url_encode(data) != text:  # unused trailing bits set: a second spelling of the same bytes
        raise ValueError("non-canonical base64url")
    return data


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32-byte raw public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key_raw: bytes) -> str:
    """First 16 hex characters of the SHA-256 of the raw public key."""
    if len(public_key_raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def sign(payload_bytes: bytes, private_key: Ed25519PrivateKey) -> str:
    """The Ed25519 signature of ``payload_bytes``, base64url without padding (86 characters)."""
    return b64url_encode(private_key.sign(payload_bytes))


def verify(payload_bytes: bytes, signature: str, public_key_raw: bytes) -> bool:
    """True when ``signature`` (base64url) is a valid Ed25519 signature of ``payload_bytes``."""
    try:
        sig = b64url_decode(signature)
        if len(sig) != 64:
            return False
        Ed25519PublicKey.from_public_bytes(public_key_raw).verify(sig, payload_bytes)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A public signing key and the issue dates it may sign (inclusive; ``valid_until`` None = open)."""

    key_id: str
    public_key_raw: bytes
    valid_from: date
    valid_until: date | None = None

    def __post_init__(self) -> None:
        if key_id(self.public_key_raw) != self.key_id:
            raise ValueError("key id does not match the public key")
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise ValueError("valid_until before valid_from")

    @classmethod
    def for_key(cls, public_key_raw: bytes, valid_from: date, valid_until: date | None = None) -> KeyRecord:
        return cls(key_id(public_key_raw), public_key_raw, valid_from, valid_until)

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


def public_keys_document(records: Iterable[KeyRecord]) -> dict[str, Any]:
    """The JWKS-like document published at ``/.well-known/jiangxin-keys.json`` (oldest key first)."""
    keys = sorted(records, key=lambda r: (r.valid_from, r.key_id))
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "x": b64url_encode(r.public_key_raw),
                "kid": r.key_id,
                "valid_from": r.valid_from.isoformat(),
                "valid_until": r.valid_until.isoformat() if r.valid_until else None,
            }
            for r in keys
        ]
    }


def keys_from_document(document: Mapping[str, Any]) -> list[KeyRecord]:
    """Read a public keys document back; ``ValueError`` for a malformed one."""
    try:
        out = []
        for jwk in document["keys"]:
            if jwk["kty"] != "OKP" or jwk["crv"] != "Ed25519":
                continue  # another key type: not ours to use
            until = jwk.get("valid_until")
            out.append(KeyRecord(
                key_id=jwk["kid"],
                public_key_raw=b64url_decode(jwk["x"]),
                valid_from=date.fromisoformat(jwk["valid_from"]),
                valid_until=date.fromisoformat(until) if until else None,
            ))
        return out
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed keys document: {exc!r}") from None


# --- 5. Verification -------------------------------------------------------------------------------------


class CertificateStatus(StrEnum):
    ISSUED = "issued"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"  # a correction was issued under a new serial


@dataclass(frozen=True, slots=True)
class CertificateRecord:
    """What the store holds for a serial (plain values, no ORM)."""

    payload: Mapping[str, Any]
    signature: str
    status: str
    revoked_reason: str | None
    issued_at: date
    valid_until: date | None
    key_id: str
    pdf_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    code: str
    ok: bool | None  # None: not run
    detail_code: str | None = None


@dataclass(frozen=True, slots=True)
class VerificationResult:
    steps: tuple[Step, ...]
    valid: bool

    @property
    def failed_step(self) -> Step | None:
        return next((s for s in self.steps if s.ok is False), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "steps": [{"code": s.code, "ok": s.ok, "detail": s.detail_code} for s in self.steps],
        }


STEP_CODES = (
    "serial_format",
    "record_exists",
    "signature",
    "key_valid",
    "not_revoked",
    "within_validity",
    "id_match",
    "pdf_match",
)


class _Failed(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def _check_signature(serial: str, record: CertificateRecord, keys: Mapping[str, KeyRecord]) -> KeyRecord:
    key = keys.get(record.key_id)
    if key is None:
        raise _Failed("unknown_key")
    try:
        payload_bytes = canonical_json(record.payload)
    except CanonicalizationError:
        raise _Failed("malformed_payload") from None
    if not verify(payload_bytes, record.signature, key.public_key_raw):
        raise _Failed("bad_signature")
    p = record.payload
    expected = {
        "serial": serial,
        "kid": record.key_id,
        "issued_at": record.issued_at.isoformat(),
        "valid_until": record.valid_until.isoformat() if record.valid_until else None,
    }
    if any(p.get(k) != v for k, v in expected.items()):
        raise _Failed("payload_mismatch")  # the signed document says otherwise than the record
    return key


def verify_certificate(
    serial: str,
    record: CertificateRecord | None,
    keys: Iterable[KeyRecord],
    today: date,
    *,
    id_number: str | None = None,
    pdf_sha256: str | None = None,
) -> VerificationResult:
    """Run the verification steps in order (module docstring, section 5)."""
    key_map = {k.key_id: k for k in keys}
    state: dict[str, Any] = {}

    def serial_format() -> None:
        parsed = parse_serial(serial)
        if isinstance(parsed, str):
            raise _Failed(parsed)
        state["serial"] = parsed.serial

    def stored() -> CertificateRecord:
        """The record; the steps after ``record_exists`` run only when there is one."""
        if record is None:
            raise _Failed("not_found")
        return record

    def record_exists() -> None:
        stored()

    def signature() -> None:
        state["key"] = _check_signature(state["serial"], stored(), key_map)

    def key_valid() -> None:
        key: KeyRecord = state["key"]
        issued_at = stored().issued_at
        if issued_at < key.valid_from:
            raise _Failed("before_valid_from")
        if key.valid_until is not None and issued_at > key.valid_until:
            raise _Failed("after_valid_until")

    def not_revoked() -> None:
        status = stored().status
        if status == CertificateStatus.ISSUED:
            return
        if status in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED):
            raise _Failed(str(status))
        raise _Failed("unknown_status")

    def within_validity() -> None:
        r = stored()
        if today < r.issued_at:
            raise _Failed("not_yet_valid")
        if r.valid_until is not None and today > r.valid_until:
            raise _Failed("expired")

    def id_match() -> str | None:
        if id_number is None:
            return "not_requested"
        signed = stored().payload.get("holder_id_sha256")
        if not isinstance(signed, str):
            raise _Failed("no_id_hash")
        if not hmac.compare_digest(signed.encode(), holder_id_hash(state["serial"], id_number).encode()):
            raise _Failed("mismatch")
        return None

    def pdf_match() -> str | None:
        if pdf_sha256 is None:
            return "not_requested"
        stored_sha256 = stored().pdf_sha256
        if not stored_sha256:
            raise _Failed("no_pdf_hash")
        if not hmac.compare_digest(stored_sha256.lower().encode(), pdf_sha256.strip().lower().encode()):
            raise _Failed("mismatch")
        return None

    checks: list[tuple[str, Callable[[], str | None]]] = [
        ("serial_format", serial_format),
        ("record_exists", record_exists),
        ("signature", signature),
        ("key_valid", key_valid),
        ("not_revoked", not_revoked),
        ("within_validity", within_validity),
        ("id_match", id_match),
        ("pdf_match", pdf_match),
    ]
    steps: list[Step] = []
    failed = False
    for code, check in checks:
        if failed:
            steps.append(Step(code, None, "skipped"))
            continue
        try:
            skipped = check()
        except _Failed as f:
            steps.append(Step(code, False, f.code))
            failed = True
            continue
        steps.append(Step(code, None, skipped) if skipped else Step(code, True))
    return VerificationResult(steps=tuple(steps), valid=not failed)


# --- 6. Chinese line breaking ------------------------------------------------------------------------

#: May not start a line (GB/T 15834-2011 §4.1: 句号 逗号 顿号 分号 冒号 问号 叹号, closing quotes,
#: brackets and 书名号, 连接号 and 间隔号; plus their ASCII forms when they stand alone).
NO_LINE_START = frozenset("，。、．；：？！）］｝》〉」』】〕〗〙〛”’｠｣～·・％‰℃" + ",.;:?!)]}%")
#: May not end a line: opening quotes, brackets and 书名号, and currency/number prefixes.
NO_LINE_END = frozenset("（［｛《〈「『【〔〖〘〚“‘｟｢￥＄＃№" + "([{$#")
_INSEPARABLE = frozenset("—―…⋯")  # runs of dashes / ellipses are one unit
_CJK_PUNCT = frozenset(c for c in NO_LINE_START | NO_LINE_END | _INSEPARABLE if not c.isascii())


def _is_word_char(ch: str) -> bool:
    """Part of a Latin word or number: narrow, not a space, not CJK punctuation (full-width a–z, 0–9 too)."""
    if ch.isspace() or ch in _CJK_PUNCT:
        return False
    if unicodedata.east_asian_width(ch) not in ("W", "F"):
        return True
    return ch.isascii() or ("\uff10" <= ch <= "\uff19" or "\uff21" <= ch <= "\uff3a" or "\uff41" <= ch <= "\uff5a")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        j = i + 1
        if ch == "\r" and j < n and text[j] == "\n":
            j += 1
        elif ch in "\r\n":
            pass
        elif ch.isspace():
            while j < n and text[j].isspace() and text[j] not in "\r\n":
                j += 1
        elif ch in _INSEPARABLE:
            kind = ch in "—―"
            while j < n and text[j] in _INSEPARABLE and (text[j] in "—―") == kind:
                j += 1
        elif _is_word_char(ch):
            while j < n and _is_word_char(text[j]):
                j += 1
        out.append(text[i:j])
        i = j
    return out


def _groups(text: str) -> list[str]:
    """Units that are never split: tokens joined where a break is forbidden; a group may end with \\n."""
    groups: list[str] = []
    for tok in _tokens(text):
        if groups and not groups[-1].endswith(("\n", "\r")):
            prev = groups[-1]
            last_visible = prev.rstrip()[-1:]
            glue = (
                tok.isspace()  # spaces and line ends attach to what precedes them
                or tok[0] in NO_LINE_START
                or last_visible in NO_LINE_END
            )
            if glue:
                groups[-1] = prev + tok
                continue
        groups.append(tok)
    return groups


def break_lines(text: str, max_width: float, width_of: Callable[[str], float]) -> list[str]:
    """Greedy line breaking of ``text`` into lines no wider than ``max_width``.

    ``width_of(s)`` is the rendered width of ``s``. ``"".join(result) == text``. Trailing spaces and the
    ``\\n`` ending a line are kept in it but not measured (the renderer strips them). A line is wider than
    ``max_width`` only when it holds a single unit that cannot be broken (a long Latin word).
    """
    if max_width <= 0:
        raise ValueError("max_width must be positive")
    lines: list[str] = []
    current = ""
    for group in _groups(text):
        if current and width_of((current + group).rstrip()) > max_width + 1e-9:
            lines.append(current)
            current = ""
        current += group
        if group.endswith(("\n", "\r")):
            lines.append(current)
            current = ""
    if current:
        lines.append(current)
    return lines
