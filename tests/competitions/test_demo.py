"""``flask demo`` also creates a published and a running competition, through the services (audited)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.db import db
from competitions.demo import ELECTRICIAN, WELDING
from competitions.models import Competition, Entry, Mark, Module, ResultVersion
from tests.competitions.results_fixtures import forbidden_keys


def _demo(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result


def _competition(name: str) -> Competition:
    return db.session.scalars(select(Competition).where(Competition.name == name)).one()


def _counts() -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Competition, Entry, Mark, ResultVersion, AuditEntry)}


def test_demo_publishes_one_competition_with_awards(app):
    _demo(app)
    welding = _competition(WELDING)
    assert welding.status == "published" and welding.is_decoded
    modules = list(db.session.scalars(select(Module).where(Module.competition_id == welding.id)))
    assert len(modules) == 2 and all(m.locked_at is not None for m in modules)
    versions = list(db.session.scalars(select(ResultVersion).where(ResultVersion.competition_id == welding.id)))
    assert [v.version for v in versions] == [1]
    from competitions.services.results import published_results

    public = published_results(welding.id)["entries"]
    assert len(public) == 6
    enterprises = {e.enterprise_id for e in db.session.scalars(select(Entry).where(Entry.competition_id == welding.id))}
    assert len(enterprises) >= 2
    awards = [a["code"] for row in public for a in row["awards"]]
    assert awards.count("first_prize") == 1 and "second_prize" in awards and "third_prize" in awards
    assert all(row["total"] is not None and row["rank"] is not None for row in public)


def test_demo_runs_one_competition_with_a_live_board(app, client):
    from competitions.services import board

    board.reset_cache()
    _demo(app)
    running = _competition(ELECTRICIAN)
    assert running.status == "running" and not running.is_decoded
    resp = client.get(f"/api/v1/competitions/{running.id}/board")
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["phase"] == "live"
    entries = data["entries"]
    assert len(entries) == 5
    assert all(e["code"] and e["total"] is not None for e in entries)
    assert {e["complete"] for e in entries} == {True, False}, "marks are partly entered"
    assert forbidden_keys(entries, {"name", "worker_id", "entry_id", "enterprise_id", "enterprise_name"}) == []
    text = resp.get_data(as_text=True)
    names = db.session.scalars(select(Entry).where(Entry.competition_id == running.id))
    assert not any(e.worker.name in text for e in names)


def test_demo_steps_are_audited_by_their_actors_and_the_chain_verifies(app):
    _demo(app)
    actors = dict(db.session.execute(select(AuditEntry.action, AuditEntry.actor_name)
                                     .where(AuditEntry.action.in_(["results_publish", "module_locked",
                                                                   "competition_entries_registered"]))).all())
    assert actors["results_publish"] == "organizer"
    assert actors["module_locked"] in ("judge1", "judge2")
    assert actors["competition_entries_registered"] in ("hr_steel", "hr_grid")
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_demo_twice_creates_nothing_new(app):
    _demo(app)
    before = _counts()
    second = _demo(app)
    assert "already present" in second.output
    db.session.expire_all()
    assert _counts() == before
    assert before["Competition"] == 2
