"""The public live board (venue screen): codes and running totals during the event, the published public view
after publication, and an optional freeze.

Phases (``phase`` in the JSON):
    not_started   before the competition runs: no entries
    live          running / scoring closed: entrant codes, running totals (partial marks allowed), ranks — never
                  names, enterprises or ids
    frozen        ``board_freeze_at`` is past and nothing is published yet: the board as of the freeze time (marks
                  created later are left out) — the public sees no later updates until publication
    published     the latest published version's public view (names per consent, masked otherwise)
    unavailable   the scores cannot be computed (``problem``: the error code, e.g. an invalid scheme)

Cache: the board JSON is built once per *version* of the competition's board (``board_version``). Its parts:
``invalidate_board(id)`` bumps a counter (the marks area calls it after a commit; ORM changes of marks, entries,
modules, competitions, result versions and consents also bump it automatically on commit), in this process without
``REDIS_URL``, in Redis with it (``jiangxin:board:v:<id>``; prefix ``BOARD_REDIS_PREFIX``). The database itself says
what other processes committed: on a SQLite file each process notices every other one's commits (``PRAGMA
data_version``, looked at every 0.25 s at most: ``_DataVersion``); on PostgreSQL every board request reads the head
of the competition's audit stream and the newest consent row (one statement, two index seeks, no write:
``_stored_version``). So several gunicorn workers, on one host or several, serve the new board at their next request
after a mark, whichever worker stored it, with or without Redis. With ``REDIS_URL`` the built JSON lives in Redis
too (``jiangxin:board:json:<id>``): a board is built once for every worker, not once per worker.

Clients: ``GET /api/v1/competitions/<id>/board`` (ETag; send If-None-Match to get 304 while nothing changed) or
``GET …/board/stream`` (Server-Sent Events, ``event: board`` with the JSON whenever the version changes; the stream
ends after ``BOARD_STREAM_SECONDS`` (60 s) and EventSource reconnects by itself). Clients that cannot use
EventSource poll the JSON every 1–2 s with If-None-Match: an unchanged board costs a 304 and no body. Every request
goes through the view; an unchanged board costs no building (only the version check and the cache lookup).
The JSON and the anonymous board page are public and carry ``CACHE_CONTROL`` (one second), so a reverse proxy in
front of the app can micro-cache them (``deploy/nginx/jiangxin.conf``): however many screens poll a board, the app
answers about one of their requests a second per proxy. That is how a venue's crowd is served.
A stream holds one of its worker's threads for its lifetime, so a process keeps only a few open
(``BOARD_STREAMS_PER_PROCESS``, ``BOARD_STREAMS_PER_CLIENT`` per client address: ``StreamSlots``) and refuses the
others at once (503 / 429 with ``Retry-After``); the board page then polls. Between its looks at the board a stream
holds no database connection.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.orm import Session
from werkzeug.http import parse_etags

from app.db import db, utcnow
from app.errors import DomainError, NotFound
from app.people.models import Consent
from competitions.domain import ResultStatus, Standing, quantize_total, rank
from competitions.models import (
    Competition,
    CompetitionTransition,
    DifficultyFactor,
    Entry,
    Mark,
    Module,
    ResultVersion,
)
from competitions.services.marks.common import mark_stored
from competitions.services.results import load, published_results, score_loaded

LIVE_STATES = frozenset({"running", "scoring_closed"})
GLOBAL = 0  # every board's version (a change whose competition is not known)

_lock = threading.Lock()
_versions: dict[int, int] = {}
_cache: dict[int, tuple[tuple[int, int, str], bytes, str, float]] = {}  # id → (version, body, etag, valid until)
_frozen: dict[tuple[int, str], tuple[bytes, str]] = {}  # (id, freeze time) → (body, etag)
_build_locks: dict[int, threading.Lock] = {}


# --- versions ------------------------------------------------------------------------------------------------


def _redis(app=None):
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client = app.extensions.get("jiangxin_board_redis")
    if client is None:
        import redis

        client = app.extensions["jiangxin_board_redis"] = redis.Redis.from_url(url)
    return client


def _prefix(app=None) -> str:
    return (app or current_app).config.get("BOARD_REDIS_PREFIX", "jiangxin:board:")


def board_version(competition_id: int, app=None) -> tuple[int, int, str]:
    """The current (global, competition, stored) version of the board (``app``: outside an app context).

    The first two are bumped by commits (``invalidate_board``): in Redis when there is one, else this process's own;
    on a SQLite file the global part also counts the commits that other connections made meanwhile
    (``_DataVersion``), so a mark stored by another gunicorn worker (or the command line) changes every worker's
    boards too, not only the one that stored it. The third is read from any other database at every call
    (``_stored_version``), so that several processes on PostgreSQL see each other's changes with or without Redis."""
    app = app or current_app
    r = _redis(app)
    if r is not None:
        p = _prefix(app)
        g, v = r.mget(f"{p}v:{GLOBAL}", f"{p}v:{competition_id}")
        return int(g or 0), int(v or 0), _stored_version(app, competition_id)
    return (_versions.get(GLOBAL, 0) + _data_version(app)(), _versions.get(competition_id, 0),
            _stored_version(app, competition_id))


_STORED_KEY = "jiangxin_board_stored_version"


def _stored_version(app, competition_id: int) -> str:
    """What the database says of a board's freshness, read when the board is asked for — on a database other than
    SQLite ("" on SQLite, whose every commit ``_DataVersion`` already sees, and without a database).

    One statement of index seeks, and no write anywhere: the sum of the heads of the competition's audit streams
    (every service that changes what its board shows — marks and their confirmations, corrections, entries and
    codes, the scheme, difficulty factors, the lifecycle and the freeze time, decoding, publication — appends to one
    of them in the same transaction, ``competitions.services.common.audit_streams``; a head only grows, so their sum
    moves with every append) and the newest consent row of anyone (the published board shows names per consent). So
    marks of one competition never wait on a shared version row, and a process
    serves another one's mark at its next request, whether or not there is Redis. Changes made around the services
    (SQL by hand, or a test writing rows) reach other processes through ``invalidate_board`` with Redis only."""
    reads = app.extensions.get(_STORED_KEY)
    if reads is None:
        reads = False
        if "sqlalchemy" in app.extensions:
            with app.app_context():
                reads = db.engine.url.get_backend_name() != "sqlite"
        app.extensions[_STORED_KEY] = reads
    if not reads:
        return ""
    from competitions.services.common import audit_streams

    streams = audit_streams(competition_id)
    statement = _stored_version_statement(len(streams))
    params = {f"s{i}": stream for i, stream in enumerate(streams)}
    if _has_app():
        head, consent = db.session.execute(statement, params).one()
    else:
        with app.app_context():
            head, consent = db.session.execute(statement, params).one()
            db.session.remove()
    return f"{head or 0}-{consent or 0}"


@cache
def _stored_version_statement(streams: int):
    """The sum of the heads of ``streams`` streams (bound as ``s0``, ``s1`` …) and the newest consent. Built once."""
    from app.audit.services import stream_head
    from app.people.consents import last_change

    heads = [func.coalesce(stream_head(bindparam(f"s{i}")), 0) for i in range(streams)]
    return select(sum(heads[1:], heads[0]), last_change())


class _DataVersion:
    """How many times another connection — of this process or any other — has committed to the app's SQLite file,
    as seen by a read-only connection of our own that never writes: SQLite's ``PRAGMA data_version`` changes
    exactly when another connection committed. It looks at most every ``INTERVAL`` seconds (a venue screen polls
    the board every 1–2 s, many screens at once): another process's mark shows within that, this process's own at
    once (``invalidate_board``). Any commit counts (a mark, a login), which at worst rebuilds a board once more
    than needed."""

    INTERVAL = 0.25  # seconds

    def __init__(self, path: str) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._pid = 0
        self._connection: sqlite3.Connection | None = None
        self._last: int | None = None
        self._changes = 0
        self._looked = float("-inf")

    def __call__(self) -> int:
        if time.monotonic() - self._looked < self.INTERVAL and self._pid == os.getpid():
            return self._changes
        with self._lock:
            self._looked = time.monotonic()
            if self._pid != os.getpid():  # a forked process opens its own connection
                self._pid, self._connection, self._last = os.getpid(), None, None
            try:
                if self._connection is None:
                    self._connection = sqlite3.connect(f"{Path(self._path).resolve().as_uri()}?mode=ro", uri=True,
                                                       isolation_level=None, check_same_thread=False)
                (value,) = self._connection.execute("PRAGMA data_version").fetchone()
            except sqlite3.Error:  # no database file yet: nothing to see
                self._connection = None
                return self._changes
            if value != self._last:
                if self._last is not None:
                    self._changes += 1
                self._last = value
            return self._changes


def _no_other_writers() -> int:
    return 0


_DATA_VERSION_KEY = "jiangxin_board_data_version"


def _data_version(app):
    """The app's ``_DataVersion`` (SQLite file), or a constant 0 (PostgreSQL, in-memory SQLite)."""
    found = app.extensions.get(_DATA_VERSION_KEY)
    if found is None:
        found = _no_other_writers
        if "sqlalchemy" in app.extensions:  # (not in a bare Flask app without a database)
            with app.app_context():
                url = db.engine.url
            memory = not url.database or url.database == ":memory:" or "mode=memory" in url.database
            if url.get_backend_name() == "sqlite" and not memory:
                found = _DataVersion(url.database)
        app.extensions[_DATA_VERSION_KEY] = found
    return found


def invalidate_board(competition_id: int | None = None) -> None:
    """Mark the board of ``competition_id`` (None: every board) as changed. Call after the commit."""
    key = GLOBAL if competition_id is None else competition_id
    r = _redis() if _has_app() else None
    if r is not None:
        try:
            r.incr(f"{_prefix()}v:{key}")
            return
        except Exception:  # runs after a commit: never turn a stored change into an error
            current_app.logger.warning("board: Redis unavailable, version of board %s not bumped", key)
    with _lock:
        _versions[key] = _versions.get(key, 0) + 1


def _has_app() -> bool:
    from flask import has_app_context

    return has_app_context()


# Automatic invalidation: ORM writes of what the board shows bump the version when the session commits. A consent
# (given or withdrawn: the published board shows names per consent) bumps every board: it is rare.
_WATCHED = (Mark, Entry, Module, Competition, CompetitionTransition, ResultVersion, DifficultyFactor, Consent)


@event.listens_for(Session, "after_flush")
def _collect(session, _ctx) -> None:
    pending = session.info.setdefault("board_changed", set())
    entry_ids: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, _WATCHED):
            continue
        if isinstance(obj, Competition):
            pending.add(obj.id)
        elif isinstance(obj, Entry | Module | ResultVersion | CompetitionTransition):
            pending.add(obj.competition_id)
        elif isinstance(obj, Mark):
            entry_ids.add(obj.entry_id)
        else:
            pending.add(None)
    if entry_ids:  # a mark names only its entry: its competition is looked up once, before the commit
        session.info.setdefault("board_marked_entries", set()).update(entry_ids)


@mark_stored.connect
def _marked(competition_id: int, *, session: Session, **_: Any) -> None:
    """A judge's mark (or a correction) stored through ``store_revision``, which writes with Core statements that
    ``_collect`` does not see: the board of its competition changes at the commit."""
    session.info.setdefault("board_changed", set()).add(competition_id)


@event.listens_for(Session, "before_commit")
def _resolve_marked_entries(session) -> None:
    entry_ids = session.info.pop("board_marked_entries", None)
    if entry_ids:
        session.info.setdefault("board_changed", set()).update(session.execute(
            select(Entry.competition_id).where(Entry.id.in_(entry_ids)).distinct()).scalars())


@event.listens_for(Session, "after_commit")
def _bump(session) -> None:
    changed = session.info.pop("board_changed", None)
    if session.info.pop("board_marked_entries", None):  # marks flushed by the commit itself: whose, unknown
        changed = {*(changed or ()), None}
    if changed:
        for cid in changed:
            invalidate_board(cid)


# No rollback listener: a change collected in a rolled-back (or savepoint) transaction only causes one spare
# rebuild at the next commit, which is harmless; dropping it could lose a real change.


# --- building ----------------------------------------------------------------------------------------------


def _encode(payload: dict[str, Any]) -> tuple[bytes, str]:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _live_rows(competition: Competition, as_of: datetime | None) -> list[dict[str, Any]]:
    loaded = load(competition, as_of=as_of)
    scores = score_loaded(loaded, partial=True)
    standings = [Standing.from_score(scores[e["entry_id"]]) if e["entry_id"] in scores
                 else Standing.unranked(e["entry_id"], ResultStatus.ABSENT) for e in loaded.entries]
    codes = {e["entry_id"]: e["code"] for e in loaded.entries}
    rows = []
    for r in rank(standings, ()):
        score = scores.get(r.entry_id)
        rows.append({"code": codes[r.entry_id], "rank": r.rank, "shared": r.shared,
                     "total": None if r.total is None else format(quantize_total(r.total), "f"),
                     "complete": bool(score and score.complete)})
    return rows


def build_board(competition: Competition, now: datetime | None = None) -> dict[str, Any]:
    """The board payload of a competition (no cache)."""
    now = now or utcnow()
    head = {"id": competition.id, "name": competition.name, "status": competition.status}
    if competition.status == "published":
        pub = published_results(competition.id)
        return {"competition": head, "phase": "published", "version": pub["version"], "modules": pub["modules"],
                "entries": pub["entries"]}
    if competition.status not in LIVE_STATES:
        return {"competition": head, "phase": "not_started", "entries": []}
    freeze = competition.board_freeze_at
    frozen = freeze is not None and freeze <= now
    try:
        rows = _live_rows(competition, freeze if frozen else None)
    except DomainError as exc:  # e.g. a scheme that cannot score: the board says so instead of failing
        return {"competition": head, "phase": "unavailable", "problem": exc.code, "entries": []}
    if frozen:
        return {"competition": head, "phase": "frozen", "frozen_at": freeze.isoformat(), "entries": rows}
    return {"competition": head, "phase": "live", "frozen_at": None, "entries": rows}


def _visible(competition_id: int) -> Competition:
    competition = db.session.get(Competition, competition_id)
    if competition is None or competition.status == "draft":
        from flask_babel import gettext as _

        raise NotFound(_("No such competition."))
    return competition


def _cached(competition_id: int, app=None) -> tuple[str, bytes, str, float] | None:
    """(version text, body, etag, valid until) of the cached board, or None."""
    r = _redis(app)
    if r is not None:
        cached = r.get(f"{_prefix(app)}json:{competition_id}")
        if not cached:
            return None
        head, _sep, body = cached.partition(b"\n")
        v, etag, until = head.decode().split(" ")
        return v, body, etag, float(until)
    hit = _cache.get(competition_id)
    return None if hit is None else (_version_text(hit[0]), hit[1], hit[2], hit[3])


@contextmanager
def _build_lock(competition_id: int, *, wait: bool) -> Iterator[bool]:
    """One builder per board at a time (per process, or across workers with Redis); yields whether we hold it."""
    r = _redis()
    if r is not None:
        key = f"{_prefix()}lock:{competition_id}"
        held = bool(r.set(key, b"1", nx=True, ex=10))
        try:
            yield held or wait  # with Redis a waiting builder just builds too (rare: no stale body yet)
        finally:
            if held:
                r.delete(key)
        return
    with _lock:
        lock = _build_locks.setdefault(competition_id, threading.Lock())
    held = lock.acquire(blocking=wait)
    try:
        yield held
    finally:
        if held:
            lock.release()


# The public board (JSON and the anonymous page): any cache may keep it for one second. Screens poll every 1–2 s
# and the stream follows changes within half a second, so a reverse proxy's micro-cache answers nearly all polls.
CACHE_CONTROL = "public, max-age=1"


def not_modified(etag: str, if_none_match: str | None) -> bool:
    """Whether a request's ``If-None-Match`` header names the board's ``etag`` (weak comparison, as RFC 9110 asks
    for If-None-Match: a proxy that compresses the body weakens the tag)."""
    return bool(if_none_match) and parse_etags(if_none_match).contains_weak(etag.strip('"'))


def get_board(competition_id: int, *, fresh: bool = False) -> tuple[bytes, str]:
    """The board JSON and its ETag, from the cache when the board's version has not changed.

    A live board with a freeze time ahead is cached only until that time; a frozen board is cached under its
    freeze time and never rebuilt until publication (or a new freeze time). While one request rebuilds a board,
    the others keep getting the previous body (stale while rebuilding) instead of all building it at once —
    except with ``fresh``, which waits for that rebuild (a stream, which must not take the old body for the new
    version: it would not send the new one until the next change).
    """
    version = board_version(competition_id)
    wanted = _version_text(version)
    hit = _cached(competition_id)
    if hit is not None and hit[0] == wanted and time.time() < hit[3]:
        return hit[1], hit[2]
    stale = None if hit is None else (hit[1], hit[2])
    with _build_lock(competition_id, wait=fresh or stale is None) as building:
        if not building:
            return stale  # type: ignore[return-value]
        hit = _cached(competition_id)  # built by another request while we waited?
        if hit is not None and hit[0] == wanted and time.time() < hit[3]:
            return hit[1], hit[2]
        return _rebuild(competition_id, version)


def _version_text(version: tuple[int, int, str]) -> str:
    return f"{version[0]}.{version[1]}.{version[2]}"


def _rebuild(competition_id: int, version: tuple[int, int, str]) -> tuple[bytes, str]:
    competition = _visible(competition_id)
    now = utcnow()
    freeze = competition.board_freeze_at
    until = float("inf")
    frozen_key = None
    if competition.status in LIVE_STATES and freeze is not None:
        if freeze <= now:
            frozen_key = (competition_id, freeze.isoformat())
        else:
            until = freeze.timestamp()
    hit_frozen = _frozen.get(frozen_key) if frozen_key is not None else None
    if hit_frozen is not None:
        body, etag = hit_frozen
    else:
        body, etag = _encode(build_board(competition, now))
        if frozen_key is not None:
            _frozen[frozen_key] = (body, etag)
    _store(competition_id, version, body, etag, until)
    return body, etag


def _store(competition_id: int, version: tuple[int, int, str], body: bytes, etag: str, until: float) -> None:
    r = _redis()
    if r is not None:
        head = f"{_version_text(version)} {etag} {until!r}\n"
        r.set(f"{_prefix()}json:{competition_id}", head.encode() + body, ex=3600)
        return
    _cache[competition_id] = (version, body, etag, until)


def reset_cache() -> None:
    """Forget every cached board (tests)."""
    with _lock:
        _cache.clear()
        _frozen.clear()


# --- streaming -----------------------------------------------------------------------------------------------


class StreamSlots:
    """The board streams open in this process, in all and per client address.

    A stream holds one of the worker's threads for its whole life (up to ``BOARD_STREAM_SECONDS``): without a cap, a
    few visitors (8 anonymous streams on ``gunicorn -w 2 --threads 4``) held every thread, and logins, judges' marks
    and ``/healthz`` waited for a minute. ``take`` gives a slot or refuses at once; the slot is given back when the
    stream ends, however it ends (``Response.call_on_close``: the server closes the response when the client goes),
    or when its response is dropped unsent (an error after the view; ``weakref.finalize`` in the view)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open = 0
        self._by_client: dict[str, int] = {}

    def take(self, client: str, *, per_process: int, per_client: int) -> str | None:
        """A slot for ``client``: None when taken, otherwise the cap that refuses it ("process" or "client")."""
        with self._lock:
            if self._open >= per_process:
                return "process"
            if self._by_client.get(client, 0) >= per_client:
                return "client"
            self._open += 1
            self._by_client[client] = self._by_client.get(client, 0) + 1
            return None

    def give_back(self, client: str) -> None:
        with self._lock:
            self._open -= 1
            left = self._by_client.get(client, 1) - 1
            if left > 0:
                self._by_client[client] = left
            else:
                self._by_client.pop(client, None)

    def open(self) -> int:
        with self._lock:
            return self._open


stream_slots = StreamSlots()


def open_stream_slot(competition_id: int, client: str):
    """Take one of this process's stream slots for ``client`` (its address), or refuse the stream: 503 when the
    process has ``BOARD_STREAMS_PER_PROCESS`` open, 429 when this client has ``BOARD_STREAMS_PER_CLIENT``. The
    refusal says when to try again (``Retry-After``: a stream's lifetime, by which every open one has ended) and
    where to poll meanwhile (``details.poll``); the board page falls back to polling by itself. Returns the
    function that gives the slot back (call it once)."""
    from flask import url_for
    from flask_babel import gettext as _

    config = current_app.config
    refused = stream_slots.take(client, per_process=int(config.get("BOARD_STREAMS_PER_PROCESS", 2)),
                                per_client=int(config.get("BOARD_STREAMS_PER_CLIENT", 1)))
    if refused is not None:
        lifetime = int(config.get("BOARD_STREAM_SECONDS", 60))
        poll = url_for("competitions_results_api.Board", competition_id=competition_id)
        if refused == "process":
            raise DomainError(_("Too many live-board streams are open on this server. Poll the board instead, with "
                                "If-None-Match."), code="board_streams_busy", status=503, retry_after=lifetime,
                              details={"poll": poll})
        raise DomainError(_("Too many live-board streams are open from your address. Poll the board instead, with "
                            "If-None-Match."), code="board_streams_per_client", status=429, retry_after=lifetime,
                          details={"poll": poll})
    given_back = threading.Event()

    def give_back() -> None:
        if not given_back.is_set():
            given_back.set()
            stream_slots.give_back(client)

    return give_back


def sse_event(body: bytes, etag: str) -> bytes:
    return b"event: board\nid: " + etag.strip('"').encode() + b"\ndata: " + body + b"\n\n"


def stream(competition_id: int, *, lifetime: float | None = None, poll: float = 0.5,
           clock=time.monotonic, sleep=time.sleep) -> Iterator[bytes]:
    """Server-Sent Events: the board now, then again whenever it changes; polls the version every ``poll``
    seconds and ends after ``lifetime`` (``BOARD_STREAM_SECONDS``, 60 s). Needs an app context (the view wraps it
    in ``stream_with_context``). Holds no database connection between polls: each look at the database ends its
    transaction, which gives the connection back to the pool."""
    lifetime = current_app.config.get("BOARD_STREAM_SECONDS", 60) if lifetime is None else lifetime
    try:
        last_version = board_version(competition_id)
        body, etag = get_board(competition_id, fresh=True)  # (fresh: not a body older than the version noted)
    finally:
        db.session.rollback()  # reads only: end the transaction, hold no snapshot (nor connection) between polls
    yield b"retry: 2000\n" + sse_event(body, etag)
    ends = clock() + lifetime
    last_beat = clock()
    while clock() < ends:
        sleep(poll)
        try:
            version = board_version(competition_id)
            changed = version != last_version
            if changed:
                last_version = version
                new_body, new_etag = get_board(competition_id, fresh=True)
        finally:
            db.session.rollback()
        if changed and new_etag != etag:
            body, etag = new_body, new_etag
            yield sse_event(body, etag)
        elif clock() - last_beat >= 15:
            last_beat = clock()
            yield b": keep-alive\n\n"


__all__ = ["CACHE_CONTROL", "board_version", "build_board", "get_board", "invalidate_board", "not_modified",
           "open_stream_slot", "reset_cache", "stream", "stream_slots"]
