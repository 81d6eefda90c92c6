"""Keyed hashing and encryption of ID numbers (sensitive personal information under PIPL).

The HMAC finds duplicates without keeping the number; AES-GCM keeps a copy only documents that must
print the number can decrypt. Keys come from the configuration (instance/secrets.json by default).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class IdCipher:
    """Used per row by bulk imports, so the keyed HMAC is set up once and copied for each number
    (``hmac.new`` would redo the key schedule every call)."""

    def __init__(self, hmac_key: str, encryption_key: str) -> None:
        self._mac = hmac.new(hmac_key.encode(), digestmod=hashlib.sha256)
        self._aead = AESGCM(base64.urlsafe_b64decode(encryption_key))

    def hash(self, id_type: str, number: str) -> str:
        mac = self._mac.copy()
        mac.update(f"{id_type}:{number}".encode())
        return mac.hexdigest()

    def encrypt(self, number: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, number.encode(), b"id")

    def decrypt(self, blob: bytes) -> str:
        return self._aead.decrypt(blob[:12], blob[12:], b"id").decode()


def id_cipher() -> IdCipher:
    from flask import current_app

    cipher = current_app.extensions.get("id_cipher")
    if cipher is None:
        cipher = IdCipher(current_app.config["ID_HMAC_KEY"], current_app.config["ID_ENCRYPTION_KEY"])
        current_app.extensions["id_cipher"] = cipher
    return cipher


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
