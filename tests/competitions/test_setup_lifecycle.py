"""The competition lifecycle through the API: every allowed step, refused steps with their reasons, the history,
the audit log, and two attempts at the same step (only one applies)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.db import db, utcnow
from app.errors import Conflict, PermissionDenied
from competitions import labels
from competitions.domain import TRANSITIONS, CompetitionEvent, CompetitionState
from competitions.models import Competition, CompetitionTransition, Module
from competitions.services import setup as services
from tests.competitions import setup_support

setup = setup_support.setup

pytestmark = pytest.mark.usefixtures("app")

SETUP_STEPS = [
    ("draft", "open_registration", "registration_open"),
    ("registration_open", "close_registration", "registration_closed"),
    ("registration_closed", "start", "running"),
    ("running", "close_scoring", "scoring_closed"),
]


def test_the_setup_steps_are_the_engines_table():
    table = {(s.value, e.value): t.value for (s, e), t in TRANSITIONS.items()}
    for state, event, target in SETUP_STEPS:
        assert table[(state, event)] == target


@pytest.mark.parametrize("role", ["organizer", "admin"])
def test_every_allowed_step_is_recorded_and_audited(setup, role):
    cid = setup.with_scheme()
    setup.entry(cid, code="A01")
    for state, event, target in SETUP_STEPS:
        assert setup.competition(cid).status == state
        if event == "close_scoring":
            setup.lock_modules(cid)
        resp = setup.step(cid, event, role=role, note=f"note {event}")
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["competition"]["status"] == target
        assert body["transition"]["from_status"] == state and body["transition"]["to_status"] == target
        assert body["transition"]["actor_id"] == setup.users[role].id
    history = setup.get(f"/api/v1/competitions/{cid}/transitions").get_json()
    assert [(h["from_status"], h["event"], h["to_status"]) for h in history] == SETUP_STEPS
    assert all(h["actor_id"] == setup.users[role].id and h["at"] for h in history)
    assert history[0]["note"] == "note open_registration"
    assert history[0]["actor_name"] == setup.users[role].display_name
    audited = setup.audit("competition_transition", cid)
    assert [(a.details["from"], a.details["event"], a.details["to"]) for a in audited] == SETUP_STEPS
    assert all(a.actor_id == setup.users[role].id for a in audited)


# (state, event, reason) — a sample of refused steps
REFUSED = [
    ("draft", "close_registration", "not_yet"),
    ("draft", "start", "not_yet"),
    ("draft", "close_scoring", "not_yet"),
    ("registration_open", "open_registration", "already_done"),
    ("registration_closed", "open_registration", "too_late"),
    ("running", "close_registration", "too_late"),
    ("running", "start", "already_done"),
    ("scoring_closed", "start", "too_late"),
    ("scoring_closed", "close_scoring", "already_done"),
    ("published", "close_scoring", "too_late"),
]


@pytest.mark.parametrize("state, event, reason", REFUSED)
def test_refused_steps_say_why_and_change_nothing(setup, state, event, reason):
    cid = setup.with_scheme()
    if state == "published":
        setup.run_to(cid, "scoring_closed")
        setup.competition(cid).status = "published"
        db.session.flush()
    else:
        setup.run_to(cid, state)
    before = db.session.query(CompetitionTransition).count()
    resp = setup.step(cid, event)
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "transition_not_allowed"
    assert error["details"]["reason"] == reason and error["details"]["state"] == state
    assert error["message"]
    assert setup.competition(cid).status == state
    assert db.session.query(CompetitionTransition).count() == before


def test_refusal_messages_are_translated(setup):
    cid = setup.with_scheme()
    en = setup.call("organizer", "POST", f"/api/v1/competitions/{cid}/transitions", {"event": "start"},
                    headers={"Accept-Language": "en"})
    assert en.get_json()["error"]["message"] == "“Start the competition” is not possible yet: the competition is Draft."
    zh = setup.client.post(f"/api/v1/competitions/{cid}/transitions", json={"event": "start"},
                           headers={**setup.headers("organizer"), "Accept-Language": "zh-CN"})
    assert zh.status_code == 409 and zh.get_json()["error"]["message"]


def test_publish_is_not_a_setup_event(setup):
    cid = setup.with_scheme()
    setup.run_to(cid, "scoring_closed")
    resp = setup.step(cid, "publish")
    assert resp.status_code == 422
    assert setup.competition(cid).status == "scoring_closed"


def test_results_area_publishes_through_apply_transition(setup, app):
    cid = setup.with_scheme()
    setup.run_to(cid, "scoring_closed")
    with app.test_request_context():
        step = services.apply_transition(setup.users["organizer"], setup.competition(cid), "publish", "v1")
        assert (step.from_status, step.to_status) == ("scoring_closed", "published")
        again = services.apply_transition(setup.users["organizer"], setup.competition(cid), "publish_correction", "fix")
        assert (again.from_status, again.to_status) == ("published", "published")
        with pytest.raises(Conflict):  # already published
            services.apply_transition(setup.users["organizer"], setup.competition(cid), "publish")
        with pytest.raises(PermissionDenied):
            services.apply_transition(setup.users["judge"], setup.competition(cid), "publish_correction")
    history = setup.get(f"/api/v1/competitions/{cid}/transitions").get_json()
    assert [h["event"] for h in history][-2:] == ["publish", "publish_correction"]


def test_the_same_step_twice_applies_once(setup):
    """Two attempts of the same step (a double click, a retry, two organizers): the second is refused."""
    cid = setup.with_scheme()
    first = setup.step(cid, "open_registration")
    second = setup.step(cid, "open_registration")
    assert first.status_code == 200 and second.status_code == 409
    assert second.get_json()["error"]["details"]["reason"] == "already_done"
    steps = db.session.scalars(select(CompetitionTransition).where(CompetitionTransition.competition_id == cid)).all()
    assert len(steps) == 1


def test_a_stale_read_cannot_apply_a_step(setup, app):
    """apply_transition re-reads the row under a lock: a competition object loaded before another request moved
    it does not let the step apply twice."""
    cid = setup.with_scheme()
    stale = setup.competition(cid)
    assert stale.status == "draft"
    assert setup.step(cid, "open_registration").status_code == 200
    with app.test_request_context():
        with pytest.raises(Conflict) as refused:
            services.apply_transition(setup.users["organizer"], stale, "open_registration")
    assert refused.value.details["reason"] == "already_done"


def test_conditional_update_refuses_a_concurrent_change(setup, app, monkeypatch):
    """Were the status changed between the locked read and the write, the conditional UPDATE matches no row."""
    cid = setup.with_scheme()
    real_guard = services.GUARDS[CompetitionEvent.OPEN_REGISTRATION]

    def meanwhile(competition):
        real_guard(competition)
        db.session.execute(update(Competition.__table__)
                           .where(Competition.id == cid).values(status="registration_open"))

    monkeypatch.setitem(services.GUARDS, CompetitionEvent.OPEN_REGISTRATION, meanwhile)
    resp = setup.step(cid, "open_registration")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "concurrent_change"
    assert db.session.query(CompetitionTransition).filter_by(competition_id=cid).count() == 0


def test_opening_registration_needs_a_valid_scheme(setup):
    cid = setup.create()
    resp = setup.step(cid, "open_registration")
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "invalid_scheme"
    assert error["details"]["problems"][0]["path"] == "modules"
    # a stored scheme that became invalid (written directly: weights 30 + 60)
    cid = setup.with_scheme()
    module = db.session.scalars(select(Module).where(Module.competition_id == cid, Module.position == 1)).one()
    module.weight = module.weight - 10
    db.session.flush()
    resp = setup.call("organizer", "POST", f"/api/v1/competitions/{cid}/transitions", {"event": "open_registration"},
                      headers={"Accept-Language": "en"})
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["message"] == "The scheme is invalid: Modules: The module weights must add up to 100."
    assert [p["path"] for p in error["details"]["problems"]] == ["modules"]
    assert setup.competition(cid).status == "draft"
    # a problem deep in the tree is named in words, not as a document path
    aspect = module.criteria[0].aspects[0]
    module.weight = module.weight + 10
    aspect.scale_step = aspect.scale_max * 2
    db.session.flush()
    resp = setup.call("organizer", "POST", f"/api/v1/competitions/{cid}/transitions", {"event": "open_registration"},
                      headers={"Accept-Language": "en"})
    message = resp.get_json()["error"]["message"]
    assert resp.status_code == 409 and "› Scale step: " in message and "[" not in message, message


def test_starting_needs_approved_and_coded_entries(setup):
    cid = setup.with_scheme()
    setup.run_to(cid, "registration_closed")
    resp = setup.step(cid, "start")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "no_approved_entries"
    setup.entry(cid, code="A01")
    setup.entry(cid, code=None)
    setup.entry(cid, status="rejected")
    resp = setup.step(cid, "start")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "codes_missing"
    assert resp.get_json()["error"]["details"]["entries"] == 1


def test_closing_scoring_needs_every_module_locked(setup):
    cid = setup.with_scheme()
    setup.run_to(cid, "running")
    modules = db.session.scalars(select(Module).where(Module.competition_id == cid).order_by(Module.position)).all()
    modules[0].locked_at = utcnow()
    db.session.flush()
    resp = setup.call("organizer", "POST", f"/api/v1/competitions/{cid}/transitions", {"event": "close_scoring"},
                      headers={"Accept-Language": "en"})
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["code"] == "modules_not_locked"
    assert error["message"] == "Not every module is locked: 实际操作."
    assert error["details"]["modules"] == [{"id": modules[1].id, "name": "实际操作"}]
    assert setup.competition(cid).status == "running"


def test_unknown_event_is_422(setup):
    cid = setup.create()
    resp = setup.step(cid, "teleport")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["details"]["problems"][0]["path"] == "event"


def test_history_is_for_organizers(setup):
    cid = setup.with_scheme()
    setup.run_to(cid, "registration_open")
    for role in ("hr", "judge", "worker"):
        assert setup.get(f"/api/v1/competitions/{cid}/transitions", role=role).status_code == 403
    assert setup.get("/api/v1/competitions/999999/transitions").status_code == 404


def test_state_labels_cover_every_state():
    assert set(labels.STATE_LABELS) == set(CompetitionState)
    assert set(labels.EVENT_LABELS) == set(CompetitionEvent)
