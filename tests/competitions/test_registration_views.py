"""Registration pages: HR's overview, picking workers, the registration file (preview, all-or-nothing confirm, error
file), withdrawing; the organizer's decisions, quotas, draw and the sealed code list. Every role, including HR of
another enterprise; bad input answers 4xx and writes nothing."""

from __future__ import annotations

import base64
import io
import re
from datetime import date

import openpyxl
import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db
from competitions.models import EnterpriseQuota, Entry, Panel, PanelJudge
from tests.competitions import registration_judging_fixtures as fixtures
from tests.conftest import csrf_token, login_as, make_resident_id

world = fixtures.world
BORN = date(1976, 6, 6)


def _count(world, **where) -> int:
    stmt = select(func.count()).select_from(Entry).where(Entry.competition_id == world.competition.id)
    for k, v in where.items():
        stmt = stmt.where(getattr(Entry, k) == v)
    return db.session.scalar(stmt)


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


class Browser:
    """The world's client logged in as one role, with a CSRF token for its forms."""

    def __init__(self, world, role: str):
        self.world, self.client = world, world.client
        login_as(self.client, world.users[role])
        self.client.set_cookie("lang", "en")
        self.token = csrf_token(self.client)

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data=None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token)
        return self.client.post(url, data=data, **kw)


@pytest.fixture
def as_role(world):
    return lambda role: Browser(world, role)


def _hr_url(world, suffix: str = "") -> str:
    return f"/registrations/{world.competition.id}{suffix}"


def _manage_url(world, suffix: str = "") -> str:
    return f"/competitions/{world.competition.id}/registrations{suffix}"


def _text(resp) -> str:
    return resp.get_data(as_text=True)


# --- access -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("hr_a", 200), ("hr_b", 200), ("organizer", 403), ("admin", 403),
                                          ("judge_on", 403), ("worker", 403)])
def test_hr_pages_are_for_hr(world, as_role, role, status):
    b = as_role(role)
    assert b.get("/registrations").status_code == status
    assert b.get(_hr_url(world)).status_code == status


@pytest.mark.parametrize("role, status", [("organizer", 200), ("admin", 200), ("hr_a", 403), ("judge_on", 403),
                                          ("worker", 403)])
def test_manage_page_is_for_organizers(world, as_role, role, status):
    assert as_role(role).get(_manage_url(world)).status_code == status


def test_anonymous_is_sent_to_login(world):
    resp = world.client.get("/registrations")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_draft_competition_is_not_found_for_hr(world, as_role):
    world.set_status("draft")
    assert as_role("hr_a").get(_hr_url(world)).status_code == 404


# --- HR overview and picking workers --------------------------------------------------------------------


def test_overview_lists_open_competitions_and_own_entries_only(world, as_role):
    world.entry(world.workers_a[0], status="registered")
    world.entry(world.workers_b[0], status="approved")
    page = _text(as_role("hr_a").get("/registrations"))
    assert world.competition.name in page and "Register workers" in page
    assert re.search(r"<td>1</td>", page)  # one registered entry of A
    page_b = _text(as_role("hr_b").get("/registrations"))
    assert world.competition.name in page_b
    assert world.workers_a[0].name not in page_b


def test_picker_lists_only_own_active_workers_and_marks_registered(world, as_role):
    world.entry(world.workers_a[1], status="approved")
    page = _text(as_role("hr_a").get(_hr_url(world)))
    for w in world.workers_a:
        assert w.name in page
    assert world.inactive_a.name not in page
    assert all(w.name not in page for w in world.workers_b + world.workers_c)
    assert f'value="{world.workers_a[0].id}"' in page
    assert f'value="{world.workers_a[1].id}"' not in page  # already registered: a status, no checkbox


def test_picker_search_by_last4_and_whole_id_is_refused(world, as_role):
    b = as_role("hr_a")
    target = world.workers_a[2]
    page = _text(b.get(_hr_url(world), query_string={"q": target.id_last4}))
    assert target.name in page
    whole = make_resident_id(4242, BORN)
    page = _text(b.get(_hr_url(world), query_string={"q": whole}))
    assert whole not in page and "last 4 characters" in page


def test_register_ticked_workers(world, as_role):
    ids = [world.workers_a[0].id, world.workers_a[1].id]
    resp = as_role("hr_a").post(_hr_url(world, "/register"), {"worker_ids": ids})
    assert resp.status_code == 302
    assert _count(world, status="registered") == 2
    assert "competition_entries_registered" in _actions()


@pytest.mark.parametrize("body, status", [({}, 400), ({"worker_ids": "abc"}, 400)])
def test_register_bad_input_is_4xx_and_writes_nothing(world, as_role, body, status):
    resp = as_role("hr_a").post(_hr_url(world, "/register"), body)
    assert resp.status_code == status
    assert _count(world) == 0


def test_register_other_enterprises_worker_is_refused_without_leaking(world, as_role):
    resp = as_role("hr_a").post(_hr_url(world, "/register"), {"worker_ids": [world.workers_a[0].id,
                                                                              world.workers_b[0].id]})
    assert resp.status_code == 404
    assert world.workers_b[0].name not in _text(resp)
    assert _count(world) == 0


def test_register_over_quota_is_409_and_writes_nothing(world, as_role):
    db.session.add(EnterpriseQuota(competition_id=world.competition.id, enterprise_id=world.ent_a.id, max_entries=1))
    db.session.flush()
    b = as_role("hr_a")
    assert "0 of 1 places used" in _text(b.get(_hr_url(world)))
    resp = b.post(_hr_url(world, "/register"), {"worker_ids": [w.id for w in world.workers_a[:2]]})
    assert resp.status_code == 409 and "quota" in _text(resp)
    assert _count(world) == 0


def test_register_when_closed_is_409(world, as_role):
    world.set_status("registration_closed")
    b = as_role("hr_a")
    assert "not open" in _text(b.get(_hr_url(world)))
    resp = b.post(_hr_url(world, "/register"), {"worker_ids": [world.workers_a[0].id]})
    assert resp.status_code == 409 and _count(world) == 0


# --- registration file -----------------------------------------------------------------------------------


@pytest.fixture
def known(world, create_worker):
    """Workers whose ID numbers the test knows: two of A, one of B."""
    n = iter(range(801, 900))

    def make(ent, name):
        number = make_resident_id(next(n), BORN)
        return create_worker(enterprise=ent, name=name, id_number=number), number

    return {"a1": make(world.ent_a, "郑一"), "a2": make(world.ent_a, "郑二"), "b1": make(world.ent_b, "郑乙")}


def _csv(rows) -> bytes:
    return ("姓名,证件号码\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode("utf-8")


def _upload(b, world, data: bytes, filename: str = "名单.csv"):
    return b.post(_hr_url(world, "/file"), {"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def _hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)


def test_file_preview_then_confirm_registers_every_row(world, as_role, known):
    (a1, n1), (a2, n2) = known["a1"], known["a2"]
    b = as_role("hr_a")
    data = _csv([(a1.name, n1), ("", n2)])
    preview = _upload(b, world, data)
    page = _text(preview)
    assert preview.status_code == 200 and a1.name in page and a2.name in page
    assert "Confirm registration of 2 workers" in page
    assert _count(world) == 0  # the preview writes nothing
    encoded = _hidden(page, "content")
    assert base64.b64decode(encoded) == data
    done = b.post(_hr_url(world, "/file/confirm"), {"content": encoded, "filename": "名单.csv"})
    assert done.status_code == 302
    assert _count(world, status="registered") == 2


def test_file_with_errors_shows_every_row_and_confirm_writes_nothing(world, as_role, known):
    (a1, n1), (b1, nb) = known["a1"], known["b1"]
    b = as_role("hr_a")
    data = _csv([(a1.name, n1), ("王错名", known["a2"][1]), (b1.name, nb), ("", "12345")])
    page = _text(_upload(b, world, data))
    assert "The file has 3 errors" in page
    assert "does not match" in page  # row 3: name mismatch
    assert b1.name not in page  # B's worker reads like an unknown one
    assert re.search(r"<button type=\"button\" disabled>Confirm registration</button>", page)
    resp = b.post(_hr_url(world, "/file/confirm"), {"content": base64.b64encode(data).decode(), "filename": "x.csv"})
    assert resp.status_code == 422 and "No worker was registered" in _text(resp)
    assert _count(world) == 0


def test_file_error_download_csv_and_xlsx(world, as_role, known):
    b = as_role("hr_a")
    data = _csv([("", "12345"), (known["a1"][0].name, known["a1"][1])])
    encoded = base64.b64encode(data).decode()
    resp = b.post(_hr_url(world, "/file/errors"), {"content": encoded, "filename": "x.csv", "format": "csv"})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    text = resp.data.decode("utf-8-sig")
    assert text.splitlines()[0] == "Row,Column,Error" and text.splitlines()[1].startswith("2,")
    assert len(text.splitlines()) == 2
    resp = b.post(_hr_url(world, "/file/errors"), {"content": encoded, "filename": "x.csv", "format": "xlsx"})
    rows = list(openpyxl.load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("Row", "Column", "Error") and rows[1][0] == 2
    assert _count(world) == 0


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])  # (a leading tab or CR is stripped from every cell read)
def test_file_with_an_error_column_reads_back_as_the_upload(world, as_role, known, prefix):
    from app import tabular
    from competitions.services import registration as services

    b = as_role("hr_a")
    (a1, n1) = known["a1"]
    data = f"序号,姓名,证件号码\n1,{prefix}1+2,12345\n\n2,{a1.name},{n1}\n".encode()
    encoded = base64.b64encode(data).decode()
    resp = b.post(_hr_url(world, "/file/errors"), {"content": encoded, "filename": "x.csv", "format": "fix"})
    assert resp.status_code == 200 and resp.mimetype == tabular.XLSX_MIMETYPE
    ws = openpyxl.load_workbook(io.BytesIO(resp.data)).active
    assert [c.value for c in ws[1]] == ["序号", "姓名", "证件号码", "Errors"]
    assert [c.value for c in ws[2]][:3] == ["1", f"'{prefix}1+2", "12345"] and "18" in ws.cell(2, 4).value  # 18 chars
    assert ws.cell(3, 1).value is None and ws.cell(4, 2).value == a1.name and ws.cell(4, 4).value is None
    table = tabular.read_table("fixed.xlsx", resp.data, services.LAYOUT, max_rows=10)
    assert list(table.rows) == [(2, [f"{prefix}1+2", "", "12345"]), (4, [a1.name, "", n1])]
    assert _count(world) == 0


def test_two_columns_for_one_field_are_refused(world, as_role, known):
    (a1, n1) = known["a1"]
    data = f"姓名,名字,证件号码\n{a1.name},{a1.name},{n1}\n".encode()
    resp = _upload(as_role("hr_a"), world, data)
    assert resp.status_code == 400 and "These columns appear more than once: 名字" in _text(resp)
    assert _count(world) == 0


@pytest.mark.parametrize("data, status", [(b"", 400), (b"\x00\x01garbage", 400)])
def test_unreadable_file_is_4xx_on_the_page(world, as_role, data, status):
    resp = _upload(as_role("hr_a"), world, data, "x.xlsx")
    assert resp.status_code == status and _count(world) == 0
    assert "has-error" in _text(resp)


def test_confirm_with_tampered_data_is_400(world, as_role):
    resp = as_role("hr_a").post(_hr_url(world, "/file/confirm"), {"content": "!!not base64!!", "filename": "x.csv"})
    assert resp.status_code == 400 and _count(world) == 0


def test_file_upload_without_csrf_is_refused(world, as_role, known):
    b = as_role("hr_a")
    resp = b.client.post(_hr_url(world, "/file"), data={"file": (io.BytesIO(_csv([("", known["a1"][1])])), "a.csv")},
                         content_type="multipart/form-data")
    assert resp.status_code == 400 and _count(world) == 0


# --- withdrawing ------------------------------------------------------------------------------------------


def test_hr_withdraws_own_entry(world, as_role):
    e = world.entry(world.workers_a[0], status="approved")
    resp = as_role("hr_a").post(_hr_url(world, f"/entries/{e.id}/withdraw"))
    assert resp.status_code == 302
    db.session.refresh(e)
    assert e.status == "withdrawn" and "competition_entry_withdrawn" in _actions()


def test_other_enterprise_cannot_withdraw(world, as_role):
    e = world.entry(world.workers_a[0], status="approved")
    resp = as_role("hr_b").post(_hr_url(world, f"/entries/{e.id}/withdraw"))
    assert resp.status_code == 404 and world.workers_a[0].name not in _text(resp)
    db.session.refresh(e)
    assert e.status == "approved"


def test_withdraw_after_start_is_409(world, as_role):
    e = world.entry(world.workers_a[0], status="approved", code="001")
    world.set_status("running")
    b = as_role("hr_a")
    assert "Withdraw</button>" not in _text(b.get(_hr_url(world)))
    resp = b.post(_hr_url(world, f"/entries/{e.id}/withdraw"))
    assert resp.status_code == 409
    db.session.refresh(e)
    assert e.status == "approved"


# --- organizer: decisions, quotas, draw, code list --------------------------------------------------------


def test_bulk_approve_and_single_reject(world, as_role):
    es = [world.entry(w, status="registered") for w in world.workers_a[:3]]
    b = as_role("organizer")
    page = _text(b.get(_manage_url(world)))
    assert all(w.name in page for w in world.workers_a[:3])
    resp = b.post(_manage_url(world, "/decide"), {"entry_ids": [es[0].id, es[1].id], "decision": "approve"})
    assert resp.status_code == 302
    resp = b.post(_manage_url(world, "/decide"), {"one": f"reject:{es[2].id}", "reason": "资格不符"})
    assert resp.status_code == 302
    for e in es:
        db.session.refresh(e)
    assert [e.status for e in es] == ["approved", "approved", "rejected"]
    assert {"competition_entries_approved", "competition_entries_rejected"} <= set(_actions())


@pytest.mark.parametrize("body, status", [({"decision": "approve"}, 400), ({"decision": "maybe", "entry_ids": [1]}, 422),
                                          ({"one": "approve:x"}, 400)])
def test_decide_bad_input_is_4xx(world, as_role, body, status):
    e = world.entry(world.workers_a[0], status="registered")
    resp = as_role("organizer").post(_manage_url(world, "/decide"), body)
    assert resp.status_code == status
    db.session.refresh(e)
    assert e.status == "registered"


def test_decide_all_or_nothing_on_a_wrong_status(world, as_role):
    ok = world.entry(world.workers_a[0], status="registered")
    done = world.entry(world.workers_a[1], status="withdrawn")
    resp = as_role("organizer").post(_manage_url(world, "/decide"), {"entry_ids": [ok.id, done.id], "decision": "approve"})
    assert resp.status_code == 409
    db.session.refresh(ok)
    assert ok.status == "registered"


def test_quotas_set_and_remove(world, as_role):
    b = as_role("organizer")
    resp = b.post(_manage_url(world, "/quotas"), {"enterprise_id": world.ent_a.id, "max_entries": 3})
    assert resp.status_code == 302
    quota = db.session.scalar(select(EnterpriseQuota).where(EnterpriseQuota.competition_id == world.competition.id))
    assert (quota.enterprise_id, quota.max_entries) == (world.ent_a.id, 3)
    assert b.post(_manage_url(world, "/quotas"), {"enterprise_id": world.ent_a.id, "max_entries": -1}).status_code == 422
    assert b.post(_manage_url(world, "/quotas"), {"enterprise_id": 10**9, "max_entries": 2}).status_code == 422
    db.session.refresh(quota)
    assert quota.max_entries == 3
    assert b.post(_manage_url(world, "/quotas"), {"remove": str(world.ent_a.id)}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(EnterpriseQuota)) == 0


def test_draw_keeps_the_mapping_sealed_and_the_code_list_is_audited(world, as_role):
    es = [world.entry(w, status="approved") for w in world.workers_a[:3]]
    world.set_status("registration_closed")
    b = as_role("organizer")
    assert b.post(_manage_url(world, "/draw")).status_code == 302
    for e in es:
        db.session.refresh(e)
    codes = [e.code for e in es]
    assert all(codes)
    page = _text(b.get(_manage_url(world)))
    assert "stays sealed" in page
    assert not any(f"<td>{c}</td>" in page for c in codes)
    assert "competition_codes_viewed" not in _actions()
    sheet = _text(b.get(_manage_url(world, "/codes")))
    assert all(c in sheet for c in codes) and es[0].worker.name in sheet
    assert "competition_codes_viewed" in _actions()
    assert b.post(_manage_url(world, "/draw")).status_code == 409  # drawn already (redraw not ticked)
    world.competition.is_decoded = True
    db.session.flush()
    page = _text(b.get(_manage_url(world)))
    assert all(f"<td>{c}</td>" in page for c in codes)


def test_draw_in_the_wrong_phase_or_with_undecided_entries_is_409(world, as_role):
    world.entry(world.workers_a[0], status="registered")
    b = as_role("organizer")
    assert b.post(_manage_url(world, "/draw")).status_code == 409  # registration still open
    world.set_status("registration_closed")
    resp = b.post(_manage_url(world, "/draw"))
    assert resp.status_code == 409 and "Approve or reject every registered entry" in _text(resp)
    assert _count(world) == 1 and db.session.scalar(select(func.count()).select_from(Entry).where(
        Entry.code.is_not(None))) == 0


def test_an_organizer_who_judges_here_cannot_open_the_code_list(world, as_role, create_user):
    both = create_user(Role.ORGANIZER, Role.JUDGE)
    panel = db.session.scalar(select(Panel).where(Panel.module_id == world.module1.id))
    panel.members.append(PanelJudge(judge_id=both.id))
    db.session.flush()
    world.users["both"] = both
    world.entry(world.workers_a[0], status="approved", code="001")
    resp = as_role("both").get(_manage_url(world, "/codes"))
    assert resp.status_code == 403 and world.workers_a[0].name not in _text(resp)
    assert "competition_codes_viewed" not in _actions()


# --- fixed number of queries -------------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    from sqlalchemy import event

    counter = {"n": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            counter["n"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return counter["n"]


def test_pages_use_the_same_number_of_queries_for_5_and_40_entries(world, as_role, create_worker, create_trade):
    from competitions.models import Appeal

    world.set_status("running")
    world.module1.ends_at = None
    trades = [create_trade() for _ in range(3)]

    def fill(n: int) -> None:
        have = _count(world)
        for i in range(n - have):
            ent = world.ent_a if i % 2 else world.ent_b
            w = create_worker(enterprise=ent, trade=trades[i % 3])
            e = world.entry(w, status="approved", code=f"{have + i + 1:03d}")
            db.session.add(Appeal(entry_id=e.id, module_id=world.module1.id, filed_by_id=world.users["hr_a"].id,
                                  text="复核"))
        db.session.flush()

    counts = {}
    for n in (5, 40):
        fill(n)
        appeals = f"/competitions/{world.competition.id}/appeals"
        org = as_role("organizer")
        row = [_queries(org, _manage_url(world)), _queries(org, appeals)]
        hr = as_role("hr_a")
        row += [_queries(hr, _hr_url(world)), _queries(hr, "/registrations"), _queries(hr, appeals)]
        api = type("Api", (), {"get": staticmethod(lambda url: world.get("organizer", url))})
        row += [_queries(api, world.url("/appeals")), _queries(api, world.url("/entries?per_page=200"))]
        counts[n] = row
    assert counts[5] == counts[40]
