"""Registration through the JSON API: HR registers its own workers (all or nothing), quotas, withdraw,
the organizer's decisions, and HR of another enterprise never sees or touches A's workers or entries."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.db import db
from competitions.models import EnterpriseQuota, Entry
from tests.competitions import registration_judging_fixtures as fixtures

world = fixtures.world


def _count(world) -> int:
    return db.session.scalar(select(func.count()).select_from(Entry).where(Entry.competition_id == world.competition.id))


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_hr_registers_own_workers(world):
    ids = [w.id for w in world.workers_a[:2]]
    resp = world.post("hr_a", world.url("/entries"), {"worker_ids": ids})
    assert resp.status_code == 201, resp.json
    assert [e["worker"]["id"] for e in resp.json] == ids
    assert {e["status"] for e in resp.json} == {"registered"}
    assert {e["enterprise"]["id"] for e in resp.json} == {world.ent_a.id}
    assert all(e["code"] is None for e in resp.json)
    assert "competition_entries_registered" in _actions()
    entry = db.session.scalar(select(Entry).where(Entry.worker_id == ids[0]))
    assert entry.registered_by_id == world.users["hr_a"].id and entry.enterprise_id == world.ent_a.id


def test_other_enterprise_worker_is_404_without_data_and_nothing_is_written(world):
    target = world.workers_b[0]
    resp = world.post("hr_a", world.url("/entries"), {"worker_ids": [world.workers_a[0].id, target.id]})
    assert resp.status_code == 404
    body = resp.get_data(as_text=True)
    assert target.name not in body and world.ent_b.name not in body
    (item,) = resp.json["error"]["details"]["items"]
    assert (item["index"], item["worker_id"], item["code"]) == (1, target.id, "not_found")
    assert item["message"]  # translated (zh_CN by default); the code is what scripts rely on
    assert _count(world) == 0


def test_unknown_worker_id_reads_like_another_enterprises(world):
    a = world.post("hr_a", world.url("/entries"), {"worker_ids": [world.workers_b[0].id]})
    b = world.post("hr_a", world.url("/entries"), {"worker_ids": [10**9]})
    assert a.status_code == b.status_code == 404
    assert a.json["error"]["details"]["items"][0]["message"] == b.json["error"]["details"]["items"][0]["message"]


@pytest.mark.parametrize("status, code", [("registered", 409), ("approved", 409), ("rejected", 409), ("withdrawn", 409)])
def test_already_registered_is_409(world, status, code):
    world.entry(world.workers_a[0], status=status)
    resp = world.post("hr_a", world.url("/entries"), {"worker_ids": [world.workers_a[1].id, world.workers_a[0].id]})
    assert resp.status_code == code
    expected = {"registered": "already_registered", "approved": "already_registered"}.get(status, status)
    assert resp.json["error"]["details"]["items"][0]["code"] == expected
    assert _count(world) == 1


def test_inactive_and_duplicate_workers_are_refused_all_or_nothing(world):
    ok = world.workers_a[0].id
    resp = world.post("hr_a", world.url("/entries"), {"worker_ids": [ok, world.inactive_a.id, ok]})
    assert resp.status_code == 422
    codes = [(i["index"], i["code"]) for i in resp.json["error"]["details"]["items"]]
    assert codes == [(1, "inactive"), (2, "duplicate")]
    assert _count(world) == 0


@pytest.mark.parametrize("body", [{}, {"worker_ids": []}, {"worker_ids": ["x"]}, {"worker_ids": [1.5]}])
def test_bad_bodies_are_422(world, body):
    assert world.post("hr_a", world.url("/entries"), body).status_code == 422


@pytest.mark.parametrize("status", ["draft", "registration_closed", "running", "scoring_closed", "published"])
def test_registration_only_while_open(world, status):
    world.set_status(status)
    resp = world.post("hr_a", world.url("/entries"), {"worker_ids": [world.workers_a[0].id]})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "wrong_phase"
    assert _count(world) == 0


def test_unknown_competition_is_404(world):
    resp = world.post("hr_a", "/api/v1/competitions/999999/entries", {"worker_ids": [world.workers_a[0].id]})
    assert resp.status_code == 404


# --- quotas -------------------------------------------------------------------------------------------------


def test_quota_is_enforced_and_freed_by_withdrawal(world):
    resp = world.put("organizer", world.url("/quotas"), {"quotas": [{"enterprise_id": world.ent_a.id, "max_entries": 2}]})
    assert resp.status_code == 200, resp.json
    assert resp.json["quotas"] == [{"enterprise_id": world.ent_a.id, "enterprise_name": world.ent_a.name,
                                    "max_entries": 2, "used": 0}]
    a = [w.id for w in world.workers_a]
    over = world.post("hr_a", world.url("/entries"), {"worker_ids": a[:3]})
    assert over.status_code == 409 and over.json["error"]["code"] == "quota_exceeded"
    assert over.json["error"]["details"]["quotas"] == [
        {"enterprise_id": world.ent_a.id, "max_entries": 2, "used": 0, "requested": 3}]
    assert _count(world) == 0
    first = world.post("hr_a", world.url("/entries"), {"worker_ids": a[:2]})
    assert first.status_code == 201
    assert world.post("hr_a", world.url("/entries"), {"worker_ids": [a[2]]}).status_code == 409
    # a rejected or withdrawn entry no longer counts
    withdrawn = world.post("hr_a", world.url(f"/entries/{first.json[0]['id']}/withdraw"))
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    assert world.post("hr_a", world.url("/entries"), {"worker_ids": [a[2]]}).status_code == 201
    quotas = world.get("hr_a", world.url("/quotas")).json["quotas"]
    assert quotas == [{"enterprise_id": world.ent_a.id, "enterprise_name": world.ent_a.name, "max_entries": 2,
                       "used": 2}]


def test_quota_of_another_enterprise_does_not_limit(world):
    world.put("organizer", world.url("/quotas"), {"quotas": [{"enterprise_id": world.ent_b.id, "max_entries": 0}]})
    assert world.post("hr_a", world.url("/entries"), {"worker_ids": [world.workers_a[0].id]}).status_code == 201
    assert world.post("hr_b", world.url("/entries"), {"worker_ids": [world.workers_b[0].id]}).status_code == 409


def test_put_quotas_replaces_the_set(world):
    world.put("organizer", world.url("/quotas"), {"quotas": [{"enterprise_id": world.ent_a.id, "max_entries": 2},
                                                            {"enterprise_id": world.ent_b.id, "max_entries": 3}]})
    resp = world.put("organizer", world.url("/quotas"), {"quotas": [{"enterprise_id": world.ent_b.id, "max_entries": 5}]})
    assert [(q["enterprise_id"], q["max_entries"]) for q in resp.json["quotas"]] == [(world.ent_b.id, 5)]
    rows = db.session.execute(select(EnterpriseQuota.enterprise_id, EnterpriseQuota.max_entries).where(
        EnterpriseQuota.competition_id == world.competition.id)).all()
    assert rows == [(world.ent_b.id, 5)]
    assert "competition_quotas_set" in _actions()


def test_put_quotas_validates_every_item(world):
    resp = world.put("organizer", world.url("/quotas"), {"quotas": [
        {"enterprise_id": world.ent_a.id, "max_entries": 1}, {"enterprise_id": 10**9, "max_entries": 1},
        {"enterprise_id": world.ent_a.id, "max_entries": 2}]})
    assert resp.status_code == 422
    assert set(resp.json["error"]["details"]["quotas"]) == {"1", "2"}
    assert world.put("organizer", world.url("/quotas"), {"quotas": [
        {"enterprise_id": world.ent_a.id, "max_entries": -1}]}).status_code == 422


def test_hr_sees_only_its_own_quota(world):
    world.put("organizer", world.url("/quotas"), {"quotas": [{"enterprise_id": world.ent_a.id, "max_entries": 2},
                                                            {"enterprise_id": world.ent_b.id, "max_entries": 3}]})
    body = world.get("hr_b", world.url("/quotas")).json
    assert body["quotas"] == [{"enterprise_id": world.ent_b.id, "enterprise_name": world.ent_b.name, "max_entries": 3,
                               "used": 0}]
    assert len(world.get("organizer", world.url("/quotas")).json["quotas"]) == 2


# --- seeing and withdrawing -------------------------------------------------------------------------------


def test_hr_lists_only_own_entries_and_organizer_sees_names(world):
    ea = world.entry(world.workers_a[0], status="registered")
    world.entry(world.workers_b[0], status="registered")
    mine = world.get("hr_a", world.url("/entries")).json
    assert [e["id"] for e in mine["items"]] == [ea.id] and mine["total"] == 1
    assert world.workers_b[0].name not in world.get("hr_a", world.url("/entries")).get_data(as_text=True)
    everything = world.get("organizer", world.url("/entries")).json
    assert {e["worker"]["name"] for e in everything["items"]} == {world.workers_a[0].name, world.workers_b[0].name}
    assert {e["enterprise"]["name"] for e in everything["items"]} == {world.ent_a.name, world.ent_b.name}
    # a filter on another enterprise is not a way round the scope
    assert world.get("hr_a", world.url(f"/entries?enterprise_id={world.ent_b.id}")).status_code == 404
    only_b = world.get("organizer", world.url(f"/entries?enterprise_id={world.ent_b.id}")).json
    assert [e["enterprise"]["id"] for e in only_b["items"]] == [world.ent_b.id]


def test_hr_of_another_enterprise_gets_404_for_an_entry(world):
    ea = world.entry(world.workers_a[0], status="registered")
    for method, suffix in (("GET", ""), ("POST", "/withdraw")):
        resp = world.call("hr_b", method, world.url(f"/entries/{ea.id}{suffix}"))
        assert resp.status_code == 404, (method, suffix)
        assert world.workers_a[0].name not in resp.get_data(as_text=True)
    assert db.session.get(Entry, ea.id).status == "registered"


def test_entry_of_another_competition_is_404(world):
    other = fixtures.make_competition("另一个比赛")
    ea = world.entry(world.workers_a[0], status="registered", competition=other)
    assert world.get("organizer", world.url(f"/entries/{ea.id}")).status_code == 404


@pytest.mark.parametrize("competition_status, entry_status, expected", [
    ("registration_open", "registered", 200),
    ("registration_open", "approved", 200),
    ("registration_closed", "approved", 200),
    ("registration_open", "rejected", 409),
    ("registration_open", "withdrawn", 409),
    ("running", "approved", 409),
    ("scoring_closed", "approved", 409),
])
def test_withdraw_rules(world, competition_status, entry_status, expected):
    ea = world.entry(world.workers_a[0], status=entry_status)
    world.set_status(competition_status)
    resp = world.post("hr_a", world.url(f"/entries/{ea.id}/withdraw"))
    assert resp.status_code == expected, resp.json
    db.session.expire_all()
    assert db.session.get(Entry, ea.id).status == ("withdrawn" if expected == 200 else entry_status)


def test_hr_does_not_see_codes_until_decoded(world):
    ea = world.entry(world.workers_a[0], code="042")
    assert world.get("hr_a", world.url(f"/entries/{ea.id}")).json["code"] is None
    assert world.get("organizer", world.url(f"/entries/{ea.id}")).json["code"] == "042"
    world.competition.is_decoded = True
    db.session.flush()
    assert world.get("hr_a", world.url(f"/entries/{ea.id}")).json["code"] == "042"


# --- decisions ------------------------------------------------------------------------------------------------


def test_organizer_approves_and_rejects(world):
    e1, e2, e3 = (world.entry(w, status="registered") for w in world.workers_a[:3])
    resp = world.post("organizer", world.url("/entries/decisions"), {"entry_ids": [e1.id, e2.id], "decision": "approve"})
    assert resp.status_code == 200 and [e["status"] for e in resp.json] == ["approved", "approved"]
    resp = world.post("admin", world.url(f"/entries/{e3.id}/decision"), {"decision": "reject", "reason": "资格不符"})
    assert resp.status_code == 200 and resp.json["status"] == "rejected"
    entry = db.session.get(Entry, e3.id)
    assert entry.decided_by_id == world.users["admin"].id and entry.decided_at is not None
    assert {"competition_entries_approved", "competition_entries_rejected"} <= set(_actions())


def test_decisions_follow_the_state_table_all_or_nothing(world):
    e1 = world.entry(world.workers_a[0], status="registered")
    e2 = world.entry(world.workers_a[1], status="withdrawn")
    resp = world.post("organizer", world.url("/entries/decisions"), {"entry_ids": [e1.id, e2.id], "decision": "approve"})
    assert resp.status_code == 409 and resp.json["error"]["details"]["entry_ids"] == [e2.id]
    db.session.expire_all()
    assert db.session.get(Entry, e1.id).status == "registered"
    assert world.post("organizer", world.url("/entries/decisions"),
                      {"entry_ids": [e1.id, 10**9], "decision": "approve"}).status_code == 404
    assert world.post("organizer", world.url("/entries/decisions"),
                      {"entry_ids": [e1.id], "decision": "maybe"}).status_code == 422


@pytest.mark.parametrize("status, expected", [("draft", 409), ("registration_open", 200),
                                              ("registration_closed", 200), ("running", 409)])
def test_decisions_only_around_registration(world, status, expected):
    e1 = world.entry(world.workers_a[0], status="registered")
    world.set_status(status)
    assert world.post("organizer", world.url(f"/entries/{e1.id}/decision"),
                      {"decision": "approve"}).status_code == expected


# --- every role × every endpoint ---------------------------------------------------------------------------

ROLE_CASES = {
    # role: (list, register own A worker, read A's entry, withdraw A's entry, decide, quotas get, quotas put, draw)
    "organizer": (200, 403, 200, 200, 200, 200, 200, 409),
    "admin": (200, 403, 200, 200, 200, 200, 200, 409),
    "hr_a": (200, 201, 200, 200, 403, 200, 403, 403),
    "hr_b": (200, 404, 404, 404, 403, 200, 403, 403),
    "judge_on": (403, 403, 403, 403, 403, 403, 403, 403),
    "judge_off": (403, 403, 403, 403, 403, 403, 403, 403),
    "worker": (403, 403, 403, 403, 403, 403, 403, 403),
    "anonymous": (401, 401, 401, 401, 401, 401, 401, 401),
}


@pytest.mark.parametrize("role", list(ROLE_CASES))
def test_every_role_on_every_registration_endpoint(world, role):
    expected = ROLE_CASES[role]
    entry = world.entry(world.workers_a[0], status="registered")
    other = world.entry(world.workers_a[2], status="registered")
    got = (
        world.get(role, world.url("/entries")).status_code,
        world.post(role, world.url("/entries"), {"worker_ids": [world.workers_a[1].id]}).status_code,
        world.get(role, world.url(f"/entries/{entry.id}")).status_code,
        world.post(role, world.url(f"/entries/{entry.id}/withdraw")).status_code,
        world.post(role, world.url("/entries/decisions"), {"entry_ids": [other.id], "decision": "reject"}).status_code,
        world.get(role, world.url("/quotas")).status_code,
        world.put(role, world.url("/quotas"), {"quotas": []}).status_code,
        world.post(role, world.url("/draw"), {}).status_code,  # registration is still open: 409 for organizers
    )
    assert got == expected
    if role in ("hr_b", "judge_on", "judge_off", "worker", "anonymous"):
        assert db.session.get(Entry, entry.id).status == "registered"


def test_file_endpoint_roles(world):
    for role, expected in (("organizer", 403), ("judge_on", 403), ("worker", 403), ("anonymous", 401)):
        data = {"file": (io.BytesIO("证件号码\n".encode()), "a.csv")}
        resp = world.call(role, "POST", world.url("/entries/file?dry_run=1"), data=data,
                          content_type="multipart/form-data")
        assert resp.status_code == expected, role
