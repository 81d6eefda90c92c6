"""Lifecycle steps under concurrency: many organizers sending the same step at once — exactly one applies.

Runs on its own database (SQLite: a new file; PostgreSQL: a schema of its own in the test database), with real
commits, because the point is what concurrent transactions do to each other.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db
from competitions.models import Competition, CompetitionTransition
from tests.competitions.setup_support import sample_scheme

CLIENTS = 6




@pytest.mark.no_transaction
def test_concurrent_identical_steps_apply_once(isolated_app, create_user):
    from app.accounts.services import create_token

    with isolated_app.app_context():
        organizers = [create_user(Role.ORGANIZER) for _ in range(CLIENTS)]
        tokens = [create_token(u, "t").secret for u in organizers]
        db.session.commit()
        db.session.remove()
    client = isolated_app.test_client()
    auth = {"Authorization": f"Bearer {tokens[0]}"}
    competition_id = client.post("/api/v1/competitions", json={"name": "并发", "level": "city"}, headers=auth).get_json()["id"]
    url = f"/api/v1/competitions/{competition_id}"
    assert client.put(f"{url}/scheme", json=sample_scheme(), headers=auth).status_code == 200

    start = threading.Barrier(CLIENTS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def step(token: str) -> None:
        try:
            own = isolated_app.test_client()
            start.wait(30)
            resp = own.post(f"{url}/transitions", json={"event": "open_registration"},
                            headers={"Authorization": f"Bearer {token}"})
            statuses.append(resp.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=step, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(statuses) == [200] + [409] * (CLIENTS - 1)
    with isolated_app.app_context():
        assert db.session.get(Competition, competition_id).status == "registration_open"
        steps = db.session.scalar(select(func.count()).select_from(CompetitionTransition)
                                  .where(CompetitionTransition.competition_id == competition_id))
        audited = db.session.scalar(select(func.count()).select_from(AuditEntry)
                                    .where(AuditEntry.action == "competition_transition"))
        db.session.remove()
    assert steps == 1 and audited == 1
