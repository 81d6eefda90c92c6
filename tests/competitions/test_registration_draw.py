"""The draw (抽签): random unique codes for approved entries only, not in registration order, second codes
per module, and the redraw rules."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import db
from competitions.models import Entry, Mark, ModuleCode
from competitions.services import registration as services
from tests.competitions import registration_judging_fixtures as fixtures

world = fixtures.world


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.fixture
def many(world, create_worker):
    """20 approved entries of A (in registration order), one rejected and one withdrawn; registration closed."""
    approved = [world.entry(create_worker(enterprise=world.ent_a)) for _ in range(20)]
    rejected = world.entry(world.workers_b[0], status="rejected")
    withdrawn = world.entry(world.workers_b[1], status="withdrawn")
    world.set_status("registration_closed")
    return approved, rejected, withdrawn


def _codes(entries) -> list[str | None]:
    db.session.expire_all()
    return [db.session.get(Entry, e.id).code for e in entries]


def test_draw_gives_unique_codes_to_approved_entries_only(world, many):
    approved, rejected, withdrawn = many
    resp = world.post("organizer", world.url("/draw"), {})
    assert resp.status_code == 200, resp.json
    assert resp.json == {"competition_id": world.competition.id, "drawn": 20, "module_codes": 0, "redraw": False}
    codes = _codes(approved)
    assert sorted(codes) == [f"{n:03d}" for n in range(1, 21)]
    assert _codes([rejected, withdrawn]) == [None, None]
    assert "competition_codes_drawn" in _actions()
    listed = world.get("organizer", world.url("/entries?status=approved&per_page=100")).json["items"]
    assert sorted(e["code"] for e in listed) == sorted(codes)


def test_codes_are_not_in_registration_order(world, many, app):
    approved = many[0]
    seen = set()
    for seed in range(5):
        services.draw(world.users["organizer"], world.competition.id, redraw=seed > 0, rng=random.Random(seed))
        codes = _codes(approved)  # by entry id = registration order
        assert codes != sorted(codes) and codes != sorted(codes, reverse=True)
        seen.add(tuple(codes))
    assert len(seen) == 5  # every seed, another assignment: the draw uses the generator it is given


def test_default_generator_is_the_system_one(world, many, monkeypatch):
    made = []
    real = services.secrets.SystemRandom

    def spy():
        made.append(real())
        return made[-1]

    monkeypatch.setattr(services.secrets, "SystemRandom", spy)
    assert world.post("organizer", world.url("/draw"), {}).status_code == 200
    assert len(made) == 1


def test_second_codes_per_module(world, many):
    approved = many[0]
    world.competition.uses_module_codes = True
    db.session.flush()
    result = services.draw(world.users["organizer"], world.competition.id, rng=random.Random(3))
    assert result.module_codes == 40
    rows = db.session.execute(select(ModuleCode.module_id, ModuleCode.entry_id, ModuleCode.code)).all()
    by_module = {}
    for module_id, entry_id, code in rows:
        by_module.setdefault(module_id, {})[entry_id] = code
    assert set(by_module) == {world.module1.id, world.module2.id}
    ids = [e.id for e in approved]
    m1 = [by_module[world.module1.id][i] for i in ids]
    m2 = [by_module[world.module2.id][i] for i in ids]
    assert sorted(m1) == [f"A{n:03d}" for n in range(1, 21)]
    assert sorted(m2) == [f"B{n:03d}" for n in range(1, 21)]
    entry_codes = _codes(approved)
    # independent permutations: a module code does not reveal the entry code or the other module's code
    assert [c[1:] for c in m1] != entry_codes and [c[1:] for c in m1] != [c[1:] for c in m2]
    listed = world.get("organizer", world.url(f"/entries/{ids[0]}")).json
    assert listed["module_codes"] == {str(world.module1.id): m1[0], str(world.module2.id): m2[0]}


def test_redraw_rules(world, many):
    approved = many[0]
    assert world.post("organizer", world.url("/draw"), {}).status_code == 200
    first = _codes(approved)
    again = world.post("organizer", world.url("/draw"), {})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_drawn"
    assert _codes(approved) == first
    redraw = world.post("admin", world.url("/draw"), {"redraw": True})
    assert redraw.status_code == 200 and redraw.json["redraw"] is True
    assert sorted(_codes(approved)) == sorted(first)
    assert "competition_codes_redrawn" in _actions()
    db.session.add(Mark(entry_id=approved[0].id, aspect_id=world.aspects[0].id, judge_id=world.users["judge_on"].id,
                        value=Decimal("2"), entered_by_id=world.users["judge_on"].id))
    db.session.flush()
    second = _codes(approved)
    refused = world.post("organizer", world.url("/draw"), {"redraw": True})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "marks_exist"
    assert _codes(approved) == second


@pytest.mark.parametrize("status", ["draft", "registration_open", "running", "scoring_closed", "published"])
def test_draw_only_after_registration_closed(world, many, status):
    world.set_status(status)
    resp = world.post("organizer", world.url("/draw"), {})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "wrong_phase"


def test_draw_needs_every_entry_decided_and_one_approved(world, many):
    pending = world.entry(world.workers_a[0], status="registered")
    resp = world.post("organizer", world.url("/draw"), {})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "undecided_entries"
    assert _codes([pending]) == [None]
    empty = fixtures.make_competition("空比赛", status="registration_closed")
    resp = world.post("organizer", world.url("/draw", competition=empty), {})
    assert resp.status_code == 409 and resp.json["error"]["code"] == "nothing_to_draw"


def test_wide_codes_for_large_fields():
    assert services.code_width(5) == 3 and services.code_width(999) == 3 and services.code_width(1000) == 4
    assert [services.module_prefix(i) for i in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]
