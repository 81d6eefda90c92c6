"""The marks API's token lane (competitions.api.marks.TokenMarksLane): a judge's token batch that is stored is answered
before the framework — the same body and headers as the app's answer, the same audit entry (judge, client
address) — and everything else is the app's own answer: refusals, errors, session users, other roles. On SQLite,
batches arriving together share write transactions (app.grouped_writes): each is checked and written as alone,
a refused one is left to the app without touching the others, and anything unexpected undoes the whole group."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.audit.services import verify_chain
from app.crypto import token_digest
from app.db import db, holds_write_lock
from app.grouped_writes import NOT_DONE, Job
from competitions.api import marks_lane as marks_api
from competitions.services import marks as services
from competitions.services.marks import MarkInput
from tests.competitions.marks_fixtures import item, key, mw  # noqa: F401
from tests.conftest import csrf_token, login_as


@pytest.fixture
def lane(app):
    return marks_api.token_lane(app)


def _through_app(app, monkeypatch):
    monkeypatch.setitem(app.config, marks_api.LANE_SETTING, False)


def _shape(body):
    """A response body with what differs between two batches (ids, keys, values, codes) replaced by its type."""
    if isinstance(body, dict):
        return {k: _shape(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_shape(v) for v in body]
    return type(body).__name__


def test_a_stored_batch_is_answered_by_the_lane_as_the_app_would(app, mw, monkeypatch):  # noqa: F811
    before = marks_api.TokenMarksLane.hits
    lane_resp = mw.post("j2", "/marks", [item("K101", mw.a1.id, "2"), item("K102", mw.a2.id, "7.5")])
    assert lane_resp.status_code == 200, lane_resp.get_json()
    assert marks_api.TokenMarksLane.hits == before + 1

    _through_app(app, monkeypatch)
    app_resp = mw.post("j3", "/marks", [item("K101", mw.a1.id, "2"), item("K102", mw.a2.id, "7.5")])
    assert app_resp.status_code == 200 and marks_api.TokenMarksLane.hits == before + 1
    lane_body, app_body = lane_resp.get_json(), app_resp.get_json()
    assert _shape(lane_body) == _shape(app_body)
    for body in (lane_body, app_body):
        assert body["stored"] == 2 and [r["value"] for r in body["results"]] == ["2", "7.5"]
        assert [r["revision"] for r in body["results"]] == [1, 1]
    assert lane_body["results"][0]["judge_id"] == mw.users["j2"].id
    ignore = {"Content-Length", "Date", "Server"}
    lane_headers = {k: v for k, v in lane_resp.headers.items() if k not in ignore}
    app_headers = {k: v for k, v in app_resp.headers.items() if k not in ignore}
    assert lane_headers == app_headers
    assert lane_resp.get_data().endswith(b"\n") and b" " not in lane_resp.get_data().strip()  # compact, as jsonify

    # a retry of the same batch: duplicates, answered by the lane too
    keys = [r for r in lane_body["results"]]
    assert all(k["status"] == "stored" for k in keys)


def test_the_lane_notes_the_token_s_last_use_as_the_app_does(mw):  # noqa: F811
    from datetime import timedelta

    from sqlalchemy import select

    from app.accounts.models import ApiToken
    from app.db import utcnow

    def used_at():
        db.session.expire_all()
        return db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.token_hash == token_digest(mw.tokens["j2"])))

    assert used_at() is None
    before = marks_api.TokenMarksLane.hits
    assert mw.post("j2", "/marks", [item("K101", mw.a1.id, "2")]).status_code == 200
    assert marks_api.TokenMarksLane.hits == before + 1  # answered by the lane
    first = used_at()
    assert first is not None and first > utcnow() - timedelta(minutes=1)
    assert mw.post("j2", "/marks", [item("K102", mw.a1.id, "3")]).status_code == 200
    assert used_at() == first  # within the hour: not written again


def test_a_retry_is_a_duplicate_and_a_same_value_is_unchanged(mw):  # noqa: F811
    batch = [item("K101", mw.a1.id, "2")]
    first = mw.post("j2", "/marks", batch)
    before = marks_api.TokenMarksLane.hits
    again = mw.post("j2", "/marks", batch)
    same = mw.post("j2", "/marks", [item("K101", mw.a1.id, "2.0")])
    assert marks_api.TokenMarksLane.hits == before + 2
    assert again.get_json()["results"][0]["status"] == "duplicate"
    assert same.get_json()["results"][0]["status"] == "unchanged"
    assert again.get_json()["results"][0]["mark_id"] == first.get_json()["results"][0]["mark_id"]
    assert len(mw.marks(judge_id=mw.users["j2"].id)) == 1


REFUSED = {
    "off the step": lambda w: [item("K101", w.a2.id, "7.3")],
    "above the scale": lambda w: [item("K101", w.a1.id, "4")],
    "unknown aspect": lambda w: [item("K101", 999999, "1")],
    "not assigned": lambda w: [item("K999", w.a1.id, "1")],
    "module 2 is not theirs": lambda w: [item("K101", w.b1.id, "1")],
    "one bad item spoils the batch": lambda w: [item("K101", w.a1.id, "1"), item("K102", w.a1.id, "NaN")],
    "not a list": lambda w: {"code": "K101"},
    "empty": lambda w: [],
    "missing key": lambda w: [{"code": "K101", "aspect_id": w.a1.id, "value": "1"}],
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_batch_is_the_apps_answer_and_stores_nothing(app, mw, monkeypatch, case):  # noqa: F811
    body = REFUSED[case](mw)
    before = marks_api.TokenMarksLane.hits
    lane_resp = mw.post("j2", "/marks", body)
    assert marks_api.TokenMarksLane.hits == before
    _through_app(app, monkeypatch)
    app_resp = mw.post("j2", "/marks", body)
    assert lane_resp.status_code == app_resp.status_code and 400 <= lane_resp.status_code < 500
    assert _shape(lane_resp.get_json()) == _shape(app_resp.get_json())
    assert lane_resp.get_json()["error"]["code"] == app_resp.get_json()["error"]["code"]
    db.session.expire_all()
    assert mw.marks() == []
    assert mw.audit("mark_submitted") == []


def test_other_users_tokens_and_sessions_are_the_apps(app, mw):  # noqa: F811
    before = marks_api.TokenMarksLane.hits
    batch = [item("K101", mw.a1.id, "1")]
    assert mw.post("organizer", "/marks", batch).status_code == 403  # not a judge
    assert mw.client.post(mw.url("/marks"), json=batch,
                          headers={"Authorization": "Bearer jx_not-a-token"}).status_code == 401
    # a query string, a body that is not JSON-typed: the app
    assert mw.call("j2", "POST", mw.url("/marks") + "?x=1", json=[item("K102", mw.a1.id, "1")]).status_code == 200
    assert mw.client.post(mw.url("/marks"), data="[]", headers=mw.headers("j2"),
                          content_type="text/plain").status_code == 422
    assert marks_api.TokenMarksLane.hits == before
    # a session user (the judge page): the app answers, with its CSRF check
    login_as(mw.client, mw.users["j2"])
    token = csrf_token(mw.client)
    resp = mw.client.post(mw.url("/marks"), json=batch, headers={"X-CSRFToken": token})
    assert resp.status_code == 200, resp.get_json()
    assert marks_api.TokenMarksLane.hits == before


def test_a_revoked_token_is_refused_at_once(app, mw):  # noqa: F811
    from app.accounts.models import ApiToken

    token = db.session.query(ApiToken).filter_by(token_hash=token_digest(mw.tokens["j2"])).one()
    from app.db import utcnow

    token.revoked_at = utcnow()
    db.session.commit()
    resp = mw.mark("j2", "K101", mw.a1, "1")
    assert resp.status_code == 401
    assert mw.marks() == []


def test_the_audit_entry_names_the_judge_and_the_client_address(app, mw):  # noqa: F811
    before = marks_api.TokenMarksLane.hits
    resp = mw.client.post(mw.url("/marks"), json=[item("K101", mw.a1.id, "3")],
                          headers=mw.headers("j2"), environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert resp.status_code == 200 and marks_api.TokenMarksLane.hits == before + 1
    [entry] = mw.audit("mark_submitted")
    assert (entry.actor_id, entry.actor_name, entry.ip) == (mw.users["j2"].id, mw.users["j2"].username, "10.20.30.40")
    assert entry.details["code"] == "K101" and entry.details["new"] == "3"
    assert verify_chain()[1] == []


# --- groups (SQLite) ------------------------------------------------------------------------------------------


def _job(world, role: str, *marks, ip: str = "127.0.0.1") -> Job:
    inputs = [MarkInput(m["code"], m["aspect_id"], Decimal(m["value"]), m["idempotency_key"]) for m in marks]
    return Job(marks_api._LaneBatch(token_digest(world.tokens[role]), world.competition.id, inputs, ip))


@pytest.fixture
def sqlite_lane(app, lane):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("batches share write transactions on SQLite only")
    return lane


def test_a_group_writes_each_batch_and_leaves_a_refused_one_to_the_app(mw, sqlite_lane):  # noqa: F811
    db.session.commit()
    jobs = [_job(mw, "j2", item("K101", mw.a1.id, "1"), ip="10.0.0.2"),
            _job(mw, "j3", item("K101", mw.a1.id, "9")),  # above the scale: refused
            _job(mw, "organizer", item("K101", mw.a1.id, "1")),  # not a judge
            _job(mw, "j3", item("K102", mw.a2.id, "4.5"), ip="10.0.0.3")]
    locked_when_taken = []

    def take():  # the group takes its jobs once it holds the write lock (those that came meanwhile join it)
        locked_when_taken.append(holds_write_lock())
        return jobs

    sqlite_lane._run_group(take)
    assert locked_when_taken == [True]
    assert [j.result is NOT_DONE for j in jobs] == [False, True, True, False]
    assert [r.status for r in jobs[0].result] == ["stored"] and [r.status for r in jobs[3].result] == ["stored"]
    db.session.expire_all()
    stored = {(m.judge_id, m.entry_id, m.aspect_id, m.value) for m in mw.marks()}
    assert stored == {(mw.users["j2"].id, mw.entries[0].id, mw.a1.id, Decimal(1)),
                      (mw.users["j3"].id, mw.entries[1].id, mw.a2.id, Decimal("4.5"))}
    assert [(e.actor_id, e.ip) for e in mw.audit("mark_submitted")] == [(mw.users["j2"].id, "10.0.0.2"),
                                                                         (mw.users["j3"].id, "10.0.0.3")]
    assert verify_chain()[1] == []


def test_batches_of_one_group_on_the_same_mark_are_written_in_order(mw, sqlite_lane):  # noqa: F811
    db.session.commit()
    k = key()
    jobs = [_job(mw, "j2", item("K101", mw.a1.id, "1", k)),
            _job(mw, "j2", item("K101", mw.a1.id, "2")),  # a correction: planned against revision 0, written as 2
            _job(mw, "j2", item("K101", mw.a1.id, "1", k))]  # a retry of the first: a duplicate
    sqlite_lane._run_group(lambda: jobs)
    assert [[(r.status, r.revision) for r in j.result] for j in jobs] == [[("stored", 1)], [("stored", 2)],
                                                                       [("duplicate", 2)]]
    db.session.expire_all()
    marks = mw.marks(judge_id=mw.users["j2"].id)
    assert [(m.revision, m.value, m.is_current) for m in marks] == [(1, Decimal(1), False), (2, Decimal(2), True)]


def test_a_group_s_marks_and_audit_entries_go_in_one_statement_each(mw, sqlite_lane):  # noqa: F811
    """The group holds its inserts back (``start_group``): one ``executemany`` for its marks and one for their
    audit entries, with the ids the answers give; a batch changing its own new mark retires it in order."""
    from sqlalchemy import event

    db.session.commit()
    jobs = [_job(mw, "j2", item("K101", mw.a1.id, "1"), item("K102", mw.a1.id, "2")),
            _job(mw, "j3", item("K101", mw.a2.id, "4.5")),
            _job(mw, "j1", item("K103", mw.a2.id, "3"), item("K103", mw.a2.id, "3.5"))]  # the second wins
    statements: list[tuple[str, bool]] = []

    def seen(conn, cursor, sql, params, context, many):
        statements.append((sql.split(" (")[0].split("\n")[0], many))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        sqlite_lane._run_group(lambda: jobs)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert all(j.result is not NOT_DONE for j in jobs)
    inserts = [s for s in statements if s[0].startswith("INSERT")]
    # j1's first mark of K103 is retired before its second is written: the UPDATE sends what was held back first
    assert inserts == [("INSERT INTO mark", True), ("INSERT INTO audit_entry", True),
                       ("INSERT INTO mark", True), ("INSERT INTO audit_entry", True)], statements
    db.session.expire_all()
    stored = {m.id: (m.judge_id, m.revision, m.value, m.is_current) for m in mw.marks()}
    answered = [(r.mark_id, r.status, r.revision) for j in jobs for r in j.result]
    assert [(mark_id, stored[mark_id][1]) for mark_id, _s, _r in answered] == [(i, r) for i, _s, r in answered]
    assert sorted(stored.values()) == sorted([
        (mw.users["j2"].id, 1, Decimal(1), True), (mw.users["j2"].id, 1, Decimal(2), True),
        (mw.users["j3"].id, 1, Decimal("4.5"), True),
        (mw.users["j1"].id, 1, Decimal(3), False), (mw.users["j1"].id, 2, Decimal("3.5"), True)])
    assert {int(e.target_id) for e in mw.audit("mark_submitted")} == set(stored)
    assert verify_chain()[1] == []


def test_the_places_of_an_aspect_are_counted_across_the_group(mw, sqlite_lane):  # noqa: F811
    """Module 1 takes three judges' marks per entrant: j1, j2, j3 fill the places in one group; j4 (conflicted for
    K101, so on K102) would be a fourth — refused under the lock, after the others were written."""
    db.session.commit()
    jobs = [_job(mw, j, item("K102", mw.a1.id, "2")) for j in ("j1", "j2", "j3", "j4")]
    sqlite_lane._run_group(lambda: jobs)
    assert [j.result is NOT_DONE for j in jobs] == [False, False, False, True]
    db.session.expire_all()
    assert len(mw.marks(entry_id=mw.entries[1].id, aspect_id=mw.a1.id)) == 3


def test_anything_unexpected_undoes_the_whole_group(mw, sqlite_lane, monkeypatch):  # noqa: F811
    db.session.commit()
    calls = []
    original = services.store_planned

    def failing_second(plan, reads=None):
        calls.append(plan)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(plan, reads)

    monkeypatch.setattr(services, "store_planned", failing_second)
    jobs = [_job(mw, "j2", item("K101", mw.a1.id, "1")), _job(mw, "j3", item("K101", mw.a1.id, "2"))]
    with pytest.raises(RuntimeError):
        sqlite_lane._run_group(lambda: jobs)
    assert all(j.result is NOT_DONE for j in jobs)
    db.session.expire_all()
    assert mw.marks() == [] and mw.audit("mark_submitted") == []
