"""The hot public read, the live board: answered from the app's own last response for the same board version
(``board.BoardResponseCache``), never a stale or personal one; the limiter skips ``unlimited_read`` views; a
request that never used the database makes no session just to commit it."""

from __future__ import annotations

import pytest
from flask import Flask

from app.db import db
from app.extensions import is_unlimited_read, limiter
from competitions.services import board
from tests.competitions.results_fixtures import rw  # noqa: F401


def _count_builds(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = board.get_board

    def counting(competition_id: int):
        calls.append(competition_id)
        return original(competition_id)

    monkeypatch.setattr(board, "get_board", counting)
    return calls


def test_an_unchanged_board_is_answered_without_running_the_view_again(rw, monkeypatch):  # noqa: F811
    rw.fill()
    board.reset_cache()
    calls = _count_builds(monkeypatch)
    first = rw.get("anonymous", "/board")
    second = rw.get("anonymous", "/board")
    assert first.status_code == second.status_code == 200
    assert calls == [rw.competition.id]  # the second answer came from the response cache
    assert second.data == first.data
    assert sorted(second.headers.items()) == sorted(first.headers.items())  # CSP, nosniff, ETag … all kept
    assert second.headers["Content-Security-Policy"] and "Set-Cookie" not in second.headers

    rw.mark("A104", rw.p2, "j1", 20)  # a mark change bumps the version: the app answers again, with the change
    db.session.commit()
    third = rw.get("anonymous", "/board")
    assert len(calls) == 2 and third.headers["ETag"] != first.headers["ETag"]
    assert {e["code"]: e["total"] for e in third.get_json()["entries"]}["A104"] == "78.67"


def test_304_only_for_the_exact_etag_and_head_goes_through_the_app(rw, monkeypatch):  # noqa: F811
    rw.fill()
    board.reset_cache()
    calls = _count_builds(monkeypatch)
    etag = rw.get("anonymous", "/board").headers["ETag"]
    for _ in range(2):
        resp = rw.get("anonymous", "/board", headers={"If-None-Match": etag})
        assert resp.status_code == 304 and resp.data == b"" and resp.headers["ETag"] == etag
    assert len(calls) == 2  # the first 304 came from the app, the second from the cache
    other = rw.get("anonymous", "/board", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and len(calls) == 3
    head = rw.anonymous_client.head(rw.url("/board"))
    assert head.status_code == 200 and len(calls) == 4


def test_a_hidden_competition_is_never_answered_from_the_cache(rw):  # noqa: F811
    rw.fill()
    assert rw.get("anonymous", "/board").status_code == 200
    rw.competition.status = "draft"  # a status change bumps the version on commit
    db.session.commit()
    assert rw.get("anonymous", "/board").status_code == 404


def _fake_app(headers: list[tuple[str, str]], etag_in_cache: str, calls: list[int]):
    app = Flask("fake")
    competition_id = 7

    def inner(environ, start_response):
        calls.append(1)
        start_response("200 OK", headers)
        return [b"{}"]

    middleware = board.BoardResponseCache(app, inner)
    version = board.board_version(competition_id, app)
    board._cache[competition_id] = (version, b"{}", etag_in_cache, float("inf"))
    return middleware, competition_id


def _get(middleware, competition_id: int) -> str:
    seen = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": f"/api/v1/competitions/{competition_id}/board"}
    b"".join(middleware(environ, lambda status, headers, exc_info=None: seen.update(status=status)))
    return seen["status"]


def test_responses_with_a_cookie_or_a_stale_body_are_not_kept():
    board.reset_cache()
    try:
        calls: list[int] = []
        cookie, cid = _fake_app([("ETag", '"a"'), ("Set-Cookie", "session=secret")], '"a"', calls)
        assert _get(cookie, cid) == _get(cookie, cid) == "200 OK"
        assert len(calls) == 2  # a response that sets a cookie is personal: never replayed to others

        calls.clear()
        stale, cid = _fake_app([("ETag", '"old"')], '"new"', calls)  # served while another request rebuilt
        _get(stale, cid), _get(stale, cid)
        assert len(calls) == 2

        calls.clear()
        fresh, cid = _fake_app([("ETag", '"new"')], '"new"', calls)
        _get(fresh, cid), _get(fresh, cid)
        assert len(calls) == 1
    finally:
        board.reset_cache()


def test_the_limiter_skips_unlimited_reads_only(app):
    with app.test_request_context("/api/v1/competitions/1/board"):
        assert is_unlimited_read()
    with app.test_request_context("/api/v1/competitions/1/board/stream"):
        assert is_unlimited_read()
    with app.test_request_context("/api/v1/competitions/1/board", method="POST"):
        assert not is_unlimited_read()
    with app.test_request_context("/login", method="GET"):
        assert not is_unlimited_read()
    assert limiter.enabled


@pytest.mark.no_transaction
def test_a_request_that_never_used_the_database_makes_no_session(make_app, sqlite_url):
    app = make_app(sqlite_url)
    seen = {}

    def look(resp):  # runs after the app's commit hook (after_request hooks run last-registered first)
        seen["has_session"] = db.session.registry.has()
        return resp

    app.after_request_funcs.setdefault(None, []).insert(0, look)
    resp = app.test_client().get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert seen == {"has_session": False}
