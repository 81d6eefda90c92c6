"""Consents as rows: the latest row holds, a narrower scope overrides "all", every change is kept with its actor
and notice version, and one definition answers "does this worker consent now?" for one worker, a page of workers
and a competition's results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import db, utcnow
from app.people import consents
from app.people.labels import CONSENT_NOTICE_VERSIONS
from app.people.models import Consent, ConsentPurpose
from tests.conftest import statements_run

COMPETITION = consents.scope_of("competition", 42)


def test_the_latest_row_holds(people):
    worker = people["worker_a"]
    assert not consents.consents(worker, "publicity")
    first = utcnow() - timedelta(days=3)
    consents.record_consent(worker, "publicity", True, actor_id=None, at=first)
    assert consents.consents(worker, "publicity") and not consents.consents(worker, "talent_pool")
    consents.record_consent(worker, "publicity", False, actor_id=None, at=first + timedelta(days=1))
    assert not consents.consents(worker, "publicity") and worker.publicity_consent_at is None
    again = first + timedelta(days=2)
    consents.record_consent(worker, "publicity", True, actor_id=None, at=again)
    assert consents.consenting([worker.id], "publicity") == {worker.id: again}
    assert worker.publicity_consent_at == again  # the since-when of the grant in force
    assert consents.consent_state(worker) == {"publicity": again, "talent_pool": None}


def test_a_narrower_scope_overrides_all_there_only(people):
    a, b = people["worker_a"], people["worker_b"]
    consents.record_consent(a, "publicity", True, actor_id=None)  # everywhere…
    consents.record_consent(a, "publicity", False, actor_id=None, scope=COMPETITION)  # …but not in competition 42
    consents.record_consent(b, "publicity", True, actor_id=None, scope=COMPETITION)  # competition 42 only
    assert consents.consenting([a.id, b.id], "publicity") == {a.id: a.publicity_consent_at}
    assert set(consents.consenting([a.id, b.id], "publicity", COMPETITION)) == {b.id}
    assert set(consents.consenting([a.id, b.id], "publicity", consents.scope_of("competition", 43))) == {a.id}
    assert not consents.consents(b.id, "publicity") and consents.consents(b.id, "publicity", COMPETITION)


@pytest.mark.parametrize("scope", ["", "everything", "competition:", "Competition:1", "competition:1 or 1=1"])
def test_scopes_have_one_shape(people, scope):
    with pytest.raises(ValueError):
        consents.consents(people["worker_a"], "publicity", scope)


def test_many_workers_are_asked_in_one_query(people, create_worker):
    workers = [create_worker(enterprise=people["ent_a"]) for _ in range(20)]
    for w in workers[::2]:
        consents.record_consent(w, "talent_pool", True, actor_id=None)
    found: dict = {}
    statements = statements_run(lambda: found.update(consents.consenting([w.id for w in workers], "talent_pool")))
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert set(found) == {w.id for w in workers[::2]}


def test_the_worker_changes_are_rows_with_actor_and_notice_version(people):
    user, worker = people["users"]["worker"], people["worker_a"]
    assert consents.set_consent(user, worker, "talent_pool", True)
    assert consents.set_consent(user, worker, "talent_pool", True) is False  # no change, no row
    assert consents.set_consent(user, worker, "publicity", True, scope=COMPETITION)
    assert consents.set_consent(user, worker, "talent_pool", False)
    rows = db.session.scalars(select(Consent).where(Consent.worker_id == worker.id).order_by(Consent.id)).all()
    assert [(r.purpose, r.scope, r.is_granted, r.actor_id, r.notice_version) for r in rows] == [
        ("talent_pool", "all", True, user.id, CONSENT_NOTICE_VERSIONS[ConsentPurpose.TALENT_POOL]),
        ("publicity", COMPETITION, True, user.id, CONSENT_NOTICE_VERSIONS[ConsentPurpose.PUBLICITY]),
        ("talent_pool", "all", False, user.id, CONSENT_NOTICE_VERSIONS[ConsentPurpose.TALENT_POOL]),
    ]
    assert [r.id for r in consents.consent_history(worker)] == [r.id for r in reversed(rows)]


def test_the_api_shows_the_rows_as_history(client, people, as_user):
    token = as_user(people["users"]["worker"])
    resp = client.put("/api/v1/me/consents", json={"publicity": True}, headers={"X-CSRFToken": token})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["publicity"]["granted"] is True and body["talent_pool"] == {"granted": False, "at": None}
    assert [(h["purpose"], h["scope"], h["is_granted"], h["notice_version"]) for h in body["history"]] == [
        ("publicity", "all", True, "1")]
