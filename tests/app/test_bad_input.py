"""Bad input never gives a 5xx or stores junk: ids and page numbers past what the database holds, deeply nested
JSON, lone surrogates, control characters, direction overrides, invisible-only text, an oversized marks batch —
each is a clear 4xx (in the user's language) and nothing is written. Text is stored NFC-normalized."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.accounts.services import create_token
from app.db import db
from app.inputs import MAX_INT, TextRefused, clean_text, whole_number
from app.orgs.models import Enterprise
from competitions.models import DeclaredConflict, Mark, Panel
from tests.competitions import marks_fixtures
from tests.conftest import csrf_token

mw = marks_fixtures.mw
HUGE = 2**64
ZH = {"Accept-Language": "zh-CN"}


@pytest.fixture
def organizer(create_user):
    user = create_user(Role.ORGANIZER)
    return {"Authorization": f"Bearer {create_token(user, 't').secret}", **ZH}


def _enterprises() -> int:
    return db.session.scalar(select(func.count()).select_from(Enterprise))


# --- the rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, multiline, reason", [
    ("a\x00b", False, "control"), ("a\x07b", True, "control"), ("a\nb", False, "control"), ("\x85", True, "control"),
    ("名字\u202e", False, "bidi"), ("a\u2066b\u2069", False, "bidi"), ("\u200b\u200d\ufeff", False, "invisible"),
    (" \u200b ", False, "invisible"), ("\ud800", False, "surrogate"),
])
def test_refused_text(text, multiline, reason):
    with pytest.raises(TextRefused) as refused:
        clean_text(text, multiline=multiline)
    assert refused.value.reason == reason


@pytest.mark.parametrize("text, multiline, cleaned", [
    ("e\u0301", False, "\u00e9"), ("第一行\r\n第二行\t", True, "第一行\r\n第二行\t"), ("", False, ""), ("  ", False, "  "),
    ("a\u200bb", False, "a\u200bb"), ("𠮷", False, "𠮷"),
])
def test_accepted_text_is_nfc(text, multiline, cleaned):
    assert clean_text(text, multiline=multiline) == cleaned


def test_whole_numbers_stay_within_the_database_integer():
    assert whole_number("2147483647") == MAX_INT and whole_number(-MAX_INT) == -MAX_INT
    for bad in (MAX_INT + 1, str(HUGE), "1" * 5000, True, "x"):
        with pytest.raises(ValueError):
            whole_number(bad)


# --- ids and page numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [f"/api/v1/competitions/{HUGE}", f"/api/v1/competitions/{2**63}",
                                  f"/api/v1/competitions/{MAX_INT + 1}/entries/1", f"/api/v1/certificates/{HUGE}/revoke"])
def test_an_id_past_the_database_integer_finds_no_route(client, organizer, path):
    resp = client.post(path, headers=organizer) if path.endswith("revoke") else client.get(path, headers=organizer)
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "not_found"


def test_html_routes_bound_their_ids_too(client, login, create_user):
    login(client, create_user(Role.ORGANIZER))
    assert client.get(f"/competitions/{HUGE}").status_code == 404
    assert client.get(f"/enterprises/{2**63}").status_code == 404


def test_an_api_page_number_past_the_bound_is_a_422(client, organizer):
    for page in (HUGE, MAX_INT + 1):
        resp = client.get(f"/api/v1/enterprises?page={page}", headers=organizer)
        assert resp.status_code == 422
        assert resp.json["error"]["details"]["query"]["page"] == ["数值过大。"]
    assert client.get(f"/api/v1/enterprises?page={MAX_INT}", headers=organizer).status_code == 200


def test_html_query_numbers_past_the_bound_count_as_no_number(client, login, create_user):
    login(client, create_user(Role.ORGANIZER))
    assert client.get(f"/enterprises?page={HUGE}&per_page={HUGE}").status_code == 200
    assert client.get(f"/competitions?trade_id={HUGE}&page={HUGE}").status_code == 200


def test_ids_in_json_bodies_are_bounded(client, organizer, create_enterprise):
    chain = client.post("/api/v1/chains", json={"name": "链"}, headers=organizer).json
    resp = client.put(f"/api/v1/chains/{chain['id']}/members", json={"enterprise_ids": [HUGE]}, headers=organizer)
    assert resp.status_code == 422
    assert resp.json["error"]["details"]["json"]["enterprise_ids"] == {"0": ["数值过大。"]}


# --- JSON bodies ----------------------------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400(client, organizer):
    before = _enterprises()
    for depth in (5_000, 100_000):
        body = "[" * depth + "]" * depth
        resp = client.post("/api/v1/enterprises", data=body, content_type="application/json", headers=organizer)
        assert resp.status_code == 400, depth
        assert resp.json["error"]["code"] == "invalid_json"
        assert resp.json["error"]["message"] == "请求内容嵌套过深。"
    assert _enterprises() == before


def test_deep_json_the_parser_takes_is_still_a_4xx_where_a_field_takes_any_json(mw, organizer, client):
    deep: object = 1
    for _ in range(700):
        deep = [deep]
    marks = mw.post("j2", "/marks", [marks_fixtures.item("K101", mw.a1.id, deep)])
    assert marks.status_code == 422 and mw.marks() == []
    resp = client.post("/api/v1/certificates", json={"kind": "participation", "achievement": "x", "details": {"a": deep}},
                       headers=organizer)
    assert 400 <= resp.status_code < 500


@pytest.mark.parametrize("body", ['{"name": "\\ud800", "uscc": "x"}', '{"\\udc00": 1, "name": "a", "uscc": "x"}',
                                  '{"name": "a", "uscc": "x", "region": ["\\uDBFF"]}'])
def test_a_lone_surrogate_is_a_400(client, organizer, body):
    before = _enterprises()
    resp = client.post("/api/v1/enterprises", data=body, content_type="application/json", headers=organizer)
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "invalid_json"
    assert _enterprises() == before


def test_a_surrogate_pair_is_one_character(client, organizer):
    resp = client.post("/api/v1/chains", data='{"name": "\\ud842\\udfb7"}', content_type="application/json",
                       headers=organizer)
    assert resp.status_code == 201
    assert resp.json["name"] == "𠮷"


# --- text -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, message", [
    ("甲\x00乙", "请删除文本中的控制字符（如 NUL）。"), ("甲\n乙", "请删除文本中的控制字符（如 NUL）。"),
    ("甲\u202e乙", "请删除文本中改变文字方向的字符。"), ("\u200b\u200b", "请输入可见的文字，不能只有不可见字符。"),
])
def test_api_text_fields_refuse_control_bidi_and_invisible_text(client, organizer, name, message):
    before = _enterprises()
    resp = client.post("/api/v1/chains", json={"name": name, "description": "第一行\n第二行"}, headers=organizer)
    assert resp.status_code == 422
    assert resp.json["error"]["details"]["json"]["name"] == [message]
    assert _enterprises() == before


def test_api_text_is_stored_nfc_and_multiline_fields_keep_line_breaks(client, organizer):
    resp = client.post("/api/v1/chains", json={"name": "Cafe\u0301", "description": "第一行\n第二行"}, headers=organizer)
    assert resp.status_code == 201
    assert resp.json["name"] == "Caf\u00e9" and resp.json["description"] == "第一行\n第二行"


def test_nul_in_a_query_is_a_400_for_the_api_and_pages(client, organizer, login, create_user):
    resp = client.get("/api/v1/enterprises?q=%00", headers=organizer)
    assert resp.status_code == 400
    assert "控制字符" in resp.json["error"]["message"]
    login(client, create_user(Role.ORGANIZER))
    assert client.get("/enterprises?q=a%00b").status_code == 400
    assert client.get("/workers/import/" + "a" * 31 + "%00").status_code == 404  # a path segment never matches one


def test_html_forms_refuse_control_characters_and_direction_overrides(client, login, create_user):
    login(client, create_user(Role.ORGANIZER))
    token = csrf_token(client)
    before = _enterprises()
    resp = client.post("/enterprises/new", data={"csrf_token": token, "name": "甲\x00", "uscc": "x"}, headers=ZH)
    assert resp.status_code == 400
    resp = client.post("/enterprises/new", data={"csrf_token": token, "name": "甲\u202e乙", "uscc": "x"}, headers=ZH)
    assert resp.status_code in (200, 422)
    assert "请删除文本中改变文字方向的字符。" in resp.get_data(as_text=True)
    assert _enterprises() == before


# --- the marks batch ------------------------------------------------------------------------------------------


def test_an_oversized_marks_batch_is_refused_before_any_item_is_read(mw, monkeypatch):
    import marshmallow as ma

    read = []  # every text field of an item (its code, its key) is a String underneath
    original = ma.fields.String._deserialize
    monkeypatch.setattr(ma.fields.String, "_deserialize", lambda self, *a, **k: read.append(1) or original(self, *a, **k))
    body = json.dumps([marks_fixtures.item("K101", mw.a1.id, "2", f"k{i}") for i in range(100_000)])
    assert len(body) < 10 * 1024 * 1024  # under the upload limit (MAX_CONTENT_LENGTH): the batch itself is refused
    started = time.perf_counter()
    resp = mw.post_raw("j2", "/marks", body)
    elapsed = time.perf_counter() - started
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "invalid_marks"
    assert read == []
    assert mw.marks() == [] and db.session.scalar(select(func.count()).select_from(Mark)) == 0
    paper = mw.post("j1", "/marks/paper", {"judge_id": mw.users["j2"].id,
                                          "marks": [marks_fixtures.item("K101", mw.a1.id, "2")] * 501})
    assert paper.status_code == 422 and paper.json["error"]["code"] == "invalid_marks" and read == []
    print(f"\n100,000-item marks batch refused in {elapsed:.2f} s")


def test_ids_a_page_reads_from_a_form_are_bounded(mw, client, login):
    """Pages that read ids from the form themselves (panels, judges' enterprises, conflicts) refuse one past the
    database's INTEGER like any other non-id: a 422 with the page's message, nothing changed."""
    login(client, mw.users["organizer"])
    token = csrf_token(client)
    base = f"/competitions/{mw.competition.id}"
    judge = mw.users["j2"].id
    answers = [
        client.post(f"{base}/modules/{mw.module2.id}/panel", data={"csrf_token": token, "judge_ids": [str(HUGE)]}),
        client.post(f"{base}/modules/{mw.module2.id}/panel",
                    data={"csrf_token": token, "judge_ids": [str(judge)], "chief_judge_id": str(HUGE)}),
        client.post(f"{base}/judges/{judge}/enterprise", data={"csrf_token": token, "enterprise_id": str(HUGE)}),
        client.post(f"{base}/conflicts", data={"csrf_token": token, "judge_id": str(HUGE), "code": "K101"}),
        client.post(f"{base}/conflicts", data={"csrf_token": token, "judge_id": str(judge), "entry_id": str(2**63)}),
        client.post(f"{base}/conflicts/remove", data={"csrf_token": token, "judge_id": str(judge), "entry_id": str(HUGE)}),
    ]
    assert [r.status_code for r in answers] == [422] * 6
    panel = db.session.scalar(select(Panel).where(Panel.module_id == mw.module2.id))
    assert [m.judge_id for m in panel.members] == [mw.users["j5"].id]
    assert db.session.scalars(select(DeclaredConflict)).all() == []


def test_a_form_number_past_the_bound_is_a_field_error(client, login, create_user):
    login(client, create_user(Role.ORGANIZER))
    resp = client.post("/competitions/new", data={"csrf_token": csrf_token(client), "name": "比赛", "level": "city",
                                                  "trade_id": str(HUGE)}, headers=ZH)
    assert resp.status_code in (200, 400, 422)
    assert "数值过大。" in resp.get_data(as_text=True)
