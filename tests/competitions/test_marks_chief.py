"""The chief judge: completeness matrix, divergence decisions, the lock, changes after the lock, judge statistics;
and double entry of paper score sheets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.competitions import marks_fixtures
from tests.competitions.marks_fixtures import item, key

mw = marks_fixtures.mw


def _cell(body, code, aspect_id):
    row = next(r for r in body["entries"] if r["code"] == code)
    return next(c for c in row["cells"] if c["aspect_id"] == aspect_id)


def _completeness(mw, role="j1"):
    resp = mw.get(role, f"/modules/{mw.module1.id}/completeness")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


# --- completeness ---------------------------------------------------------------------------------------------


def test_completeness_matrix_by_code(mw):
    mw.mark("j2", "K101", mw.a1, "2")
    mw.mark("j3", "K101", mw.a1, "3")
    body = _completeness(mw)
    assert [r["code"] for r in body["entries"]] == ["K101", "K102", "K103"]
    assert [j["id"] for j in body["judges"]] == sorted(mw.users[j].id for j in ("j1", "j2", "j3", "j4"))
    cell = _cell(body, "K101", mw.a1.id)
    assert [(m["judge_id"], m["value"]) for m in cell["marks"]] == [(mw.users["j2"].id, "2"), (mw.users["j3"].id, "3")]
    assert cell["missing"] == 1
    # j4 is conflicted with K101 (own enterprise), so only j1 is still expected there
    assert cell["pending_judge_ids"] == [mw.users["j1"].id]
    assert _cell(body, "K102", mw.a1.id)["pending_judge_ids"] == sorted(mw.users[j].id for j in ("j1", "j2", "j3", "j4"))
    assert body["missing"] == 3 * 2 * 3 - 2
    assert body["can_lock"] is False
    assert cell["divergence"] is None  # 2 and 3 differ by 1: not more than the aspect's threshold 1
    text = mw.get("j1", f"/modules/{mw.module1.id}/completeness").get_data(as_text=True)
    for secret in mw.secrets():
        assert secret not in text


def test_completeness_for_organizer_not_for_other_judges(mw):
    assert mw.get("organizer", f"/modules/{mw.module1.id}/completeness").status_code == 200
    assert mw.get("admin", f"/modules/{mw.module1.id}/completeness").status_code == 200
    assert mw.get("j2", f"/modules/{mw.module1.id}/completeness").status_code == 403
    assert mw.get("j5", f"/modules/{mw.module1.id}/completeness").status_code == 403
    assert mw.get("j1", f"/modules/{mw.module2.id}/completeness").status_code == 403
    assert mw.get("j1", "/modules/999999/completeness").status_code == 404


def test_divergence_flagged_with_threshold_and_state(mw):
    mw.fill({("j1", "K102", mw.a1.id): "0", ("j2", "K102", mw.a1.id): "2"})  # spread 2 > 1
    body = _completeness(mw)
    assert body["missing"] == 0
    d = _cell(body, "K102", mw.a1.id)["divergence"]
    assert d == {"spread": "2", "threshold": "1", "state": "open", "reason": "", "decided_by_id": None, "decided_at": None}
    assert body["open_divergences"] == 1
    assert body["lock_problems"] == {"divergences": [{"code": "K102", "aspect_id": mw.a1.id, "state": "open"}]}


def test_aspect_threshold_is_used(mw):
    # a2 has threshold 2: a spread of 2 is not flagged, 2.5 is
    mw.fill({("j1", "K101", mw.a2.id): "0", ("j2", "K101", mw.a2.id): "2", ("j1", "K103", mw.a2.id): "0",
             ("j2", "K103", mw.a2.id): "2.5"})
    body = _completeness(mw)
    assert _cell(body, "K101", mw.a2.id)["divergence"] is None
    assert _cell(body, "K103", mw.a2.id)["divergence"]["threshold"] == "2"


# --- divergence decisions -------------------------------------------------------------------------------------


def test_remark_request_reaches_the_judges_until_they_remark(mw):
    mw.fill({("j1", "K102", mw.a1.id): "0"})
    resp = mw.post("j1", "/divergences", {"code": "K102", "aspect_id": mw.a1.id, "decision": "remark"})
    assert resp.status_code == 200, resp.get_json()
    assert _cell(_completeness(mw), "K102", mw.a1.id)["divergence"]["state"] == "remark"
    flags = {(m["code"], m["aspect_id"]): m["remark_requested"] for m in mw.get("j2", "/marks").get_json()["marks"]}
    assert flags[("K102", mw.a1.id)] is True and flags[("K101", mw.a1.id)] is False
    mw.mark("j1", "K102", mw.a1, "1")  # re-marked: spread 1 no longer diverges
    assert _cell(_completeness(mw), "K102", mw.a1.id)["divergence"] is None
    assert len(mw.audit("divergence_decided")) == 1


def test_accepting_needs_a_reason_and_resolves_the_flag(mw):
    mw.fill({("j1", "K102", mw.a1.id): "0"})
    bad = mw.post("j1", "/divergences", {"code": "K102", "aspect_id": mw.a1.id, "decision": "accepted"})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "reason_required"
    blank = mw.post("j1", "/divergences", {"code": "K102", "aspect_id": mw.a1.id, "decision": "accepted", "reason": "  "})
    assert blank.status_code == 422
    ok = mw.post("j1", "/divergences", {"code": "K102", "aspect_id": mw.a1.id, "decision": "accepted",
                                        "reason": "作品确有争议，经合议维持"})
    assert ok.status_code == 200
    body = _completeness(mw)
    assert _cell(body, "K102", mw.a1.id)["divergence"]["state"] == "accepted"
    assert body["open_divergences"] == 0 and body["can_lock"] is True
    entry = mw.audit("divergence_decided")[0]
    assert entry.details["code"] == "K102" and entry.details["decision"] == "accepted"


def test_a_changed_mark_reopens_an_accepted_divergence(mw):
    mw.fill({("j1", "K102", mw.a1.id): "0"})
    mw.post("j1", "/divergences", {"code": "K102", "aspect_id": mw.a1.id, "decision": "accepted", "reason": "合议"})
    mw.mark("j3", "K102", mw.a1, "3")  # now 0, 2, 3
    assert _cell(_completeness(mw), "K102", mw.a1.id)["divergence"]["state"] == "open"


def test_divergence_decision_rules(mw):
    mw.fill()
    not_divergent = mw.post("j1", "/divergences", {"code": "K101", "aspect_id": mw.a1.id, "decision": "remark"})
    assert not_divergent.status_code == 409 and not_divergent.get_json()["error"]["code"] == "not_divergent"
    assert mw.post("j2", "/divergences", {"code": "K101", "aspect_id": mw.a1.id, "decision": "remark"}).status_code == 403
    assert mw.post("j1", "/divergences", {"code": "K999", "aspect_id": mw.a1.id, "decision": "remark"}).status_code == 404
    assert mw.post("j1", "/divergences", {"code": "K101", "aspect_id": 999_999, "decision": "remark"}).status_code == 422
    assert mw.post("j1", "/divergences", {"code": "K101", "aspect_id": mw.a1.id, "decision": "maybe"}).status_code == 422


# --- the lock ---------------------------------------------------------------------------------------------------


def test_lock_refused_while_marks_are_missing(mw):
    mw.mark("j2", "K101", mw.a1, "2")
    resp = mw.post("j1", f"/modules/{mw.module1.id}/lock")
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "lock_refused"
    missing = error["details"]["missing"]
    assert len(missing) == 6 and missing[0] == {"code": "K101", "aspect_id": mw.a1.id, "missing": 2,
                                                "pending_judge_ids": [mw.users["j1"].id, mw.users["j3"].id]}
    assert mw.module1.locked_at is None


def test_lock_refused_while_divergences_are_open_then_allowed(mw):
    mw.fill({("j1", "K103", mw.a2.id): "10", ("j2", "K103", mw.a2.id): "0"})
    resp = mw.post("j1", f"/modules/{mw.module1.id}/lock")
    assert resp.status_code == 409
    assert resp.get_json()["error"]["details"] == {"divergences": [{"code": "K103", "aspect_id": mw.a2.id, "state": "open"}]}
    mw.post("j1", "/divergences", {"code": "K103", "aspect_id": mw.a2.id, "decision": "remark"})
    assert mw.post("j1", f"/modules/{mw.module1.id}/lock").status_code == 409  # a re-mark request is not a resolution
    mw.post("j1", "/divergences", {"code": "K103", "aspect_id": mw.a2.id, "decision": "accepted", "reason": "评分细则允许"})
    resp = mw.post("j1", f"/modules/{mw.module1.id}/lock")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["locked_by_id"] == mw.users["j1"].id
    assert len(mw.audit("module_locked")) == 1
    again = mw.post("j1", f"/modules/{mw.module1.id}/lock")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_locked"


def test_only_the_chief_judge_locks(mw):
    mw.fill()
    for role in ("j2", "j5"):
        assert mw.post(role, f"/modules/{mw.module1.id}/lock").status_code == 403
    for role in ("organizer", "admin", "hr", "worker"):
        assert mw.post(role, f"/modules/{mw.module1.id}/lock").status_code == 403
    assert mw.post("j1", f"/modules/{mw.module1.id}/lock").status_code == 200


def test_lock_only_while_running(mw):
    mw.fill()
    mw.set_status("scoring_closed")
    resp = mw.post("j1", f"/modules/{mw.module1.id}/lock")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "not_running"


def _locked(mw):
    mw.fill()
    assert mw.post("j1", f"/modules/{mw.module1.id}/lock").status_code == 200


def test_after_the_lock_judges_cannot_change_marks(mw):
    _locked(mw)
    resp = mw.mark("j2", "K101", mw.a1, "3")
    assert resp.status_code == 409
    assert resp.get_json()["error"]["details"]["items"][0]["code"] == "module_locked"
    assert mw.post("j1", "/marks", [item("K101", mw.a1.id, "3")]).status_code == 409  # the chief neither, this way
    assert len(mw.marks()) == 18


def test_chief_changes_a_mark_after_the_lock_with_a_reason(mw):
    _locked(mw)
    body = {"code": "K102", "aspect_id": mw.a2.id, "judge_id": mw.users["j3"].id, "value": "9.5"}
    assert mw.put("j1", "/marks/chief", body).status_code == 422  # no reason
    missing_reason = mw.put("j1", "/marks/chief", body | {"reason": " "})
    assert missing_reason.status_code == 422 and missing_reason.get_json()["error"]["code"] == "reason_required"
    resp = mw.put("j1", "/marks/chief", body | {"reason": "申诉复核：计时错误"})
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()
    assert (result["status"], result["revision"], result["value"], result["judge_id"]) == ("stored", 2, "9.5", mw.users["j3"].id)
    rows = mw.marks(judge_id=mw.users["j3"].id, entry_id=mw.entries[1].id, aspect_id=mw.a2.id)
    assert [(m.revision, m.value, m.is_current, m.reason) for m in rows] == [
        (1, Decimal(2), False, ""), (2, Decimal("9.5"), True, "申诉复核：计时错误")]
    assert rows[1].entered_by_id == mw.users["j1"].id and rows[1].confirmed_by_id == mw.users["j1"].id
    audit = mw.audit("mark_corrected")
    assert len(audit) == 1 and audit[0].details["old"] == "2" and audit[0].details["new"] == "9.5"
    assert audit[0].details["reason"] == "申诉复核：计时错误" and audit[0].details["code"] == "K102"
    same = mw.put("j1", "/marks/chief", body | {"reason": "再次确认"})
    assert same.get_json()["status"] == "unchanged"


def test_chief_change_rules(mw):
    body = {"code": "K102", "aspect_id": mw.a2.id, "judge_id": mw.users["j3"].id, "value": "9.5", "reason": "复核"}
    mw.fill()
    before_lock = mw.put("j1", "/marks/chief", body)
    assert before_lock.status_code == 409 and before_lock.get_json()["error"]["code"] == "not_locked"
    assert mw.post("j1", f"/modules/{mw.module1.id}/lock").status_code == 200
    assert mw.put("j2", "/marks/chief", body).status_code == 403
    assert mw.put("j5", "/marks/chief", body).status_code == 403
    assert mw.put("organizer", "/marks/chief", body).status_code == 403
    assert mw.put("j1", "/marks/chief", body | {"value": "9.25"}).status_code == 422
    assert mw.put("j1", "/marks/chief", body | {"value": "NaN"}).status_code == 422
    assert mw.put("j1", "/marks/chief", body | {"code": "K999"}).status_code == 404
    assert mw.put("j1", "/marks/chief", body | {"judge_id": mw.users["j5"].id}).status_code == 422
    conflicted = mw.put("j1", "/marks/chief", body | {"code": "K101", "judge_id": mw.users["j4"].id})
    assert conflicted.status_code == 422 and conflicted.get_json()["error"]["code"] == "judge_conflicted"
    assert len(mw.marks()) == 18


# --- judge statistics ---------------------------------------------------------------------------------------


def test_judge_statistics(mw):
    # On a1: j1 always 1 above the others (lenient); on a2 everyone agrees.
    values = {("j1", code, mw.a1.id): "3" for code in mw.codes}
    mw.fill(values)
    resp = mw.get("j1", f"/modules/{mw.module1.id}/judge-stats")
    assert resp.status_code == 200
    stats = {s["judge_id"]: s for s in resp.get_json()["judges"]}
    j1, j2, j4 = (stats[mw.users[j].id] for j in ("j1", "j2", "j4"))
    assert (j1["marks"], j1["compared"], j1["leniency"], j1["mean_abs_deviation"], j1["divergences"]) == (6, 6, "0.5", "0.5", 0)
    assert (j2["leniency"], j2["mean_abs_deviation"]) == ("0", "0")
    assert (j4["marks"], j4["leniency"]) == (0, None)
    relative = mw.get("j1", f"/modules/{mw.module1.id}/judge-stats?relative=true").get_json()
    r1 = next(s for s in relative["judges"] if s["judge_id"] == mw.users["j1"].id)
    assert r1["leniency"] == "0.1667"  # (1/3 × 3 + 0 × 3) / 6
    assert mw.get("j2", f"/modules/{mw.module1.id}/judge-stats").status_code == 403
    assert mw.get("organizer", f"/modules/{mw.module1.id}/judge-stats").status_code == 200


# --- double entry of paper score sheets ---------------------------------------------------------------------


def test_clerk_enters_a_paper_sheet_and_another_person_confirms(mw):
    batch = {"judge_id": mw.users["j2"].id, "marks": [item("K101", mw.a1.id, "2"), item("K101", mw.a2.id, "6.5")]}
    resp = mw.post("organizer", "/marks/paper", batch)
    assert resp.status_code == 200, resp.get_json()
    results = resp.get_json()["results"]
    assert [(r["status"], r["confirmed"], r["judge_id"]) for r in results] == [("stored", False, mw.users["j2"].id)] * 2
    rows = mw.marks(judge_id=mw.users["j2"].id)
    assert all(m.entered_by_id == mw.users["organizer"].id and m.confirmed_by_id is None for m in rows)
    assert len(mw.audit("mark_entered")) == 2

    cell = _cell(_completeness(mw), "K101", mw.a1.id)
    assert cell["marks"] == [] and cell["missing"] == 3
    assert [u["judge_id"] for u in cell["unconfirmed"]] == [mw.users["j2"].id]
    from competitions.services.marks import current_marks

    assert current_marks(mw.competition.id) == {}

    mark_id = results[0]["mark_id"]
    same = mw.post("organizer", f"/marks/{mark_id}/confirm")
    assert same.status_code == 409 and same.get_json()["error"]["code"] == "same_person"
    assert mw.post("j3", f"/marks/{mark_id}/confirm").status_code == 403  # another panel judge is no clerk
    ok = mw.post("j1", f"/marks/{mark_id}/confirm")  # the chief judge
    assert ok.status_code == 200 and ok.get_json()["confirmed_by_id"] == mw.users["j1"].id
    twice = mw.post("admin", f"/marks/{mark_id}/confirm")
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "already_confirmed"
    assert mw.post("j2", f"/marks/{results[1]['mark_id']}/confirm").status_code == 200  # the judge themself
    cell = _cell(_completeness(mw), "K101", mw.a1.id)
    assert [m["judge_id"] for m in cell["marks"]] == [mw.users["j2"].id] and cell["unconfirmed"] == []
    assert current_marks(mw.competition.id) == {mw.entries[0].id: {mw.a1.id: [Decimal(2)], mw.a2.id: [Decimal("6.5")]}}
    assert len(mw.audit("mark_confirmed")) == 2


def test_paper_entry_rules(mw):
    batch = {"judge_id": mw.users["j2"].id, "marks": [item("K101", mw.a1.id, "2")]}
    assert mw.post("j3", "/marks/paper", batch).status_code == 403  # a judge who is not the chief
    assert mw.post("j5", "/marks/paper", batch).status_code == 403  # chief of another module
    assert mw.post("hr", "/marks/paper", batch).status_code == 403
    not_panel = mw.post("organizer", "/marks/paper", batch | {"judge_id": mw.users["j5"].id})
    assert not_panel.status_code == 422
    assert not_panel.get_json()["error"]["details"]["items"][0]["code"] == "judge_not_on_panel"
    conflicted = mw.post("organizer", "/marks/paper", {"judge_id": mw.users["j4"].id, "marks": batch["marks"]})
    assert conflicted.status_code == 422
    assert mw.post("organizer", "/marks/paper", batch | {"marks": [item("K101", mw.a1.id, "7")]}).status_code == 422
    assert mw.marks() == []
    assert mw.post("j1", "/marks/paper", batch).status_code == 200  # the module's chief judge as clerk


def test_paper_entry_is_idempotent_and_unconfirmed_marks_block_the_lock(mw):
    mw.fill(judges=("j1", "j3"))
    marks = [item(code, a.id, "2") for code in mw.codes for a in (mw.a1, mw.a2)]
    for _ in range(2):
        resp = mw.post("organizer", "/marks/paper", {"judge_id": mw.users["j2"].id, "marks": marks})
        assert resp.status_code == 200
    assert {r["status"] for r in resp.get_json()["results"]} == {"duplicate"}
    assert len(mw.marks(judge_id=mw.users["j2"].id)) == 6
    refused = mw.post("j1", f"/modules/{mw.module1.id}/lock")
    assert refused.status_code == 409
    details = refused.get_json()["error"]["details"]
    assert len(details["unconfirmed"]) == 6 and len(details["missing"]) == 6
    for r in resp.get_json()["results"]:
        assert mw.post("j2", f"/marks/{r['mark_id']}/confirm").status_code == 200
    assert mw.post("j1", f"/modules/{mw.module1.id}/lock").status_code == 200


def test_confirm_rules(mw):
    resp = mw.post("organizer", "/marks/paper", {"judge_id": mw.users["j2"].id, "marks": [item("K101", mw.a1.id, "2")]})
    mark_id = resp.get_json()["results"][0]["mark_id"]
    assert mw.post("j1", "/marks/999999/confirm").status_code == 404
    mw.post("organizer", "/marks/paper", {"judge_id": mw.users["j2"].id, "marks": [item("K101", mw.a1.id, "3")]})
    superseded = mw.post("j1", f"/marks/{mark_id}/confirm")
    assert superseded.status_code == 409 and superseded.get_json()["error"]["code"] == "superseded"
    own = mw.mark("j2", "K102", mw.a1, "2").get_json()["results"][0]["mark_id"]
    assert mw.post("j1", f"/marks/{own}/confirm").get_json()["error"]["code"] == "already_confirmed"


@pytest.mark.parametrize("judge_value", ["2", "3"])
def test_a_judges_own_mark_over_an_unconfirmed_paper_mark_counts(mw, judge_value):
    mw.post("organizer", "/marks/paper", {"judge_id": mw.users["j2"].id, "marks": [item("K101", mw.a1.id, "2")]})
    resp = mw.mark("j2", "K101", mw.a1, judge_value)
    result = resp.get_json()["results"][0]
    assert (result["status"], result["revision"], result["confirmed"]) == ("stored", 2, True)
    assert key()  # keys stay unique across calls
