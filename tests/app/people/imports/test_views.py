"""The import through the HTML pages: bad files and rows give clear messages and leave the database
unchanged; good files preview, confirm all-or-nothing, and stay within the uploader's enterprise."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import db
from app.people.models import Worker, WorkerImport
from tests.app.people.imports.conftest import counts, csv_bytes, import_id_from, resident_id, row, xlsx_bytes

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


def _text(resp) -> str:
    return resp.get_data(as_text=True)


# --- file-level problems: nothing stored, a clear message ------------------------------------------

FILE_CASES = [
    ("empty", b"", "workers.csv", "The file is empty."),
    ("only_bom", codecs.BOM_UTF8, "workers.csv", "The file is empty."),
    ("blank_lines_only", b"\r\n\r\n  \r\n", "workers.csv", "The file is empty."),
    ("header_only", "姓名,证件号码,工种代码\r\n".encode(), "workers.csv", "The file has a header row but no workers."),
    ("wrong_headers", "名称,号码,职务\r\n张三,1,2\r\n".encode(), "workers.csv",
     "Required columns are missing: 姓名, 证件号码, and 工种代码/工种"),
    ("some_headers_missing", "姓名,手机号\r\n张三,13800138000\r\n".encode(), "workers.csv",
     "Required columns are missing: 证件号码 and 工种代码/工种"),
    ("duplicate_header", "姓名,姓名,证件号码,工种\r\n张三,李四,1,电工\r\n".encode(), "w.csv",
     "These columns appear more than once: 姓名"),
    ("png_named_xlsx", PNG, "workers.xlsx", "The file is not a valid XLSX workbook."),
    ("png_named_csv", PNG, "workers.csv", "This is not a spreadsheet."),
    ("old_xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "workers.xls", "Old Excel files (.xls) cannot be read."),
    ("unreadable_encoding", "姓名,证件号码,工种\r\n".encode("gbk") + b"\xff\xff\xfe\x80\r\n", "w.csv",
     "The text encoding of the CSV file was not recognized."),
]


@pytest.mark.parametrize(("case", "data", "filename", "message"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_file_errors_store_nothing(world, uploader, case, data, filename, message):
    before = counts()
    resp = uploader.as_(world["hr_a"]).upload(data, filename)
    assert resp.status_code == 400
    assert message in _text(resp)
    assert counts() == before


def _zip_not_xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return buf.getvalue()


def test_zip_that_is_not_xlsx(world, uploader):
    before = counts()
    resp = uploader.as_(world["hr_a"]).upload(_zip_not_xlsx(), "workers.xlsx")
    assert resp.status_code == 400
    assert "The file is not a valid XLSX workbook." in _text(resp)
    assert counts() == before


def test_no_file_chosen(world, uploader):
    uploader.as_(world["hr_a"])
    resp = uploader.client.post("/workers/import", data={"csrf_token": uploader.token})
    assert resp.status_code == 400
    assert "Choose a file to upload." in _text(resp)


def test_upload_over_10_mb_is_413_and_stores_nothing(world, uploader):
    before = counts()
    big = csv_bytes([row(1)]) + b"#" * (10 * 1024 * 1024 + 1)
    resp = uploader.as_(world["hr_a"]).upload(big, "big.csv")
    assert resp.status_code == 413
    assert "The upload is too large (at most 10 MB)." in _text(resp)
    assert 'enctype="multipart/form-data"' in _text(resp)  # the upload page, ready for another try
    assert counts() == before


def test_too_many_rows(world, uploader, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    before = counts()
    resp = uploader.as_(world["hr_a"]).upload(csv_bytes([row(i) for i in range(1, 5)]))
    assert resp.status_code == 400
    assert "The file has more than 3 workers." in _text(resp)
    assert counts() == before


def test_exactly_max_rows_is_fine(world, uploader, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    resp = uploader.as_(world["hr_a"]).upload(csv_bytes([row(i) for i in range(1, 4)] + [[""] * 8]))
    import_id_from(resp)


# --- encodings and formats that must work ---------------------------------------------------------


@pytest.mark.parametrize(("encoding", "label", "name"), [
    ("utf-8", "UTF-8", "张三"),
    ("utf-8-sig", "UTF-8 with BOM", "张三"),
    ("gbk", "GBK", "欧阳娜娜"),
    ("gb18030", "GB18030", "刘䶮"),  # 䶮 (U+4DAE) is not in GBK: only GB18030 encodes it
])
def test_csv_encodings_are_detected(world, uploader, encoding, label, name):
    data = csv_bytes([row(1, name=name), row(2)], encoding=encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeEncodeError):
            name.encode("gbk")
    resp = uploader.as_(world["hr_a"]).upload(data)
    import_id = import_id_from(resp)
    page = _text(uploader.client.get(f"/workers/import/{import_id}"))
    assert f"encoding detected: {label}" in page
    assert name in page
    imp = db.session.get(WorkerImport, import_id)
    assert imp.error_count == 0 and imp.row_count == 2
    before = counts()[0]
    assert uploader.post(f"/workers/import/{import_id}/confirm").status_code == 302
    assert counts()[0] == before + 2
    assert db.session.scalar(select(Worker.name).where(Worker.name == name)) == name


def test_semicolon_and_tab_separated_csv(world, uploader):
    for sep in (";", "\t"):
        text = sep.join(["姓名", "证件号码", "工种"]) + "\n" + sep.join(["王五", resident_id(55), "电工"]) + "\n"
        imp = db.session.get(WorkerImport, import_id_from(uploader.as_(world["hr_a"]).upload(text.encode())))
        assert (imp.row_count, imp.error_count) == (1, 0)


def test_blank_lines_are_skipped_and_rows_keep_their_numbers(world, uploader):
    data = csv_bytes([row(1), ["", "", "", "", "", "", "", ""], [], row(2, mobile="123")])
    data = b"\r\n" + data  # a blank line before the header, too
    imp = db.session.get(WorkerImport, import_id_from(uploader.as_(world["hr_a"]).upload(data)))
    assert imp.row_count == 2
    assert [(e["row"], e["column"]) for e in imp.errors] == [(6, "mobile")]


def test_xlsx_with_english_headers_and_typed_cells(world, uploader):
    import datetime as dt

    header = ["Name", "Gender", "Birth date", "ID type", "ID number", "Mobile", "Trade", "Skill level"]
    number = resident_id(7, dt.date(1985, 6, 7))
    data = xlsx_bytes([["赵六", "男" if int(number[16]) % 2 else "女", dt.datetime(1985, 6, 7), "居民身份证", number,
                        13912345678, "焊工", 2]], header=header)
    imp = db.session.get(WorkerImport, import_id_from(uploader.as_(world["hr_a"]).upload(data, "w.xlsx")))
    assert (imp.file_format, imp.encoding, imp.row_count, imp.error_count) == ("xlsx", None, 1, 0)
    uploader.post(f"/workers/import/{imp.id}/confirm")
    w = db.session.scalar(select(Worker).where(Worker.name == "赵六"))
    assert (w.mobile, w.trade_id, w.skill_level, str(w.birth_date)) == ("13912345678", world["welder"].id, 2, "1985-06-07")


def test_xlsx_id_number_stored_as_number_is_explained(world, uploader):
    data = xlsx_bytes([["钱七", "", "", "", 110105199001011234, "", "电工", ""]])
    imp = db.session.get(WorkerImport, import_id_from(uploader.as_(world["hr_a"]).upload(data, "w.xlsx")))
    assert [e["code"] for e in imp.errors] == ["as_number"]


# --- row errors: shown, counted, and nothing written ------------------------------------------------

MISMATCH_ID = resident_id(11)
OPPOSITE_GENDER = "女" if int(MISMATCH_ID[16]) % 2 else "男"

ROW_CASES = [
    ("bad_check_char", {"id_number": resident_id(3)[:-1] + ("0" if resident_id(3)[-1] != "0" else "1")}, "id_number",
     "The check character (the last character) of the ID number is wrong"),
    ("bad_id_date", {"id_number": "110105199013011230"}, "id_number", "is not a real date"),
    ("short_id", {"id_number": "11010519900101123"}, "id_number", "exactly 18 characters"),
    ("missing_id", {"id_number": ""}, "id_number", "The ID number is missing."),
    ("missing_name", {"name": ""}, "name", "The name is missing."),
    ("bad_mobile", {"mobile": "1380013800"}, "mobile", "A mobile number has 11 digits"),
    ("unknown_trade", {"trade": "飞行员"}, "trade", "Unknown trade"),
    ("inactive_trade", {"trade": "6-99-99-99"}, "trade", "Unknown trade"),
    ("missing_trade", {"trade": ""}, "trade", "The trade is missing."),
    ("bad_level", {"skill_level": "六级"}, "skill_level", "Unknown skill level"),
    ("bad_gender", {"gender": "X"}, "gender", "The gender must be 男 or 女"),
    ("gender_mismatch", {"gender": OPPOSITE_GENDER, "id_number": MISMATCH_ID}, "gender", "does not match"),
    ("birth_mismatch", {"birth_date": "2001-02-03"}, "birth_date", "does not match the ID number"),
    ("bad_birth", {"id_type": "护照", "id_number": "E12345678", "gender": "男", "birth_date": "1990-13-45"}, "birth_date",
     "The date of birth is not a date"),
    ("passport_needs_birth", {"id_type": "护照", "id_number": "E12345678", "gender": "男"}, "birth_date",
     "The date of birth is missing"),
    ("unknown_id_type", {"id_type": "驾驶证"}, "id_type", "Unknown document type"),
    ("xss_name", {"name": "<script>alert(1)</script>"}, "name", "The name may contain only"),
    ("csv_formula_name", {"name": "=HYPERLINK(\"http://x\",\"点我\")"}, "name", "Formulas are not allowed"),
    ("csv_formula_mobile", {"mobile": "+cmd|' /C calc'!A0"}, "mobile", "Formulas are not allowed"),
    ("csv_at_formula", {"skill_level": "@SUM(1+1)"}, "skill_level", "Formulas are not allowed"),
]


@pytest.mark.parametrize(("case", "overrides", "column", "message"), ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_row_errors(world, uploader, case, overrides, column, message):
    workers_before = counts()[0]
    data = csv_bytes([row(1), row(2, **overrides), row(3)])
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(data))
    imp = db.session.get(WorkerImport, import_id)
    assert (imp.row_count, imp.error_count) == (3, 1)
    assert [(e["row"], e["column"]) for e in imp.errors] == [(3, column)]
    page = _text(uploader.client.get(f"/workers/import/{import_id}"))
    assert message in page
    assert 'class="row-error"' in page
    assert "<script>alert(1)</script>" not in page
    # confirming is refused while any row has an error; nothing is written
    resp = uploader.post(f"/workers/import/{import_id}/confirm")
    assert resp.status_code == 400
    assert "The file has errors." in _text(resp)
    assert counts()[0] == workers_before
    assert db.session.get(WorkerImport, import_id).status == "preview"


def test_xss_name_is_rendered_escaped(world, uploader):
    data = csv_bytes([row(1, name="<img src=x onerror=alert(1)>")])
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(data))
    page = _text(uploader.client.get(f"/workers/import/{import_id}"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page


def test_xlsx_formula_cells_are_rejected(world, uploader):
    data = xlsx_bytes([row(1), row(2, name="=CONCATENATE(\"张\",\"三\")"), row(3, mobile="=13800138000+1")])
    imp = db.session.get(WorkerImport, import_id_from(uploader.as_(world["hr_a"]).upload(data, "w.xlsx")))
    assert [(e["row"], e["column"], e["code"]) for e in imp.errors] == [(3, "name", "formula"), (4, "mobile", "formula")]


def test_plus86_mobile_is_not_a_formula(world, uploader):
    imp = db.session.get(WorkerImport, import_id_from(uploader.as_(world["hr_a"]).upload(
        csv_bytes([row(1, mobile="+86 139-0000-0001")]))))
    assert imp.error_count == 0 and imp.rows[0][8] == "13900000001"


def test_duplicate_rows_in_the_file(world, uploader):
    data = csv_bytes([row(1), row(2), row(1, name="另一人")])
    imp = db.session.get(WorkerImport, import_id_from(uploader.as_(world["hr_a"]).upload(data)))
    assert [(e["row"], e["code"], e.get("first_row")) for e in imp.errors] == [(4, "duplicate", 2)]
    page = _text(uploader.client.get(f"/workers/import/{imp.id}"))
    assert "The same ID number is already in row 2 of this file." in page


def test_already_registered_here_and_elsewhere(world, uploader):
    before = counts()[0]
    data = csv_bytes([row(1), row(2, id_number=world["id_a"]), row(3, id_number=world["id_b"])])
    imp = db.session.get(WorkerImport, import_id_from(uploader.as_(world["hr_a"]).upload(data)))
    assert [(e["row"], e["code"]) for e in imp.errors] == [(3, "registered_here"), (4, "registered_elsewhere")]
    page = _text(uploader.client.get(f"/workers/import/{imp.id}"))
    assert "This worker is already registered in your enterprise." in page
    assert "This ID number is already registered with another enterprise." in page
    assert world["ent_b"].name not in page and world["worker_b"].name not in page
    assert uploader.post(f"/workers/import/{imp.id}/confirm").status_code == 400
    assert counts()[0] == before


def test_preview_never_shows_full_id_numbers(world, uploader):
    number = resident_id(5)
    imp_id = import_id_from(uploader.as_(world["hr_a"]).upload(csv_bytes([row(5, id_number=number)])))
    page = _text(uploader.client.get(f"/workers/import/{imp_id}"))
    assert number not in page and number[-4:] in page
    stored = db.session.get(WorkerImport, imp_id)
    assert number not in str(stored.rows) and number not in str(stored.errors)


# --- confirm ------------------------------------------------------------------------------------------


def test_confirm_writes_every_row_once(world, uploader):
    before = counts()[0]
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(csv_bytes([row(i) for i in range(1, 6)])))
    assert counts()[0] == before  # the preview writes no worker
    resp = uploader.post(f"/workers/import/{import_id}/confirm")
    assert resp.status_code == 302
    assert counts()[0] == before + 5
    page = _text(uploader.client.get(resp.headers["Location"]))
    assert "5 workers were imported." in page
    imp = db.session.get(WorkerImport, import_id)
    assert imp.status == "confirmed" and imp.confirmed_at is not None and imp.rows == []
    workers = db.session.scalars(select(Worker).where(Worker.name.like("工人%"), Worker.enterprise_id == world["ent_a"].id)).all()
    assert len(workers) == 5
    w = workers[0]
    assert w.is_active and w.created_at is not None and w.trade_id == world["electrician"].id and w.skill_level == 3
    from app.crypto import id_cipher

    numbers = {resident_id(i, __import__("datetime").date(1980 + i % 20, 1 + i % 12, 1 + i % 28)) for i in range(1, 6)}
    assert {id_cipher().decrypt(x.id_encrypted) for x in workers} == numbers
    assert {x.id_hash for x in workers} == {id_cipher().hash("resident", n) for n in numbers}

    # a second confirm is refused and writes nothing
    resp = uploader.post(f"/workers/import/{import_id}/confirm")
    assert resp.status_code == 409
    assert "already confirmed" in _text(resp)
    assert counts()[0] == before + 5


def test_confirm_refused_when_the_database_changed(world, uploader, create_worker):
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(csv_bytes([row(1), row(2)])))
    # someone registers the second person while HR looks at the preview
    from datetime import date

    create_worker(enterprise=world["ent_b"], id_number=resident_id(2, date(1982, 3, 3)))
    before = counts()[0]
    resp = uploader.post(f"/workers/import/{import_id}/confirm")
    assert resp.status_code == 409
    assert "registered in the meantime, so nothing was imported" in _text(resp)
    assert counts()[0] == before
    assert db.session.get(WorkerImport, import_id).status == "preview"


def test_conditional_update_stops_a_concurrent_second_confirm(world, app, create_user):
    """Two requests loaded the preview; the first confirmed. The second's UPDATE … WHERE status='preview'
    matches nothing, so it refuses even though its own copy still says 'preview'."""
    from sqlalchemy import update

    from app.errors import Conflict
    from app.people.imports import services
    from tests.app.people.imports.conftest import csv_bytes as mk

    with app.test_request_context():
        imp = services.preview_import(world["hr_a"], None, "a.csv", mk([row(1)]))
        db.session.execute(update(WorkerImport).where(WorkerImport.id == imp.id).values(status="confirmed")
                           .execution_options(synchronize_session=False))
        assert imp.status == "preview"  # this session's stale view, as in a concurrent request
        before = counts()[0]
        with pytest.raises(Conflict):
            services.confirm_import(world["hr_a"], imp.id)
        assert counts()[0] == before


def test_discard(world, uploader):
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(csv_bytes([row(1)]), "待导入名单.csv"))
    resp = uploader.post(f"/workers/import/{import_id}/discard")
    assert resp.status_code == 302
    page = _text(uploader.client.get(resp.headers["Location"]))
    assert "The import was discarded; nothing was imported." in page
    assert "待导入名单.csv" in page and "Discarded" in page  # the recent imports list
    imp = db.session.get(WorkerImport, import_id)
    assert imp.status == "discarded" and imp.rows == []
    before = counts()[0]
    assert uploader.post(f"/workers/import/{import_id}/confirm").status_code == 409
    assert counts()[0] == before


def test_hr_of_another_enterprise_gets_404(world, uploader):
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(csv_bytes([row(1, name="甲厂秘密")])))
    uploader.as_(world["hr_b"])
    for url in (f"/workers/import/{import_id}", f"/workers/import/{import_id}/errors"):
        resp = uploader.client.get(url)
        assert resp.status_code == 404 and "甲厂秘密" not in _text(resp)
    before = counts()[0]
    for action in ("confirm", "discard"):
        assert uploader.post(f"/workers/import/{import_id}/{action}").status_code == 404
    assert counts()[0] == before
    assert db.session.get(WorkerImport, import_id).status == "preview"
    assert "甲厂秘密" not in _text(uploader.client.get("/workers/import"))


def test_hr_of_several_enterprises_chooses(world, uploader, create_user):
    from app.accounts.models import Role, UserRole

    both = create_user(Role.HR, enterprise=world["ent_a"])
    both.roles.append(UserRole(role=Role.HR, enterprise_id=world["ent_b"].id))
    db.session.flush()
    uploader.as_(both)
    assert 'name="enterprise_id"' in _text(uploader.client.get("/workers/import"))
    resp = uploader.upload(csv_bytes([row(1)]))
    assert resp.status_code == 400 and "Please choose the enterprise." in _text(resp)
    imp = db.session.get(WorkerImport, import_id_from(uploader.upload(csv_bytes([row(1)]), enterprise_id=str(world["ent_b"].id))))
    assert imp.enterprise_id == world["ent_b"].id


# --- paging, error file, template, audit ----------------------------------------------------------------


def test_preview_pages_and_error_filter(world, uploader):
    rows = [row(i) for i in range(1, 251)]
    rows[200] = row(201, mobile="12")
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(csv_bytes(rows)))
    page1 = _text(uploader.client.get(f"/workers/import/{import_id}"))
    assert "Page 1 of 3" in page1 and page1.count("<tr") == 101
    page3 = _text(uploader.client.get(f"/workers/import/{import_id}?page=3"))
    assert "Showing rows 201–250 of 250" in page3
    only = _text(uploader.client.get(f"/workers/import/{import_id}?only=errors"))
    assert only.count('class="row-error"') == 1 and "Showing rows 1–1 of 1" in only


def test_error_file_csv_and_xlsx(world, uploader):
    number = resident_id(2)[:-1] + ("0" if resident_id(2)[-1] != "0" else "1")
    data = csv_bytes([row(1), row(2, id_number=number, trade="=1+2"), row(3, trade="-A1+cmd"), row(4, name="@x")])
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(data))
    resp = uploader.client.get(f"/workers/import/{import_id}/errors")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    assert resp.data.startswith(codecs.BOM_UTF8)
    lines = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert lines[0] == ["Row", "Column", "Error", "Value in the file"]
    assert [line[0] for line in lines[1:]] == ["3", "3", "4", "5"]
    values = [line[3] for line in lines[1:]]
    assert "'=1+2" in values and "'-A1+cmd" in values and "'@x" in values
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)
    assert number not in resp.data.decode("utf-8-sig")
    resp = uploader.client.get(f"/workers/import/{import_id}/errors?format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    cells = [c.value for r in ws.iter_rows() for c in r]
    assert "Row" in cells and "'=1+2" in cells
    assert all(c.data_type != "f" for r in ws.iter_rows() for c in r)


def test_template_download_round_trips(world, uploader):
    resp = uploader.as_(world["hr_a"]).client.get("/workers/import/template.xlsx")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).worksheets[0]
    assert [c.value for c in ws[1]] == ["姓名", "性别", "出生日期", "证件类型", "证件号码", "手机号", "工种代码", "技能等级"]
    imp = db.session.get(WorkerImport, import_id_from(uploader.upload(resp.data, "template.xlsx")))
    assert (imp.row_count, imp.error_count) == (1, 0)


def test_one_audit_entry_per_preview_and_confirm_without_id_numbers(world, uploader):
    numbers = [resident_id(i) for i in (1, 2)]
    import_id = import_id_from(uploader.as_(world["hr_a"]).upload(
        csv_bytes([row(1, id_number=numbers[0]), row(2, id_number=numbers[1])]), "名单.csv"))
    uploader.post(f"/workers/import/{import_id}/confirm")
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.target_id == import_id).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["worker_import_previewed", "worker_import_confirmed"]
    assert entries[0].details["rows"] == 2 and entries[0].details["filename"] == "名单.csv"
    assert entries[1].details["created"] == 2
    assert entries[0].actor_id == world["hr_a"].id
    assert not any(n in str(e.details) for e in entries for n in numbers)


def test_too_many_rows_in_xlsx(world, uploader, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 2)
    before = counts()
    resp = uploader.as_(world["hr_a"]).upload(xlsx_bytes([row(i) for i in range(1, 4)]), "w.xlsx")
    assert resp.status_code == 400 and "The file has more than 2 workers." in _text(resp)
    assert counts() == before


def test_pages_render_in_chinese(world, uploader):
    uploader.as_(world["hr_a"]).client.set_cookie("lang", "zh_CN")
    import_id = import_id_from(uploader.upload(csv_bytes([row(1), row(2, mobile="1")])))
    for url in ("/workers/import", f"/workers/import/{import_id}", f"/workers/import/{import_id}?only=errors"):
        resp = uploader.client.get(url)
        assert resp.status_code == 200 and '<html lang="zh-CN">' in _text(resp)
