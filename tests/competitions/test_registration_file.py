"""Registration from a file: rows matched by ID-number hash among the HR's own workers, dry run preview
with per-row errors, then all or nothing."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select

from app.crypto import id_cipher
from app.db import db
from competitions.models import EnterpriseQuota, Entry
from tests.competitions import registration_judging_fixtures as fixtures
from tests.conftest import make_resident_id

world = fixtures.world
BORN = date(1975, 5, 5)


def _count(world) -> int:
    return db.session.scalar(select(func.count()).select_from(Entry).where(Entry.competition_id == world.competition.id))


def _csv(rows: list[list[str]], header=("姓名", "证件号码")) -> bytes:
    lines = [",".join(header)] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _upload(world, data: bytes, *, dry_run: bool, role: str = "hr_a", filename: str = "名单.csv"):
    url = world.url("/entries/file" + ("?dry_run=1" if dry_run else ""))
    return world.call(role, "POST", url, data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


@pytest.fixture
def people(world, create_worker):
    """Workers whose ID numbers the test knows: three of A, one inactive of A, one of B."""
    n = iter(range(701, 800))
    def make(ent, name, **kw):
        number = make_resident_id(next(n), BORN)
        return create_worker(enterprise=ent, name=name, id_number=number, **kw), number
    return {
        "a1": make(world.ent_a, "陈一"), "a2": make(world.ent_a, "陈二"), "a3": make(world.ent_a, "陈三"),
        "gone": make(world.ent_a, "陈离", is_active=False), "b1": make(world.ent_b, "林乙"),
    }


def test_dry_run_previews_and_writes_nothing_then_confirm_writes_all(world, people):
    (a1, n1), (a2, n2) = people["a1"], people["a2"]
    data = _csv([[a1.name, n1], ["", n2.lower()]])  # the name may be left out; a lower-case x is normalized
    preview = _upload(world, data, dry_run=True)
    assert preview.status_code == 200, preview.json
    assert preview.json["dry_run"] is True and preview.json["errors"] == [] and preview.json["entries"] == []
    assert preview.json["rows"] == [{"row": 2, "worker_id": a1.id, "name": a1.name},
                                    {"row": 3, "worker_id": a2.id, "name": a2.name}]
    assert preview.json["row_count"] == preview.json["valid_count"] == 2
    assert _count(world) == 0
    done = _upload(world, data, dry_run=False)
    assert done.status_code == 200, done.json
    assert done.json["dry_run"] is False
    assert sorted(e["worker"]["id"] for e in done.json["entries"]) == sorted([a1.id, a2.id])
    assert _count(world) == 2


def test_every_bad_row_is_reported_and_nothing_is_written(world, people):
    (a1, n1), (_a2, n2), (a3, n3) = people["a1"], people["a2"], people["a3"]
    gone, n_gone = people["gone"]
    b1, n_b1 = people["b1"]
    world.entry(a3, status="registered")
    unknown = make_resident_id(999, BORN)
    bad_check = n1[:-1] + ("0" if n1[-1] != "0" else "1")
    rows = [
        [a1.name, n1],  # 2: fine
        ["", bad_check],  # 3: wrong check character
        [b1.name, n_b1],  # 4: another enterprise's worker → not found, not named
        ["", unknown],  # 5: nobody
        ["", n1],  # 6: the same person again
        ["错名字", n2],  # 7: name does not match
        [gone.name, n_gone],  # 8: inactive
        [a3.name, n3],  # 9: already registered
        ["", ""],  # 10: blank row — skipped
        ["陈四", ""],  # 11: no ID number
    ]
    data = _csv(rows)
    preview = _upload(world, data, dry_run=True)
    assert preview.status_code == 200
    got = [(e["row"], e["column"], e["code"]) for e in preview.json["errors"]]
    assert got == [
        (3, "id_number", "check"), (4, "id_number", "not_found"), (5, "id_number", "not_found"),
        (6, "id_number", "duplicate"), (7, "name", "name_mismatch"), (8, "id_number", "inactive"),
        (9, "id_number", "already_registered"), (11, "id_number", "missing"),
    ]
    assert all(e["message"] for e in preview.json["errors"])
    assert preview.json["row_count"] == 9 and preview.json["valid_count"] == 1
    body = preview.get_data(as_text=True)
    assert b1.name not in body and world.ent_b.name not in body
    refused = _upload(world, data, dry_run=False)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "registration_refused"
    assert refused.json["error"]["details"]["errors"] == preview.json["errors"]
    assert _count(world) == 1  # only the entry set up before


def test_hr_b_cannot_register_a_workers_by_file(world, people):
    a1, n1 = people["a1"]
    resp = _upload(world, _csv([[a1.name, n1]]), dry_run=True, role="hr_b")
    assert [e["code"] for e in resp.json["errors"]] == ["not_found"]
    assert resp.json["rows"] == [] and a1.name not in resp.get_data(as_text=True)
    assert _upload(world, _csv([[a1.name, n1]]), dry_run=False, role="hr_b").status_code == 422
    assert _count(world) == 0


def test_xlsx_with_document_type_and_a_number_cell(world, people, create_worker):
    a1, n1 = people["a1"]
    passport = "E12345678"
    p_worker = create_worker(enterprise=world.ent_a, name="外籍甲", id_type="passport",
                             id_hash=id_cipher().hash("passport", passport))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "姓名", "证件类型", "证件号码"])
    ws.append([1, a1.name, "居民身份证", n1])
    ws.append([2, p_worker.name, "护照", passport])
    ws.append([3, "陈二", "身份证", 110105197505057000])  # typed as a number: digits lost
    buf = io.BytesIO()
    wb.save(buf)
    resp = _upload(world, buf.getvalue(), dry_run=True, filename="名单.xlsx")
    assert resp.status_code == 200, resp.json
    assert [r["worker_id"] for r in resp.json["rows"]] == [a1.id, p_worker.id]
    assert [(e["row"], e["code"]) for e in resp.json["errors"]] == [(4, "as_number")]


def test_quota_is_checked_for_the_whole_file(world, people):
    db.session.add(EnterpriseQuota(competition_id=world.competition.id, enterprise_id=world.ent_a.id, max_entries=1))
    db.session.flush()
    data = _csv([[people["a1"][0].name, people["a1"][1]], [people["a2"][0].name, people["a2"][1]]])
    preview = _upload(world, data, dry_run=True)
    assert [(e["row"], e["code"]) for e in preview.json["errors"]] == [(None, "quota_exceeded")]
    assert _upload(world, data, dry_run=False).status_code == 422
    assert _count(world) == 0


@pytest.mark.parametrize("data, code", [
    (b"", "import_empty"),
    ("姓名,手机号\n张三,13800138000\n".encode(), "import_missing_headers"),
    ("证件号码\n".encode(), "import_no_rows"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "import_not_spreadsheet"),
])
def test_unreadable_files_are_400(world, data, code):
    resp = _upload(world, data, dry_run=True)
    assert resp.status_code == 400 and resp.json["error"]["code"] == code


def test_gbk_csv_and_english_headers(world, people):
    a1, n1 = people["a1"]
    data = f"Full Name,ID Number\n{a1.name},{n1}\n".encode("gbk")
    resp = _upload(world, data, dry_run=True)
    assert resp.status_code == 200 and [r["worker_id"] for r in resp.json["rows"]] == [a1.id]


def test_file_only_while_registration_is_open(world, people):
    world.set_status("registration_closed")
    resp = _upload(world, _csv([[people["a1"][0].name, people["a1"][1]]]), dry_run=True)
    assert resp.status_code == 409
