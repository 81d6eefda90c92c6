"""app.tabular: reading uploads (formats, encodings, header aliases, duplicates, limits, blank rows, row numbers),
the shape of problems, and writing spreadsheets (formula escaping, the error list, the file with an error column
that reads back as the upload)."""

from __future__ import annotations

import codecs
import csv
import io

import openpyxl
import pytest
from flask_babel import force_locale

from app import tabular
from app.tabular import LOST_DIGITS, Column, FileError, Layout

LAYOUT = Layout((
    Column("name", ("姓名", "名字", "name", "full name")),
    Column("id_number", ("证件号码", "身份证号", "id number"), numeric_id=True),
    Column("trade_code", ("工种代码", "trade code"), "工种代码"),
    Column("trade_name", ("工种", "trade")),
    Column("note", ("备注", "note")),
), required=(("name",), ("id_number",), ("trade_code", "trade_name")))
STRICT = Layout(LAYOUT.columns, LAYOUT.required, unknown="refuse")


def _csv(rows, encoding="utf-8", delimiter=",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _read(data, filename="a.csv", layout=LAYOUT, **kw):
    table = tabular.read_table(filename, data, layout, max_rows=kw.pop("max_rows", 100), **kw)
    return table, list(table.rows)


def _code(fn) -> tuple[str, dict]:
    with pytest.raises(FileError) as exc:
        fn()
    return exc.value.code, exc.value.params


# --- formats and encodings ---------------------------------------------------------------------------------------

ROWS = [["姓名", "证件号码", "工种"], ["张三", "110105194912310021", "电工"], ["刘䶮", "E1234567", "焊工"]]


@pytest.mark.parametrize(("data", "encoding"), [
    (_csv(ROWS), "UTF-8"),
    (codecs.BOM_UTF8 + _csv(ROWS), "UTF-8-BOM"),
    (_csv(ROWS[:2], "gbk"), "GBK"),  # 刘䶮 is not in GBK
    (_csv(ROWS, "gb18030"), "GB18030"),
    (codecs.BOM_UTF16_LE + _csv(ROWS, "utf-16-le"), "UTF-16"),
    (_csv(ROWS, delimiter=";"), "UTF-8"),
    (_csv(ROWS, delimiter="\t"), "UTF-8"),
])
def test_csv_encodings_and_delimiters(data, encoding):
    table, rows = _read(data)
    assert (table.file_format, table.encoding) == ("csv", encoding)
    assert rows[0] == (2, ["张三", "110105194912310021", "", "电工", ""])
    assert [n for n, _cells in rows] == list(range(2, len(rows) + 2))


def test_xlsx_cells_as_text_and_lost_digits():
    table, rows = _read(_xlsx([["姓名", "证件号码", "工种代码", "备注"], ["张三", 110105194912310021, 6, 2.5],
                               ["李四", "11010519491231002X", "6-31", None]]), "a.xlsx")
    assert table.file_format == "xlsx" and table.encoding is None
    assert rows == [(2, ["张三", LOST_DIGITS, "6", "", "2.5"]), (3, ["李四", "11010519491231002X", "6-31", "", ""])]


@pytest.mark.parametrize(("text", "label"), [
    ("姓名".encode(), "UTF-8"), (codecs.BOM_UTF8 + "姓名".encode(), "UTF-8-BOM"), ("姓名".encode("gbk"), "GBK"),
    ("刘䶮".encode("gb18030"), "GB18030"), ("姓名".encode("utf-16"), "UTF-16"), (b"name", "UTF-8"),
])
def test_decode_text(text, label):
    decoded, got = tabular.decode_text(text)
    assert got == label and decoded in ("姓名", "刘䶮", "name")


def test_undecodable_text_is_an_encoding_error():
    assert _code(lambda: tabular.decode_text("姓名".encode("gbk") + b"\xff\xff\xfe\x80"))[0] == "encoding"


@pytest.mark.parametrize(("filename", "data", "result"), [
    ("a.csv", b"a,b", "csv"), ("a.xlsx", b"PK\x03\x04rest", "xlsx"), ("a.csv", b"PK\x03\x04", "xlsx"),
    ("a.xlsx", b"a,b", "bad_xlsx"), ("a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    ("a.csv", b"\x89PNG\r\n", "not_spreadsheet"),
    ("a.csv", b"a,b\x00c", "not_spreadsheet"), ("a.csv", b"", "empty"), ("a.csv", b" \r\n", "empty"),
    ("a.csv", codecs.BOM_UTF8, "empty"), ("a.txt", "姓名".encode("utf-16"), "csv"),
])
def test_sniff_format(filename, data, result):
    if result in ("csv", "xlsx"):
        assert tabular.sniff_format(filename, data) == result
    else:
        assert _code(lambda: tabular.sniff_format(filename, data))[0] == result


def test_a_zip_that_is_no_workbook_is_bad_xlsx():
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "x")
    assert _code(lambda: _read(buf.getvalue(), "a.xlsx"))[0] == "bad_xlsx"


# --- the header ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [
    ["姓名", "证件号码", "工种"], ["Name", "ID Number", "Trade"], [" NAME ", "id_number", "trade"],
    ["姓名*", "证件号码（必填）", "工种代码"], ["Full  Name", "身份证号", "TRADE CODE"], ["ｎａｍｅ", "证件号码：", "工种"],
])
def test_header_aliases_in_chinese_and_english_ignore_case_width_and_marks(header):
    table, rows = _read(_csv([header, ["张三", "1", "电工"]]))
    assert set(table.headers) in ({"name", "id_number", "trade_name"}, {"name", "id_number", "trade_code"})
    assert rows[0][1][0] == "张三"


def test_header_is_the_first_non_blank_row_and_rows_keep_their_numbers():
    table, rows = _read(_csv([[], ["", ""], ["姓名", "证件号码", "工种"], ["张三", "1", "电工"], [], ["", " "],
                              ["李四", "2", "焊工"]]))
    assert table.header_row == 3 and [n for n, _c in rows] == [4, 7]


def test_duplicate_headers_are_refused():
    code, params = _code(lambda: _read(_csv([["姓名", "证件号码", "名字", "工种"], ["a", "b", "c", "d"]])))
    assert code == "duplicate_headers" and params["columns"] == ["名字"]


def test_missing_required_headers_name_the_template_headers():
    code, params = _code(lambda: _read(_csv([["姓名", "备注"], ["a", "b"]])))
    assert code == "missing_headers" and params["columns"] == ["证件号码", "工种代码/工种"]
    assert params["found"] == ["姓名", "备注"]


def test_unknown_headers_are_ignored_or_refused_as_the_layout_says():
    data = _csv([["序号", "姓名", "证件号码", "工种", "部门"], ["1", "张三", "9", "电工", "x"]])
    table, rows = _read(data)
    assert table.ignored_headers == ["序号", "部门"] and rows == [(2, ["张三", "9", "", "电工", ""])]
    code, params = _code(lambda: _read(data, layout=STRICT))
    assert code == "unknown_headers" and params["columns"] == ["序号", "部门"]


def test_a_layout_may_not_give_one_header_to_two_columns():
    with pytest.raises(ValueError):
        Layout((Column("a", ("姓名",)), Column("b", ("ＮＡＭＥ", "姓名*"))))


def test_only_the_first_64_columns_count():
    header = [f"x{i}" for i in range(64)] + ["姓名", "证件号码", "工种"]
    assert _code(lambda: _read(_csv([header, ["v"] * 67])))[0] == "missing_headers"


# --- sizes ---------------------------------------------------------------------------------------------------------


def test_too_many_bytes():
    data = _csv(ROWS)
    assert _read(data, max_bytes=len(data))[1]
    assert _code(lambda: _read(data, max_bytes=len(data) - 1)) == ("too_large", {"max_mb": 1})


@pytest.mark.parametrize("filename", ["a.csv", "a.xlsx"])
def test_too_many_rows_counts_data_rows_not_blank_ones(filename):
    rows = [["姓名", "证件号码", "工种"]] + [["张三", "1", "电工"], []] * 3
    data = _csv(rows) if filename == "a.csv" else _xlsx(rows)
    assert len(_read(data, filename, max_rows=3)[1]) == 3
    assert _code(lambda: _read(data, filename, max_rows=2)) == ("too_many_rows", {"max": 2})


def test_an_empty_sheet_and_a_header_without_rows():
    assert _code(lambda: _read(_csv([[], [""]])))[0] == "empty"
    assert _read(_csv([["姓名", "证件号码", "工种"]]))[1] == []


# --- problems and messages -------------------------------------------------------------------------------------------


def test_row_error_shape():
    assert tabular.row_error(7, "name", "missing", "The name is missing.", value="x") == {
        "row": 7, "column": "name", "code": "missing", "message": "The name is missing.", "value": "x"}


def test_file_messages_in_both_languages(app_ctx):
    with force_locale("en"):
        assert tabular.file_message("duplicate_headers", {"columns": ["姓名", "Name"]}) == \
            "These columns appear more than once: 姓名 and Name."
        assert tabular.file_message("too_large", {"max_mb": 10}) == "The file is too large (at most 10 MB)."
        assert tabular.file_message("too_many_rows", {"max": 5}, {"too_many_rows": "More than %(max)d!"}) == "More than 5!"
        assert tabular.file_message("no_such_code", {}) == str(tabular.FILE_MESSAGES["not_spreadsheet"])
    with force_locale("zh_CN"):
        assert tabular.file_message("empty", {}) != "The file is empty."
        assert tabular.file_message("too_large", {"max_mb": 10}) != "The file is too large (at most 10 MB)."


def test_the_error_column_title_is_known_in_every_language(app_ctx):
    for locale in ("en", "zh_CN"):
        with force_locale(locale):
            assert tabular.normalize_header(str(tabular.ERROR_TITLE)) in tabular.ERROR_HEADERS


# --- formulas --------------------------------------------------------------------------------------------------------

PREFIXES = ["=", "+", "-", "@", "\t", "\r"]


@pytest.mark.parametrize(("text", "formula"), [
    ("=1+1", True), ("=HYPERLINK(\"x\")", True), ("@SUM(A1)", True), ("@", True), ("+A1", True),
    ("-2+3+cmd|' /C calc'!A0", True), ("+cmd|' /C calc'!A0", True),
    ("+86 138 0013 8000", False), ("-", False), ("-1", False), ("张三", False), ("", False), ("a=b", False),
])
def test_looks_like_formula(text, formula):
    assert tabular.looks_like_formula(text) is formula


@pytest.mark.parametrize(("value", "escaped"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-x", "'-x"), ("@x", "'@x"), ("\t=1", "'\t=1"), ("\rx", "'\rx"), ("ok", "ok"),
    ("'=x", "'=x"), (5, 5), (None, None), ("", ""),
])
def test_escape_formula(value, escaped):
    assert tabular.escape_formula(value) == escaped


@pytest.mark.parametrize("prefix", PREFIXES)
def test_unescape_is_the_inverse_of_escape(prefix):
    text = prefix + "SUM(A1)"
    assert tabular.unescape_formula(tabular.escape_formula(text)) == text
    assert tabular.unescape_formula("'007") == "'007"  # an apostrophe the user typed stays


@pytest.mark.parametrize("prefix", PREFIXES)
def test_error_list_escapes_every_prefix_in_csv_and_xlsx(prefix):
    value = prefix + "cmd|' /C calc'!A0"
    content, mimetype, name = tabular.error_list(["Row", "Value"], [[2, value]], fmt="csv", stem="e")
    assert (mimetype, name) == (tabular.CSV_MIMETYPE, "e.csv") and content.startswith(codecs.BOM_UTF8)
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert lines == [["Row", "Value"], ["2", "'" + value]]
    content, mimetype, name = tabular.error_list(["Row", "Value"], [[2, value]], fmt="xlsx", stem="e")
    assert (mimetype, name) == (tabular.XLSX_MIMETYPE, "e.xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    number, cell = (c.value for c in ws[2])
    assert number == 2 and cell[0] == "'" and cell[2:] == value[1:]  # (XML keeps a CR as a line feed)
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)


# --- the file with an error column -------------------------------------------------------------------------------------


def _round_trip(data, filename):
    table = tabular.read_table(filename, data, LAYOUT, max_rows=100, keep_source=True)
    rows = list(table.rows)
    errors = [tabular.row_error(rows[0][0], "name", "x", "Name wrong."), tabular.row_error(rows[0][0], "id_number", "y",
              "ID wrong."), tabular.row_error(None, "", "quota", "Too many for the quota.")]
    fixed = tabular.fix_file(table, errors)
    again = tabular.read_table("fixed.xlsx", fixed, LAYOUT, max_rows=100, keep_source=True)
    return table, rows, fixed, again, list(again.rows)


@pytest.mark.parametrize("filename", ["a.csv", "a.xlsx"])
def test_fix_file_reads_back_as_the_upload(filename):
    upload = [[], ["序号", "姓名", "证件号码", "工种", "备注"], ["1", "张三", "11010519491231002X", "电工", "=1+2"], [],
              ["2", "李四", "E1234567", "焊工", "+86 138"], ["3", "王五", "X1", "车工", "@home"]]
    data = _csv(upload) if filename == "a.csv" else _xlsx(upload)
    table, rows, fixed, again, rows_again = _round_trip(data, filename)
    assert rows_again == rows and [n for n, _c in rows] == [3, 5, 6]
    assert again.header == table.header == ["序号", "姓名", "证件号码", "工种", "备注"]
    assert again.source == table.source and again.ignored_headers == ["序号"]
    ws = openpyxl.load_workbook(io.BytesIO(fixed)).active
    assert [c.value for c in ws[2]] == ["序号", "姓名", "证件号码", "工种", "备注", str(tabular.ERROR_TITLE)]
    assert ws.cell(3, 6).value == "Name wrong.\nID wrong." and ws.cell(3, 5).value == "'=1+2"
    assert ws.cell(5, 5).value == "'+86 138" and ws.cell(6, 5).value == "'@home" and ws.cell(5, 6).value is None
    assert ws.cell(7, 6).value == "Too many for the quota."
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)


def test_a_fixed_file_of_a_fixed_file_has_one_error_column():
    data = _csv([["姓名", "证件号码", "工种"], ["张三", "1", "电工"]])
    _table, _rows, _fixed, again, _ = _round_trip(data, "a.csv")
    twice = tabular.fix_file(again, [])
    ws = openpyxl.load_workbook(io.BytesIO(twice)).active
    assert [c.value for c in ws[1]] == ["姓名", "证件号码", "工种", str(tabular.ERROR_TITLE)]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_lazy_translation_is_escaped_too(app, prefix):
    """A value that is not a ``str`` but becomes one (a lazy translation, say of a label an admin edits) is
    escaped like any text: the escape used to check for ``str`` only, and csv.writer wrote the rest as it was."""
    from flask_babel import lazy_gettext

    value = lazy_gettext(prefix + "SUM(A1)")
    with app.test_request_context():
        written = tabular.csv_bytes([[value, 3]]).decode("utf-8-sig")
        sheet = openpyxl.load_workbook(io.BytesIO(tabular.xlsx_bytes([("s", [[value, 3]])]))).active
    assert next(csv.reader(io.StringIO(written)))[0] == "'" + prefix + "SUM(A1)"
    assert sheet["A1"].data_type == "s" and sheet["A1"].value == "'" + (prefix + "SUM(A1)").replace("\r", "\n")
    assert sheet["B1"].value == 3


def test_a_sheet_with_widths_bold_header_and_text_columns_still_escapes_every_cell():
    sheet = tabular.Sheet("名单", [["姓名", "证件号码"], ["=HYPERLINK(\"x\")", "-11010519491231002X"]],
                          widths=(12, 26), bold_header=True, text_columns=(1,))
    ws = openpyxl.load_workbook(io.BytesIO(tabular.xlsx_bytes([sheet]))).active
    assert ws.title == "名单" and ws.column_dimensions["B"].width == 26
    assert ws["A1"].font.b and not ws["A2"].font.b
    assert ws.column_dimensions["B"].number_format == "@" and ws["B2"].number_format == "@"
    assert [ws["A2"].value, ws["B2"].value] == ["'=HYPERLINK(\"x\")", "'-11010519491231002X"]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
