"""Judging assignment through the JSON API: the judge pool, panels, declared conflicts, a judge's
assignments — and a judge never receives names, enterprises, worker ids or entry ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db
from competitions.models import DeclaredConflict, JudgeProfile, ModuleCode, Panel
from tests.competitions import registration_judging_fixtures as fixtures

world = fixtures.world

LEAKY_KEYS = {"entry_id", "entry_ids", "worker", "worker_id", "worker_ids", "enterprise", "enterprise_id",
              "enterprise_name", "id_last4", "judge_id", "registered_at"}


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def coded(world):
    """Registration closed, codes drawn: entries of A (2), B (1), C (1); the panel judge belongs to A."""
    entries = [world.entry(w, code=c) for w, c in zip(world.workers_a[:2] + world.workers_b[:1] + world.workers_c,
                                                      ("017", "003", "011", "005"), strict=True)]
    db.session.add(JudgeProfile(user_id=world.users["judge_on"].id, enterprise_id=world.ent_a.id))
    world.set_status("running")
    return entries


# --- the judge pool ---------------------------------------------------------------------------------------


def test_judge_pool_and_profile(world):
    judge = world.users["judge_on"]
    listed = world.get("organizer", "/api/v1/judges").json
    assert {j["id"] for j in listed} == {judge.id, world.users["judge_off"].id}
    resp = world.put("organizer", f"/api/v1/judges/{judge.id}/profile", {"enterprise_id": world.ent_b.id})
    assert resp.status_code == 200 and resp.json["enterprise"] == {"id": world.ent_b.id, "name": world.ent_b.name}
    assert db.session.get(JudgeProfile, judge.id).enterprise_id == world.ent_b.id
    resp = world.put("admin", f"/api/v1/judges/{judge.id}/profile", {"enterprise_id": None})
    assert resp.status_code == 200 and resp.json["enterprise"] is None
    assert world.put("organizer", f"/api/v1/judges/{judge.id}/profile", {"enterprise_id": 10**9}).status_code == 422
    assert world.put("organizer", f"/api/v1/judges/{world.users['hr_a'].id}/profile",
                     {"enterprise_id": None}).status_code == 404  # not a judge
    assert "judge_profile_set" in _actions()


# --- panels ------------------------------------------------------------------------------------------------


def test_set_panel_with_chief(world, create_user):
    j1, j2, j3 = (create_user(Role.JUDGE) for _ in range(3))
    url = world.url(f"/modules/{world.module1.id}/panel")
    resp = world.put("organizer", url, {"judge_ids": [j1.id, j2.id, j3.id], "chief_judge_id": j2.id})
    assert resp.status_code == 200, resp.json
    assert [j["id"] for j in resp.json["judges"]] == [j1.id, j2.id, j3.id] and resp.json["chief_judge_id"] == j2.id
    panel = db.session.scalar(select(Panel).where(Panel.module_id == world.module1.id))
    assert {m.judge_id for m in panel.members} == {j1.id, j2.id, j3.id}
    # replacing keeps nobody who is not listed
    resp = world.put("organizer", url, {"judge_ids": [j3.id], "chief_judge_id": None})
    assert [j["id"] for j in resp.json["judges"]] == [j3.id] and resp.json["chief_judge_id"] is None
    assert world.get("organizer", url).json["judges"] == resp.json["judges"]
    panels = world.get("organizer", world.url("/panels")).json["panels"]
    assert [p["module_id"] for p in panels] == [world.module1.id, world.module2.id]
    assert "competition_panel_set" in _actions()


def test_panel_validation(world, create_user):
    j1 = create_user(Role.JUDGE)
    disabled = create_user(Role.JUDGE)
    disabled.is_enabled = False
    url = world.url(f"/modules/{world.module1.id}/panel")
    chief_outside = world.put("organizer", url, {"judge_ids": [j1.id], "chief_judge_id": world.users["judge_on"].id})
    assert chief_outside.status_code == 422 and "chief_judge_id" in chief_outside.json["error"]["details"]
    bad = world.put("organizer", url, {"judge_ids": [j1.id, world.users["hr_a"].id, j1.id, disabled.id]})
    assert bad.status_code == 422 and set(bad.json["error"]["details"]["judge_ids"]) == {"1", "2", "3"}
    other = fixtures.make_competition("别的比赛")
    assert world.put("organizer", world.url(f"/modules/{world.module1.id}/panel", competition=other),
                     {"judge_ids": [j1.id]}).status_code == 404
    # unchanged
    panel = db.session.scalar(select(Panel).where(Panel.module_id == world.module1.id))
    assert [m.judge_id for m in panel.members] == [world.users["judge_on"].id]


@pytest.mark.parametrize("status, locked, expected", [("running", False, 200), ("running", True, 409),
                                                      ("scoring_closed", False, 409), ("published", False, 409)])
def test_panel_frozen_after_lock_or_close(world, status, locked, expected):
    from app.db import utcnow

    world.set_status(status)
    if locked:
        world.module1.locked_at = utcnow()
        db.session.flush()
    resp = world.put("organizer", world.url(f"/modules/{world.module1.id}/panel"),
                     {"judge_ids": [world.users["judge_off"].id]})
    assert resp.status_code == expected


# --- declared conflicts ------------------------------------------------------------------------------------


def test_organizer_declares_and_lifts_a_conflict(world, coded):
    judge = world.users["judge_off"]
    resp = world.post("organizer", world.url("/conflicts"), {"judge_id": judge.id, "entry_id": coded[2].id,
                                                             "reason": "师徒关系"})
    assert resp.status_code == 201, resp.json
    assert resp.json["judge_id"] == judge.id and resp.json["entry_id"] == coded[2].id and resp.json["code"] == "011"
    dup = world.post("organizer", world.url("/conflicts"), {"judge_id": judge.id, "entry_id": coded[2].id})
    assert dup.status_code == 409
    assert len(world.get("organizer", world.url("/conflicts")).json["conflicts"]) == 1
    assert world.call("judge_off", "DELETE",
                      world.url(f"/conflicts?judge_id={judge.id}&entry_id={coded[2].id}")).status_code == 403
    gone = world.call("organizer", "DELETE", world.url(f"/conflicts?judge_id={judge.id}&entry_id={coded[2].id}"))
    assert gone.status_code == 204
    assert db.session.scalar(select(DeclaredConflict)) is None
    assert world.call("organizer", "DELETE",
                      world.url(f"/conflicts?judge_id={judge.id}&entry_id={coded[2].id}")).status_code == 404
    assert {"competition_conflict_declared", "competition_conflict_removed"} <= set(_actions())


def test_judge_declares_own_conflict_by_code_only(world, coded):
    me = world.users["judge_on"]
    resp = world.post("judge_on", world.url("/conflicts"), {"code": "011", "reason": "认识"})
    assert resp.status_code == 201, resp.json
    assert fixtures.forbidden_keys(fixtures.raw_json(resp), LEAKY_KEYS) == []
    assert resp.json["code"] == "011"
    conflict = db.session.scalar(select(DeclaredConflict))
    assert (conflict.judge_id, conflict.entry_id) == (me.id, coded[2].id)
    mine = world.get("judge_on", world.url("/conflicts")).json["conflicts"]
    assert [c["code"] for c in mine] == ["011"]
    assert fixtures.forbidden_keys(mine, LEAKY_KEYS) == []
    assert world.get("judge_off", world.url("/conflicts")).json["conflicts"] == []
    # for another judge, by entry id, unknown code
    assert world.post("judge_on", world.url("/conflicts"), {"judge_id": world.users["judge_off"].id,
                                                            "code": "003"}).status_code == 403
    assert world.post("judge_on", world.url("/conflicts"), {"entry_id": coded[1].id}).status_code == 422
    assert world.post("judge_on", world.url("/conflicts"), {"code": "999"}).status_code == 404
    assert world.post("judge_on", world.url("/conflicts"), {}).status_code == 422
    # and it takes effect
    codes = world.get("judge_on", "/api/v1/judging/assignments").json["assignments"][0]["codes"]
    assert "011" not in codes


def test_only_a_panel_member_declares_and_every_code_it_is_not_shown_looks_unknown(world, coded, create_user):
    """A judge on no panel of the competition cannot declare there, nor probe which codes exist (201 vs 404): an
    existing code, an unknown one, and — for a panel member — the code of an entrant already conflicted for them (so
    not shown to them) or of a module they do not judge all get the same 404, and nothing is written."""
    outsider = create_user(Role.JUDGE)
    from app.accounts.services import create_token

    world.tokens["outsider"] = create_token(outsider, "test").secret
    db.session.commit()
    answers = [world.post("outsider", world.url("/conflicts"), {"code": code}) for code in ("011", "005", "999")]
    answers.append(world.post("judge_on", world.url("/conflicts"), {"code": "017"}))  # A's entrant: own enterprise
    answers.append(world.post("judge_on", world.url("/conflicts"), {"code": "011", "module_id": world.module2.id}))
    assert {(r.status_code, r.json["error"]["code"], r.json["error"]["message"]) for r in answers} == {
        (404, "not_found", answers[2].json["error"]["message"])}
    assert db.session.scalars(select(DeclaredConflict)).all() == []
    assert world.post("judge_on", world.url("/conflicts"), {"code": "011"}).status_code == 201


def test_judge_declares_by_module_code_and_sees_only_module_codes(world, coded):
    world.competition.uses_module_codes = True
    for i, e in enumerate(coded):
        db.session.add(ModuleCode(entry_id=e.id, module_id=world.module1.id, code=f"A{i + 1:03d}"))
        db.session.add(ModuleCode(entry_id=e.id, module_id=world.module2.id, code=f"B{4 - i:03d}"))
    db.session.flush()
    resp = world.post("judge_on", world.url("/conflicts"), {"code": "A003", "module_id": world.module1.id})
    assert resp.status_code == 201, resp.json
    # the judge must not learn the entry code or another module's code of that entrant
    assert resp.json["code"] is None and resp.json["module_codes"] == {str(world.module1.id): "A003"}
    organizer_view = world.get("organizer", world.url("/conflicts")).json["conflicts"][0]
    assert organizer_view["code"] == "011" and len(organizer_view["module_codes"]) == 2


def test_conflicts_closed_after_scoring(world, coded):
    world.set_status("scoring_closed")
    resp = world.post("organizer", world.url("/conflicts"), {"judge_id": world.users["judge_off"].id,
                                                             "entry_id": coded[0].id})
    assert resp.status_code == 409


# --- what a judge sees ------------------------------------------------------------------------------------


def test_assignments_show_codes_and_scheme_only(world, coded):
    resp = world.get("judge_on", "/api/v1/judging/assignments")
    assert resp.status_code == 200
    data = fixtures.raw_json(resp)
    [a] = data["assignments"]
    assert a["module_id"] == world.module1.id and a["is_chief"] is True and a["locked"] is False
    assert a["codes"] == ["005", "011"]  # A's entries are the judge's own enterprise
    aspect = a["criteria"][0]["aspects"][0]
    assert aspect["scale_step"] == "0.5" and aspect["scale_max"] == "3" and aspect["max_mark"] == "10"
    assert aspect["level_words"] == ["不合格", "合格", "良好", "优秀"]
    raw = resp.get_data(as_text=True)
    for secret in world.secrets():
        assert secret not in raw
    assert fixtures.forbidden_keys(data, LEAKY_KEYS) == []


def test_a_judge_of_another_module_sees_nothing_of_this_one(world, coded):
    data = world.get("judge_off", "/api/v1/judging/assignments").json
    assert [a["module_id"] for a in data["assignments"]] == [world.module2.id]
    assert "模块一" not in str(data)
    assert data["assignments"][0]["is_chief"] is False
    assert data["assignments"][0]["codes"] == ["003", "005", "011", "017"]  # judge_off has no enterprise


def test_a_judge_on_no_panel_sees_nothing(world, coded, create_user, app):
    from app.accounts.services import create_token

    lonely = create_user(Role.JUDGE)
    world.tokens["lonely"] = create_token(lonely, "t").secret
    assert world.get("lonely", "/api/v1/judging/assignments").json == {"assignments": []}


def test_draft_competitions_are_not_shown(world, coded):
    world.set_status("draft")
    assert world.get("judge_on", "/api/v1/judging/assignments").json == {"assignments": []}


# --- every role × every endpoint ---------------------------------------------------------------------------

JUDGING_CASES = {
    # judges, profile, panels, panel get, panel put, conflicts get, conflict post (own, by code), delete, assignments
    "organizer": (200, 200, 200, 200, 200, 200, 201, 204, 403),
    "admin": (200, 200, 200, 200, 200, 200, 201, 204, 403),
    "hr_a": (403, 403, 403, 403, 403, 403, 403, 403, 403),
    "hr_b": (403, 403, 403, 403, 403, 403, 403, 403, 403),
    "judge_on": (403, 403, 403, 403, 403, 200, 201, 403, 200),
    "judge_off": (403, 403, 403, 403, 403, 200, 201, 403, 200),
    "worker": (403, 403, 403, 403, 403, 403, 403, 403, 403),
    "anonymous": (401, 401, 401, 401, 401, 401, 401, 401, 401),
}


@pytest.mark.parametrize("role", list(JUDGING_CASES))
def test_every_role_on_every_judging_endpoint(world, coded, role):
    judge = world.users["judge_off"]
    is_org = role in ("organizer", "admin")
    db.session.add(DeclaredConflict(competition_id=world.competition.id, entry_id=coded[0].id, judge_id=judge.id))
    db.session.flush()
    body = {"judge_id": judge.id, "entry_id": coded[3].id} if is_org else {"code": "005"}
    got = (
        world.get(role, "/api/v1/judges").status_code,
        world.put(role, f"/api/v1/judges/{judge.id}/profile", {"enterprise_id": None}).status_code,
        world.get(role, world.url("/panels")).status_code,
        world.get(role, world.url(f"/modules/{world.module2.id}/panel")).status_code,
        world.put(role, world.url(f"/modules/{world.module2.id}/panel"), {"judge_ids": [judge.id]}).status_code,
        world.get(role, world.url("/conflicts")).status_code,
        world.post(role, world.url("/conflicts"), body).status_code,
        world.call(role, "DELETE", world.url(f"/conflicts?judge_id={judge.id}&entry_id={coded[0].id}")).status_code,
        world.get(role, "/api/v1/judging/assignments").status_code,
    )
    assert got == JUDGING_CASES[role]


@pytest.mark.parametrize("role", ["judge_on", "judge_off"])
def test_judges_never_receive_names_or_ids_from_any_endpoint_they_may_use(world, coded, role):
    world.competition.uses_module_codes = False
    responses = [
        world.get(role, "/api/v1/judging/assignments"),
        world.post(role, world.url("/conflicts"), {"code": "005"}),
        world.get(role, world.url("/conflicts")),
        # and the ones they may not use do not leak in their refusals
        world.get(role, world.url("/entries")),
        world.get(role, world.url(f"/entries/{coded[0].id}")),
        world.get(role, "/api/v1/judges"),
        world.get(role, world.url("/panels")),
        world.get(role, world.url("/quotas")),
    ]
    for resp in responses:
        raw = resp.get_data(as_text=True)
        for secret in world.secrets():
            assert secret not in raw, (resp.request.path, secret)
        assert fixtures.forbidden_keys(fixtures.raw_json(resp), LEAKY_KEYS) == [], resp.request.path
