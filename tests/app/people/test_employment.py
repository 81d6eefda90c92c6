"""Employment history: every worker has exactly one current employment, and ``Worker.enterprise_id`` is always its
enterprise — after registering, importing and moving (``employment.mismatches`` stays empty)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.db import db, local_date
from app.people import employment, services
from app.people.imports import services as imports
from app.people.models import Employment, Worker
from tests.app.people.conftest import new_worker_data
from tests.app.people.imports.conftest import csv_bytes, row


def _employments(worker) -> list[tuple[int, date, date | None]]:
    return [(e.enterprise_id, e.started_on, e.ended_on) for e in employment.history(worker)]


def test_a_registered_worker_starts_with_one_current_employment(people):
    hr = people["users"]["hr_a"]
    worker = services.create_worker(hr, None, new_worker_data(people["trade"].id))
    assert _employments(worker) == [(people["ent_a"].id, local_date(worker.created_at), None)]
    assert employment.current_employment(worker).enterprise_id == worker.enterprise_id
    assert employment.mismatches([worker.id, people["worker_a"].id, people["worker_b"].id]) == []


def test_the_first_employment_starts_on_the_local_day_of_registration(people, app):
    # 2026-03-01 17:30 UTC is already 2 March in Beijing
    from datetime import UTC, datetime

    assert local_date(datetime(2026, 3, 1, 17, 30, tzinfo=UTC)) == date(2026, 3, 2)
    assert local_date(datetime(2026, 3, 1, 15, 30, tzinfo=UTC)) == date(2026, 3, 1)


def test_the_database_allows_one_current_employment_per_worker(people):
    worker = people["worker_a"]
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Employment(worker_id=worker.id, enterprise_id=people["ent_b"].id, started_on=employment.today()))
        db.session.flush()
    # an ended one next to the current one is fine
    db.session.add(Employment(worker_id=worker.id, enterprise_id=people["ent_b"].id, started_on=date(2020, 1, 1),
                              ended_on=date(2021, 1, 1)))
    db.session.flush()
    assert employment.mismatches([worker.id]) == []


def test_an_employment_cannot_end_before_it_starts(people):
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Employment(worker_id=people["worker_a"].id, enterprise_id=people["ent_b"].id,
                                  started_on=date(2021, 1, 1), ended_on=date(2020, 1, 1)))
        db.session.flush()


def test_move_ends_the_current_employment_and_starts_the_next(people):
    worker, ent_a, ent_b = people["worker_a"], people["ent_a"], people["ent_b"]
    started = employment.current_employment(worker).started_on
    day = started + timedelta(days=30)
    new = employment.move(worker, ent_b.id, on=day)
    assert worker.enterprise_id == ent_b.id and worker.enterprise.name == ent_b.name
    assert new.enterprise_id == ent_b.id and employment.current_employment(worker).id == new.id
    assert _employments(worker) == [(ent_b.id, day, None), (ent_a.id, started, day)]
    assert employment.mismatches([worker.id]) == []
    employment.move(worker, ent_a.id, on=day + timedelta(days=1))  # and back: a third period, history kept
    assert [e[0] for e in _employments(worker)] == [ent_a.id, ent_b.id, ent_a.id]
    assert employment.mismatches([worker.id]) == []


def test_enterprise_id_changes_only_through_an_employment(people):
    with pytest.raises(RuntimeError, match="employment"):
        people["worker_a"].enterprise_id = people["ent_b"].id


def test_mismatches_finds_a_worker_out_of_step(people):
    worker = people["worker_a"]
    db.session.execute(update(Worker).where(Worker.id == worker.id).values(enterprise_id=people["ent_b"].id))
    assert employment.mismatches([worker.id, people["worker_b"].id]) == [worker.id]
    db.session.execute(update(Employment).where(Employment.worker_id == worker.id).values(ended_on=employment.today()))
    assert employment.mismatches([worker.id]) == [worker.id]  # no current employment at all


def test_an_import_gives_every_new_worker_its_first_employment(people):
    hr = people["users"]["hr_a"]
    imp = imports.preview_import(hr, None, "w.csv", csv_bytes([row(n) for n in range(500, 520)]))
    assert imp.error_count == 0, imp.errors
    imports.confirm_import(hr, imp.id)
    new = list(db.session.scalars(select(Worker).where(Worker.enterprise_id == people["ent_a"].id)))
    assert len(new) == 21  # 20 imported and worker_a
    assert employment.mismatches([w.id for w in new]) == []
    assert all(_employments(w) == [(people["ent_a"].id, employment.today(), None)] for w in new
               if w.id != people["worker_a"].id)


def test_hr_and_the_worker_see_the_employment_history(client, people, as_user):
    worker = people["worker_a"]
    employment.move(worker, people["ent_b"].id)
    employment.move(worker, people["ent_a"].id)
    as_user(people["users"]["hr_a"])
    html = client.get(f"/workers/{worker.id}").get_data(as_text=True)
    assert html.count(people["ent_b"].name) == 1 and html.count(people["ent_a"].name) >= 2
    as_user(people["users"]["worker"])
    html = client.get("/my/profile").get_data(as_text=True)
    assert people["ent_b"].name in html
