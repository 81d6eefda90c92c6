"""Shared set-up of the issuing/verification tests: two enterprises, their workers, one user per role.

Import the fixtures into a test module (``from tests.certificates.certcore_world import world, _transaction``):
``_transaction`` brings back the per-test rolled-back database transaction that tests/certificates/conftest.py
switches off for the pure domain tests.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from certificates import domain
from tests.conftest import _transaction, make_resident_id  # noqa: F401  (re-exported fixture)

ID_A = make_resident_id(701, date(1985, 5, 17))
ID_B = make_resident_id(702, date(1992, 3, 9))


@dataclass
class World:
    ent_a: Any
    ent_b: Any
    worker_a: Any
    worker_a2: Any
    worker_b: Any
    organizer: Any
    admin: Any
    hr_a: Any
    hr_b: Any
    worker_user_a: Any
    worker_user_b: Any
    judge: Any


@pytest.fixture
def world(app_ctx, create_enterprise, create_worker, create_user) -> World:
    ent_a = create_enterprise(name="甲机械厂")
    ent_b = create_enterprise(name="乙电力公司")
    worker_a = create_worker(name="张帅坤", enterprise=ent_a, id_number=ID_A)
    worker_a2 = create_worker(name="欧阳娜娜", enterprise=ent_a)
    worker_b = create_worker(name="李四", enterprise=ent_b, id_number=ID_B)
    return World(
        ent_a=ent_a, ent_b=ent_b, worker_a=worker_a, worker_a2=worker_a2, worker_b=worker_b,
        organizer=create_user("organizer"), admin=create_user("admin"),
        hr_a=create_user("hr", enterprise=ent_a), hr_b=create_user("hr", enterprise=ent_b),
        worker_user_a=create_user("worker", worker=worker_a), worker_user_b=create_user("worker", worker=worker_b),
        judge=create_user("judge"),
    )


@pytest.fixture
def own_keys(app, tmp_path, monkeypatch):
    """A key ring of this test's own (so rotating or forging keys does not touch the run's ring)."""
    path = tmp_path / "keys" / "ring.json"
    monkeypatch.setitem(app.config, "CERTIFICATE_KEYS_PATH", str(path))
    return path


def write_ring(path, entries: list[tuple[Ed25519PrivateKey, date, date | None]]) -> None:
    """Write a key ring by hand (e.g. a key valid from the past, to issue back-dated certificates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"keys": [{
        "kid": domain.key_id(domain.raw_public_key(k)),
        "private_key": domain.b64url_encode(k.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())),
        "valid_from": start.isoformat(), "valid_until": end.isoformat() if end else None,
    } for k, start, end in entries]}
    path.write_text(json.dumps(data), encoding="utf-8")
    os.chmod(path, 0o600)
