"""The hot public read, the live board, through the view: an unchanged board comes from the per-version cache
without a database statement (on PostgreSQL: one, the board's stored version), answers 304 to its ETag, and is
public for a second (a reverse proxy micro-caches it), never with a cookie; the limiter skips ``unlimited_read``
views; a request that never used the database makes no session just to commit it."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.db import db
from app.extensions import is_unlimited_read, limiter
from competitions.services import board
from tests.competitions.results_fixtures import rw  # noqa: F401


def _count_builds(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = board._rebuild

    def counting(competition_id: int, version):
        calls.append(competition_id)
        return original(competition_id, version)

    monkeypatch.setattr(board, "_rebuild", counting)
    return calls


class _Statements:
    """The SQL statements the app runs meanwhile (not the transaction's own BEGIN/SAVEPOINT/…)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, conn, cursor, statement, *args) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")):
            self.seen.append(statement)

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(db.engine, "before_cursor_execute", self)


def test_an_unchanged_board_comes_from_the_cache_without_building(rw, monkeypatch):  # noqa: F811
    rw.fill()
    board.reset_cache()
    calls = _count_builds(monkeypatch)
    url, headers = rw.url("/board"), rw.headers("anonymous")
    first = rw.anonymous_client.get(url, headers=headers)
    with _Statements() as statements:
        second = rw.anonymous_client.get(url, headers=headers)
    assert first.status_code == second.status_code == 200
    assert calls == [rw.competition.id]  # built once for this version
    if db.engine.dialect.name == "sqlite":
        assert statements.seen == []  # the cache hit read nothing from the database (_DataVersion watches the file)
    else:  # one read of what the database says changed, so that every worker is fresh (board._stored_version)
        assert len(statements.seen) == 1 and "audit_entry" in statements.seen[0] and "consent" in statements.seen[0]
    assert second.data == first.data
    assert sorted(second.headers.items()) == sorted(first.headers.items())  # CSP, nosniff, ETag … the same
    assert second.headers["Content-Security-Policy"] and "Set-Cookie" not in second.headers

    rw.mark("A104", rw.p2, "j1", 20)  # a mark change bumps the version: the board is built again, with the change
    db.session.commit()
    third = rw.get("anonymous", "/board")
    assert len(calls) == 2 and third.headers["ETag"] != first.headers["ETag"]
    assert {e["code"]: e["total"] for e in third.get_json()["entries"]}["A104"] == "78.67"


def test_304_for_the_board_s_etag_only_and_head_answers_too(rw, monkeypatch):  # noqa: F811
    rw.fill()
    board.reset_cache()
    calls = _count_builds(monkeypatch)
    etag = rw.get("anonymous", "/board").headers["ETag"]
    for sent in (etag, f"W/{etag}", f'"something-else", {etag}'):
        resp = rw.get("anonymous", "/board", headers={"If-None-Match": sent})
        assert resp.status_code == 304 and resp.data == b"" and resp.headers["ETag"] == etag, sent
        assert resp.headers["Cache-Control"] == board.CACHE_CONTROL
    other = rw.get("anonymous", "/board", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.headers["ETag"] == etag
    head = rw.anonymous_client.head(rw.url("/board"))
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    assert calls == [rw.competition.id]


def test_the_board_is_public_for_a_second_and_never_sets_a_cookie(rw):  # noqa: F811
    rw.fill()
    for role in ("anonymous", "judge", "organizer"):  # (the anonymous client sends a session cookie)
        resp = rw.get(role, "/board")
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "public, max-age=1"
        assert "Set-Cookie" not in resp.headers
        assert "Cookie" not in resp.headers.get("Vary", "")  # the same board whatever cookies come with the request
    stream = rw.anonymous_client.get(rw.url("/board/stream"), buffered=False)
    try:
        assert stream.headers["Cache-Control"] == "no-cache" and stream.headers["X-Accel-Buffering"] == "no"
    finally:
        stream.close()


def test_the_big_screen_page_is_public_and_the_page_with_a_header_is_not(rw):  # noqa: F811
    rw.fill()
    visitor = rw.client.application.test_client()  # no cookie at all
    screen = visitor.get(f"/board/{rw.competition.id}?screen=1")
    assert screen.status_code == 200 and screen.headers["Cache-Control"] == "public, max-age=1"
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in screen.headers["Vary"].split(",")}
    assert "Set-Cookie" not in screen.headers and 'name="csrf-token"' not in screen.get_data(as_text=True)
    page = visitor.get(f"/board/{rw.competition.id}")  # header, log-in link, CSRF token in a session cookie
    assert page.status_code == 200 and "public" not in page.headers["Cache-Control"]
    assert "no-store" in page.headers["Cache-Control"]


def test_a_hidden_competition_is_never_answered_from_the_cache(rw):  # noqa: F811
    rw.fill()
    assert rw.get("anonymous", "/board").status_code == 200
    rw.competition.status = "draft"  # a status change bumps the version on commit
    db.session.commit()
    resp = rw.get("anonymous", "/board")
    assert resp.status_code == 404 and "public" not in resp.headers.get("Cache-Control", "")


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
