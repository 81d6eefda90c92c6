# ruff: noqa: F811  (fixtures imported from certcore_world are used as test arguments)
"""The signing key ring: generated on first use (0600), rotated (old keys keep verifying), reloaded when
another process changes it, published without private material."""

from __future__ import annotations

import json
import stat
import threading
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import domain
from certificates.services import keys
from certificates.services.issuance import issue_certificate
from certificates.services.verification import verify_serial
from tests.certificates.certcore_world import _transaction, own_keys, world  # noqa: F401


def test_generated_on_first_use_with_private_permissions(app_ctx, own_keys):
    assert not own_keys.exists()
    key = keys.active_key()
    assert own_keys.exists() and stat.S_IMODE(own_keys.stat().st_mode) == 0o600
    data = json.loads(own_keys.read_text())
    [entry] = data["keys"]
    assert entry["kid"] == key.key_id and entry["valid_until"] is None
    assert entry["valid_from"] == keys.today().isoformat()
    assert keys.active_key().key_id == key.key_id  # the same key on the next use
    doc = keys.keys_document()
    assert doc["keys"][0]["x"] == domain.b64url_encode(domain.raw_public_key(key.private_key))
    assert entry["private_key"] not in json.dumps(doc)


def test_concurrent_first_use_creates_one_key(app, own_keys):
    ids, errors = [], []

    def use():
        try:
            with app.app_context():
                ids.append(keys.active_key().key_id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 1
    assert len(json.loads(own_keys.read_text())["keys"]) == 1


def test_rotation_keeps_old_certificates_valid(world, own_keys):
    before = issue_certificate(world.organizer, kind="award", worker_id=world.worker_a.id, achievement="一等奖").certificate
    old, new = keys.rotate_key()
    assert old.key_id == before.key_id and old.valid_until == keys.today()
    assert new.valid_until is None and new.valid_from == old.valid_until
    after = issue_certificate(world.organizer, kind="award", worker_id=world.worker_a2.id, achievement="一等奖").certificate
    assert after.key_id == new.key_id != before.key_id
    assert verify_serial(before.serial).valid and verify_serial(after.serial).valid
    assert {r.key_id for r in keys.key_records()} == {old.key_id, new.key_id}
    assert stat.S_IMODE(own_keys.stat().st_mode) == 0o600


def test_rotation_by_another_process_is_picked_up(app_ctx, own_keys):
    first = keys.active_key()
    data = json.loads(own_keys.read_text())
    # What `flask certs rotate-key` in another process leaves behind: the file replaced.
    other = keys._entry(Ed25519PrivateKey.generate(), keys.today())
    data["keys"][0]["valid_until"] = keys.today().isoformat()
    data["keys"].append(other)
    tmp = own_keys.with_name("other.tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(own_keys)
    assert keys.active_key().key_id == other["kid"] != first.key_id


def test_a_broken_ring_is_refused(app_ctx, own_keys):
    keys.active_key()
    data = json.loads(own_keys.read_text())
    data["keys"][0]["valid_until"] = (keys.today() + timedelta(days=1)).isoformat()  # no active key left
    own_keys.write_text(json.dumps(data))
    with pytest.raises(ValueError):
        keys.active_key()
