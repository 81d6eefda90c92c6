"""Service details: ID hashing, enterprise scope, staged data."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from app.crypto import IdCipher
from app.errors import DomainError, NotFound, PermissionDenied
from app.people.imports import services
from tests.app.people.imports.conftest import counts, csv_bytes, row


@pytest.mark.parametrize("hmac_key", ["short", "k" * 64, "long-" * 30, "密钥-unicode"])
def test_id_cipher_is_a_plain_hmac_and_round_trips(hmac_key):
    """The copied-HMAC fast path must equal a fresh HMAC-SHA256 of "type:number"."""
    enc_key = base64.urlsafe_b64encode(bytes(range(32))).decode()
    cipher = IdCipher(hmac_key, enc_key)
    for number in ("11010519491231002X", "E1234567", "A" * 32):
        expected = hmac.new(hmac_key.encode(), f"resident:{number}".encode(), hashlib.sha256).hexdigest()
        assert cipher.hash("resident", number) == expected
        assert cipher.decrypt(cipher.encrypt(number)) == number
    assert len({cipher.encrypt("x") for _ in range(2000)}) == 2000  # fresh nonce every time


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


def test_a_file_over_the_size_limit_stores_nothing(world, app, monkeypatch):
    data = csv_bytes([row(1)])
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", len(data) - 1)
    before = counts()
    with app.test_request_context(), pytest.raises(DomainError) as exc:
        services.preview_import(world["hr_a"], None, "a.csv", data)
    assert exc.value.code == "import_too_large" and exc.value.status == 400
    assert counts() == before


def test_filename_is_reduced_to_its_base_name(world, app):
    with app.test_request_context():
        imp = services.preview_import(world["hr_a"], None, "C:\\Users\\hr\\..\\名单.csv", csv_bytes([row(1)]))
    assert imp.filename == "名单.csv"


def test_stale_previews_expire_and_drop_their_staged_rows(world, app):
    from datetime import timedelta

    from app.db import db, utcnow
    from app.people.models import WorkerImport

    with app.test_request_context():
        old = services.preview_import(world["hr_a"], world["ent_a"].id, "old.csv", csv_bytes([row(1)]))
        old.created_at = utcnow() - services.PREVIEW_TTL - timedelta(minutes=1)
        db.session.flush()
        fresh = services.preview_import(world["hr_a"], world["ent_a"].id, "new.csv", csv_bytes([row(2)]))
        assert services.expire_stale_previews() == 0  # the new preview already expired the old one
        db.session.expire_all()
        old, fresh = db.session.get(WorkerImport, old.id), db.session.get(WorkerImport, fresh.id)
        assert (old.status, old.rows) == ("discarded", [])
        assert fresh.status == "preview" and len(fresh.rows) == 1
        with pytest.raises(DomainError):
            services.confirm_import(world["hr_a"], old.id)


PREFIXES = ["=", "+", "-", "@", "\t", "\r"]


def _cells(content: bytes, fmt: str) -> list:
    import csv
    import io

    import openpyxl

    if fmt == "csv":
        return [c for line in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")) for c in line]
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    return [c.value for row in ws.iter_rows() for c in row]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_error_file_escapes_every_formula_prefix(app, prefix, fmt):
    from app.people.models import WorkerImport

    imp = WorkerImport(id="a" * 32, errors=[{"row": 2, "column": "trade", "code": "unknown", "value": prefix + "SUM(A1)"}])
    with app.test_request_context():
        content, _mimetype, _name = services.error_file(imp, fmt)
    texts = [c for c in _cells(content, fmt) if isinstance(c, str) and c]
    assert not any(t[0] in "=+-@\t\r" for t in texts)
    assert any(t[0] == "'" and t.endswith("SUM(A1)") for t in texts)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_template_escapes_catalogue_names(app, create_trade, prefix):
    import io

    import openpyxl

    create_trade(name=prefix + "SUM(A1)")
    with app.test_request_context():
        content, _mimetype, _name = services.template_file()
    trades = openpyxl.load_workbook(io.BytesIO(content)).worksheets[1]
    names = [row[1] for row in trades.iter_rows(values_only=True)]
    assert any(n and n[0] == "'" and n.endswith("SUM(A1)") for n in names)
    assert not any(n and n[0] in "=+-@\t\r" for n in names)
