"""Quota under concurrency: many HR requests at once never register more entries than the quota.

Runs on its own database (SQLite: a new file; PostgreSQL: a schema of its own in the test database), with
real commits, because the point is what two transactions do to each other.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.db import db
from competitions.models import EnterpriseQuota, Entry
from tests.competitions import registration_judging_fixtures as fixtures

CLIENTS = 8
QUOTA = 3




@pytest.mark.no_transaction
def test_concurrent_registrations_respect_the_quota(isolated_app, create_enterprise, create_worker, create_user):
    from app.accounts.services import create_token

    with isolated_app.app_context():
        ent = create_enterprise()
        workers = [create_worker(enterprise=ent) for _ in range(CLIENTS)]
        hr = create_user(Role.HR, enterprise=ent)
        token = create_token(hr, "t").secret
        competition = fixtures.make_competition()
        db.session.add(EnterpriseQuota(competition_id=competition.id, enterprise_id=ent.id, max_entries=QUOTA))
        worker_ids, competition_id = [w.id for w in workers], competition.id
        url = f"/api/v1/competitions/{competition_id}/entries"
        db.session.commit()
        db.session.remove()

    start = threading.Barrier(CLIENTS)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def register(worker_id: int) -> None:
        try:
            client = isolated_app.test_client()
            start.wait(30)
            resp = client.post(url, json={"worker_ids": [worker_id]}, headers={"Authorization": f"Bearer {token}"})
            statuses.append(resp.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(w,)) for w in worker_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(statuses) == [201] * QUOTA + [409] * (CLIENTS - QUOTA)
    with isolated_app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Entry).where(Entry.competition_id == competition_id))
        db.session.remove()
    assert count == QUOTA
