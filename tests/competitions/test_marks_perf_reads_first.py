"""Marks submitted through the API view read and check everything before SQLite's write lock (``reads_first``): what
another writer changes between that read and the write lock is caught by the stamp and the batch is checked again
under the lock; a batch that writes nothing never asks for the lock. SQLite only: on PostgreSQL the competition row
is locked first, as before (the concurrency test covers it)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.db import db, utcnow
from competitions.models import Mark, Module
from competitions.services import marks as services
from tests.competitions.marks_fixtures import item, key, mw  # noqa: F401


@pytest.fixture
def between(app, monkeypatch):
    """Run ``change()`` right after the read phase ended (as another writer committing at that moment would);
    returns the list of calls of ``begin_writes``. The batches go through the view (the judge page's way; the token
    lane's groups hold the write lock from their first read, so they have no such moment)."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("reads_first applies to SQLite only")
    monkeypatch.setitem(app.config, "MARKS_TOKEN_FAST_PATH", False)
    calls: list[bool] = []
    original = services.begin_writes
    changes: list = []

    def patched() -> bool:
        ended = original()
        calls.append(ended)
        for change in changes:
            change()
        db.session.flush()
        return ended

    monkeypatch.setattr(services, "begin_writes", patched)
    return calls, changes


def test_a_module_locked_between_the_read_and_the_write_is_refused(mw, between):  # noqa: F811
    calls, changes = between
    module_id = mw.module1.id
    # (``db.session`` in a change is the request's session: the change is that request's, as another writer's would be)
    changes.append(lambda: setattr(db.session.get(Module, module_id), "locked_at", utcnow()))
    resp = mw.mark("j2", "K101", mw.a1, "2")
    assert calls, "the marks API reads first"
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "module_locked"
    db.session.expire_all()
    assert mw.marks(judge_id=mw.users["j2"].id) == []


def test_the_same_key_stored_between_the_read_and_the_write_is_a_duplicate(mw, between):  # noqa: F811
    calls, changes = between
    k = key()
    entry_id, judge_id = mw.entries[0].id, mw.users["j2"].id

    def other_request_stores_it():
        db.session.add(Mark(entry_id=entry_id, aspect_id=mw.a1.id, judge_id=judge_id, value=Decimal(2), revision=1,
                            is_current=True, idempotency_key=k, reason="", entered_by_id=judge_id,
                            confirmed_by_id=judge_id, created_at=utcnow()))

    changes.append(other_request_stores_it)
    resp = mw.mark("j2", "K101", mw.a1, "2", k)
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()["results"][0]
    assert (result["status"], result["revision"]) == ("duplicate", 1)
    assert len(mw.marks(judge_id=judge_id)) == 1


def test_a_revision_stored_between_the_read_and_the_write_is_not_overwritten(mw, between):  # noqa: F811
    calls, changes = between
    judge_id = mw.users["j2"].id
    assert mw.mark("j2", "K101", mw.a1, "1").status_code == 200
    first = mw.marks(judge_id=judge_id)[0]

    def other_request_changes_it():
        db.session.get(Mark, first.id).is_current = False
        db.session.flush()
        db.session.add(Mark(entry_id=first.entry_id, aspect_id=first.aspect_id, judge_id=judge_id, value=Decimal(3),
                            revision=2, is_current=True, idempotency_key=key(), reason="", entered_by_id=judge_id,
                            confirmed_by_id=judge_id, created_at=utcnow()))

    changes.append(other_request_changes_it)
    resp = mw.mark("j2", "K101", mw.a1, "2")
    assert resp.status_code == 200, resp.get_json()
    result = resp.get_json()["results"][0]
    assert (result["status"], result["revision"], result["value"]) == ("stored", 3, "2")
    db.session.expire_all()  # the request changed ``first`` in its own session
    marks = mw.marks(judge_id=judge_id)
    assert [(m.revision, m.value, m.is_current) for m in marks] == [(1, 1, False), (2, 3, False), (3, 2, True)]
    assert len(mw.audit("mark_submitted")) == 2  # ours: one entry per stored mark (the other request is not audited here)


def test_the_last_place_taken_between_the_read_and_the_write_is_refused(mw, between):  # noqa: F811
    """Two judges have marked K102; j3's mark arrives while j4's (the third) is committed by another request."""
    calls, changes = between
    mw.fill(judges=("j1", "j2"))
    entry_id, j4 = mw.entries[1].id, mw.users["j4"].id

    def another_judge_takes_the_last_place():
        db.session.add(Mark(entry_id=entry_id, aspect_id=mw.a1.id, judge_id=j4, value=Decimal(2), revision=1,
                            is_current=True, idempotency_key=key(), reason="", entered_by_id=j4, confirmed_by_id=j4,
                            created_at=utcnow()))

    changes.append(another_judge_takes_the_last_place)
    resp = mw.mark("j3", "K102", mw.a1, "2")
    assert calls, "the marks API reads first"
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "aspect_full"
    db.session.expire_all()
    assert mw.marks(judge_id=mw.users["j3"].id) == []


def test_a_batch_that_writes_nothing_never_takes_the_write_lock(mw, between):  # noqa: F811
    calls, _changes = between
    k = key()
    assert mw.mark("j2", "K101", mw.a1, "2", k).status_code == 200
    assert len(calls) == 1
    again = mw.mark("j2", "K101", mw.a1, "2", k)  # a retry: duplicate
    same = mw.mark("j2", "K101", mw.a1, "2.0")  # a new key, the current value: unchanged
    assert [r.get_json()["results"][0]["status"] for r in (again, same)] == ["duplicate", "unchanged"]
    assert len(calls) == 1
    assert len(mw.marks(judge_id=mw.users["j2"].id)) == 1


def test_problems_are_found_before_any_write_lock(mw, between):  # noqa: F811
    calls, _changes = between
    resp = mw.post("j2", "/marks", [item("K101", mw.a1.id, "7"), item("NOPE", mw.a1.id, "1")])
    assert resp.status_code in (404, 422)
    assert calls == []
    assert mw.marks(judge_id=mw.users["j2"].id) == []
