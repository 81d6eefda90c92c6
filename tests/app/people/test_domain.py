"""Pure validators and masking in app.people.domain: tables and hypothesis properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.people import domain as d

TODAY = date(2026, 6, 1)


# --- resident ID numbers (GB 11643, ISO 7064 MOD 11-2) --------------------------------------------


@pytest.mark.parametrize(("number", "expected"), [
    ("11010519491231002X", None),            # ends in X
    ("11010519491231002x", None),            # lowercase x is normalized
    (" 110105 19491231002X ", None),         # spaces are removed
    ("１１０１０５１９４９１２３１００２Ｘ", None),  # full-width digits from a Chinese IME
    ("110101199003074573", None),
    ("320106198803142016", None),
    ("440300198511300019", None),
    ("440300198511300018", "check"),
    ("11010519491231002Y", "format"),
    ("110105194912310021", "check"),         # wrong check character
    ("110105199002300016", "date"),          # 30 February
    ("110105199013010010", "date"),          # month 13
    ("110105189912310010", "date"),          # before 1900
    ("110105209901010010", "date"),          # in the future
    ("11010519491231002", "length"),         # 17 characters
    ("11010519491231002XX", "length"),       # 19 characters
    ("", "length"),
    ("11010519491231A02X", "format"),
])
def test_validate_resident_id(number, expected):
    assert d.validate_resident_id(number, TODAY) == expected


def test_normalize_id_number():
    assert d.normalize_id_number(" 11010519491231002x ") == "11010519491231002X"
    assert d.normalize_id_number("１１０") == "110"


def test_birth_date_and_gender_from_resident_id():
    assert d.resident_id_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert d.resident_id_gender("11010519491231002X") == "F"  # 17th digit 2: even
    assert d.resident_id_gender("440300198511300019") == "M"  # 17th digit 1: odd


def _with_check(first17: str) -> str:
    return first17 + d.id_check_char(first17)


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_computed_check_char_validates_shape(first17):
    number = _with_check(first17)
    reason = d.validate_resident_id(number, TODAY)
    # Random digits rarely form a real birth date; whatever fails, it is never the check character.
    assert reason in (None, "date")


@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY), st.integers(0, 999_999), st.integers(0, 999))
def test_valid_numbers_validate_and_one_changed_digit_invalidates(born, region, seq):
    first17 = f"{region:06d}{born:%Y%m%d}{seq:03d}"
    number = _with_check(first17)
    assert d.validate_resident_id(number, TODAY) is None
    for pos in range(17):
        changed = number[:pos] + str((int(number[pos]) + 1) % 10) + number[pos + 1:]
        # MOD 11-2 detects every single-digit error; a changed date digit may also make the date invalid.
        assert d.validate_resident_id(changed, TODAY) in ("check", "date")


@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
def test_wrong_check_character_is_always_detected(born):
    first17 = f"110105{born:%Y%m%d}123"
    right = d.id_check_char(first17)
    for wrong in "0123456789X":
        if wrong != right:
            assert d.validate_resident_id(first17 + wrong, TODAY) == "check"


# --- other document types ---------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("E12345678", None),
    ("h1234567(8)", None),
    ("C1234-5678", None),
    ("", "missing"),
    ("   ", "missing"),
    ("A12", "format"),
    ("A" * 33, "format"),
    ("E1234567#", "format"),
])
def test_validate_other_id(value, expected):
    assert d.validate_other_id(value) == expected


@pytest.mark.parametrize(("id_type", "value", "expected"), [
    ("resident", "11010519491231002X", None),
    ("resident", "110105194912310021", "check"),
    ("resident", "", "missing"),
    ("passport", "E12345678", None),
    ("passport", "", "missing"),
    ("passport", "11010519491231002X", None),  # other types are not checked as resident numbers
])
def test_validate_id_number_dispatches_on_type(id_type, value, expected):
    assert d.validate_id_number(id_type, value, TODAY) == expected


# --- 统一社会信用代码 (GB 32100) ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("91350100M000100Y43", None),
    ("91350100m000100y43", None),        # lowercase is accepted
    (" 91350100M000100Y43 ", None),
    ("91350100M000100Y44", "check"),
    ("91350100M000100Y4", "length"),
    ("91350100M000100Y433", "length"),
    ("", "length"),
    ("91350100I000100Y43", "format"),    # I is not in the alphabet
    ("91350100O000100Y43", "format"),    # O
    ("91350100Z000100Y43", "format"),    # Z
    ("913501A0M000100Y43", "format"),    # region code must be digits
])
def test_validate_uscc(value, expected):
    assert d.validate_uscc(value) == expected


@given(st.text(alphabet=d.USCC_ALPHABET, min_size=10, max_size=10), st.integers(0, 999_999), st.sampled_from(["91", "11", "52"]))
def test_uscc_with_computed_check_char_validates(tail, region, head):
    body = f"{head}{region:06d}{tail[:9]}"
    assert d.validate_uscc(body + d.uscc_check_char(body)) is None


# --- mobiles --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("13812345678", None),
    ("19912345678", None),
    ("+86 138 1234 5678", None),
    ("0086-138-1234-5678", None),
    ("１３８１２３４５６７８", None),   # full width
    ("12812345678", "format"),      # second digit 2
    ("1381234567", "format"),       # 10 digits
    ("138123456789", "format"),     # 12 digits
    ("23812345678", "format"),
    ("1381234567a", "format"),
    ("", "format"),
])
def test_validate_mobile(value, expected):
    assert d.validate_mobile(value) == expected


def test_normalize_mobile():
    assert d.normalize_mobile("+86 138-1234-5678") == "13812345678"


# --- names, gender, dates, levels, trade codes -----------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("张三", None), ("欧阳娜娜", None), ("阿依古丽·买买提", None), ("John Smith", None), ("𠮷田", None),
    ("", "missing"), ("  ", "missing"), ("张" * 65, "length"), ("<script>", "format"), ("张三1", "format"),
])
def test_validate_name(value, expected):
    assert d.validate_name(value) == expected


@pytest.mark.parametrize(("value", "expected"), [("M", None), ("F", None), ("", "missing"), (None, "missing"), ("X", "format")])
def test_validate_gender(value, expected):
    assert d.validate_gender(value) == expected


@pytest.mark.parametrize(("born", "expected"), [
    (date(1990, 1, 1), None),
    (None, "missing"),
    (date(2027, 1, 1), "future"),
    (date(1899, 12, 31), "too_old"),
    (date(2010, 6, 2), "too_young"),   # 15 the day before the 16th birthday
    (date(2010, 6, 1), None),          # 16 today
])
def test_validate_birth_date(born, expected):
    assert d.validate_birth_date(born, TODAY) == expected


@pytest.mark.parametrize(("level", "expected"), [(None, None), (1, None), (5, None), (0, "range"), (6, "range"), (True, "range")])
def test_validate_skill_level(level, expected):
    assert d.validate_skill_level(level) == expected


def test_resident_id_mismatches():
    number = "11010519491231002X"  # born 1949-12-31, female
    assert d.resident_id_mismatches(number, date(1949, 12, 31), "F") == set()
    assert d.resident_id_mismatches(number, None, None) == set()
    assert d.resident_id_mismatches(number, date(1950, 1, 1), "M") == {"birth_date", "gender"}


@pytest.mark.parametrize(("value", "expected"), [
    ("6-31-01-03", None), (" 6-31-01-03 ", None), ("6—31—01—03", None), ("６-３１-０１-０３", None),
    ("", "missing"), ("63101 03", "format"), ("6-31-1-03", "format"), ("16-31-01-03", "format"), ("6-31-01-033", "format"),
])
def test_validate_trade_code(value, expected):
    assert d.validate_trade_code(value) == expected


# --- masking ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "masked"), [
    ("张", "*"), ("张三", "张*"), ("张帅坤", "张*坤"), ("欧阳娜娜", "欧**娜"), ("", ""),
])
def test_mask_name(name, masked):
    assert d.mask_name(name) == masked


@given(st.text(alphabet=st.characters(categories=["Lo", "Lu", "Ll"]), min_size=2, max_size=30))
def test_mask_name_keeps_length_and_first_char_and_hides_the_middle(name):
    masked = d.mask_name(name)
    assert len(masked) == len(name)
    assert masked[0] == name[0]
    assert set(masked[1:-1]) <= {"*"}
    assert masked != name or len(name) < 2


@pytest.mark.parametrize(("mobile", "masked"), [("13812345678", "138****5678"), ("", ""), (None, ""), ("12345", "*****")])
def test_mask_mobile(mobile, masked):
    assert d.mask_mobile(mobile) == masked


@pytest.mark.parametrize(("last4", "id_type", "masked"), [
    ("002X", "resident", "**************002X"), ("5678", "passport", "******5678"),
])
def test_mask_id(last4, id_type, masked):
    assert d.mask_id(last4, id_type) == masked
    assert len(d.mask_id(last4, "resident")) == 18
