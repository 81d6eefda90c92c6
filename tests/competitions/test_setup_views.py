"""The organizer's competition-setup pages: who may use them, the happy paths, and bad input (a translated reason,
the status the API would give, nothing written)."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import event, func, select

from app.accounts.models import Role
from app.db import db
from competitions.models import Aspect, Competition, CompetitionTransition, DeclaredConflict, DifficultyFactor, Module, Panel
from tests.competitions import setup_support
from tests.competitions.setup_support import ROLES, sample_scheme
from tests.conftest import csrf_token

setup = setup_support.setup

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def web(setup, client, login):
    """The setup world driven through HTML pages: ``web.as_(role)`` logs the browser in; ``post`` adds CSRF."""

    class Web:
        def __init__(self):
            self.role = None

        def as_(self, role: str, lang: str = "en"):
            client.delete_cookie("session")
            client.set_cookie("lang", lang)
            if role != "anonymous":
                login(client, setup.users[role])
            self.role = role
            return self

        def get(self, url: str, **kw):
            return client.get(url, **kw)

        def post(self, url: str, data=None, **kw):
            data = dict(data or {})
            data.setdefault("csrf_token", csrf_token(client))
            return client.post(url, data=data, **kw)

    return Web()


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def text(resp) -> str:
    return resp.get_data(as_text=True)


PAGES = ("", "/edit", "/scheme", "/scheme/edit", "/scheme.json", "/scheme.xlsx", "/difficulty", "/rules", "/judges")


# --- access ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_page_by_role(setup, web, role):
    cid = setup.with_scheme()
    web.as_(role)
    urls = ["/competitions", "/competitions/new"] + [f"/competitions/{cid}{p}" for p in PAGES]
    for url in urls:
        resp = web.get(url)
        if role in ("organizer", "admin"):
            assert resp.status_code == 200, (url, resp.status_code)
        elif role == "anonymous":
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], url
        else:
            assert resp.status_code == 403, (url, resp.status_code)
    if role not in ("organizer", "admin"):
        module_id = db.session.scalar(select(Module.id).where(Module.competition_id == cid))
        posts = ["/competitions/new", f"/competitions/{cid}/transition", f"/competitions/{cid}/scheme/edit",
                 f"/competitions/{cid}/rules", f"/competitions/{cid}/modules/{module_id}/panel"]
        for url in posts:
            resp = web.post(url, {"event": "open_registration", "name": "x", "level": "city"})
            assert resp.status_code == (302 if role == "anonymous" else 403), url
        assert setup.competition(cid).status == "draft" and count(Competition) == 1


def test_unknown_competition_is_404(setup, web):
    web.as_("organizer")
    assert web.get("/competitions/999999").status_code == 404
    assert web.get("/competitions/999999/scheme").status_code == 404


# --- the list -------------------------------------------------------------------------------------------------


def test_list_filters_and_shows_status_level_trade_dates(setup, web):
    a = setup.create(name="电工职业技能竞赛", level="city")
    b = setup.with_scheme(name="焊工技能比武", level="enterprise")
    setup.step(b, "open_registration")
    web.as_("organizer")
    page = text(web.get("/competitions"))
    assert "电工职业技能竞赛" in page and "焊工技能比武" in page
    assert "Registration open" in page and "Draft" in page and "City" in page and setup.trade.name in page
    assert "2026" in page
    only_open = text(web.get("/competitions?status=registration_open"))
    assert "焊工技能比武" in only_open and "电工职业技能竞赛" not in only_open
    by_level = text(web.get("/competitions?level=city"))
    assert "电工职业技能竞赛" in by_level and "焊工技能比武" not in by_level
    assert "焊工技能比武" not in text(web.get("/competitions?q=电工"))
    assert web.get("/competitions?status=bogus&level=bogus&page=-3").status_code == 200
    assert f"/competitions/{a}" in page


def test_list_filters_by_trade_on_the_page_and_in_the_api(setup, web, create_trade):
    welding = create_trade(name="焊工")
    db.session.commit()
    setup.create(name="电工职业技能竞赛")
    setup.create(name="焊工技能比武", trade_id=welding.id)
    web.as_("organizer")
    page = text(web.get("/competitions"))
    assert f'<option value="{welding.id}"' in page and "All trades" in page
    only_welding = text(web.get(f"/competitions?trade_id={welding.id}"))
    assert "焊工技能比武" in only_welding and "电工职业技能竞赛" not in only_welding
    assert f'<option value="{welding.id}" selected' in only_welding
    assert "电工职业技能竞赛" in text(web.get("/competitions?trade_id=abc"))  # not a number: no filter
    names = {c["name"] for c in setup.get(f"/api/v1/competitions?trade_id={setup.trade.id}").get_json()["items"]}
    assert "电工职业技能竞赛" in names and "焊工技能比武" not in names
    assert setup.get("/api/v1/competitions?trade_id=x").status_code == 422


def test_list_query_count_does_not_grow(setup, web, app):
    def queries() -> int:
        web.as_("organizer")
        statements = []

        def seen(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            resp = web.get("/competitions?per_page=100")
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        assert resp.status_code == 200
        return len(statements)

    for i in range(3):
        setup.create(name=f"竞赛{i}")
    few = queries()
    web.as_("anonymous")  # the API helper uses a token: a browser session would ask it for a CSRF token
    for i in range(20):
        setup.create(name=f"更多竞赛{i}")
    many = queries()
    assert text(web.get("/competitions?per_page=100")).count('class="badge state-draft"') == 23
    assert many == few


# --- create and edit ------------------------------------------------------------------------------------------


def competition_form(setup, **overrides) -> dict:
    data = {"name": "钳工技能竞赛", "level": "provincial", "trade_id": str(setup.trade.id), "organizer_name": "省总工会",
            "starts_on": "2026-06-01", "ends_on": "2026-06-02", "venue": "省技师学院"}
    data.update(overrides)
    return data


def test_create_then_edit(setup, web):
    web.as_("organizer")
    resp = web.post("/competitions/new", competition_form(setup))
    assert resp.status_code == 302
    competition = db.session.scalar(select(Competition).where(Competition.name == "钳工技能竞赛"))
    assert competition.status == "draft" and competition.level == "provincial" and competition.trade_id == setup.trade.id
    assert str(competition.starts_on) == "2026-06-01" and competition.venue == "省技师学院"
    assert resp.headers["Location"].endswith(f"/competitions/{competition.id}")
    page = text(web.get(f"/competitions/{competition.id}"))
    assert "钳工技能竞赛" in page and "Open registration" in page and "Start the competition" not in page
    resp = web.post(f"/competitions/{competition.id}/edit", competition_form(setup, venue="新场馆", trade_id=""))
    assert resp.status_code == 302
    competition = setup.competition(competition.id)
    assert competition.venue == "新场馆" and competition.trade_id is None
    assert setup.audit("competition_updated", competition.id)


@pytest.mark.parametrize("overrides, status, message", [
    ({"name": ""}, 422, "Enter a name."),
    ({"level": "galactic"}, 422, "Choose a level."),
    ({"starts_on": "2026-06-03", "ends_on": "2026-06-01"}, 422, "The competition cannot end before it starts."),
    ({"trade_id": "999999"}, 422, "No such trade."),
])
def test_create_refuses_bad_input(setup, web, overrides, status, message):
    web.as_("organizer")
    resp = web.post("/competitions/new", competition_form(setup, **overrides))
    assert resp.status_code == status
    assert message in text(resp)
    assert count(Competition) == 0


def test_create_message_is_translated(setup, web):
    web.as_("organizer", lang="zh_CN")
    resp = web.post("/competitions/new", competition_form(setup, starts_on="2026-06-03", ends_on="2026-06-01"))
    assert resp.status_code == 422
    assert "The competition cannot end before it starts." not in text(resp)
    assert count(Competition) == 0


def test_edit_refuses_fixed_setting_once_running(setup, web):
    cid = setup.with_scheme()
    setup.run_to(cid, "running")
    web.as_("organizer")
    resp = web.post(f"/competitions/{cid}/edit", competition_form(setup, level="national"))
    assert resp.status_code == 409 and "cannot change once the competition is running" in text(resp)
    assert setup.competition(cid).level == "city"


# --- lifecycle ------------------------------------------------------------------------------------------------


def test_lifecycle_step_recorded_with_actor(setup, web):
    cid = setup.with_scheme()
    web.as_("organizer")
    resp = web.post(f"/competitions/{cid}/transition", {"event": "open_registration", "note": "报名开始"})
    assert resp.status_code == 302
    assert setup.competition(cid).status == "registration_open"
    page = text(web.get(f"/competitions/{cid}"))
    assert setup.users["organizer"].display_name in page and "报名开始" in page
    assert "Close registration" in page and "Open registration</button>" not in page
    assert 'data-confirm="Close registration: this step cannot be undone. Continue?"' in page
    assert "js/setup.js" in page and "<script>" not in page  # no inline script (CSP)


def test_refused_step_says_why_and_changes_nothing(setup, web):
    cid = setup.create()  # no scheme: registration cannot open
    web.as_("organizer")
    resp = web.post(f"/competitions/{cid}/transition", {"event": "open_registration"})
    assert resp.status_code == 409
    assert "The scheme is invalid" in text(resp)
    resp = web.post(f"/competitions/{cid}/transition", {"event": "start"})
    assert resp.status_code == 409 and "is not possible yet" in text(resp)
    resp = web.post(f"/competitions/{cid}/transition", {"event": "publish"})
    assert resp.status_code == 422 and "Unknown lifecycle step." in text(resp)
    assert setup.competition(cid).status == "draft" and count(CompetitionTransition) == 0


def test_refused_step_in_chinese(setup, web):
    cid = setup.create()
    web.as_("organizer", lang="zh_CN")
    resp = web.post(f"/competitions/{cid}/transition", {"event": "start"})
    assert resp.status_code == 409 and "is not possible yet" not in text(resp)


# --- the marking scheme ---------------------------------------------------------------------------------------


def upload(web, cid: int, name: str, content: bytes):
    return web.post(f"/competitions/{cid}/scheme/import",
                    {"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_scheme_page_shows_every_field(setup, web):
    cid = setup.with_scheme()
    web.as_("organizer")
    page = text(web.get(f"/competitions/{cid}/scheme"))
    for fragment in ("理论知识", "Weight 30 %", "接线工艺", "Trimmed mean", "drop 1 + 1", "Trimmed sum", "drop 2 + 2",
                     "不合格", "优秀", "Never flagged", "step 0.5", "Max 100", "Valid"):
        assert fragment in page, fragment


def test_empty_scheme_shows_the_problem(setup, web):
    cid = setup.create()
    web.as_("organizer")
    page = text(web.get(f"/competitions/{cid}/scheme"))
    assert "The scheme has no modules." in page


def test_json_export_and_import_round_trip(setup, web):
    cid = setup.with_scheme()
    other = setup.create(name="另一场")
    web.as_("organizer")
    resp = web.get(f"/competitions/{cid}/scheme.json")
    assert resp.mimetype == "application/json" and "attachment" in resp.headers["Content-Disposition"]
    exported = json.loads(resp.get_data())
    resp = upload(web, other, "scheme.json", resp.get_data())
    assert resp.status_code == 302
    assert count(Aspect) == 12
    again = json.loads(web.get(f"/competitions/{other}/scheme.json").get_data())
    assert setup_support.strip_ids(again) == setup_support.strip_ids(exported)


def test_xlsx_export_and_import_round_trip(setup, web):
    cid = setup.with_scheme()
    other = setup.create(name="另一场")
    web.as_("organizer")
    resp = web.get(f"/competitions/{cid}/scheme.xlsx")
    assert resp.status_code == 200 and resp.data[:2] == b"PK"
    assert upload(web, other, "scheme.xlsx", resp.data).status_code == 302
    assert setup_support.strip_ids(json.loads(web.get(f"/competitions/{other}/scheme.json").get_data())) == \
        setup_support.strip_ids(json.loads(web.get(f"/competitions/{cid}/scheme.json").get_data()))


def test_invalid_json_scheme_lists_problems_and_writes_nothing(setup, web):
    cid = setup.create()
    web.as_("organizer")
    bad = sample_scheme()
    bad["modules"][0]["weight"] = "40"  # 40 + 70
    bad["modules"][1]["criteria"][1]["aspects"][0]["scale_step"] = "0.3"
    del bad["modules"][1]["criteria"][1]["aspects"][1]["max_mark"]
    resp = upload(web, cid, "bad.json", json.dumps(bad, ensure_ascii=False).encode())
    assert resp.status_code == 422
    page = text(resp)
    assert "nothing was saved" in page
    assert "Required." in page and "Missing data for required field." not in page
    assert "modules[1].criteria[1].aspects[1].max_mark" in page
    assert "Module 2 “实际操作” › Criterion 2 “工艺质量” › Aspect 2 “难度动作” › Max mark" in page
    assert count(Module) == 0
    bad = sample_scheme()
    bad["modules"][0]["weight"] = "40"
    resp = upload(web, cid, "bad.json", json.dumps(bad).encode())
    assert resp.status_code == 422 and "The module weights must add up to 100." in text(resp)
    assert count(Module) == 0


@pytest.mark.parametrize("name, content, status, message", [
    ("scheme.json", b"{not json", 400, "The file is not valid JSON"),
    ("scheme.xlsx", b"PK not really", 400, "The file is not a valid XLSX workbook."),
    ("scheme.txt", b"hello", 400, "Choose a .json or an .xlsx file."),
])
def test_unreadable_scheme_file(setup, web, name, content, status, message):
    cid = setup.create()
    web.as_("organizer")
    resp = upload(web, cid, name, content)
    assert resp.status_code == status and message in text(resp)
    assert count(Module) == 0


def test_missing_file_is_refused(setup, web):
    cid = setup.create()
    web.as_("organizer")
    resp = web.post(f"/competitions/{cid}/scheme/import", {}, content_type="multipart/form-data")
    assert resp.status_code == 400 and "Choose a file to upload." in text(resp)


def test_invalid_xlsx_rows_are_named(setup, web):
    cid = setup.with_scheme()
    other = setup.create(name="另一场")
    web.as_("organizer")
    wb = openpyxl.load_workbook(io.BytesIO(web.get(f"/competitions/{cid}/scheme.xlsx").data))
    ws = wb.active
    ws.cell(row=4, column=10).value = 2  # the scale step of the aspect on row 4 no longer divides its range
    out = io.BytesIO()
    wb.save(out)
    resp = upload(web, other, "scheme.xlsx", out.getvalue())
    assert resp.status_code == 422
    assert "Row 4" in text(resp) and "The step must divide the range" in text(resp)
    assert db.session.scalar(select(func.count(Module.id)).where(Module.competition_id == other)) == 0


def test_scheme_cannot_change_once_running(setup, web):
    cid = setup.with_scheme()
    setup.run_to(cid, "running")
    web.as_("organizer")
    before = json.loads(web.get(f"/competitions/{cid}/scheme.json").get_data())
    resp = upload(web, cid, "s.json", json.dumps(sample_scheme()).encode())
    assert resp.status_code == 409 and "cannot change once the competition is running" in text(resp)
    page = text(web.get(f"/competitions/{cid}/scheme/edit"))
    assert "Save the scheme</button>" not in page and "is running" in page
    assert json.loads(web.get(f"/competitions/{cid}/scheme.json").get_data()) == before


# --- the scheme editor ----------------------------------------------------------------------------------------


def editor_fields(page: str) -> dict:
    """The editor's current values as a browser would post them."""
    data = {}
    for name, value in re.findall(r'<input type="text" id="[^"]+" name="([^"]+)" value="([^"]*)"', page):
        data[name] = value.replace("&#34;", '"').replace("&amp;", "&")
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        data[name] = chosen.group(1) if chosen else re.search(r'<option value="([^"]*)"', body).group(1)
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" value="1" checked', page):
        data[name] = "1"
    for name, value in re.findall(r'<textarea id="[^"]+" name="([^"]+)" rows="3"[^>]*>(.*?)</textarea>', page, re.S):
        data[name] = value
    return data


def test_editor_builds_a_scheme_step_by_step(setup, web):
    cid = setup.create()
    web.as_("organizer")
    page = text(web.get(f"/competitions/{cid}/scheme/edit"))
    data = editor_fields(page)
    assert "m-0-name" in data and "m-0-c-0-a-0-max_mark" in data
    data.update({"m-0-name": "实操", "m-0-c-0-name": "质量", "m-0-c-0-a-0-name": "尺寸", "m-0-c-0-a-0-max_mark": "10",
                 "m-0-c-0-a-0-scale_max": "10", "op": "add_aspect:0.0"})
    resp = web.post(f"/competitions/{cid}/scheme/edit", data)
    assert resp.status_code == 200 and count(Module) == 0  # adding is not saving
    data = editor_fields(text(resp))
    assert data["m-0-c-0-a-0-name"] == "尺寸" and "m-0-c-0-a-1-name" in data
    data.update({"m-0-c-0-a-1-name": "工艺", "m-0-c-0-a-1-kind": "J", "m-0-c-0-a-1-max_mark": "6",
                 "m-0-c-0-a-1-scale_max": "3", "m-0-c-0-a-1-judges_required": "3", "m-0-c-0-a-1-normalize": "1",
                 "m-0-c-0-a-1-level_words": "差\n中\n良\n优", "op": "save"})
    resp = web.post(f"/competitions/{cid}/scheme/edit", data)
    assert resp.status_code == 302, text(resp)
    aspects = db.session.scalars(select(Aspect).order_by(Aspect.position)).all()
    assert [a.name for a in aspects] == ["尺寸", "工艺"]
    assert aspects[1].kind == "J" and aspects[1].normalize and aspects[1].level_words == ["差", "中", "良", "优"]
    assert aspects[1].divergence_threshold == Decimal(1) and aspects[0].divergence_threshold is None

    # edit, move and remove through the same form
    data = editor_fields(text(web.get(f"/competitions/{cid}/scheme/edit")))
    assert data["m-0-c-0-a-1-divergence_threshold"] == "1"
    data["op"] = "up:0.0.1"
    data = editor_fields(text(web.post(f"/competitions/{cid}/scheme/edit", data)))
    assert data["m-0-c-0-a-0-name"] == "工艺"
    data["op"] = "remove:0.0.1"
    data = editor_fields(text(web.post(f"/competitions/{cid}/scheme/edit", data)))
    assert "m-0-c-0-a-1-name" not in data
    data.update({"m-0-c-0-a-0-divergence_threshold": "-", "op": "save"})
    assert web.post(f"/competitions/{cid}/scheme/edit", data).status_code == 302
    aspects = db.session.scalars(select(Aspect)).all()
    assert [a.name for a in aspects] == ["工艺"] and aspects[0].divergence_threshold is None


def test_editor_shows_problems_next_to_fields_and_saves_nothing(setup, web):
    cid = setup.with_scheme()
    web.as_("organizer")
    before = json.loads(web.get(f"/competitions/{cid}/scheme.json").get_data())
    data = editor_fields(text(web.get(f"/competitions/{cid}/scheme/edit")))
    data.update({"m-0-weight": "50", "m-1-c-0-a-0-judges_required": "1", "op": "save"})
    resp = web.post(f"/competitions/{cid}/scheme/edit", data)
    assert resp.status_code == 422
    page = text(resp)
    assert "The module weights must add up to 100." in page
    assert "A judgement (J) aspect needs at least 2 judges." in page
    assert 'value="50"' in page  # the typed values come back
    # values that are not numbers are reported first (the document is checked before the scheme)
    data.update({"m-0-c-0-a-0-max_mark": "abc", "m-0-c-0-a-1-judges_required": "two"})
    resp = web.post(f"/competitions/{cid}/scheme/edit", data)
    assert resp.status_code == 422
    page = text(resp)
    assert "Enter a number." in page and "Not a valid number." not in page
    assert "Enter a whole number." in page and 'value="abc"' in page
    assert json.loads(web.get(f"/competitions/{cid}/scheme.json").get_data()) == before


def test_editor_module_total_check(setup, web):
    cid = setup.with_scheme()
    web.as_("organizer")
    data = editor_fields(text(web.get(f"/competitions/{cid}/scheme/edit")))
    data.update({"m-0-max_mark": "90", "op": "save"})
    resp = web.post(f"/competitions/{cid}/scheme/edit", data)
    assert resp.status_code == 422
    assert "The module&#39;s max mark must equal the sum of its aspects&#39; max marks." in text(resp)


def test_editor_rejects_bad_ops_and_expired_forms(setup, web):
    cid = setup.with_scheme()
    web.as_("organizer")
    data = editor_fields(text(web.get(f"/competitions/{cid}/scheme/edit")))
    assert web.post(f"/competitions/{cid}/scheme/edit", {**data, "op": "remove:9.9.9"}).status_code == 400
    assert web.post(f"/competitions/{cid}/scheme/edit", {**data, "op": "save", "csrf_token": "x"}).status_code == 400


# --- difficulty factors ---------------------------------------------------------------------------------------


def test_difficulty_factors(setup, web):
    cid = setup.with_scheme()
    e1, e2 = setup.entry(cid, code="A07"), setup.entry(cid, code="A03")
    setup.entry(cid, code=None)
    dive = db.session.scalar(select(Aspect.id).where(Aspect.name == "难度动作"))
    web.as_("organizer")
    page = text(web.get(f"/competitions/{cid}/difficulty"))
    assert "A07" in page and "A03" in page and page.index("A03") < page.index("A07")
    assert e1.worker.name not in page  # not decoded: codes only
    assert "Approved entries without an entrant code yet (not listed): 1." in page
    assert "接线工艺" not in page  # only aspects that use a difficulty factor
    resp = web.post(f"/competitions/{cid}/difficulty", {f"f-{e1.id}-{dive}": "1.8", f"f-{e2.id}-{dive}": ""})
    assert resp.status_code == 302
    factors = db.session.scalars(select(DifficultyFactor)).all()
    assert [(f.entry_id, f.factor) for f in factors] == [(e1.id, Decimal("1.8"))]
    assert 'value="1.8"' in text(web.get(f"/competitions/{cid}/difficulty"))

    for value, status, message in (("abc", 422, "Enter a number."), ("11", 422, "The factor must be at most 10."),
                                   ("0", 422, "The factor must be greater than 0."),
                                   ("1.00001", 422, "At most 4 decimal places.")):
        resp = web.post(f"/competitions/{cid}/difficulty", {f"f-{e1.id}-{dive}": value, f"f-{e2.id}-{dive}": "2"})
        assert resp.status_code == status and message in text(resp), value
        db.session.expire_all()
        assert [(f.entry_id, f.factor) for f in db.session.scalars(select(DifficultyFactor))] == [(e1.id, Decimal("1.8"))]

    resp = web.post(f"/competitions/{cid}/difficulty", {f"f-{e1.id}-{dive}": ""})  # clearing removes
    assert resp.status_code == 302 and count(DifficultyFactor) == 0


def test_difficulty_shows_names_once_decoded(setup, web):
    cid = setup.with_scheme()
    e1 = setup.entry(cid, code="A07")
    competition = setup.competition(cid)
    competition.is_decoded = True
    db.session.flush()
    web.as_("organizer")
    assert e1.worker.name in text(web.get(f"/competitions/{cid}/difficulty"))


# --- rules ----------------------------------------------------------------------------------------------------


def test_rules_page_shows_defaults_and_saves_every_shape(setup, web):
    cid = setup.with_scheme()
    module_id = db.session.scalar(select(Module.id).where(Module.competition_id == cid, Module.position == 1))
    web.as_("organizer")
    page = text(web.get(f"/competitions/{cid}/rules"))
    assert 'name="prop-on" value="1" checked' in page and 'value="completion_time" selected' in page
    assert 'name="prop-at-least-one" value="1" checked' in page  # the winner gets the first tier, by default
    data = {
        "appeal_window_minutes": "90", "board_freeze_at": "2026-05-03T15:30", "conflict_same_chain": "y",
        "tb-0-key": f"module:{module_id}", "tb-0-dir": "desc", "tb-1-key": "completion_time", "tb-1-dir": "asc",
        "tb-2-key": "", "tb-2-dir": "desc",
        "prop-on": "1", "prop-rounding": "half_up", "prop-0-code": "first_prize", "prop-0-value": "15",
        "prop-1-code": "second_prize", "prop-1-value": "25", "prop-2-code": "", "prop-2-value": "",
        "fixed-on": "1", "fixed-0-code": "first_prize", "fixed-0-value": "2",
        "medals-on": "1", "medals-min-0": "4", "medals-min-1": "5", "medals-min-2": "6",
        "thr-on": "1", "thr-min_total": "700.5", "thr-code": "medallion_for_excellence", "thr-unless": ["gold", "silver"],
        "band-0-first": "1", "band-0-last": "5", "band-0-action": "up_one_level", "band-0-title": "national_technical_expert",
        "band-1-first": "6", "band-1-last": "20", "band-1-action": "to_level", "band-1-level": "3",
    }
    resp = web.post(f"/competitions/{cid}/rules", data)
    assert resp.status_code == 302, text(resp)
    c = setup.competition(cid)
    assert c.tie_break == [[f"module:{module_id}", "desc"], ["completion_time", "asc"]]
    assert c.award_rules == [
        {"type": "proportional", "tiers": [["first_prize", "15"], ["second_prize", "25"]], "rounding": "half_up",
         "at_least_one": False},  # (its box left unticked)
        {"type": "fixed", "tiers": [["first_prize", 2]]},
        {"type": "medals", "codes": ["gold", "silver", "bronze"], "min_field": [4, 5, 6]},
        {"type": "threshold", "min_total": "700.5", "code": "medallion_for_excellence", "unless": ["gold", "silver"]},
    ]
    assert c.promotion_bands == [
        {"first_rank": 1, "last_rank": 5, "action": "up_one_level", "title": "national_technical_expert"},
        {"first_rank": 6, "last_rank": 20, "action": "to_level", "target_level": 3},
    ]
    assert c.appeal_window_minutes == 90 and c.conflict_same_chain
    assert c.board_freeze_at.isoformat() == "2026-05-03T07:30:00+00:00"  # 15:30 Beijing time
    page = text(web.get(f"/competitions/{cid}/rules"))
    assert 'value="700.5"' in page and 'value="2026-05-03T15:30"' in page

    # nothing enabled and no rows: no tie-break, no awards, no bands
    assert web.post(f"/competitions/{cid}/rules", {"appeal_window_minutes": "120"}).status_code == 302
    c = setup.competition(cid)
    assert (c.tie_break, c.award_rules, c.promotion_bands, c.conflict_same_chain) == ([], [], [], False)


@pytest.mark.parametrize("data, message", [
    ({"prop-on": "1", "prop-rounding": "floor", "prop-0-code": "first_prize", "prop-0-value": "60",
      "prop-1-code": "second_prize", "prop-1-value": "50"}, "The percentages add up to more than 100."),
    ({"prop-on": "1", "prop-rounding": "floor", "prop-0-code": "first_prize", "prop-0-value": "ten"}, "Enter a number."),
    ({"medals-on": "1", "medals-min-0": "0", "medals-min-1": "5", "medals-min-2": "6"}, "A minimum field must be at least 1."),
    ({"band-0-first": "1", "band-0-last": "5", "band-0-action": "up_one_level",
      "band-1-first": "5", "band-1-last": "9", "band-1-action": "up_one_level"}, "Two bands share a rank."),
    ({"band-0-first": "6", "band-0-last": "2", "band-0-action": "up_one_level"},
     "The first rank must be at least 1 and not after the last rank."),
    ({"tb-0-key": "completion_time", "tb-0-dir": "asc", "tb-1-key": "completion_time", "tb-1-dir": "asc"},
     "This key is already in the chain."),
    ({"tb-0-key": "module:999999", "tb-0-dir": "asc"}, "Unknown tie-break key."),
    ({"thr-on": "1", "thr-min_total": ""}, "Enter the minimum total as a number."),
    ({"appeal_window_minutes": "-5"}, "Between 0 and 10080 minutes (7 days)."),
])
def test_rules_refuse_bad_input(setup, web, data, message):
    cid = setup.with_scheme()
    before = setup.competition(cid)
    stored = (before.tie_break, before.award_rules, before.promotion_bands, before.appeal_window_minutes)
    web.as_("organizer")
    resp = web.post(f"/competitions/{cid}/rules", {"appeal_window_minutes": "60", **data})
    assert resp.status_code == 422
    assert message in text(resp).replace("&#34;", '"')
    after = setup.competition(cid)
    assert (after.tie_break, after.award_rules, after.promotion_bands, after.appeal_window_minutes) == stored


def test_rules_keep_fixed_settings_once_running(setup, web):
    cid = setup.with_scheme(uses_module_codes=False)
    setup.run_to(cid, "running")
    web.as_("organizer")
    page = text(web.get(f"/competitions/{cid}/rules"))
    assert "fixed once the competition is running" in page
    resp = web.post(f"/competitions/{cid}/rules", {"appeal_window_minutes": "30", "conflict_same_chain": "y"})
    assert resp.status_code == 302
    c = setup.competition(cid)
    assert c.appeal_window_minutes == 30 and not c.conflict_same_chain


# --- judges ---------------------------------------------------------------------------------------------------


def test_judges_panels_and_conflicts(setup, web, create_user):
    cid = setup.with_scheme()
    modules = db.session.scalars(select(Module).where(Module.competition_id == cid).order_by(Module.position)).all()
    judge, other = setup.users["judge"], create_user(Role.JUDGE)
    entry = setup.entry(cid, code="A01")  # of enterprise A
    web.as_("organizer")
    # the judge belongs to enterprise A: its entrants are excluded automatically
    resp = web.post(f"/competitions/{cid}/judges/{judge.id}/enterprise", {"enterprise_id": str(setup.ent_a.id)})
    assert resp.status_code == 302
    page = text(web.get(f"/competitions/{cid}/judges"))
    assert setup.ent_a.name in page and "Entrants of their own enterprise: 1" in page

    url = f"/competitions/{cid}/modules/{modules[1].id}/panel"
    resp = web.post(url, {"judge_ids": [str(judge.id), str(other.id)], "chief_judge_id": str(other.id)})
    assert resp.status_code == 302
    panel = db.session.scalar(select(Panel).where(Panel.module_id == modules[1].id))
    assert sorted(m.judge_id for m in panel.members) == sorted([judge.id, other.id]) and panel.chief_judge_id == other.id

    resp = web.post(url, {"judge_ids": [str(judge.id)], "chief_judge_id": str(other.id)})
    assert resp.status_code == 422 and "The chief judge must be a member of the panel." in text(resp)
    resp = web.post(url, {"judge_ids": [str(setup.users["hr"].id)]})
    assert resp.status_code == 422 and "No such judge." in text(resp)
    db.session.expire_all()
    assert db.session.scalar(select(Panel.chief_judge_id).where(Panel.module_id == modules[1].id)) == other.id

    resp = web.post(f"/competitions/{cid}/conflicts", {"judge_id": str(other.id), "entry_id": str(entry.id),
                                                       "reason": "亲属"})
    assert resp.status_code == 302
    page = text(web.get(f"/competitions/{cid}/judges"))
    assert "亲属" in page and "A01" in page and entry.worker.name not in page
    resp = web.post(f"/competitions/{cid}/conflicts", {"judge_id": str(other.id), "entry_id": str(entry.id)})
    assert resp.status_code == 409 and "This conflict is already declared." in text(resp)
    resp = web.post(f"/competitions/{cid}/conflicts", {"judge_id": str(other.id)})
    assert resp.status_code == 422 and "Choose the entrant." in text(resp)
    assert count(DeclaredConflict) == 1
    resp = web.post(f"/competitions/{cid}/conflicts/remove", {"judge_id": str(other.id), "entry_id": str(entry.id)})
    assert resp.status_code == 302 and count(DeclaredConflict) == 0

    resp = web.post(f"/competitions/{cid}/judges/same-chain", {"conflict_same_chain": "1"})
    assert resp.status_code == 302 and setup.competition(cid).conflict_same_chain


def test_panel_of_another_competitions_module_is_404(setup, web):
    a, b = setup.with_scheme(), setup.with_scheme(name="乙竞赛")
    module_b = db.session.scalar(select(Module.id).where(Module.competition_id == b))
    web.as_("organizer")
    resp = web.post(f"/competitions/{a}/modules/{module_b}/panel", {"judge_ids": [str(setup.users["judge"].id)]})
    assert resp.status_code == 404 and count(Panel) == 0


def test_home_page_links_every_page_of_the_competition(setup, web, app):
    from app import url_for_optional

    cid = setup.with_scheme()
    web.as_("organizer")
    page = text(web.get(f"/competitions/{cid}"))
    endpoints = ("competitions_setup.scheme", "competitions_setup.rules", "competitions_setup.judges",
                 "competitions_setup.difficulty", "competitions_setup.edit", "competitions_registration.manage",
                 "competitions_results.review", "competitions_board.board")
    with app.test_request_context():
        urls = {e: url_for_optional(e, competition_id=cid) for e in endpoints}
    assert urls["competitions_setup.scheme"]
    for endpoint, url in urls.items():
        if url is not None:
            assert f'href="{url}"' in page, endpoint


def test_module_end_time_for_the_appeal_window(setup, web):
    cid, other = setup.with_scheme(), setup.with_scheme(name="乙竞赛")
    module = db.session.scalars(select(Module).where(Module.competition_id == cid).order_by(Module.position)).first()
    foreign = db.session.scalar(select(Module.id).where(Module.competition_id == other))
    web.as_("organizer")
    resp = web.post(f"/competitions/{cid}/modules/{module.id}/end", {"ends_at": "2026-05-01T11:30"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Module, module.id).ends_at.isoformat() == "2026-05-01T03:30:00+00:00"
    assert 'value="2026-05-01T11:30"' in text(web.get(f"/competitions/{cid}"))
    resp = web.post(f"/competitions/{cid}/modules/{module.id}/end", {"ends_at": "yesterday"})
    assert resp.status_code == 422
    assert web.post(f"/competitions/{cid}/modules/{foreign}/end", {"ends_at": ""}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Module, module.id).ends_at is not None
    assert db.session.get(Module, foreign).ends_at is None
    assert web.post(f"/competitions/{cid}/modules/{module.id}/end", {"ends_at": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Module, module.id).ends_at is None


def test_rules_of_a_published_competition_can_still_change(setup, web):
    cid = setup.with_scheme()
    competition = setup.competition(cid)
    competition.status = "published"
    db.session.flush()
    web.as_("organizer")
    resp = web.post(f"/competitions/{cid}/rules", {"appeal_window_minutes": str(competition.appeal_window_minutes),
                                                   "medals-on": "1", "medals-min-0": "1", "medals-min-1": "2",
                                                   "medals-min-2": "3"})
    assert resp.status_code == 302, text(resp)
    assert setup.competition(cid).award_rules == [{"type": "medals", "codes": ["gold", "silver", "bronze"],
                                                   "min_field": [1, 2, 3]}]
    resp = web.post(f"/competitions/{cid}/rules", {"appeal_window_minutes": "5"})
    assert resp.status_code == 409 and "The results are published" in text(resp)
    assert setup.competition(cid).appeal_window_minutes == 120


def test_every_page_renders_in_chinese(setup, web):
    cid = setup.with_scheme()
    setup.entry(cid, code="A01")
    web.as_("organizer", lang="zh_CN")
    for url in ["/competitions", "/competitions/new"] + [f"/competitions/{cid}{p}" for p in PAGES]:
        resp = web.get(url)
        assert resp.status_code == 200, url
        if resp.mimetype == "text/html":
            assert '<html lang="zh-CN">' in text(resp), url


def test_home_page_says_up_front_why_a_step_would_be_refused(setup, web):
    draft = setup.create()
    closed = setup.with_scheme(name="乙竞赛")
    setup.run_to(closed, "registration_closed")
    web.as_("organizer")
    page = text(web.get(f"/competitions/{draft}"))
    assert "The marking scheme is not valid yet." in page and "Open registration</button>" in page
    page = text(web.get(f"/competitions/{closed}"))
    assert "No entry has been approved." in page and "Start the competition</button>" in page
    setup.entry(closed)  # approved, not drawn
    page = text(web.get(f"/competitions/{closed}"))
    assert "Approved entries without an entrant code: 1. Run the draw first." in page


def test_home_page_links_the_chief_judge_pages_of_each_module(setup, web, app):
    from app import url_for_optional

    cid = setup.with_scheme()
    modules = db.session.scalars(select(Module).where(Module.competition_id == cid).order_by(Module.position)).all()
    web.as_("organizer")
    page = text(web.get(f"/competitions/{cid}"))
    with app.test_request_context():
        urls = [url_for_optional("competitions_judging.chief", competition_id=cid, module_id=m.id) for m in modules]
    assert modules and None not in urls, "every module has a chief judge page (competitions_judging.chief)"
    for m, url in zip(modules, urls, strict=True):
        assert f'href="{url}"' in page and f"Chief judge: {m.name}" in page
