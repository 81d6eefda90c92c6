"""Pure rules of the import: readers, header mapping, value parsers, row validation (tables and properties)."""

from __future__ import annotations

import base64
import csv
import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.crypto import IdCipher
from app.people.domain import id_check_char, validate_resident_id
from app.people.imports import domain as d
from app.tabular import LOST_DIGITS, FileError, normalize_header

TODAY = date(2026, 6, 1)
CIPHER = IdCipher("test-key", base64.urlsafe_b64encode(b"k" * 32).decode())
TRADES_BY_CODE = {"6-31-01-03": 1, "6-18-02-04": 2}
TRADES_BY_NAME = {"电工": 1, "焊工": 2}


FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def rid(seq: int, born: date = date(1990, 1, 1), area: str = "110105") -> str:
    body = f"{area}{born:%Y%m%d}{seq % 1000:03d}"
    return body + id_check_char(body)


def validate(rows, **kw):
    return d.validate_rows(rows, trades_by_code=TRADES_BY_CODE, trades_by_name=TRADES_BY_NAME, hash_id=CIPHER.hash,
                           encrypt_id=CIPHER.encrypt, today=kw.pop("today", TODAY), **kw)


def cells(**kw) -> list[str]:
    base = dict.fromkeys(d.FIELDS, "")
    base.update(name="张三", id_number=rid(1), trade_code="6-31-01-03")
    base.update(kw)
    return [base[f] for f in d.FIELDS]


def one(**kw) -> list[tuple[str, str]]:
    staged = validate([(2, cells(**kw))])
    return [(e["column"], e["code"]) for e in staged.errors]


# --- value parsers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("", None), ("1990-01-31", date(1990, 1, 31)), ("1990/1/31", date(1990, 1, 31)), ("1990.01.31", date(1990, 1, 31)),
    ("19900131", date(1990, 1, 31)), ("1990年1月31日", date(1990, 1, 31)), ("1990-01-31 00:00:00", date(1990, 1, 31)),
    ("1990-02-30", "invalid"), ("31/01/1990", "invalid"), ("yesterday", "invalid"), ("1990-1", "invalid"),
])
def test_parse_birth_date(text, expected):
    assert d.parse_birth_date(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("", None), ("1", 1), ("5", 5), ("3.0", 3), ("三级", 3), ("高级工", 3), ("三级/高级工", 3), ("五级/初级工", 5),
    ("一级／高级技师", 1), ("技师", 2), ("Level 4", 4), ("4级", 4), ("中级工", 4),
    ("6", "invalid"), ("0", "invalid"), ("三级/技师", "invalid"), ("高手", "invalid"),
])
def test_parse_skill_level(text, expected):
    assert d.parse_skill_level(text) == expected


@pytest.mark.parametrize(("header", "field"), [
    ("姓名", "name"), ("姓名*", "name"), (" Name ", "name"), ("姓名（必填）", "name"), ("证件号码", "id_number"),
    ("身份证号", "id_number"), ("ID_Number", "id_number"), ("工种代码", "trade_code"), ("工种", "trade_name"),
    ("Trade", "trade_name"), ("技能等级", "skill_level"), ("手机号码", "mobile"), ("出生日期", "birth_date"),
    ("证件类型", "id_type"), ("性别", "gender"), ("Sex", "gender"),
])
def test_header_aliases(header, field):
    assert d.LAYOUT.columns[d.LAYOUT.aliases[normalize_header(header)]].key == field


def test_map_headers_reports_missing_and_duplicates():
    with pytest.raises(FileError) as exc:
        d.LAYOUT.map_header(["姓名", "手机号"])
    assert exc.value.code == "missing_headers" and exc.value.params["columns"] == ["证件号码", "工种代码/工种"]
    with pytest.raises(FileError) as exc:
        d.LAYOUT.map_header(["姓名", "Name", "证件号码", "工种"])
    assert exc.value.code == "duplicate_headers" and exc.value.params["columns"] == ["Name"]
    index, texts, ignored, _error_column = d.LAYOUT.map_header(["序号", "姓名", "", "证件号码", "工种"])
    assert index[d.F_NAME] == 1 and index[d.F_ID_NUMBER] == 3 and index[d.F_TRADE_NAME] == 4 and index[d.F_MOBILE] == -1
    assert ignored == ["序号"] and texts["name"] == "姓名"


# --- reading bytes (the reader itself: tests/app/test_tabular.py) ---------------------------------------


def test_read_table_skips_blank_rows_and_numbers_rows_like_a_spreadsheet():
    text = "\n姓名,证件号码,工种\n张三,X,电工\n,,\n\n李四,Y,焊工\n"
    table = d.read_table("a.csv", text.encode(), 100)
    assert [(n, c[d.F_NAME]) for n, c in table.rows] == [(3, "张三"), (6, "李四")]


def test_read_table_counts_rows_against_the_limit():
    text = "姓名,证件号码,工种\n" + "张三,X,电工\n" * 4
    table = d.read_table("a.csv", text.encode(), 3)
    with pytest.raises(FileError) as exc:
        list(table.rows)
    assert exc.value.code == "too_many_rows" and exc.value.params == {"max": 3}


def test_read_table_short_rows_are_padded():
    table = d.read_table("a.csv", "姓名,证件号码,工种,手机号\n张三\n".encode(), 10)
    assert list(table.rows) == [(2, cells(id_number="", trade_code="", trade_name="", name="张三"))]


# --- resident ID fast path agrees with the reference validator ----------------------------------------


@given(st.text(alphabet="0123456789X", min_size=16, max_size=19))
def test_fast_resident_check_agrees_with_reference(number):
    assert d.resident_id_problem(number, TODAY.strftime("%Y%m%d"), {}) == validate_resident_id(number, TODAY)


@given(st.dates(min_value=date(1890, 1, 1), max_value=date(2030, 12, 31)), st.integers(0, 999), st.sampled_from("0123456789X"))
def test_fast_resident_check_agrees_on_real_shapes(born, seq, last):
    number = f"110105{born:%Y%m%d}{seq:03d}{last}"
    assert d.resident_id_problem(number, TODAY.strftime("%Y%m%d"), {}) == validate_resident_id(number, TODAY)


# --- validating rows -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "expected"), [
    ({}, []),
    ({"name": ""}, [("name", "missing")]),
    ({"name": "x" * 65}, [("name", "length")]),
    ({"name": "<b>张三</b>"}, [("name", "format")]),
    ({"id_number": ""}, [("id_number", "missing")]),
    ({"id_number": rid(1)[:-1]}, [("id_number", "length")]),
    ({"id_number": "11010519900101A234"}, [("id_number", "format")]),
    ({"id_number": "110105" + "19900230" + "0011"}, [("id_number", "date")]),
    ({"id_number": rid(1)[:-1] + ("1" if rid(1)[-1] != "1" else "2")}, [("id_number", "check")]),
    ({"id_number": LOST_DIGITS}, [("id_number", "as_number")]),
    ({"id_number": rid(5, date(2015, 1, 1))}, [("birth_date", "too_young")]),
    ({"id_number": rid(1).lower()}, []),
    ({"id_number": rid(1).translate(FULL_WIDTH)}, []),  # typed with a Chinese IME
    ({"id_number": f" {rid(1)[:6]} {rid(1)[6:]}\t"}, []),
    ({"id_type": "护照", "id_number": "E1234567", "gender": "男", "birth_date": "1990-01-01"}, []),
    ({"id_type": "passport", "id_number": "E1234567"}, [("gender", "missing"), ("birth_date", "missing")]),
    ({"id_type": "护照", "id_number": "E1", "gender": "男", "birth_date": "1990-01-01"}, [("id_number", "format")]),
    ({"id_type": "驾照"}, [("id_type", "unknown")]),
    ({"gender": "男" if rid(1)[16] in "13579" else "女"}, []),
    ({"gender": "女" if rid(1)[16] in "13579" else "男"}, [("gender", "mismatch")]),
    ({"gender": "?"}, [("gender", "format")]),
    ({"birth_date": "1990-01-01"}, []),
    ({"birth_date": "1990-01-02"}, [("birth_date", "mismatch")]),
    ({"birth_date": "someday"}, [("birth_date", "format")]),
    ({"id_type": "其他", "id_number": "ABC12345", "gender": "F", "birth_date": "2030-01-01"}, [("birth_date", "future")]),
    ({"id_type": "其他", "id_number": "ABC12345", "gender": "F", "birth_date": "1899-12-31"}, [("birth_date", "too_old")]),
    ({"mobile": "13800138000"}, []),
    ({"mobile": "+86 138-0013-8000"}, []),
    ({"mobile": "1380013800"}, [("mobile", "format")]),
    ({"mobile": "23800138000"}, [("mobile", "format")]),
    ({"trade_code": ""}, [("trade", "missing")]),
    ({"trade_code": "", "trade_name": "焊工"}, []),
    ({"trade_code": "电工"}, []),
    ({"trade_code": "6-31-01-03 电工"}, []),
    ({"trade_code": "６－３１－０１－０３"}, []),
    ({"trade_code": "9-99-99-99"}, [("trade", "unknown")]),
    ({"skill_level": "三级/高级工"}, []),
    ({"skill_level": "七级"}, [("skill_level", "invalid")]),
    ({"name": "=1+1"}, [("name", "formula")]),
    ({"id_number": "=A1"}, [("id_number", "formula")]),
    ({"trade_code": "@cmd"}, [("trade", "formula")]),
])
def test_validate_one_row(overrides, expected):
    assert one(**overrides) == expected


def test_valid_row_is_staged_ready_to_insert():
    number = rid(7, date(1985, 6, 7))
    staged = validate([(2, cells(name=" 欧阳  娜娜 ", id_number=number.lower(), mobile="13800138000", skill_level="2"))])
    assert staged.errors == []
    r = staged.rows[0]
    assert r[d.STAGED_NAME] == "欧阳 娜娜" and r[d.STAGED_BIRTH] == "1985-06-07"
    assert r[d.STAGED_GENDER] == ("M" if int(number[16]) % 2 else "F")
    assert r[d.STAGED_ID_HASH] == CIPHER.hash("resident", number) and r[d.STAGED_ID_LAST4] == number[-4:]
    assert CIPHER.decrypt(base64.b64decode(r[d.STAGED_ID_ENCRYPTED])) == number
    assert (r[d.STAGED_TRADE], r[d.STAGED_LEVEL], r[d.STAGED_BAD]) == (1, 2, 0)
    assert number not in str(staged.rows)


def test_rows_with_errors_keep_no_encrypted_copy_and_no_number():
    number = rid(3)
    staged = validate([(2, cells(id_number=number, mobile="1"))])
    r = staged.rows[0]
    assert r[d.STAGED_BAD] == 1 and r[d.STAGED_ID_ENCRYPTED] is None and number not in str(staged.rows)
    assert staged.errors == [{"row": 2, "column": "mobile", "code": "format", "value": "1"}]


def test_id_errors_never_carry_the_value():
    staged = validate([(2, cells(id_number="110105199001011230"))])
    assert "value" not in staged.errors[0]


def test_duplicates_inside_the_file():
    staged = validate([(2, cells()), (3, cells(name="李四")), (4, cells(id_number=rid(2)))])
    assert [(e["row"], e["code"], e["first_row"]) for e in staged.errors] == [(3, "duplicate", 2)]
    assert staged.hashes == {CIPHER.hash("resident", rid(1)): 2, CIPHER.hash("resident", rid(2)): 4}


def test_same_number_under_another_document_type_is_not_a_duplicate():
    staged = validate([(2, cells(id_type="护照", id_number="E1234567", gender="男", birth_date="1990-01-01")),
                       (3, cells(id_type="其他", id_number="E1234567", gender="男", birth_date="1990-01-01"))])
    assert staged.errors == []


def test_mark_registered():
    staged = validate([(2, cells()), (3, cells(id_number=rid(2))), (4, cells(id_number=rid(3), mobile="1"))])
    registered = {CIPHER.hash("resident", rid(1)): 7, CIPHER.hash("resident", rid(3)): 8}
    assert d.mark_registered(staged, registered, enterprise_id=7) == 2
    assert [(e["row"], e["code"]) for e in staged.errors] == [(2, "registered_here"), (4, "format"),
                                                               (4, "registered_elsewhere")]
    assert [r[d.STAGED_BAD] for r in staged.rows] == [1, 0, 1]
    assert staged.rows[0][d.STAGED_ID_ENCRYPTED] is None


# --- property: any valid generated file round-trips CSV → preview with zero errors --------------------

NAMES = st.text(alphabet="张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
                         "阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文",
                min_size=2, max_size=4)


@st.composite
def worker_rows(draw):
    count = draw(st.integers(1, 25))
    seqs = draw(st.lists(st.integers(0, 999), min_size=count, max_size=count, unique=True))
    rows = []
    for seq in seqs:
        born = draw(st.dates(min_value=date(1950, 1, 1), max_value=date(2008, 12, 31)))
        number = rid(seq, born)
        rows.append({
            "姓名": draw(NAMES),
            "性别": draw(st.sampled_from(["", "男" if int(number[16]) % 2 else "女"])),
            "出生日期": draw(st.sampled_from(["", born.isoformat(), f"{born:%Y/%m/%d}", f"{born:%Y%m%d}"])),
            "证件类型": draw(st.sampled_from(["", "居民身份证", "身份证"])),
            "证件号码": number if draw(st.booleans()) else number.lower(),
            "手机号": draw(st.sampled_from(["", f"13{seq:09d}", f"+86 15{seq:09d}"])),
            "工种代码": draw(st.sampled_from(["6-31-01-03", "6-18-02-04", "电工", "焊工"])),
            "技能等级": draw(st.sampled_from(["", "1", "5", "三级", "高级技师", "四级/中级工"])),
        })
    return rows


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(worker_rows(), st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030"]), st.sampled_from([",", "\t", ";"]))
def test_valid_files_round_trip_with_zero_errors(rows, encoding, delimiter):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(d.TEMPLATE_HEADERS), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    table = d.read_table("w.csv", out.getvalue().encode(encoding), 1000)
    staged = validate(table.rows)
    assert staged.errors == []
    assert len(staged.rows) == len(rows)
    for given_row, r in zip(rows, staged.rows, strict=True):
        number = given_row["证件号码"].upper()
        assert r[d.STAGED_NAME] == given_row["姓名"]
        assert r[d.STAGED_ID_HASH] == CIPHER.hash("resident", number)
        assert r[d.STAGED_BIRTH] == f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
        assert r[d.STAGED_TRADE] == (1 if given_row["工种代码"] in ("6-31-01-03", "电工") else 2)
        assert r[d.STAGED_MOBILE] == (given_row["手机号"].replace("+86 ", "") or None)
    assert table.encoding == {"utf-8": "UTF-8", "utf-8-sig": "UTF-8-BOM", "gbk": "GBK", "gb18030": "GBK"}[encoding]


def _comparable(staged: d.Staged) -> tuple:
    rows = [r[:d.STAGED_ID_ENCRYPTED] + [CIPHER.decrypt(base64.b64decode(r[d.STAGED_ID_ENCRYPTED]))
                                         if r[d.STAGED_ID_ENCRYPTED] else None] + r[d.STAGED_ID_ENCRYPTED + 1:]
            for r in staged.rows]
    return rows, staged.errors, staged.hashes


ROW_VARIANTS = st.fixed_dictionaries({
    "name": st.sampled_from(["张三", "欧阳娜娜", "刘䶮", "Anna Li", "张 三", "=1+1", "", "<b>x</b>", "张·三"]),
    "gender": st.sampled_from(["", "男", "女", "M", "x", "+1"]),
    "birth_date": st.sampled_from(["", "1990-01-01", "1990-01-02", "1990/1/1", "2099-01-01", "bad"]),
    "id_type": st.sampled_from(["", "居民身份证", "身份证", "护照", "驾照"]),
    "id_number": st.sampled_from([rid(1), rid(2), rid(1).lower(), rid(1)[:-1] + "0", "110105199002300011", rid(3)[:17],
                                  "E1234567", rid(4, date(2015, 1, 1)), ""]),
    "mobile": st.sampled_from(["", "13800138000", "+86 13800138000", "12345", "-1"]),
    "trade_code": st.sampled_from(["", "6-31-01-03", "电工", "9-99-99-99", "@x"]),
    "trade_name": st.sampled_from(["", "焊工", "飞行员"]),
    "skill_level": st.sampled_from(["", "3", "三级/高级工", "七级", "四级"]),
})


@settings(max_examples=150, deadline=None)
@given(st.lists(ROW_VARIANTS, min_size=1, max_size=8))
def test_fast_path_and_general_path_agree(variants):
    """The one-regex fast path accepts only rows the general checks would accept, with the same result."""
    def rows():
        return [(i + 2, cells(**v)) for i, v in enumerate(variants)]

    fast = validate(rows())
    general = validate(rows(), fast_path=False)
    assert _comparable(fast) == _comparable(general)
