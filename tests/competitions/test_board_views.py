"""Public HTML pages: the live board (codes and running totals only before publication, for every role), the
freeze, the big-screen mode, consent masking after publication, the public results page and its PDF, the list
of boards."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import timedelta

import pytest

from app.db import db, utcnow
from app.people.domain import mask_name
from competitions.models import Competition
from tests.competitions.results_fixtures import NAMES, rw  # noqa: F401

ROLES = ("anonymous", "judge", "hr", "worker", "organizer", "admin")


def page(rw, role: str, url: str, **kw):  # noqa: F811
    client = rw.client.application.test_client()
    if role != "anonymous":
        from tests.conftest import login_as

        login_as(client, rw.users[role])
    client.set_cookie("lang", kw.pop("lang", "en"))
    resp = client.get(url, buffered=True, **kw)
    resp.close()
    return resp


def board_url(rw, suffix: str = "") -> str:  # noqa: F811
    return f"/board/{rw.competition.id}{suffix}"


def config(resp) -> dict:
    match = re.search(r"data-config='([^']*)'", resp.get_data(as_text=True))
    assert match, "the page carries its configuration as JSON"
    return json.loads(html_lib.unescape(match.group(1)))


def row_texts(resp) -> dict[str, str]:
    html = resp.get_data(as_text=True)
    return {m.group(1): re.sub(r"<[^>]+>", " ", m.group(2)) for m in
            re.finditer(r'<tr data-code="([^"]+)">(.*?)</tr>', html, re.S)}


def assert_no_identities(rw, resp) -> None:  # noqa: F811
    html = resp.get_data(as_text=True)
    for secret in rw.secrets():
        assert secret not in html, f"{secret!r} leaked"
    for name in NAMES:
        assert mask_name(name) not in html, "not even a masked name before publication"


@pytest.mark.parametrize("role", ROLES)
def test_live_board_shows_codes_and_running_totals_to_everyone_and_no_names(rw, role):  # noqa: F811
    rw.fill(("A101", "A102"))
    rw.mark("A103", rw.t1, "j1", 100)
    db.session.commit()
    resp = page(rw, role, board_url(rw))
    assert resp.status_code == 200
    assert_no_identities(rw, resp)
    rows = row_texts(resp)
    assert set(rows) == {"A101", "A102", "A103", "A104", "A105"}
    assert "90.00" in rows["A101"] and "89.33" in rows["A102"] and "30.00" in rows["A103"]
    assert "in progress" in rows["A103"] and "complete" in rows["A101"]
    html = resp.get_data(as_text=True)
    assert 'data-phase="live"' in html and "Live" in html


def test_board_page_is_live_through_the_stream_with_polling_fallback_and_no_inline_script(rw):  # noqa: F811
    rw.fill()
    resp = page(rw, "anonymous", board_url(rw))
    html = resp.get_data(as_text=True)
    cfg = config(resp)
    cid = rw.competition.id
    assert cfg["stream"] == f"/api/v1/competitions/{cid}/board/stream"
    assert cfg["poll"] == f"/api/v1/competitions/{cid}/board"
    api = rw.get("anonymous", "/board")
    assert cfg["etag"] == api.headers["ETag"], "the page starts from the same board version as the API"
    assert cfg["labels"]["phases"]["frozen"] == "Frozen" and cfg["labels"]["transport"]["poll"]
    # the connection's state does not repeat the phase's word ("Live" twice read as one state shown twice)
    for labels in (cfg["labels"], config(page(rw, "anonymous", board_url(rw), lang="zh_CN"))["labels"]):
        assert not set(labels["transport"].values()) & set(labels["phases"].values()), labels
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert any('src="/static/js/board.js"' in attrs for attrs, _ in scripts)
    for attrs, _body in scripts:  # strict CSP: only external scripts
        assert "src=" in attrs, attrs
    assert " style=" not in html and "onclick" not in html


@pytest.mark.parametrize("role", ("anonymous", "judge", "organizer"))
def test_decoded_but_unpublished_results_stay_blind_on_the_board(rw, role):  # noqa: F811
    rw.ready_to_publish()  # every module locked, scoring closed, decoded by the organizer
    resp = page(rw, role, board_url(rw))
    assert resp.status_code == 200
    assert_no_identities(rw, resp)
    assert "90.00" in row_texts(resp)["A101"]


def test_frozen_board_shows_the_standings_at_the_freeze_time(rw):  # noqa: F811
    now = utcnow()
    rw.fill(at=now - timedelta(hours=2))
    rw.competition.board_freeze_at = now - timedelta(hours=1)
    db.session.commit()
    rw.mark("A104", rw.p2, "j1", 20)  # after the freeze: not public until publication
    db.session.commit()
    resp = page(rw, "anonymous", board_url(rw))
    html = resp.get_data(as_text=True)
    assert 'data-phase="frozen"' in html
    assert "phase-frozen" in html and ">Frozen<" in html
    assert "The board is frozen since" in html and "Updates resume when the results are published" in html
    assert "55.33" in row_texts(resp)["A104"], "the mark after the freeze is not shown"
    assert_no_identities(rw, resp)


def test_freeze_ahead_is_announced_while_live(rw):  # noqa: F811
    rw.fill()
    rw.competition.board_freeze_at = utcnow() + timedelta(hours=1)
    db.session.commit()
    html = page(rw, "anonymous", board_url(rw)).get_data(as_text=True)
    assert 'data-phase="live"' in html and 'id="board-freeze-ahead"' in html


def test_published_board_names_only_with_consent_and_masks_the_others(rw):  # noqa: F811
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish").status_code == 201
    for role in ("anonymous", "judge", "hr"):
        resp = page(rw, role, board_url(rw))
        html = resp.get_data(as_text=True)
        assert 'data-phase="published"' in html
        rows = row_texts(resp)
        assert "张帅坤" in rows["A101"] and "甲机械厂" in rows["A101"], "consent: name and enterprise"
        for code, name, enterprise in zip(("A102", "A103", "A104"), NAMES[1:4], ("乙汽车厂", "丙钢铁厂", "丁电力厂"),
                                          strict=True):
            assert name not in html and enterprise not in html
            assert mask_name(name) in rows[code]
        assert "First prize" in rows["A101"]


def test_big_screen_mode_has_no_navigation(rw):  # noqa: F811
    rw.fill()
    normal = page(rw, "organizer", board_url(rw)).get_data(as_text=True)
    assert 'class="nav"' in normal and f'href="/board/{rw.competition.id}?screen=1"' in normal
    resp = page(rw, "organizer", board_url(rw, "?screen=1"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'class="board-screen"' in html and 'class="nav"' not in html and "topbar" not in html
    assert config(resp)["screen"] is True
    assert 'id="board-fullscreen"' in html and "Exit big screen" in html
    assert "90.00" in row_texts(resp)["A101"]


def test_board_is_chinese_by_default(rw):  # noqa: F811
    rw.fill()
    client = rw.client.application.test_client()
    html = client.get(board_url(rw), headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "数控车工技能比武" in html


def test_unknown_and_draft_competitions_have_no_board(rw):  # noqa: F811
    assert page(rw, "anonymous", "/board/999999").status_code == 404
    rw.set_status("draft")
    for role in ("anonymous", "organizer"):
        assert page(rw, role, board_url(rw)).status_code == 404
        assert page(rw, role, board_url(rw, "/results")).status_code == 404


def test_public_results_page_before_and_after_publication(rw):  # noqa: F811
    rw.fill()
    before = page(rw, "anonymous", board_url(rw, "/results"))
    assert before.status_code == 404
    assert "No results have been published yet." in before.get_data(as_text=True)
    assert_no_identities(rw, before)
    assert page(rw, "anonymous", board_url(rw, "/results.pdf")).status_code == 404
    rw.lock_all()
    rw.set_status("scoring_closed")
    assert rw.post("organizer", "/decode").status_code == 200
    assert rw.post("organizer", "/results/publish").status_code == 201
    resp = page(rw, "anonymous", board_url(rw, "/results"))
    assert resp.status_code == 200
    rows = row_texts(resp)
    assert "张帅坤" in rows["A101"] and "90.00" in rows["A101"] and "First prize" in rows["A101"]
    assert "李建国" not in resp.get_data(as_text=True) and mask_name("李建国") in rows["A102"]
    assert "乙汽车厂" not in resp.get_data(as_text=True)
    assert "Absent" in rows["A105"]
    pdf = page(rw, "anonymous", board_url(rw, "/results.pdf"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_public_results_page_shows_a_correction(rw):  # noqa: F811
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish").status_code == 201
    rw.mark("A104", rw.p2, "j1", 20)  # a chief judge's change after an appeal (test shortcut)
    db.session.commit()
    resp = rw.call("organizer", "POST", "/results/publish", json={"reason": "申诉复核：A104 尺寸改判"})
    assert resp.status_code == 201
    html = page(rw, "anonymous", board_url(rw, "/results")).get_data(as_text=True)
    assert "Version 2" in html and "申诉复核：A104 尺寸改判" in html and 'id="correction"' in html
    assert "78.67" in row_texts(page(rw, "anonymous", board_url(rw, "/results")))["A104"]


def test_list_of_boards_shows_public_competitions_only(rw):  # noqa: F811
    draft = Competition(name="草稿竞赛不公开", level="city", status="draft")
    published = Competition(name="已公布的竞赛", level="city", status="published")
    db.session.add_all([draft, published])
    db.session.commit()
    for role in ("anonymous", "organizer"):
        resp = page(rw, role, "/boards")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert "数控车工技能比武" in html and f'href="/board/{rw.competition.id}"' in html
        assert "已公布的竞赛" in html and "草稿竞赛不公开" not in html
        live = html[html.index('id="boards-live"'):html.index('id="boards-published"')]
        assert "数控车工技能比武" in live


def test_list_of_boards_query_count_does_not_grow(rw):  # noqa: F811
    from tests.app.people.test_queries import count_queries

    def count() -> int:
        client = rw.client.application.test_client()
        client.get("/boards")
        with count_queries() as n:
            assert client.get("/boards").status_code == 200
        return n["n"]

    few = count()
    db.session.add_all([Competition(name=f"竞赛{i}", level="city", status="running") for i in range(30)])
    db.session.commit()
    assert count() == few


def test_board_says_so_when_scores_cannot_be_computed(rw):  # noqa: F811
    from decimal import Decimal

    rw.fill()
    rw.theory.weight = Decimal(50)  # weights 50 + 70: an invalid scheme
    db.session.commit()
    resp = page(rw, "anonymous", board_url(rw))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'data-phase="unavailable"' in html and "The scores cannot be shown right now." in html
    assert "No entries yet." in html
