"""The worker list (HTML and API) issues the same number of SQL queries for 10 and for 100 workers."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.db import db


@contextmanager
def count_queries():
    counter = {"n": 0, "sql": []}

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            counter["n"] += 1
            counter["sql"].append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _fill_up_to(people, create_worker, create_trade, n: int) -> None:
    """Enterprise A gets n workers (worker_a included), spread over several trades."""
    from sqlalchemy import func, select

    from app.people.consents import record_consent
    from app.people.models import Worker

    have = db.session.scalar(select(func.count(Worker.id)).where(Worker.enterprise_id == people["ent_a"].id))
    trades = [create_trade() for _ in range(max((n - have) // 2, 1))]
    for i in range(n - have):
        worker = create_worker(enterprise=people["ent_a"], trade=trades[i % len(trades)], skill_level=1 + i % 5)
        if i % 3 == 0:
            record_consent(worker, "publicity", True, actor_id=None)
    db.session.flush()
    db.session.expire_all()  # nothing may come from the identity map


@pytest.mark.parametrize("path", ["/workers?per_page=100", "/api/v1/workers?per_page=100", "/workers?q=工人&per_page=100"])
def test_worker_list_query_count_does_not_grow(client, people, as_user, create_worker, create_trade, path):
    as_user(people["users"]["hr_a"])
    counts = {}
    for n in (10, 100):
        _fill_up_to(people, create_worker, create_trade, n)
        with count_queries() as counter:
            resp = client.get(path)
        assert resp.status_code == 200
        text = resp.get_data(as_text=True)
        counts[n] = counter["n"]
        if "api" in path:
            assert resp.get_json()["total"] == (n if "q=" not in path else n - 1)
        else:
            assert text.count("/workers/") >= (n if "q=" not in path else n - 1)
    assert counts[10] == counts[100], counts
