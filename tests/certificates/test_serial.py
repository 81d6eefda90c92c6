"""Serials {K}{YY}{ORG4}{SEQ6}{C} with the ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_11_2

from certificates.domain import (
    CertificateKind,
    ParsedSerial,
    make_serial,
    parse_serial,
    serial_check_char,
)

VALID = "C2500010001231"  # award, 2025, issuer 0001, number 123: digits 1 25 0001 000123 → check 1

serials = st.builds(
    make_serial,
    st.sampled_from(list(CertificateKind)),
    st.integers(2000, 2099),
    st.text(alphabet=string.digits, min_size=4, max_size=4),
    st.integers(1, 999_999),
)


def test_known_serial():
    assert make_serial(CertificateKind.AWARD, 2025, "0001", 123) == VALID
    assert parse_serial(VALID) == ParsedSerial(VALID, CertificateKind.AWARD, 2025, "0001", 123)
    # The check character is plain MOD 11-2 over the kind digit (C → 1) and the 12 digits.
    assert mod_11_2.is_valid("1250001000123" + VALID[-1])


@pytest.mark.parametrize(("kind", "letter", "digit"), [
    (CertificateKind.AWARD, "C", "1"),
    (CertificateKind.PARTICIPATION, "P", "2"),
    (CertificateKind.SKILL_LEVEL, "S", "3"),
    (CertificateKind.APPRENTICE_GRADUATION, "A", "4"),
    (CertificateKind.CRAFTSMAN_TITLE, "M", "5"),
    (CertificateKind.STUDIO_HONOR, "H", "6"),
])
def test_kind_letters_and_check_digits(kind, letter, digit):
    assert kind.letter == letter
    assert kind.check_digit == digit
    assert CertificateKind.from_letter(letter) is kind
    serial = make_serial(kind, 2026, "4401", 7)
    assert serial[0] == letter
    assert parse_serial(serial).kind is kind


def test_an_x_check_character_exists_and_parses():
    candidates = (make_serial("award", 2025, "0001", n) for n in range(1, 100))
    serial = next(s for s in candidates if s.endswith("X"))
    assert parse_serial(serial).seq >= 1
    assert parse_serial(serial.lower()).serial == serial  # lower-case x typed by a visitor


@pytest.mark.parametrize(("value", "expected"), [
    (VALID, None),
    ("c2500010001231", None),                  # lower case
    (" C25-0001-000123-1 ", None),             # grouped for reading
    ("Ｃ２５０００１０００１２３１", None),       # full-width, typed with a Chinese IME
    ("C2500010001232", "check"),               # altered check character
    ("C2500010001221", "check"),               # altered digit (SEQ6)
    ("C2600010001231", "check"),               # altered digit (YY)
    ("C2500020001231", "check"),               # altered digit (ORG4)
    ("P2500010001231", "check"),               # altered letter: another valid kind
    ("H2500010001231", "check"),
    ("C5200010001231", "check"),               # transposition in YY
    ("C2500100001231", "check"),               # transposition across ORG4 / SEQ6
    ("C2500010001213", "check"),               # transposition with the check character
    ("B2500010001231", "kind"),                # no such kind
    ("Z2500010001231", "kind"),
    ("C25000100012A1", "format"),              # a letter in the digits
    ("C25000A0001231", "format"),              # ORG4 has no letters
    ("2C500010001231", "format"),              # transposition that moves the kind letter
    ("C250001000123Y", "format"),              # check character other than 0-9/X
    ("C250001000123", "length"),
    ("C25000100012310", "length"),
    ("", "length"),
    ("11010519491231002X", "length"),          # an ID number is not a serial
    ("1234567890123456789012", "length"),      # nor is an official 22-character certificate number
])
def test_parse_serial(value, expected):
    result = parse_serial(value)
    if expected is None:
        assert isinstance(result, ParsedSerial)
        assert result.serial == VALID
    else:
        assert result == expected


def test_transposition_ten_apart_is_the_known_blind_spot():
    # 2**10 ≡ 1 (mod 11): swapping characters exactly 10 positions apart keeps the check character.
    s = make_serial("award", 2025, "0001", 456)
    swapped = s[0] + s[11] + s[2:11] + s[1] + s[12:]
    assert swapped != s
    assert isinstance(parse_serial(swapped), ParsedSerial)


@pytest.mark.parametrize(("args", "message"), [
    (("award", 1999, "0001", 1), "year"),
    (("award", 2100, "0001", 1), "year"),
    (("award", 2025, "001", 1), "issuer"),
    (("award", 2025, "00A1", 1), "issuer"),
    (("award", 2025, "0001", 0), "sequence"),
    (("award", 2025, "0001", 1_000_000), "sequence"),
    (("award", 2025, "0001", True), "sequence"),
])
def test_make_serial_rejects(args, message):
    with pytest.raises(ValueError, match=message):
        make_serial(*args)


def test_make_serial_rejects_unknown_kind():
    with pytest.raises(ValueError):
        make_serial("diploma", 2025, "0001", 1)


@pytest.mark.parametrize("body", ["", "C25000100012", "C2500010001231", "X250001000123", "c250001000123", "CC50001000123"])
def test_serial_check_char_rejects_bad_bodies(body):
    with pytest.raises(ValueError):
        serial_check_char(body)


@given(serials)
def test_round_trip(serial):
    parsed = parse_serial(serial)
    assert isinstance(parsed, ParsedSerial)
    assert make_serial(parsed.kind, parsed.year, parsed.issuer_code, parsed.seq) == serial
    assert len(serial) == 14 and serial[0].isalpha()


@given(serials)
def test_every_single_character_change_is_detected(serial):
    for pos in range(14):
        for char in string.digits + string.ascii_uppercase:
            altered = serial[:pos] + char + serial[pos + 1:]
            if altered != serial:
                assert not isinstance(parse_serial(altered), ParsedSerial), altered


@given(serials)
def test_transpositions_are_detected_unless_ten_apart(serial):
    for i in range(14):
        for j in range(i + 1, 14):
            swapped = list(serial)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            swapped = "".join(swapped)
            if swapped != serial and j - i != 10:  # includes every adjacent transposition
                assert not isinstance(parse_serial(swapped), ParsedSerial), swapped
