"""Ed25519 signing keys of certificates: generated into ``instance/`` on first use, rotated, published.

The key ring is one JSON file, ``instance/certificate-signing-keys.json`` (``CERTIFICATE_KEYS_PATH``
overrides it), written with 0600 permissions and replaced atomically::

    {"keys": [{"kid": "<16 hex>", "private_key": "<base64url 32-byte seed>",
               "valid_from": "YYYY-MM-DD", "valid_until": "YYYY-MM-DD" | null}]}

The *active* key is the one with ``valid_until`` null (exactly one). ``rotate_key()`` closes the active key
(``valid_until`` = today) and adds a new one valid from today: certificates signed by the old key keep
verifying, because the old key stays in the ring and in the published keys document. Several processes
(gunicorn workers, the CLI) share the file: creation and rotation hold an exclusive ``flock`` on a lock file
next to it, and each process reloads the ring when the file changed (one ``stat`` per use), so a rotation
done with ``flask --app wsgi certs rotate-key`` is picked up by running servers without a restart.
In a deployment on several machines the file must be shared (or copied) like ``instance/secrets.json``.

Public part: :func:`key_records` (``certificates.domain.KeyRecord`` for every key, for verification) and
:func:`keys_document` (served at ``/.well-known/jiangxin-keys.json``).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from flask import current_app

from certificates import domain

KEYS_FILENAME = "certificate-signing-keys.json"


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    record: domain.KeyRecord

    @property
    def key_id(self) -> str:
        return self.record.key_id


@dataclass(frozen=True)
class _Ring:
    signature: tuple[int, int, int]  # (inode, size, mtime_ns) of the file it was read from
    keys: tuple[SigningKey, ...]


_cache: dict[str, _Ring] = {}
_cache_lock = threading.Lock()


def keys_path() -> Path:
    configured = current_app.config.get("CERTIFICATE_KEYS_PATH")
    if configured:
        return Path(configured)
    return Path(current_app.config.get("INSTANCE_PATH") or current_app.instance_path) / KEYS_FILENAME


@contextmanager
def _exclusive(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _seed(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _entry(key: Ed25519PrivateKey, valid_from: date, valid_until: date | None = None) -> dict[str, Any]:
    return {
        "kid": domain.key_id(domain.raw_public_key(key)),
        "private_key": domain.b64url_encode(_seed(key)),
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat() if valid_until else None,
    }


def _write(path: Path, entries: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"keys": entries}, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _read_entries(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8"))["keys"])


def _parse(entries: list[dict[str, Any]]) -> tuple[SigningKey, ...]:
    out = []
    for e in entries:
        private = Ed25519PrivateKey.from_private_bytes(domain.b64url_decode(e["private_key"]))
        until = e.get("valid_until")
        record = domain.KeyRecord.for_key(
            domain.raw_public_key(private), date.fromisoformat(e["valid_from"]), date.fromisoformat(until) if until else None
        )
        if record.key_id != e["kid"]:
            raise ValueError(f"key ring {e['kid']}: the key id does not match the key")
        out.append(SigningKey(private, record))
    if sum(1 for k in out if k.record.valid_until is None) != 1:
        raise ValueError("the key ring must have exactly one active key (valid_until null)")
    return tuple(out)


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def today() -> date:
    """Today in the installation's time zone (Asia/Shanghai): the same calendar as issue dates, so a key closed
    "today" covers every certificate it signed today."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    tz = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai"
    return datetime.now(UTC).astimezone(ZoneInfo(tz)).date()


def _ring(create: bool = True) -> tuple[SigningKey, ...]:
    path = keys_path()
    cache_key = str(path)
    sig = _stat(path)
    with _cache_lock:
        ring = _cache.get(cache_key)
        if ring is not None and sig is not None and ring.signature == sig:
            return ring.keys
    if sig is None:
        if not create:
            return ()
        with _exclusive(path):
            if _stat(path) is None:  # another process may have created it while we waited
                _write(path, [_entry(Ed25519PrivateKey.generate(), today())])
                current_app.logger.info("certificates: generated a new Ed25519 signing key in %s", path)
        sig = _stat(path)
    entries = _read_entries(path)
    keys = _parse(entries)
    with _cache_lock:
        _cache[cache_key] = _Ring(sig, keys)
    return keys


def active_key() -> SigningKey:
    """The key that signs new certificates (generated on first use)."""
    return next(k for k in _ring() if k.record.valid_until is None)


def key_records() -> list[domain.KeyRecord]:
    """Every key's public record, old ones included (verification needs them)."""
    return [k.record for k in _ring()]


def keys_document() -> dict[str, Any]:
    """The public keys document (``certificates.domain.public_keys_document``)."""
    return domain.public_keys_document(key_records())


def rotate_key(day: date | None = None) -> tuple[domain.KeyRecord, domain.KeyRecord]:
    """Close the active key (valid until ``day``, default today) and add a new one valid from ``day``; returns
    (old, new).

    Certificates issued today by either key verify; the old key signs nothing new from now on.
    """
    day = day or today()
    path = keys_path()
    _ring()  # make sure there is a ring to rotate
    with _exclusive(path):
        entries = _read_entries(path)
        current = [e for e in entries if e.get("valid_until") is None]
        if len(current) != 1:
            raise ValueError("the key ring must have exactly one active key")
        if date.fromisoformat(current[0]["valid_from"]) > day:
            raise ValueError("the active key starts after the rotation date")
        current[0]["valid_until"] = day.isoformat()
        new = Ed25519PrivateKey.generate()
        entries.append(_entry(new, day))
        _write(path, entries)
    keys = _ring()
    old = next(k.record for k in keys if k.key_id == current[0]["kid"])
    return old, next(k.record for k in keys if k.record.valid_until is None)
