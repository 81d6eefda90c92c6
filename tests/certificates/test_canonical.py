"""Canonical JSON (the signed bytes) and the certificate payload."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certificates.domain import (
    CanonicalizationError,
    CertificateKind,
    canonical_json,
    certificate_payload,
    holder_id_hash,
    make_serial,
)

SERIAL = make_serial(CertificateKind.AWARD, 2025, "0001", 123)  # C2500010001231
KID = "0123456789abcdef"


def test_known_answer():
    value = {
        "b": [1, True, None, False],
        "a": "张三",
        "Z": Decimal("1.50"),
        "d": date(2025, 6, 1),
        "t": datetime(2025, 6, 1, 8, 0, 0, tzinfo=timezone(timedelta(hours=8))),
        "u": datetime(2025, 6, 1, 0, 0, 0, 250000, tzinfo=UTC),
        "e": 'say "hi"\\\n\t\x01\x7f\u2028',
        "e\u0301": {"y": None, "x": []},  # decomposed é as a key
        "n": -9007199254740991,
    }
    expected = (
        '{"Z":"1.50","a":"张三","b":[1,true,null,false],"d":"2025-06-01",'
        '"e":"say \\"hi\\"\\\\\\n\\t\\u0001\x7f\u2028","n":-9007199254740991,'
        '"t":"2025-06-01T00:00:00Z","u":"2025-06-01T00:00:00.250000Z","\u00e9":{"x":[],"y":null}}'
    )
    assert canonical_json(value) == expected.encode("utf-8")


def test_same_dict_in_another_key_order_gives_the_same_bytes():
    a = {"serial": SERIAL, "holder_name": "李四", "details": {"level": "三级/高级工", "occupation": "焊工"}}
    b = {"details": {"occupation": "焊工", "level": "三级/高级工"}, "holder_name": "李四", "serial": SERIAL}
    assert canonical_json(a) == canonical_json(b)


def test_strings_and_keys_are_nfc_normalized():
    assert canonical_json({"name": "Jose\u0301"}) == canonical_json({"name": "Jos\u00e9"})
    assert canonical_json({"Jose\u0301": 1}) == '{"José":1}'.encode()
    # 한 in two forms (conjoining jamo vs precomposed syllable)
    assert canonical_json(["\u1112\u1161\u11ab"]) == canonical_json(["\ud55c"])


@pytest.mark.parametrize("value", [
    1.0,
    {"score": 95.5},
    [0.1],
    float("nan"),
    Decimal("NaN"),
    Decimal("Infinity"),
    datetime(2025, 6, 1, 8, 0),  # naive
    2**53,
    -(2**53),
    {1: "non-string key"},
    {"e\u0301": 1, "\u00e9": 2},  # same key after NFC
    "\ud800",  # lone surrogate
    {"s": {1, 2}},
    b"bytes",
    object(),
])
def test_rejected(value):
    with pytest.raises(CanonicalizationError):
        canonical_json(value)


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("1.50"), '"1.50"'),
    (Decimal("1E+2"), '"100"'),
    (Decimal("-0.001"), '"-0.001"'),
    (Decimal("5.3E+8"), '"530000000"'),
    (date(2025, 1, 2), '"2025-01-02"'),
    (datetime(2025, 1, 1, 1, 2, 3, tzinfo=timezone(timedelta(hours=8))), '"2024-12-31T17:02:03Z"'),
    (CertificateKind.SKILL_LEVEL, '"skill_level"'),
    ((1, "a"), '[1,"a"]'),
    (None, "null"),
])
def test_scalar_forms(value, expected):
    assert canonical_json(value) == expected.encode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)
nfc_keyed = st.dictionaries(st.text(max_size=6).map(lambda k: unicodedata.normalize("NFC", k)), json_values, max_size=6)


def _reversed_order(value):
    if isinstance(value, dict):
        return {k: _reversed_order(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_order(v) for v in value]
    return value


@given(nfc_keyed)
def test_key_order_never_matters(value):
    assert canonical_json(value) == canonical_json(_reversed_order(value))


@given(nfc_keyed)
def test_idempotent_and_equal_to_plain_json_dumps_of_the_parsed_document(value):
    out = canonical_json(value)
    parsed = json.loads(out)
    assert canonical_json(parsed) == out
    # What an integrator runs: the standard library with the documented options.
    assert json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == out


# --- the payload -----------------------------------------------------------------------------------------


def _payload(**overrides):
    fields = {
        "serial": SERIAL,
        "holder_name": " 张三 ",
        "holder_id_number": "11010519491231002x",
        "achievement": "在2025年全市焊工职业技能竞赛中荣获一等奖",
        "issuer_name": "某市总工会",
        "issued_at": date(2025, 6, 1),
        "key_id": KID,
        "valid_until": None,
        "details": {"rank": 1, "prize": Decimal("2000.00")},
    }
    fields.update(overrides)
    return certificate_payload(**fields)


def test_payload_fields():
    p = _payload()
    assert p == {
        "v": 1,
        "serial": SERIAL,
        "kind": "award",
        "holder_name": "张三",
        "holder_id_sha256": hashlib.sha256(f"{SERIAL}:11010519491231002X".encode()).hexdigest(),
        "achievement": "在2025年全市焊工职业技能竞赛中荣获一等奖",
        "issuer_name": "某市总工会",
        "issuer_code": "0001",
        "issued_at": "2025-06-01",
        "valid_until": None,
        "kid": KID,
        "details": {"rank": 1, "prize": "2000.00"},
    }
    assert "11010519491231002" not in canonical_json(p).decode()  # the ID only as a hash


def test_id_hash_normalizes_the_id_and_is_salted_by_the_serial():
    assert holder_id_hash(SERIAL, " １１０１０５１９４９１２３１００２ｘ ") == holder_id_hash(SERIAL, "11010519491231002X")
    other = make_serial(CertificateKind.AWARD, 2025, "0001", 124)
    assert holder_id_hash(other, "11010519491231002X") != holder_id_hash(SERIAL, "11010519491231002X")


def test_holder_without_id_number():
    studio = make_serial(CertificateKind.STUDIO_HONOR, 2025, "0001", 1)
    p = _payload(serial=studio, holder_name="王五劳模创新工作室", holder_id_number=None)
    assert p["holder_id_sha256"] is None
    assert p["kind"] == "studio_honor"


def test_payload_is_stored_in_canonical_form():
    p = _payload(holder_name="Jose\u0301", valid_until=date(2028, 5, 31))
    assert p["holder_name"] == "Jos\u00e9"
    assert p["valid_until"] == "2028-05-31"
    assert canonical_json(json.loads(canonical_json(p))) == canonical_json(p)


@pytest.mark.parametrize("overrides", [
    {"serial": "C2500010001232"},                    # bad check character
    {"serial": "c2500010001231"},                    # not normalized
    {"issued_at": date(2026, 1, 1)},                 # not the serial's year
    {"issued_at": datetime(2025, 6, 1, tzinfo=UTC)},  # a datetime, not a date
    {"valid_until": date(2025, 5, 31)},              # before issue
    {"key_id": "ABCDEF0123456789"},                  # upper case
    {"key_id": "abc"},
    {"holder_name": "  "},
    {"achievement": ""},
    {"issuer_name": ""},
    {"holder_id_number": " "},
    {"details": {"score": 95.5}},                    # floats are refused
])
def test_payload_rejects(overrides):
    with pytest.raises(ValueError):
        _payload(**overrides)
