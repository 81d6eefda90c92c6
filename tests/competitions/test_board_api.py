"""The live board: codes only during the event, updates after mark changes, the freeze, ETag / 304, the SSE
stream and the published view."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update

from app.db import db, utcnow
from competitions.models import Mark
from competitions.services import board
from tests.competitions.results_fixtures import rw  # noqa: F401


def rows(resp) -> dict[str, dict]:
    return {e["code"]: e for e in resp.get_json()["entries"]}


def test_board_during_the_event_shows_codes_and_running_totals_only(rw):  # noqa: F811
    rw.fill(("A101", "A102"))
    rw.mark("A103", rw.t1, "j1", 100)  # partial: theory only
    db.session.commit()
    resp = rw.get("anonymous", "/board")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    rw.assert_blind(resp)
    data = resp.get_json()
    assert data["phase"] == "live" and data["competition"]["status"] == "running"
    assert {c: (r["total"], r["rank"], r["complete"]) for c, r in rows(resp).items()} == {
        "A101": ("90.00", 1, True), "A102": ("89.33", 2, True), "A103": ("30.00", 3, False),
        "A104": (None, None, False), "A105": (None, None, False)}
    for role in ("judge", "hr", "worker", "organizer"):
        rw.assert_blind(rw.get(role, "/board"))


def test_board_updates_after_a_mark_change(rw):  # noqa: F811
    rw.fill()
    first = rw.get("anonymous", "/board")
    assert rows(first)["A104"]["total"] == "55.33"
    rw.mark("A104", rw.p2, "j1", 20)  # ORM change: the board is invalidated when it commits
    db.session.commit()
    assert rows(rw.get("anonymous", "/board"))["A104"]["total"] == "78.67"
    # a change the ORM does not see (bulk UPDATE) needs invalidate_board — the marks area calls it after commit
    db.session.execute(update(Mark).where(Mark.entry_id == rw.entries["A104"].id, Mark.aspect_id == rw.t1.id)
                       .values(value=Decimal(0)))
    db.session.commit()
    assert rows(rw.get("anonymous", "/board"))["A104"]["total"] == "78.67"  # served from the cache
    board.invalidate_board(rw.competition.id)
    assert rows(rw.get("anonymous", "/board"))["A104"]["total"] == "60.67"


def test_etag_and_304(rw):  # noqa: F811
    rw.fill()
    resp = rw.get("anonymous", "/board")
    etag = resp.headers["ETag"]
    assert etag.startswith('"')
    again = rw.get("anonymous", "/board", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    rw.mark("A104", rw.p2, "j1", 20)
    db.session.commit()
    changed = rw.get("anonymous", "/board", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_board_freezes_at_the_freeze_time(rw):  # noqa: F811
    now = utcnow()
    rw.fill(at=now - timedelta(hours=2))
    rw.competition.board_freeze_at = now - timedelta(hours=1)
    db.session.commit()
    rw.mark("A104", rw.p2, "j1", 20)  # after the freeze
    rw.mark("A105", rw.t1, "j1", 99)
    db.session.commit()
    resp = rw.get("anonymous", "/board")
    data = resp.get_json()
    assert data["phase"] == "frozen" and data["frozen_at"]
    assert rows(resp)["A104"]["total"] == "55.33"
    assert rows(resp)["A105"]["total"] is None
    rw.mark("A101", rw.t1, "j1", 10)
    db.session.commit()
    assert rw.get("anonymous", "/board").data == resp.data  # no later updates for the public
    # the organizer's own review is not frozen
    review = {e["code"]: e for e in rw.get("organizer", "/results").get_json()["entries"]}
    assert review["A104"]["total"] == "78.67"


def test_board_after_publication_shows_the_public_view(rw):  # noqa: F811
    rw.competition.board_freeze_at = utcnow() - timedelta(minutes=1)
    rw.ready_to_publish()
    assert rw.post("organizer", "/results/publish", {}).status_code == 201
    resp = rw.get("anonymous", "/board")
    data = resp.get_json()
    assert data["phase"] == "published" and data["version"] == 1
    assert rows(resp)["A101"]["name"] == "张帅坤"
    assert rows(resp)["A102"]["name"] == "李*国" and rows(resp)["A102"]["enterprise_name"] is None
    assert "李建国" not in resp.get_data(as_text=True)


def test_board_before_the_event_and_for_drafts(rw):  # noqa: F811
    rw.set_status("registration_open")
    data = rw.get("anonymous", "/board").get_json()
    assert data["phase"] == "not_started" and data["entries"] == []
    rw.set_status("draft")
    board.invalidate_board(rw.competition.id)
    assert rw.get("anonymous", "/board").status_code == 404
    assert rw.get("anonymous", "/board/stream").status_code == 404


def test_stream_is_event_stream_with_a_first_event(rw):  # noqa: F811
    rw.fill()
    resp = rw.anonymous_client.get(rw.url("/board/stream"), buffered=False)
    try:
        assert resp.status_code == 200
        assert resp.mimetype == "text/event-stream"
        first = next(iter(resp.response))
    finally:
        resp.close()
    assert first.startswith(b"retry: 2000\nevent: board\nid: ")
    data = json.loads(first.split(b"data: ", 1)[1].strip())
    assert data["phase"] == "live" and {e["code"] for e in data["entries"]} >= {"A101", "A104"}


def test_stream_emits_when_the_version_changes_and_ends(rw):  # noqa: F811
    rw.fill()
    events, ended = _stream(rw, {1.0: lambda: (rw.mark("A104", rw.p2, "j1", 20), db.session.commit()),
                                 2.0: lambda: board.invalidate_board(rw.competition.id)},  # a bump, no change: no event
                            lifetime=3)
    assert [t["A104"] for t in events] == ["55.33", "78.67"]
    assert ended >= 3


def _stream(world, changes: dict, *, lifetime: float) -> tuple[list[dict], float]:
    """The totals of each event a board stream sends (polling every 0.5 s on a fake clock; ``changes``: clock time →
    what happens then), and the clock time it ended."""
    clock = [0.0]

    def sleep(seconds):
        clock[0] += seconds
        action = changes.pop(clock[0], None)
        if action:
            action()

    events = list(board.stream(world.competition.id, lifetime=lifetime, poll=0.5, clock=lambda: clock[0], sleep=sleep))
    return [{e["code"]: e["total"] for e in json.loads(ev.split(b"data: ", 1)[1])["entries"]} for ev in events], clock[0]


def test_a_stream_sends_the_new_board_even_when_another_request_was_rebuilding_it(rw):  # noqa: F811
    """Stale-while-rebuilding is for plain requests: a stream that took the old body for the new version would not
    send the new one until the next change (measured under gunicorn: 1 to 3 of 6 screens missed each mark)."""
    rw.fill()
    lock = board._build_locks.setdefault(rw.competition.id, threading.Lock())

    def change_while_another_request_rebuilds():
        rw.mark("A104", rw.p2, "j1", 20)
        db.session.commit()
        assert lock.acquire(timeout=5)  # another request is rebuilding this board …
        threading.Timer(0.2, lock.release).start()  # … and is done a moment later

    events, _ended = _stream(rw, {1.0: change_while_another_request_rebuilds}, lifetime=2)
    assert [t["A104"] for t in events] == ["55.33", "78.67"]


def test_a_cached_live_board_turns_frozen_when_the_freeze_time_passes(rw, monkeypatch):  # noqa: F811
    now = utcnow()
    rw.fill(at=now - timedelta(minutes=5))
    rw.competition.board_freeze_at = now + timedelta(hours=1)
    db.session.commit()
    assert rw.get("anonymous", "/board").get_json()["phase"] == "live"
    assert rw.get("anonymous", "/board").get_json()["phase"] == "live"  # cached
    later = now + timedelta(hours=2)
    monkeypatch.setattr(board, "utcnow", lambda: later)
    monkeypatch.setattr(board.time, "time", lambda: later.timestamp())
    data = rw.get("anonymous", "/board").get_json()  # no invalidation: the cache expired at the freeze time
    assert data["phase"] == "frozen"
    assert {e["code"]: e["total"] for e in data["entries"]}["A101"] == "90.00"


def test_an_invalid_scheme_makes_the_board_unavailable_not_an_error(rw):  # noqa: F811
    rw.fill()
    rw.practical.weight = Decimal(60)  # weights sum to 90
    db.session.commit()
    resp = rw.get("anonymous", "/board")
    assert resp.status_code == 200
    assert resp.get_json()["phase"] == "unavailable" and resp.get_json()["problem"] == "results_invalid_scheme"
    review = rw.get("organizer", "/results")
    assert review.status_code == 409 and review.get_json()["error"]["code"] == "results_invalid_scheme"


def test_while_one_request_rebuilds_the_others_get_the_previous_board(rw):  # noqa: F811
    rw.fill()
    before = rw.get("anonymous", "/board")
    rw.mark("A104", rw.p2, "j1", 20)
    db.session.commit()
    with board._build_lock(rw.competition.id, wait=True) as held:  # another request is rebuilding
        assert held
        during = rw.get("anonymous", "/board")
    assert during.data == before.data
    assert rows(rw.get("anonymous", "/board"))["A104"]["total"] == "78.67"
