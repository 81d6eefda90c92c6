"""Conflicts of interest (回避): own enterprise always, declared, same industry chain only when enabled;
the bulk ``assignable_entries`` agrees with ``conflicted``; codes resolve to entries for the marks area."""

from __future__ import annotations

import pytest

from app.accounts.models import Role, UserRole
from app.db import db
from app.errors import NotFound
from competitions.models import DeclaredConflict, JudgeProfile, ModuleCode
from competitions.services import judging
from tests.competitions import registration_judging_fixtures as fixtures

world = fixtures.world


@pytest.fixture
def field(world):
    """Approved, coded entries: two of A, one of B, one of C (C is in A's industry chain)."""
    a1, a2 = (world.entry(w, code=c) for w, c in zip(world.workers_a[:2], ("017", "003"), strict=True))
    b1 = world.entry(world.workers_b[0], code="011")
    c1 = world.entry(world.workers_c[0], code="005")
    return {"a1": a1, "a2": a2, "b1": b1, "c1": c1}


def _profile(user, enterprise) -> None:
    db.session.merge(JudgeProfile(user_id=user.id, enterprise_id=enterprise.id if enterprise else None))
    db.session.flush()


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({}, None),
        ({"judge_worker": True}, "own_entry"),
        ({"judge_enterprise": "a"}, "own_enterprise"),
        ({"declared": True}, "declared"),
        ({"judge_enterprise": "c", "same_chain_rule": True}, "same_chain"),
        ({"judge_enterprise": "c", "same_chain_rule": False}, None),
        ({"judge_enterprise": "b", "same_chain_rule": True}, None),
        ({"judge_enterprise": "a", "declared": True}, "own_enterprise"),
        ({"judge_enterprise": "c", "declared": True, "same_chain_rule": True}, "declared"),
        ({"judge_worker": True, "judge_enterprise": "a", "declared": True}, "own_entry"),
    ],
)
def test_conflict_reason_table(world, field, create_user, kw, expected):
    """The entrant is A's worker (A and C share an industry chain, B is outside); the first rule that holds, in the
    order of severity, is the reason — the same for one entry and in the bulk list."""
    entry = field["a1"]
    judge = create_user(Role.JUDGE)
    if kw.get("judge_worker"):  # the entrant's own account, made a judge
        judge = next(u for u in world.users.values() if u.worker_id == entry.worker_id)
        judge.roles.append(UserRole(role=Role.JUDGE))
    if kw.get("judge_enterprise"):
        _profile(judge, getattr(world, f"ent_{kw['judge_enterprise']}"))
    if kw.get("declared"):
        db.session.add(DeclaredConflict(competition_id=world.competition.id, entry_id=entry.id, judge_id=judge.id))
    world.competition.conflict_same_chain = kw.get("same_chain_rule", False)
    db.session.flush()
    assert judging.conflicted(judge.id, entry) == expected
    module3, _aspects = fixtures.make_module(world.competition, 3, "模块三")
    fixtures.set_panel(module3, [judge])
    assert (entry.id in {e.id for e in judging.assignable_entries(judge.id, module3.id)}) == (expected is None)


def test_own_enterprise_is_always_a_conflict(world, field):
    judge = world.users["judge_on"]
    _profile(judge, world.ent_a)
    assert judging.conflicted(judge.id, field["a1"]) == "own_enterprise"
    assert judging.conflicted(judge.id, field["b1"]) is None
    assert judging.conflicted(judge.id, field["c1"]) is None  # same chain, but the rule is off
    assert [e.code for e in judging.assignable_entries(judge.id, world.module1.id)] == ["005", "011"]


def test_same_chain_only_when_enabled(world, field):
    judge = world.users["judge_on"]
    _profile(judge, world.ent_a)
    world.competition.conflict_same_chain = True
    db.session.flush()
    assert judging.conflicted(judge.id, field["c1"]) == "same_chain"
    assert judging.conflicted(judge.id, field["b1"]) is None
    assert [e.code for e in judging.assignable_entries(judge.id, world.module1.id)] == ["011"]


def test_declared_conflict(world, field):
    judge = world.users["judge_on"]
    db.session.add(DeclaredConflict(competition_id=world.competition.id, entry_id=field["b1"].id, judge_id=judge.id,
                                    reason="亲属"))
    db.session.flush()
    assert judging.conflicted(judge.id, field["b1"]) == "declared"
    assert judging.conflicted(world.users["judge_off"].id, field["b1"]) is None
    assert "011" not in [e.code for e in judging.assignable_entries(judge.id, world.module1.id)]


def test_enterprise_from_linked_worker_or_hr_role(world, field, create_user):
    linked = create_user(Role.JUDGE, worker=world.workers_b[1])
    hr_judge = create_user(Role.JUDGE, Role.HR, enterprise=world.ent_c)
    assert judging.conflicted(linked.id, field["b1"]) == "own_enterprise"
    assert judging.conflicted(hr_judge.id, field["c1"]) == "own_enterprise"
    own = world.entry(world.workers_b[1], code="020")
    assert judging.conflicted(linked.id, own) == "own_entry"


def test_no_profile_no_enterprise_conflict(world, field):
    judge = world.users["judge_on"]
    assert all(judging.conflicted(judge.id, e) is None for e in field.values())
    assert [e.code for e in judging.assignable_entries(judge.id, world.module1.id)] == ["003", "005", "011", "017"]


def test_assignable_only_on_own_panel_and_only_approved_coded(world, field):
    judge = world.users["judge_on"]
    world.entry(world.workers_a[2], status="withdrawn", code="009")
    world.entry(world.workers_a[3], status="approved")  # no code yet
    assert judging.assignable_entries(judge.id, world.module2.id) == []
    assert judging.judge_codes(judge.id, world.module2.id) == []
    assert judging.judge_codes(judge.id, world.module1.id) == ["003", "005", "011", "017"]


def test_bulk_and_single_checks_agree(world, field, create_user):
    world.competition.conflict_same_chain = True
    judges = [world.users["judge_on"]]
    for ent in (world.ent_a, world.ent_b, world.ent_c, None):
        j = create_user(Role.JUDGE)
        _profile(j, ent)
        judges.append(j)
    db.session.add(DeclaredConflict(competition_id=world.competition.id, entry_id=field["a2"].id, judge_id=judges[2].id))
    module3, _aspects = fixtures.make_module(world.competition, 3, "模块三")
    fixtures.set_panel(module3, judges[1:])
    for j in judges[1:]:
        bulk = {e.id for e in judging.assignable_entries(j.id, module3.id)}
        single = {e.id for e in field.values() if judging.conflicted(j.id, e) is None}
        assert bulk == single, j.id


def test_entry_for_code_and_assigned_entry(world, field):
    judge = world.users["judge_on"]
    _profile(judge, world.ent_a)
    cid, m1 = world.competition.id, world.module1.id
    assert judging.entry_for_code(cid, m1, "011").id == field["b1"].id
    assert judging.entry_for_code(cid, m1, "999") is None
    assert judging.entry_for_code(cid, world.module2.id, "011").id == field["b1"].id
    assert judging.entry_for_code(cid + 1000, m1, "011") is None
    assert judging.assigned_entry(judge.id, m1, "011").id == field["b1"].id
    for judge_id, module_id, code in ((judge.id, m1, "017"),  # own enterprise
                                      (judge.id, m1, "999"),  # unknown
                                      (judge.id, world.module2.id, "011"),  # not on that panel
                                      (world.users["judge_off"].id, m1, "011")):
        with pytest.raises(NotFound) as exc:
            judging.assigned_entry(judge_id, module_id, code)
        assert exc.value.code == "not_assigned"


def test_module_codes_replace_entry_codes(world, field):
    world.competition.uses_module_codes = True
    for i, e in enumerate(field.values()):
        db.session.add(ModuleCode(entry_id=e.id, module_id=world.module1.id, code=f"A{i + 1:03d}"))
    db.session.flush()
    cid, m1 = world.competition.id, world.module1.id
    assert judging.entry_for_code(cid, m1, "011") is None  # the entry code is not what judges see here
    assert judging.entry_for_code(cid, m1, "A003").id == field["b1"].id
    assert judging.judge_codes(world.users["judge_on"].id, m1) == ["A001", "A002", "A003", "A004"]
    assert judging.codes_for_module(m1)[field["b1"].id] == "A003"
