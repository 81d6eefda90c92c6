"""The judging HTML pages: the judge's modules, the scoring page (codes only, never names or enterprises), and
the chief judge's page (completeness, divergence decisions, the lock, changes after the lock, paper double entry,
statistics) for every role — including a judge of another panel and a conflicted judge. Bad input gets a clear
4xx and stores nothing."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.db import db
from competitions.models import DeclaredConflict, DivergenceReview, Mark, ScoreSheet
from competitions.views.judging import allowed_values
from tests.competitions import marks_fixtures
from tests.conftest import csrf_token


@pytest.fixture
def mw(app, client, create_enterprise, create_worker, create_user):
    """The marks world; its API calls (Bearer tokens) drop the page session first (a cookie client needs CSRF)."""
    world = marks_fixtures.build_world(client, create_enterprise, create_worker, create_user)
    call = world.call

    def token_call(role, method, url, **kw):
        client.delete_cookie("session")
        return call(role, method, url, **kw)

    world.call = token_call
    return world


@pytest.fixture
def en(client):
    client.set_cookie("lang", "en")
    with force_locale("en"):
        yield


def _as(mw, login, role):
    mw.client.delete_cookie("session")
    if role != "anonymous":
        login(mw.client, mw.users[role])


def _score_url(mw, module=None):
    return f"/judging/competitions/{mw.competition.id}/modules/{(module or mw.module1).id}"


def _chief_url(mw, suffix=""):
    return f"/judging/competitions/{mw.competition.id}/modules/{mw.module1.id}/chief{suffix}"


def _config(resp) -> dict:
    text = resp.get_data(as_text=True)
    found = re.search(r"<div id=\"judge-config\" hidden data-config='([^']*)'></div>", text)
    assert found, "the scoring page carries its configuration as JSON in a data attribute"
    return json.loads(html.unescape(found.group(1)))


def _assert_blind(mw, resp) -> None:
    """No name, enterprise, credit code or mobile of any entrant, and no entry or worker id."""
    text = resp.get_data(as_text=True)
    for w in mw.workers:
        assert w.name not in text
        assert w.mobile not in text
    for e in mw.enterprises:
        assert e.name not in text
        assert e.uscc not in text
    assert "entry_id" not in text and "worker_id" not in text and "enterprise" not in text.lower()


def _post(mw, url, data):
    data = {"csrf_token": csrf_token(mw.client), **data}
    resp = mw.client.post(url, data=data)
    resp.close()
    return resp


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- pure ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("smin", "smax", "step", "expected"), [
    ("0", "3", "1", ["0", "1", "2", "3"]),
    ("0", "10", "0.5", None),  # 21 values: a number field instead of buttons
    ("0", "2", "0.5", ["0", "0.5", "1", "1.5", "2"]),
    ("1", "2.5", "0.5", ["1", "1.5", "2", "2.5"]),
    ("0", "1", "0.3", ["0", "0.3", "0.6", "0.9"]),
])
def test_allowed_values_are_exact(smin, smax, step, expected):
    assert allowed_values(Decimal(smin), Decimal(smax), Decimal(step)) == expected


# --- /judging --------------------------------------------------------------------------------------------------


def test_judging_index_lists_the_judges_modules(mw, login, en):
    mw.mark("j1", "K101", mw.a1, "2")
    _as(mw, login, "j1")
    resp = mw.client.get("/judging")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert mw.competition.name in text and mw.module1.name in text and mw.module2.name not in text
    assert _score_url(mw) in text and _chief_url(mw) in text  # j1 is the chief judge of module 1
    assert "Your marks: 1 of 6" in text
    _assert_blind(mw, resp)

    _as(mw, login, "j2")
    text = mw.client.get("/judging").get_data(as_text=True)
    assert _score_url(mw) in text and _chief_url(mw) not in text

    _as(mw, login, "j5")  # a judge of another panel
    text = mw.client.get("/judging").get_data(as_text=True)
    assert mw.module2.name in text and mw.module1.name not in text


def test_judging_index_does_not_count_marks_other_judges_already_gave_as_owed(mw, login, en):
    """Places that other judges' marks already fill are shown on the scoring page without controls and are not
    needed on the score sheet: the index's count of the judge's marks leaves them out too."""
    _as(mw, login, "j4")
    before = re.search(r"Your marks: (\d+) of (\d+)", mw.client.get("/judging").get_data(as_text=True)).groups()
    assert before[0] == "0" and int(before[1]) > 0
    mw.fill(judges=("j1", "j2", "j3"))  # every aspect of module 1 needs three judges: j4's places are all filled
    _as(mw, login, "j4")
    assert "Your marks: 0 of 0" in mw.client.get("/judging").get_data(as_text=True)
    _as(mw, login, "j1")
    done = re.search(r"Your marks: (\d+) of (\d+)", mw.client.get("/judging").get_data(as_text=True)).groups()
    assert done[0] == done[1] != "0"


@pytest.mark.parametrize(("role", "status"), [("organizer", 403), ("admin", 403), ("hr", 403), ("worker", 403),
                                              ("anonymous", 302)])
def test_judging_index_is_for_judges(mw, login, role, status):
    _as(mw, login, role)
    assert mw.client.get("/judging").status_code == status


def test_draft_competitions_are_not_shown(mw, login):
    mw.set_status("draft")
    _as(mw, login, "j1")
    assert mw.competition.name not in mw.client.get("/judging").get_data(as_text=True)
    assert mw.client.get(_score_url(mw)).status_code == 404


# --- the scoring page --------------------------------------------------------------------------------------------


def test_scoring_page_shows_codes_and_controls_on_the_scale(mw, login, en):
    mw.mark("j1", "K102", mw.a1, "2")
    mw.mark("j1", "K102", mw.a2, "7.5")
    _as(mw, login, "j1")
    resp = mw.client.get(_score_url(mw))
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    for code in mw.codes:
        assert f'data-code="{code}"' in text
    # a1 (0–3 step 1): one big button per value; a2 (0–10 step 0.5): a number field with the scale
    assert text.count(f'name="m-1-{mw.a1.id}"') == 4
    assert 'min="0" max="10" step="0.5"' in text
    assert 'js/judge.js' in text and "<script>" not in text and " onclick=" not in text and ' style="' not in text
    config = _config(resp)
    assert config["codes"] == list(mw.codes)
    assert config["marks"] == {f"K102|{mw.a1.id}": {"value": "2", "revision": 1, "remark": False},
                               f"K102|{mw.a2.id}": {"value": "7.5", "revision": 1, "remark": False}}
    assert config["aspects"][str(mw.a2.id)] == {"min": "0", "max": "10", "step": "0.5"}
    assert config["editable"] is True
    assert config["marks_url"] == f"/api/v1/competitions/{mw.competition.id}/marks"
    assert config["strings"]["saved"] == "Saved"
    assert _chief_url(mw) in text  # j1 chairs the panel
    _assert_blind(mw, resp)


def test_scoring_page_of_a_plain_judge_has_no_chief_link(mw, login):
    _as(mw, login, "j2")
    text = mw.client.get(_score_url(mw)).get_data(as_text=True)
    assert _chief_url(mw) not in text


def test_level_words_label_the_buttons(mw, login):
    mw.a1.level_words = ["差", "中", "良", "优"]
    db.session.commit()
    _as(mw, login, "j2")
    text = mw.client.get(_score_url(mw)).get_data(as_text=True)
    for word in ("差", "中", "良", "优"):
        assert f'<span class="choice-word">{word}</span>' in text


def test_conflicted_entries_are_not_shown(mw, login):
    # j4 belongs to enterprise A (own enterprise → K101 hidden); j2 declares a conflict with K103
    db.session.add(DeclaredConflict(competition_id=mw.competition.id, entry_id=mw.entries[2].id,
                                    judge_id=mw.users["j2"].id, reason="亲属"))
    db.session.commit()
    for role, hidden in (("j4", "K101"), ("j2", "K103")):
        _as(mw, login, role)
        resp = mw.client.get(_score_url(mw))
        assert resp.status_code == 200
        text = resp.get_data(as_text=True)
        assert hidden not in text, f"{role} must not see {hidden}"
        assert set(_config(resp)["codes"]) == set(mw.codes) - {hidden}
        _assert_blind(mw, resp)
        assert "亲属" not in text


def test_marks_of_a_now_conflicted_entry_are_not_shown(mw, login):
    mw.mark("j2", "K103", mw.a1, "1")
    db.session.add(DeclaredConflict(competition_id=mw.competition.id, entry_id=mw.entries[2].id,
                                    judge_id=mw.users["j2"].id))
    db.session.commit()
    _as(mw, login, "j2")
    assert _config(mw.client.get(_score_url(mw)))["marks"] == {}


@pytest.mark.parametrize(("role", "status"), [("j5", 404), ("organizer", 403), ("admin", 403), ("hr", 403),
                                              ("worker", 403), ("anonymous", 302)])
def test_scoring_page_refuses_others(mw, login, role, status):
    _as(mw, login, role)
    resp = mw.client.get(_score_url(mw))
    assert resp.status_code == status
    for code in mw.codes:
        assert code not in resp.get_data(as_text=True)


def test_unknown_module_or_wrong_competition_is_not_found(mw, login):
    _as(mw, login, "j1")
    assert mw.client.get(f"/judging/competitions/{mw.competition.id}/modules/999999").status_code == 404
    assert mw.client.get(f"/judging/competitions/999999/modules/{mw.module1.id}").status_code == 404


def test_locked_module_is_read_only_and_the_api_refuses(mw, login, en):
    mw.fill()
    resp = mw.post("j1", f"/modules/{mw.module1.id}/lock")
    assert resp.status_code == 200, resp.get_json()
    _as(mw, login, "j2")
    resp = mw.client.get(_score_url(mw))
    text = resp.get_data(as_text=True)
    assert "locked this module" in text
    assert _config(resp)["editable"] is False
    assert 'data-submit-sheet' not in text
    assert text.count("disabled") >= 3 * 4  # every control of every code
    before = _count(Mark)
    refused = mw.mark("j2", "K101", mw.a1, "3")
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["items"][0]["code"] == "module_locked"
    assert _count(Mark) == before


def test_not_running_competition_is_read_only(mw, login, en):
    mw.set_status("scoring_closed")
    _as(mw, login, "j2")
    resp = mw.client.get(_score_url(mw))
    assert resp.status_code == 200
    assert _config(resp)["editable"] is False
    assert "only while the competition is running" in resp.get_data(as_text=True)


def test_submitted_sheets_are_shown(mw, login):
    mw.mark("j2", "K102", mw.a1, "2")
    mw.mark("j2", "K102", mw.a2, "4")
    assert mw.post("j2", "/sheets", {"module_id": mw.module1.id, "code": "K102"}).status_code == 200
    _as(mw, login, "j2")
    resp = mw.client.get(_score_url(mw))
    assert _config(resp)["sheets"] == ["K102"]
    assert _count(ScoreSheet) == 1


def test_service_worker_is_served_for_the_judging_scope(mw, login):
    _as(mw, login, "j1")
    resp = mw.client.get("/judging/sw.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Service-Worker-Allowed"] == "/judging/"
    assert b"/api/" in resp.data  # the API is never cached
    resp.close()


# --- the chief judge's page --------------------------------------------------------------------------------------


def test_chief_page_shows_the_matrix_and_statistics(mw, login, en):
    mw.fill({("j1", "K102", mw.a1.id): "0", ("j2", "K102", mw.a1.id): "2", ("j3", "K102", mw.a1.id): "2"})
    _as(mw, login, "j1")
    resp = mw.client.get(_chief_url(mw))
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    for code in mw.codes:
        assert f"<code>{code}</code>" in text
    assert f'id="d-K102-{mw.a1.id}"' in text  # the divergence, with its decision form
    assert 'name="decision"' in text
    assert "<svg" in text and "bar-severe" in text and "bar-lenient" not in text.split("<svg")[0]
    for u in ("j1", "j2", "j3", "j4"):
        assert mw.users[u].display_name in text
    assert "Lock the module" in text
    assert 'js/chief.js' in text and ' style="' not in text
    # the chief sees codes, never entrants
    for w in mw.workers:
        assert w.name not in text
    for e in mw.enterprises:
        assert e.name not in text


@pytest.mark.parametrize(("role", "status"), [("j1", 200), ("organizer", 200), ("admin", 200), ("j2", 403),
                                              ("j4", 403), ("j5", 403), ("hr", 403), ("worker", 403),
                                              ("anonymous", 302)])
def test_chief_page_access(mw, login, role, status):
    _as(mw, login, role)
    resp = mw.client.get(_chief_url(mw))
    assert resp.status_code == status
    if status != 200:
        assert "K101" not in resp.get_data(as_text=True)


def test_organizer_reads_but_does_not_decide_or_lock(mw, login, en):
    mw.fill({("j1", "K102", mw.a1.id): "0", ("j2", "K102", mw.a1.id): "2"})
    _as(mw, login, "organizer")
    text = mw.client.get(_chief_url(mw)).get_data(as_text=True)
    assert "Lock the module" not in text and 'name="decision"' not in text
    assert "Paper score sheets" in text  # organizers may type in paper sheets
    assert _post(mw, _chief_url(mw, "/lock"), {}).status_code == 403
    assert _post(mw, _chief_url(mw, "/divergence"), {"code": "K102", "aspect_id": mw.a1.id, "decision": "accepted",
                                                   "reason": "ok"}).status_code == 403
    assert mw.module1.locked_at is None and _count(DivergenceReview) == 0


def test_divergence_decisions(mw, login, en):
    mw.fill({("j1", "K102", mw.a1.id): "0", ("j2", "K102", mw.a1.id): "2"})
    _as(mw, login, "j1")
    url = _chief_url(mw, "/divergence")
    resp = _post(mw, url, {"code": "K102", "aspect_id": mw.a1.id, "decision": "accepted", "reason": " "})
    assert resp.status_code == 422
    assert "Give the reason for accepting" in resp.get_data(as_text=True)
    resp = _post(mw, url, {"code": "K102", "aspect_id": mw.a1.id, "decision": "maybe", "reason": "x"})
    assert resp.status_code == 422
    resp = _post(mw, url, {"code": "K101", "aspect_id": mw.a1.id, "decision": "remark", "reason": ""})
    assert resp.status_code == 409  # not divergent
    resp = _post(mw, url, {"code": "K999", "aspect_id": mw.a1.id, "decision": "remark", "reason": ""})
    assert resp.status_code == 404
    resp = _post(mw, url, {"code": "K102", "aspect_id": "abc", "decision": "remark", "reason": ""})
    assert resp.status_code == 422
    assert _count(DivergenceReview) == 0

    resp = _post(mw, url, {"code": "K102", "aspect_id": mw.a1.id, "decision": "remark", "reason": ""})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#divergences")
    review = db.session.scalar(select(DivergenceReview))
    assert review.decision == "remark"
    # the judges see the request on their scoring page
    _as(mw, login, "j2")
    config = _config(mw.client.get(_score_url(mw)))
    assert config["marks"][f"K102|{mw.a1.id}"]["remark"] is True

    _as(mw, login, "j1")
    resp = _post(mw, url, {"code": "K102", "aspect_id": mw.a1.id, "decision": "accepted", "reason": "技术讨论后接受"})
    assert resp.status_code == 302
    db.session.refresh(review)
    assert (review.decision, review.reason) == ("accepted", "技术讨论后接受")
    assert "技术讨论后接受" in mw.client.get(_chief_url(mw)).get_data(as_text=True)


def test_other_judges_cannot_decide(mw, login):
    mw.fill({("j1", "K102", mw.a1.id): "0", ("j2", "K102", mw.a1.id): "2"})
    for role in ("j2", "j5"):
        _as(mw, login, role)
        resp = _post(mw, _chief_url(mw, "/divergence"), {"code": "K102", "aspect_id": mw.a1.id, "decision": "accepted",
                                                          "reason": "x"})
        assert resp.status_code == 403
    assert _count(DivergenceReview) == 0


def test_lock_refused_until_complete_then_signed_off(mw, login, en):
    _as(mw, login, "j1")
    resp = _post(mw, _chief_url(mw, "/lock"), {})
    assert resp.status_code == 409
    assert "cannot be locked yet" in resp.get_data(as_text=True)
    db.session.refresh(mw.module1)
    assert mw.module1.locked_at is None
    resp = mw.client.post(_chief_url(mw, "/lock"), data={})  # no CSRF token
    assert resp.status_code == 400

    mw.fill()
    _as(mw, login, "j2")
    assert _post(mw, _chief_url(mw, "/lock"), {}).status_code == 403
    _as(mw, login, "j1")
    resp = _post(mw, _chief_url(mw, "/lock"), {})
    assert resp.status_code == 302
    db.session.refresh(mw.module1)
    assert mw.module1.locked_at is not None and mw.module1.locked_by_id == mw.users["j1"].id
    text = mw.client.get(_chief_url(mw)).get_data(as_text=True)
    assert "Change a mark after the lock" in text and "Lock the module" not in text
    assert _post(mw, _chief_url(mw, "/lock"), {}).status_code == 409  # already locked


def test_change_after_the_lock_needs_the_chief_and_a_reason(mw, login, en):
    mw.fill()
    _as(mw, login, "j1")
    # before the lock there is no change form: ask for a re-mark instead
    assert _post(mw, _chief_url(mw, "/change"), {"change-code": "K101"}).status_code == 409
    assert _post(mw, _chief_url(mw, "/lock"), {}).status_code == 302
    url = _chief_url(mw, "/change")
    j2 = mw.users["j2"].id
    base = {"change-code": "K101", "change-aspect_id": mw.a1.id, "change-judge_id": j2}
    before = _count(Mark)
    for data, message in (
        ({**base, "change-value": "3", "change-reason": ""}, "Give the reason"),
        ({**base, "change-value": "5", "change-reason": "复核"}, "above the highest mark"),
        ({**base, "change-value": "1.5", "change-reason": "复核"}, "steps of 1"),
        ({**base, "change-value": "NaN", "change-reason": "复核"}, "finite"),
        ({**base, "change-code": "K999", "change-value": "1", "change-reason": "复核"}, "Not a valid choice"),
        ({**base, "change-judge_id": mw.users["j5"].id, "change-value": "1", "change-reason": "复核"}, "Not a valid choice"),
    ):
        resp = _post(mw, url, data)
        assert resp.status_code == 422, data
        assert message in resp.get_data(as_text=True), (data, message)
    assert _count(Mark) == before

    _as(mw, login, "j2")  # another judge of the panel
    assert _post(mw, url, {**base, "change-value": "3", "change-reason": "复核"}).status_code == 403
    _as(mw, login, "j1")
    resp = _post(mw, url, {**base, "change-value": "3", "change-reason": "申诉复核"})
    assert resp.status_code == 302
    current = mw.marks(entry_id=mw.entries[0].id, aspect_id=mw.a1.id, judge_id=j2, is_current=True)
    assert [(m.value, m.revision, m.reason, m.entered_by_id) for m in current] == [
        (Decimal(3), 2, "申诉复核", mw.users["j1"].id)]
    assert _count(Mark) == before + 1


def test_paper_double_entry(mw, login, en):
    _as(mw, login, "j1")
    page = mw.client.get(_chief_url(mw)).get_data(as_text=True)
    key = re.search(r'name="paper-idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    url = _chief_url(mw, "/paper")
    data = {"paper-judge_id": mw.users["j2"].id, "paper-code": "K102", "paper-aspect_id": mw.a2.id,
            "paper-value": "6.5", "paper-idempotency_key": key}
    # bad input first: nothing stored
    for bad, message in (({"paper-value": "11"}, "above the highest mark"), ({"paper-value": "abc"}, "must be a number"),
                         ({"paper-value": ""}, "Enter the mark"), ({"paper-judge_id": "x"}, "Not a valid choice")):
        resp = _post(mw, url, {**data, **bad})
        assert resp.status_code == 422, bad
        assert message in resp.get_data(as_text=True)
    assert _count(Mark) == 0

    resp = _post(mw, url, data)
    assert resp.status_code == 302
    resp = _post(mw, url, data)  # the same form sent twice
    assert resp.status_code == 302
    stored = mw.marks()
    assert [(m.value, m.judge_id, m.entered_by_id, m.confirmed_by_id) for m in stored] == [
        (Decimal("6.5"), mw.users["j2"].id, mw.users["j1"].id, None)]
    text = mw.client.get(_chief_url(mw)).get_data(as_text=True)
    assert "A different person must confirm" in text
    confirm = _chief_url(mw, f"/marks/{stored[0].id}/confirm")
    resp = _post(mw, confirm, {})  # the person who typed it in
    assert resp.status_code == 409
    assert "A different person must confirm" in resp.get_data(as_text=True)
    assert mw.marks()[0].confirmed_by_id is None

    for role in ("j3", "hr"):
        _as(mw, login, role)
        assert _post(mw, confirm, {}).status_code == 403
    _as(mw, login, "organizer")
    resp = _post(mw, confirm, {})
    assert resp.status_code == 302
    db.session.expire_all()
    assert mw.marks()[0].confirmed_by_id == mw.users["organizer"].id
    assert _post(mw, confirm, {}).status_code == 409  # already confirmed


def test_paper_entry_by_a_plain_judge_is_refused(mw, login):
    _as(mw, login, "j2")
    resp = _post(mw, _chief_url(mw, "/paper"), {"paper-judge_id": mw.users["j3"].id, "paper-code": "K102",
                                                 "paper-aspect_id": mw.a1.id, "paper-value": "2",
                                                 "paper-idempotency_key": "paper-x"})
    assert resp.status_code == 403
    assert _count(Mark) == 0


def test_confirm_of_a_mark_of_another_module_is_not_found(mw, login):
    mw.mark("j5", "K101", mw.b1, "2")
    mark = mw.marks()[0]
    _as(mw, login, "organizer")
    assert _post(mw, _chief_url(mw, f"/marks/{mark.id}/confirm"), {}).status_code == 404


def test_statistics_without_enough_marks(mw, login, en):
    _as(mw, login, "j1")
    text = mw.client.get(_chief_url(mw)).get_data(as_text=True)
    assert "Not enough marks to compare judges yet." in text and "<svg" not in text


def test_chief_page_signature_matches_the_completeness_api(mw, login):
    """chief.js tells the chief judge that new marks arrived by comparing the page's signature with one computed
    the same way from the completeness API; both must agree while nothing changes, and differ after a mark."""
    mw.fill({("j1", "K102", mw.a1.id): "0"}, judges=("j1", "j2"))
    body = mw.get("j1", f"/modules/{mw.module1.id}/completeness").get_json()

    def signature(body):
        marks = [m for r in body["entries"] for c in r["cells"] for m in c["marks"] + c["unconfirmed"]]
        return (f"{len(marks)}:{sum(m['revision'] for m in marks)}:{body['missing']}:{body['unconfirmed']}:"
                f"{body['open_divergences']}:{1 if body['locked_at'] else 0}")

    _as(mw, login, "j1")
    page = mw.client.get(_chief_url(mw)).get_data(as_text=True)
    shown = re.search(r'data-signature="([^"]+)"', page).group(1)
    assert shown == signature(body)
    mw.mark("j2", "K102", mw.a1, "1")  # a new revision
    assert signature(mw.get("j1", f"/modules/{mw.module1.id}/completeness").get_json()) != shown


def test_relative_statistics(mw, login, en):
    mw.fill({("j1", "K101", mw.a2.id): "10", ("j2", "K101", mw.a2.id): "5", ("j3", "K101", mw.a2.id): "5"})
    _as(mw, login, "j1")
    plain = mw.client.get(_chief_url(mw)).get_data(as_text=True)
    relative = mw.client.get(_chief_url(mw) + "?relative=1").get_data(as_text=True)
    assert "Shown in marks" in plain and "Shown as a share" in relative
    # j1 is 5 marks above the median on a 0–10 scale in one of six cells: 5/6 in marks, 0.5/6 relative
    assert "0.83" in plain and "0.08" in relative


def _queries(mw, url) -> int:
    from sqlalchemy import event

    count = 0

    def before(*_args):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        resp = mw.client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert resp.status_code == 200
    return count


def test_pages_take_a_fixed_number_of_queries(mw, login, create_worker):
    """The scoring and chief judge pages do not query per entrant (3 entrants or 15: the same count)."""
    from competitions.models import Entry

    mw.fill(judges=("j1", "j2"))
    _as(mw, login, "j1")
    urls = [_score_url(mw), _chief_url(mw), "/judging"]
    few = [_queries(mw, url) for url in urls]
    for n in range(12):
        worker = create_worker(enterprise=mw.enterprises[1])
        db.session.add(Entry(competition_id=mw.competition.id, worker_id=worker.id, enterprise_id=worker.enterprise_id,
                             status="approved", code=f"Z{n:03d}"))
    db.session.commit()
    for judge in ("j1", "j2"):
        resp = mw.post(judge, "/marks", [marks_fixtures.item(f"Z{n:03d}", mw.a1.id, "2") for n in range(12)])
        assert resp.status_code == 200, resp.get_json()
    _as(mw, login, "j1")
    many = [_queries(mw, url) for url in urls]
    assert many == few


def test_scoring_page_shows_aspects_other_judges_filled_without_controls(mw, login):
    mw.fill(judges=("j1", "j2", "j3"))
    _as(mw, login, "j4")
    resp = mw.client.get(_score_url(mw))
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    for code in ("K102", "K103"):
        for aspect in (mw.a1, mw.a2):
            assert f'data-filled="{code}|{aspect.id}"' in text
            assert f'data-target="{code}|{aspect.id}"' not in text
    _assert_blind(mw, resp)
