"""Service details: the fast ID protector matches app.crypto, enterprise scope, staged data."""

from __future__ import annotations

import base64

import pytest

from app.crypto import IdCipher, id_cipher
from app.errors import DomainError, NotFound, PermissionDenied
from app.people.imports import services
from tests.app.people.imports.conftest import counts, csv_bytes, row


@pytest.mark.parametrize("hmac_key", ["short", "k" * 64, "long-" * 30, "密钥-unicode"])
def test_fast_id_protector_matches_id_cipher(hmac_key):
    enc_key = base64.urlsafe_b64encode(bytes(range(32))).decode()
    fast, reference = services._IdProtector(hmac_key, enc_key), IdCipher(hmac_key, enc_key)
    for number in ("11010519491231002X", "E1234567", "A" * 32):
        assert fast.hash("resident", number) == reference.hash("resident", number)
        assert reference.decrypt(fast.encrypt(number)) == number
    blobs = {fast.encrypt("x") for _ in range(2000)}  # nonces never repeat across refills
    assert len(blobs) == 2000


def test_protector_uses_the_app_keys(app_ctx):
    assert services._id_protector().hash("resident", "X") == id_cipher().hash("resident", "X")


def test_enterprise_scope(world, app, create_user):
    from app.accounts.models import Role

    with app.test_request_context():
        with pytest.raises(NotFound):
            services.preview_import(world["hr_b"], world["ent_a"].id, "a.csv", csv_bytes([row(1)]))
        with pytest.raises(PermissionDenied):
            services.preview_import(create_user(Role.JUDGE), None, "a.csv", csv_bytes([row(1)]))
        for bad_id in ("", "x" * 31, "../" * 11, "a" * 32):
            with pytest.raises(NotFound):
                services.get_import(world["hr_a"], bad_id)


def test_file_error_carries_code_and_details(world, app):
    before = counts()
    with app.test_request_context(), pytest.raises(DomainError) as exc:
        services.preview_import(world["hr_a"], None, "a.csv", "姓名\n张三\n".encode())
    assert exc.value.code == "import_missing_headers" and exc.value.status == 400
    assert exc.value.details == {"columns": ["证件号码", "工种代码/工种"]}
    assert counts() == before


def test_filename_is_reduced_to_its_base_name(world, app):
    with app.test_request_context():
        imp = services.preview_import(world["hr_a"], None, "C:\\Users\\hr\\..\\名单.csv", csv_bytes([row(1)]))
    assert imp.filename == "名单.csv"
