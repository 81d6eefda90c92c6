"""Marks through the JSON API: storing, idempotent retries, revisions, bad values, blindness, assignment and
conflicts, the audit trail, sheets."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.competitions import marks_fixtures
from tests.competitions.marks_fixtures import item, key

mw = marks_fixtures.mw


def _items(resp):
    return resp.get_json()["error"]["details"]["items"]


# --- storing and idempotency --------------------------------------------------------------------------------


def test_judge_stores_a_batch_of_marks(mw):
    resp = mw.post("j2", "/marks", [item("K101", mw.a1.id, "2"), item("K101", mw.a2.id, 7.5), item("K102", mw.a2.id, 10)])
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert [r["status"] for r in body["results"]] == ["stored"] * 3
    assert [r["value"] for r in body["results"]] == ["2", "7.5", "10"]
    assert [r["revision"] for r in body["results"]] == [1, 1, 1]
    assert body["stored"] == 3 and body["duplicate"] == 0 and body["unchanged"] == 0
    marks = mw.marks(judge_id=mw.users["j2"].id)
    assert [(m.entry_id, m.aspect_id, m.value, m.revision, m.is_current) for m in marks] == [
        (mw.entries[0].id, mw.a1.id, Decimal("2"), 1, True),
        (mw.entries[0].id, mw.a2.id, Decimal("7.5"), 1, True),
        (mw.entries[1].id, mw.a2.id, Decimal("10"), 1, True),
    ]
    assert all(m.entered_by_id == mw.users["j2"].id and m.confirmed_by_id == mw.users["j2"].id for m in marks)
    mw.assert_blind(resp)


def test_same_key_sent_three_times_stores_one_row(mw):
    k = key()
    statuses = []
    for _ in range(3):
        resp = mw.mark("j2", "K101", mw.a1, "3", k)
        assert resp.status_code == 200
        statuses.append(resp.get_json()["results"][0]["status"])
    assert statuses == ["stored", "duplicate", "duplicate"]
    assert len(mw.marks(idempotency_key=k)) == 1
    assert len(mw.marks(judge_id=mw.users["j2"].id)) == 1
    assert len(mw.audit("mark_submitted")) == 1


def test_a_retry_after_a_later_change_does_not_undo_it(mw):
    k1, k2 = key(), key()
    assert mw.mark("j2", "K101", mw.a1, "1", k1).status_code == 200
    assert mw.mark("j2", "K101", mw.a1, "3", k2).status_code == 200
    resp = mw.mark("j2", "K101", mw.a1, "1", k1)  # the late retry of the first change
    result = resp.get_json()["results"][0]
    assert (result["status"], result["revision"], result["value"]) == ("duplicate", 2, "3")
    assert [(m.value, m.is_current) for m in mw.marks(judge_id=mw.users["j2"].id)] == [(1, False), (3, True)]


def test_the_same_key_twice_in_one_batch_is_stored_once(mw):
    k = key()
    resp = mw.post("j2", "/marks", [item("K101", mw.a1.id, "2", k), item("K101", mw.a1.id, "2.0", k)])
    assert [r["status"] for r in resp.get_json()["results"]] == ["stored", "duplicate"]
    assert len(mw.marks()) == 1


@pytest.mark.parametrize("change", ["value", "aspect", "code"])
def test_same_key_for_another_mark_is_409_and_nothing_stored(mw, change):
    k = key()
    assert mw.mark("j2", "K101", mw.a1, "2", k).status_code == 200
    other = {"value": ("K101", mw.a1, "3"), "aspect": ("K101", mw.a2, "2"), "code": ("K102", mw.a1, "2")}[change]
    resp = mw.post("j2", "/marks", [item("K103", mw.a1.id, "1"), item(other[0], other[1].id, other[2], k)])
    assert resp.status_code == 409
    assert _items(resp)[0]["index"] == 1 and _items(resp)[0]["code"] == "key_reused"
    assert len(mw.marks()) == 1


def test_another_judges_key_is_409_and_reveals_nothing(mw):
    k = key()
    assert mw.mark("j2", "K101", mw.a1, "2", k).status_code == 200
    resp = mw.mark("j3", "K101", mw.a1, "2", k)
    assert resp.status_code == 409
    assert "2" not in json.dumps(_items(resp)[0].get("value", ""))
    assert len(mw.marks()) == 1


def test_changed_value_is_a_new_revision_and_the_old_row_stays(mw):
    assert mw.mark("j2", "K101", mw.a2, "4").status_code == 200
    resp = mw.mark("j2", "K101", mw.a2, "4.5")
    assert resp.get_json()["results"][0] | {"mark_id": 0} == {
        "index": 0, "code": "K101", "aspect_id": mw.a2.id, "judge_id": mw.users["j2"].id, "status": "stored",
        "mark_id": 0, "revision": 2, "value": "4.5", "confirmed": True}
    rows = mw.marks(judge_id=mw.users["j2"].id)
    assert [(m.revision, m.value, m.is_current) for m in rows] == [(1, Decimal(4), False), (2, Decimal("4.5"), True)]


def test_unchanged_value_with_a_new_key_is_a_no_op(mw):
    assert mw.mark("j2", "K101", mw.a2, "4").status_code == 200
    resp = mw.mark("j2", "K101", mw.a2, "4.00")
    result = resp.get_json()["results"][0]
    assert (result["status"], result["revision"], result["value"]) == ("unchanged", 1, "4")
    assert len(mw.marks()) == 1
    assert len(mw.audit("mark_submitted")) == 1


def test_every_change_is_audited_with_code_aspect_old_and_new(mw):
    mw.mark("j2", "K102", mw.a2, "4")
    mw.mark("j2", "K102", mw.a2, "6.5")
    entries = mw.audit("mark_submitted")
    assert [(e.details["code"], e.details["aspect_id"], e.details["old"], e.details["new"], e.details["revision"])
            for e in entries] == [("K102", mw.a2.id, None, "4", 1), ("K102", mw.a2.id, "4", "6.5", 2)]
    assert all(e.actor_id == mw.users["j2"].id and e.target_type == "mark" for e in entries)
    for e in entries:
        text = json.dumps(e.details, ensure_ascii=False)
        assert mw.workers[1].name not in text and mw.enterprises[1].name not in text


# --- bad values -----------------------------------------------------------------------------------------------

BAD_VALUES = [
    ('"4"', "above_max"),            # 0–3 scale
    ("4", "above_max"),
    ('"1.5"', "off_step"),           # step 1
    ("1.5", "off_step"),
    ('"NaN"', "not_finite"),
    ("NaN", "not_finite"),           # Python's json accepts the literal; it must still be refused
    ('"Infinity"', "not_finite"),
    ("Infinity", "not_finite"),
    ("-Infinity", "not_finite"),
    ('"-1"', "below_min"),
    ("-1", "below_min"),
    ("1e308", "above_max"),
    ('"1e308"', "above_max"),
    ("1" + "0" * 5000, "above_max"),  # more digits than Python's int() takes
    ('"abc"', "not_decimal"),
    ('""', "not_decimal"),
    ('"1,5"', "not_decimal"),
    ('"0x1"', "not_decimal"),
    ('"1_0"', "not_decimal"),
    ("true", "not_decimal"),
    ("null", "not_decimal"),
    ('[1]', "not_decimal"),
    ("0.30000000000000004", "off_step"),  # what 0.1 + 0.2 is in binary floating point
    ("2.0000000000000000000000000000001", "off_step"),  # a float would round this onto the step
    ('"1e-999999999"', "off_step"),
    ("1E-999999999", "off_step"),
    ("1e999999999", "above_max"),
    ('"-1E+999999999"', "below_min"),
]


@pytest.mark.parametrize(("raw", "problem"), BAD_VALUES)
def test_bad_values_are_422_per_item_and_nothing_is_stored(mw, raw, problem):
    good = json.dumps(item("K101", mw.a1.id, "2"))
    bad = json.dumps(item("K102", mw.a1.id, "__VALUE__")).replace('"__VALUE__"', raw)
    resp = mw.post_raw("j2", "/marks", f"[{good}, {bad}]")
    assert resp.status_code == 422, resp.get_data(as_text=True)[:300]
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_marks"
    assert [(i["index"], i["code"], i["field"]) for i in error["details"]["items"]] == [(1, problem, "value")]
    assert error["details"]["items"][0]["message"]
    assert mw.marks() == []


def test_a_value_off_a_half_step_is_refused_and_on_it_accepted(mw):
    assert mw.mark("j2", "K101", mw.a2, "7.25").status_code == 422
    assert mw.mark("j2", "K101", mw.a2, "7.50").status_code == 200
    assert mw.marks()[0].value == Decimal("7.5")


def test_json_numbers_are_read_exactly_as_decimals(mw):
    resp = mw.post_raw("j2", "/marks", json.dumps([item("K101", mw.a2.id, "X")]).replace('"X"', "9.5"))
    assert resp.status_code == 200
    assert resp.get_json()["results"][0]["value"] == "9.5"
    assert isinstance(mw.marks()[0].value, Decimal)


def test_every_problem_of_a_batch_is_listed(mw):
    resp = mw.post("j2", "/marks", [item("K101", mw.a1.id, "9"), item("K101", 999_999, "1"), item("K101", mw.a2.id, "x")])
    assert resp.status_code == 422
    assert [(i["index"], i["code"]) for i in _items(resp)] == [(0, "above_max"), (1, "unknown_aspect"), (2, "not_decimal")]
    assert mw.marks() == []


@pytest.mark.parametrize("body", [[], {"code": "K101"}, [{"code": "K101", "aspect_id": "a", "value": 1, "idempotency_key": "k"}],
                                  [{"code": "K101", "aspect_id": 1, "value": 1}], [{"code": "K101", "aspect_id": 1.5,
                                                                                   "value": 1, "idempotency_key": "k"}],
                                  [{"code": "K101", "aspect_id": 1, "value": 1, "idempotency_key": "k" * 65}]])
def test_malformed_batches_are_422(mw, body):
    resp = mw.post("j2", "/marks", body)
    assert resp.status_code == 422
    assert mw.marks() == []


def test_invalid_json_is_400_not_500(mw):
    resp = mw.post_raw("j2", "/marks", "[{")
    assert resp.status_code in (400, 422)


# --- unknown targets, assignment, conflicts, lock, phase -----------------------------------------------------


def test_unknown_code_is_404_and_nothing_stored(mw):
    resp = mw.post("j2", "/marks", [item("K101", mw.a1.id, "2"), item("K999", mw.a1.id, "2")])
    assert resp.status_code == 404
    assert [(i["index"], i["code"]) for i in _items(resp)] == [(1, "not_assigned")]
    assert mw.marks() == []


def test_aspect_of_another_competition_is_422(mw, create_enterprise):
    from app.db import db
    from competitions.models import Aspect, Competition, Criterion, Module

    other = Competition(name="另一场", level="city", status="running")
    db.session.add(other)
    db.session.flush()
    m = Module(competition_id=other.id, position=1, name="m", kind="practical")
    c = Criterion(position=1, name="c")
    a = Aspect(position=1, name="a", kind="J", max_mark=Decimal(3), scale_min=Decimal(0), scale_max=Decimal(3),
               scale_step=Decimal(1))
    c.aspects.append(a)
    m.criteria.append(c)
    db.session.add(m)
    db.session.commit()
    resp = mw.mark("j2", "K101", a, "2")
    assert resp.status_code == 422
    assert _items(resp)[0]["code"] == "unknown_aspect"


def test_judge_not_on_the_modules_panel_is_403(mw):
    resp = mw.mark("j5", "K101", mw.a1, "2")  # j5 judges module 2 only
    assert resp.status_code == 403
    assert _items(resp)[0]["code"] == "not_on_panel"
    assert mw.marks() == []
    assert mw.mark("j2", "K101", mw.b1, "2").status_code == 403  # and j2 is not on module 2


def test_conflicted_entry_looks_like_an_unknown_code(mw):
    resp = mw.mark("j4", "K101", mw.a1, "2")  # K101 is the worker of j4's own enterprise
    assert resp.status_code == 404
    assert _items(resp)[0]["code"] == "not_assigned"
    unknown = mw.mark("j4", "K999", mw.a1, "2")
    assert _items(resp)[0]["message"] == _items(unknown)[0]["message"]
    mw.assert_blind(resp)
    assert mw.marks() == []
    assert mw.mark("j4", "K102", mw.a1, "2").status_code == 200


def test_a_conflict_declared_after_assignment_is_checked_when_the_mark_arrives(mw):
    from app.db import db
    from competitions.models import DeclaredConflict

    assert mw.mark("j2", "K102", mw.a1, "2").status_code == 200
    db.session.add(DeclaredConflict(competition_id=mw.competition.id, entry_id=mw.entries[1].id,
                                    judge_id=mw.users["j2"].id, reason="亲属"))
    db.session.commit()
    assert mw.mark("j2", "K102", mw.a1, "3").status_code == 404
    assert len(mw.marks()) == 1


def test_withdrawn_entry_cannot_be_marked(mw):
    from app.db import db

    mw.entries[2].status = "withdrawn"
    db.session.commit()
    assert mw.mark("j2", "K103", mw.a1, "2").status_code == 404


@pytest.mark.parametrize("status", ["draft", "registration_open", "registration_closed", "scoring_closed", "published"])
def test_marks_only_while_running(mw, status):
    mw.set_status(status)
    resp = mw.mark("j2", "K101", mw.a1, "2")
    assert resp.status_code == 409
    assert _items(resp)[0]["code"] == "not_running"
    assert mw.marks() == []


def test_no_marks_after_the_lock_but_a_retry_of_a_stored_key_still_answers(mw):
    from app.db import db, utcnow

    k = key()
    assert mw.mark("j2", "K101", mw.a1, "2", k).status_code == 200
    mw.module1.locked_at = utcnow()
    mw.module1.locked_by_id = mw.users["j1"].id
    db.session.commit()
    resp = mw.mark("j2", "K101", mw.a1, "3")
    assert resp.status_code == 409
    assert _items(resp)[0]["code"] == "module_locked"
    assert mw.mark("j2", "K102", mw.a1, "3").status_code == 409
    retry = mw.mark("j2", "K101", mw.a1, "2", k)
    assert retry.status_code == 200 and retry.get_json()["results"][0]["status"] == "duplicate"
    assert len(mw.marks()) == 1


# --- the judge's own marks --------------------------------------------------------------------------------


def test_judge_reads_own_current_marks_by_code_only(mw):
    mw.mark("j2", "K101", mw.a1, "1")
    mw.mark("j2", "K101", mw.a1, "2")
    mw.mark("j3", "K102", mw.a1, "3")
    resp = mw.get("j2", "/marks")
    assert resp.status_code == 200
    marks = resp.get_json()["marks"]
    assert [(m["code"], m["aspect_id"], m["value"], m["revision"], m["remark_requested"]) for m in marks] == [
        ("K101", mw.a1.id, "2", 2, False)]
    mw.assert_blind(resp)
    assert mw.get("j2", f"/marks?module_id={mw.module2.id}").get_json()["marks"] == []


# --- sheets ---------------------------------------------------------------------------------------------------


def test_sheet_needs_every_aspect(mw):
    mw.mark("j2", "K101", mw.a1, "2")
    resp = mw.post("j2", "/sheets", {"module_id": mw.module1.id, "code": "K101"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["code"] == "sheet_incomplete"
    assert resp.get_json()["error"]["details"]["missing_aspect_ids"] == [mw.a2.id]
    mw.mark("j2", "K101", mw.a2, "8")
    resp = mw.post("j2", "/sheets", {"module_id": mw.module1.id, "code": "K101"})
    assert resp.status_code == 200 and resp.get_json()["created"] is True
    mw.assert_blind(resp)
    again = mw.post("j2", "/sheets", {"module_id": mw.module1.id, "code": "K101"})
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert len(mw.audit("score_sheet_submitted")) == 1


def test_sheet_for_unassigned_or_conflicted_entry_is_404(mw):
    assert mw.post("j4", "/sheets", {"module_id": mw.module1.id, "code": "K101"}).status_code == 404
    assert mw.post("j5", "/sheets", {"module_id": mw.module1.id, "code": "K102"}).status_code == 404
    assert mw.post("j2", "/sheets", {"module_id": 999_999, "code": "K102"}).status_code == 404


# --- the places of an aspect (judges required) -----------------------------------------------------------------


def test_a_judge_beyond_the_judges_required_is_refused_and_nothing_is_stored(mw):
    """Module 1's aspects take 3 judges; j4 sits on the panel too. Once j1–j3 marked K102, j4 cannot add a fourth
    mark there (the results engine would refuse the aspect), while K103's places are still free."""
    mw.fill(judges=("j1", "j2", "j3"))
    before = len(mw.marks())
    resp = mw.post("j4", "/marks", [item("K103", mw.a2.id, "6"), item("K102", mw.a1.id, "2")])
    assert resp.status_code == 409
    assert [(i["index"], i["code"]) for i in _items(resp)] == [(0, "aspect_full"), (1, "aspect_full")]
    assert len(mw.marks()) == before and mw.marks(judge_id=mw.users["j4"].id) == []
    assert len(mw.audit("mark_submitted")) == before


def test_a_judge_with_a_place_may_still_change_the_mark(mw):
    mw.fill(judges=("j1", "j2", "j3"))
    resp = mw.mark("j2", "K102", mw.a1, "3")
    assert resp.status_code == 200 and resp.get_json()["results"][0]["status"] == "stored"


def test_a_free_place_is_taken_by_whoever_comes_first(mw):
    mw.fill(judges=("j1", "j2"))
    assert mw.mark("j4", "K102", mw.a1, "2").status_code == 200
    resp = mw.mark("j3", "K102", mw.a1, "2")
    assert resp.status_code == 409 and _items(resp)[0]["code"] == "aspect_full"
    assert mw.mark("j3", "K103", mw.a1, "2").status_code == 200


def test_a_sheet_does_not_need_aspects_other_judges_filled(mw):
    mw.fill(judges=("j1", "j2", "j3"))
    resp = mw.post("j4", "/sheets", {"module_id": mw.module1.id, "code": "K102"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["created"] is True
