# ruff: noqa: F811  (fixtures imported from certcore_world are used as test arguments)
"""``flask certs verify | export | rotate-key | keys``: steps printed, exit code 1 when not valid, a PDF written,
the key rotated with the old one kept."""

from __future__ import annotations

import json

import pytest

from certificates.services import keys
from certificates.services.issuance import issue_certificate, revoke_certificate
from tests.certificates.certcore_world import _transaction, own_keys, world  # noqa: F401


@pytest.fixture
def cert(world):
    return issue_certificate(world.organizer, kind="award", worker_id=world.worker_a.id, achievement="荣获一等奖").certificate


def _run(app, *args):
    return app.test_cli_runner().invoke(args=["certs", *args])


def test_verify_valid(app, cert):
    result = _run(app, "verify", cert.serial.lower())
    assert result.exit_code == 0, result.output
    assert f"certificate {cert.serial}" in result.output and result.output.strip().endswith("VALID")
    assert result.output.count("[OK  ]") == 6 and "张*坤" in result.output and "张帅坤" not in result.output


def test_verify_revoked_exits_1(app, world, cert):
    revoke_certificate(world.organizer, cert.id, reason="撤销")
    result = _run(app, "verify", cert.serial)
    assert result.exit_code == 1 and "[FAIL]" in result.output and "NOT VALID" in result.output


@pytest.mark.parametrize("serial", ["C2500010001232", "nonsense", "C2599990999999"])
def test_verify_bad_or_unknown_serial_exits_1(app, serial):
    result = _run(app, "verify", serial)
    assert result.exit_code == 1 and "NOT VALID" in result.output and "ID number matches" not in result.output


def test_export_writes_the_pdf(app, cert, tmp_path):
    out = tmp_path / "cert.pdf"
    result = _run(app, "export", cert.serial, "-o", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and str(len(data)) in result.output
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    assert cert.serial in text
    missing = _run(app, "export", "C2599990999999", "-o", str(tmp_path / "x.pdf"))
    assert missing.exit_code == 1 and not (tmp_path / "x.pdf").exists()


def test_rotate_key_and_list(app, cert, own_keys):
    first = keys.active_key().key_id
    result = _run(app, "rotate-key")
    assert result.exit_code == 0, result.output
    assert f"old key {first}" in result.output
    ring = json.loads(own_keys.read_text())["keys"]
    assert len(ring) == 2 and ring[0]["valid_until"] is not None and ring[1]["valid_until"] is None
    listing = _run(app, "keys")
    assert listing.exit_code == 0 and first in listing.output and "open (active)" in listing.output
    assert "private" not in listing.output and ring[0]["private_key"] not in listing.output
