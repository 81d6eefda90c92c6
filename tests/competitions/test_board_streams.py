"""The live board's event streams cannot starve the server: each process keeps at most
``BOARD_STREAMS_PER_PROCESS`` open, at most ``BOARD_STREAMS_PER_CLIENT`` for one client address; a stream over a
cap is refused at once (503 / 429, ``Retry-After``, the board's URL to poll), its slot comes back when it ends or
its client goes, and it holds no database connection between its looks at the board.

Before the cap, 8 anonymous streams held every thread of ``gunicorn -w 2 --threads 4`` for a minute: ``/healthz``,
logins and judges' marks waited (the last test, on a real gunicorn)."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.db import db
from competitions.services import board
from tests.competitions.results_fixtures import rw  # noqa: F401

STREAM = "/board/stream"


def _open(rw, address: str = "127.0.0.1", **headers):  # noqa: F811
    return rw.anonymous_client.get(rw.url(STREAM), buffered=False, environ_base={"REMOTE_ADDR": address},
                                   headers=headers)


@pytest.fixture
def caps(app, monkeypatch):
    def set_caps(per_process: int, per_client: int) -> None:
        monkeypatch.setitem(app.config, "BOARD_STREAMS_PER_PROCESS", per_process)
        monkeypatch.setitem(app.config, "BOARD_STREAMS_PER_CLIENT", per_client)

    assert board.stream_slots.open() == 0, "a stream of an earlier test was never closed"
    yield set_caps
    assert board.stream_slots.open() == 0, "every stream gives its slot back"


def test_a_client_over_its_cap_is_refused_with_retry_after_and_where_to_poll(rw, caps):  # noqa: F811
    caps(per_process=4, per_client=1)
    rw.fill()
    first = _open(rw)
    try:
        assert first.status_code == 200
        again = _open(rw)
        again.close()
        assert again.status_code == 429 and again.headers["Retry-After"] == "60"
        error = again.get_json()["error"]
        assert error["code"] == "board_streams_per_client"
        assert error["details"] == {"poll": rw.url("/board")}
        other = _open(rw, "192.0.2.7")  # another address still gets one
        other.close()
        assert other.status_code == 200
    finally:
        first.close()
    assert board.stream_slots.open() == 0
    after = _open(rw)  # the slot came back with the close
    after.close()
    assert after.status_code == 200


def test_a_process_over_its_cap_is_refused_with_503(rw, caps):  # noqa: F811
    caps(per_process=2, per_client=1)
    rw.fill()
    held = [_open(rw, f"192.0.2.{n}") for n in (1, 2)]
    try:
        assert [s.status_code for s in held] == [200, 200]
        refused = _open(rw, "192.0.2.3", **{"Accept-Language": "zh-CN"})
        refused.close()
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "60"
        error = refused.get_json()["error"]
        assert error["code"] == "board_streams_busy" and error["details"]["poll"] == rw.url("/board")
        assert "请改为轮询" in error["message"]  # translated
        assert rw.get("anonymous", "/board").status_code == 200, "polling is never capped"
    finally:
        for s in reversed(held):  # (in one thread, streams end in reverse order: each holds its request context)
            s.close()


def test_no_streams_when_the_cap_is_zero(rw, caps):  # noqa: F811
    caps(per_process=0, per_client=1)
    rw.fill()
    resp = _open(rw)
    resp.close()
    assert resp.status_code == 503


def test_a_stream_that_ends_gives_its_slot_back(rw, caps, monkeypatch):  # noqa: F811
    caps(per_process=1, per_client=1)
    monkeypatch.setitem(rw.client.application.config, "BOARD_STREAM_SECONDS", 0)
    rw.fill()
    resp = _open(rw)
    events = b"".join(resp.response)  # the first event, then the end of its (zero) lifetime
    resp.close()
    assert events.startswith(b"retry: 2000\nevent: board\n")
    assert board.stream_slots.open() == 0


def test_an_unknown_board_takes_no_slot(rw, caps):  # noqa: F811
    caps(per_process=1, per_client=1)
    resp = rw.anonymous_client.get("/api/v1/competitions/999999/board/stream")
    assert resp.status_code == 404 and board.stream_slots.open() == 0


def test_the_cap_counts_and_refuses_under_concurrency():
    slots = board.StreamSlots()
    assert [slots.take("a", per_process=3, per_client=2) for _ in range(3)] == [None, None, "client"]
    assert slots.take("b", per_process=3, per_client=2) is None
    assert slots.take("c", per_process=3, per_client=2) == "process"
    slots.give_back("a")
    assert slots.take("c", per_process=3, per_client=2) is None
    assert slots.open() == 3


@pytest.mark.no_transaction
def test_a_stream_holds_no_database_connection_between_its_looks(isolated_app, monkeypatch):
    """A stream lasts a minute; a connection it kept would be one less in the pool for everyone else."""
    from decimal import Decimal

    from bench._competitions import build
    from competitions.models import Mark

    app = isolated_app
    monkeypatch.setitem(app.config, "BOARD_STREAM_SECONDS", 10)  # (bounds the test should no event come)
    world = build(app, None, entries=3, aspects=1, judges=2)  # (a judgement needs two judges)
    board.reset_cache()
    client = app.test_client()
    resp = client.get(f"/api/v1/competitions/{world.competition_id}/board/stream", buffered=False)
    try:
        events = iter(resp.response)
        assert next(events).startswith(b"retry: 2000\nevent: board\n")
        with app.app_context():
            assert db.engine.pool.checkedout() == 0, "between events the stream holds no connection"
            judge = world.judge_ids[0]
            db.session.add(Mark(entry_id=world.entry_ids[0], aspect_id=world.aspect_ids[0], judge_id=judge,
                                value=Decimal("7.5"), entered_by_id=judge, confirmed_by_id=judge))
            db.session.commit()  # a change: the stream looks at the board again and sends it
            db.session.remove()
        changed = next(events)
        assert changed.startswith(b"event: board\n") and b'"7.50"' in changed
        with app.app_context():
            assert db.engine.pool.checkedout() == 0
    finally:
        resp.close()
    assert board.stream_slots.open() == 0


@pytest.mark.no_transaction
def test_a_stream_response_dropped_unsent_gives_its_slot_back(isolated_app):
    """An error after the view (an after-request hook that fails, say the commit when the database is busy) replaces
    the stream's response by an error: the server never sees the stream to close it, and its slot would be lost
    for the life of the process."""
    import gc

    from bench._competitions import build

    app = isolated_app
    app.config["PROPAGATE_EXCEPTIONS"] = False  # an error answer, as in production
    app.log_exception = lambda exc_info: None  # (the test's log capture would keep the traceback, and the response)
    world = build(app, None, entries=2, aspects=1, judges=2)
    board.reset_cache()

    @app.after_request
    def fail_after_the_view(resp):
        if resp.mimetype == "text/event-stream":
            raise RuntimeError("after the view")
        return resp

    resp = app.test_client().get(f"/api/v1/competitions/{world.competition_id}/board/stream")
    assert resp.status_code == 500
    gc.collect()
    assert board.stream_slots.open() == 0


# --- on a real gunicorn ---------------------------------------------------------------------------------------


def _open_stream(port: int, path: str, address: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                 f"X-Forwarded-For: {address}\r\n\r\n".encode())
    return sock


def _status(sock: socket.socket, wait: float) -> int | None:
    """The status of the answer on ``sock``, or None when none came within ``wait`` seconds."""
    sock.settimeout(wait)
    try:
        head = sock.recv(64)
    except TimeoutError:
        return None
    return int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else None


@pytest.mark.no_transaction
def test_streams_over_the_cap_leave_the_server_to_judges_and_health_checks(tmp_path):
    """``gunicorn -w 2 --threads 4`` (the issue's server) with the default caps (2 streams per process, 1 per
    client address; behind a proxy, PROXY_FIX_X_FOR=1): 10 streams more than the 4 both processes keep, each from
    an address of its own. The ones over the cap are refused at once, the others stream — and a judge's mark and
    ``/healthz`` still answer within a second."""
    from tests.competitions.gunicorn_world import competition, mark, request, serve

    world, url = competition(tmp_path)
    server = serve(tmp_path, url, threads=4, env={"PROXY_FIX_X_FOR": "1", "BOARD_STREAMS_PER_PROCESS": "2",
                                                 "BOARD_STREAMS_PER_CLIENT": "1"})
    path = f"/api/v1/competitions/{world.competition_id}/board/stream"
    socks: list[socket.socket] = []
    try:
        assert request(server.port, "GET", path.removesuffix("/stream")).status == 200  # built once, cached
        with ThreadPoolExecutor(4) as pool:  # each worker's first marks (imports, statement caches) before measuring
            warm = list(pool.map(lambda n: mark(server.port, world, judge=1, code=world.codes[n], aspect=1, value="5"),
                                 range(1, 5)))  # (not the first entrant's: its total is the measured mark's)
        assert all(w.status == 200 for w in warm), [w.body[:200] for w in warm]
        socks = [_open_stream(server.port, path, f"198.51.100.{n}") for n in range(1, 2 * 2 + 10 + 1)]
        statuses = [_status(s, wait=5) for s in socks]
        assert None not in statuses, f"every stream is answered at once: {statuses}"
        assert statuses.count(200) <= 4 and statuses.count(503) >= 10, statuses
        health = request(server.port, "GET", "/healthz", timeout=5)
        assert health.status == 200 and health.seconds < 1, health
        stored = mark(server.port, world, judge=0, code=world.codes[0], aspect=0, value="7.5", timeout=5)
        assert stored.status == 200 and stored.json()["results"][0]["status"] == "stored", stored.body[:300]
        assert stored.seconds < 1, stored
        streaming = [s for s, status in zip(socks, statuses, strict=True) if status == 200]
        for sock in streaming:  # the streams kept their threads and send the board the mark changed
            sock.settimeout(5)
            seen = b""
            deadline = time.monotonic() + 5
            while b"7.50" not in seen and time.monotonic() < deadline:
                seen += sock.recv(65536)
            assert b"7.50" in seen
    finally:
        for sock in socks:
            sock.close()
        server.stop()
        server.report_trouble()
