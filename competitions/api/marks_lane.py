"""The marks API's token lane: a judge's batch of own marks sent with ``Authorization: Bearer``, stored before the
framework runs, many batches sharing one write transaction on SQLite.

Why: a judge's mark is the app's hottest write (every tablet or script autosaves each mark as it is entered; at a
venue dozens arrive each second). Through Flask a mark cost ~2 ms of CPU (measured in-process, with the statements
already on the DB-API cursor), ~1 ms of it framework — routing, hooks, the login loader's ORM user, flask-smorest's
and webargs' decorators — and on SQLite every mark also paid for a write transaction of its own (its turn for the
one write lock, BEGIN, re-reading the pages another process's write made stale, COMMIT). The lane answers the plain
success of ``POST /api/v1/competitions/<id>/marks`` with the same parser (JSON numbers exact), the same item
schema, the same token rules (``live_token``), the same role rule, the same service (``plan_marks`` and
``store_planned``, what ``submit_marks`` runs under the write lock), the same body and the same headers as the
view. On SQLite, batches that arrive together share one write transaction (``app.grouped_writes``): read for in
one go (``GroupReads``: the tokens' judges and six queries for the whole group, instead of five or six per batch;
two, once the lane keeps what seldom changes: ``competitions.services.marks_setup``), then each checked and written
in turn exactly as if alone.

Whatever is not a plain success — a session cookie (the judge page: the app, with its CSRF check), a query
string, a body that is not JSON or does not pass the schema, an unknown or revoked token, a user who is not a
judge, any refusal of the service (a batch is all or nothing: nothing of it was written), any error — goes to the
app, which answers the same request from the start, so every refusal and error message is the app's own, in the
request's language. ``MARKS_TOKEN_FAST_PATH = False`` sends every batch through the app.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import marshmallow as ma
from sqlalchemy import bindparam, select
from werkzeug.exceptions import HTTPException

from app.accounts.models import ApiToken, Role, User, UserRole, live_token
from app.accounts.services import note_token_use, token_use_is_stale
from app.api import parse_json_exact
from app.audit.services import audit_ip
from app.crypto import token_digest
from app.db import db, fast_rows, utcnow, writes_so_far
from app.errors import DomainError
from app.grouped_writes import NOT_DONE, GroupCommit, Job
from app.security import SECURITY_HEADERS
from competitions.api.marks import DecimalJSONParser, _batch, _inputs
from competitions.schemas.marks import MarksItemSchema
from competitions.services import marks as services
from competitions.services.marks_setup import SetupCache

log = logging.getLogger(__name__)

_MARKS_PATH = re.compile(r"/api/v1/competitions/([1-9][0-9]{0,17})/marks\Z")
_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8", "application/json;charset=utf-8"})
LANE_SETTING = "MARKS_TOKEN_FAST_PATH"  # False: every batch goes through the app
LANE_MAX_BODY = 256 * 1024  # bytes; a larger batch (MAX_BATCH marks fit well within) goes through the app
_ITEMS = MarksItemSchema(many=True)


def _token_judges_statement():
    t, u, r = ApiToken.__table__, User.__table__, UserRole.__table__
    return (select(t.c.token_hash, t.c.id.label("token_id"), t.c.last_used_at, u.c.id, u.c.username, r.c.role)
            .select_from(t.join(u, u.c.id == t.c.user_id).outerjoin(r, r.c.user_id == u.c.id))
            .where(*live_token(bindparam("digests", expanding=True), any_of=True)))


_TOKEN_JUDGES = _token_judges_statement()  # one row per live token of ``digests`` and role of its user


@dataclass(frozen=True)
class TokenJudge:
    """The token's user as the marks service and the audit log see them (``id``, ``username``, roles), in place of
    the ORM user the login loader would build."""

    id: int
    username: str
    roles: frozenset[str]
    token_id: int
    token_used_at: datetime | None  # the token's "last used" as stored

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


class TokenMarksLane:
    """WSGI middleware in front of the app: see the module's docstring."""

    hits = 0  # batches answered here (tests)

    def __init__(self, app, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._dialect: str | None = None
        self._writes: GroupCommit | None = None
        self._writes_lock = threading.Lock()
        self.setup = SetupCache()  # what marks are checked against, kept between groups (SQLite)

    def __call__(self, environ, start_response):
        answer = None
        if environ.get("REQUEST_METHOD") == "POST":
            match = _MARKS_PATH.match(environ.get("PATH_INFO", ""))
            auth = environ.get("HTTP_AUTHORIZATION", "")
            if (match is not None and auth.startswith("Bearer ") and not environ.get("QUERY_STRING")
                    and "HTTP_COOKIE" not in environ and environ.get("CONTENT_TYPE", "").lower() in _JSON_TYPES
                    and self.app.config.get(LANE_SETTING, True)):
                body = self._body(environ)
                if body is not None:
                    try:
                        answer = self._answer(environ, auth[7:].strip(), int(match.group(1)), body)
                    except Exception:  # the app answers (and reports) whatever went wrong
                        log.exception("marks token lane: falling back to the app")
                        answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        TokenMarksLane.hits += 1
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(answer))),
                                  ("Vary", "Cookie"), *SECURITY_HEADERS])  # Vary: as the app (a session user differs)
        return [answer]

    @staticmethod
    def _body(environ) -> bytes | None:
        """The request body (put back for the app to read again), or None to leave it unread to the app."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= LANE_MAX_BODY:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        return body if len(body) == length else None

    def _answer(self, environ, secret: str, competition_id: int, body: bytes) -> bytes | None:
        try:
            items = _ITEMS.load(parse_json_exact(body, constants_as_decimal=DecimalJSONParser.constants_as_decimal))
        except (ValueError, ma.ValidationError):  # ValueError: not JSON, or not UTF-8
            return None
        batch = _LaneBatch(token_digest(secret), competition_id, _inputs(items), environ.get("REMOTE_ADDR") or "")
        results = self._group().submit(batch) if self._grouped() else self._run_alone(batch)
        if results is NOT_DONE:
            return None
        return (self.app.json.dumps(_batch(results), separators=(",", ":")) + "\n").encode()

    def _grouped(self) -> bool:
        """SQLite: batches share write transactions (one writer at a time anyway). PostgreSQL: each batch has its
        own, as in the app (writers there do not queue behind one lock, and a refused batch must be undone alone)."""
        if self._dialect is None:
            with self.app.app_context():
                self._dialect = db.engine.dialect.name
        return self._dialect == "sqlite"

    def _group(self) -> GroupCommit:
        if self._writes is None:
            with self._writes_lock:
                if self._writes is None:
                    self._writes = GroupCommit(self._run_group)
        return self._writes

    def _run_alone(self, batch: _LaneBatch) -> Any:
        """PostgreSQL: one batch in its own transaction, exactly as the view runs it."""
        with self.app.app_context():  # its own session, as each request of the app has
            try:
                judge = _judges([batch.digest]).get(batch.digest)
                if judge is None:
                    return NOT_DONE
                ip = audit_ip.set(batch.ip)
                try:
                    results = services.submit_marks(judge, batch.competition_id, batch.inputs)
                finally:
                    audit_ip.reset(ip)
                _note_uses([judge])
                db.session.commit()
                return results
            except (HTTPException, DomainError):  # a refusal: the app gives it, in the request's language
                db.session.rollback()
                return NOT_DONE
            except BaseException:
                db.session.rollback()
                raise

    def _run_group(self, take: Callable[[], list[Job]]) -> None:
        """SQLite: a group of batches (see ``app.grouped_writes``) in one write transaction, which holds the write
        lock from its start (``BEGIN IMMEDIATE``, after its turn in the write queue), so that what it reads stays true
        until it commits. Its batches are taken once the lock is held: those that arrived while it waited for its turn
        join it. First, in one query (``start_group``), the setup version (``SetupCache.begin``: what the lane keeps
        between groups stays, or is forgotten) and what holds the group's inserts back (the group's marks and audit
        entries go in one statement each, before its next other statement or its commit). Then the tokens' judges,
        everything the batches are checked against (``GroupReads``: six queries for the whole group instead of four
        or five per batch; two when the tokens, schemes, panels, coded entries and ties are kept from an earlier
        group), then each batch checked and written in turn exactly as the view does under the lock (``plan_marks``,
        ``store_planned``), with its own client address in the audit log — a batch whose marks an earlier batch of
        the group touched is read again.
        A refused batch wrote nothing (everything is checked before its first write) and is left to the app. Anything
        unexpected, or a refusal after a write: the whole group is rolled back and every batch is left to the app.

        (Measured against reading in a transaction of its own and re-checking each batch's stamp under the lock, as
        the view does: less CPU a mark, and more marks a second under gunicorn with two processes, although the lock
        is held while the group is read.)"""
        with self.app.app_context():  # its own session, as each request of the app has
            jobs: list[Job] = []
            try:
                db.session.connection()  # begins the write transaction: its turn in the write queue, BEGIN IMMEDIATE
                # first, under the lock: what it keeps is still true, or it is forgotten; its inserts held back
                services.start_group(self.setup)
                jobs = take()
                judges = self.setup.many("judge", sorted({job.payload.digest for job in jobs}), _judges)
                mine = [(job, judges.get(job.payload.digest)) for job in jobs]
                batches = [services.GroupBatch(judge.id, job.payload.competition_id, job.payload.inputs)
                           for job, judge in mine if judge is not None]
                reads = services.GroupReads(batches, self.setup) if batches else None
                for job, judge in mine:
                    job.result = NOT_DONE if judge is None else self._store(job.payload, judge, reads)
                _note_uses([judge for job, judge in mine if judge is not None and job.result is not NOT_DONE])
                db.session.commit()
            except BaseException as exc:
                self.setup.discard()
                db.session.rollback()
                for job in jobs:
                    job.result = NOT_DONE
                if not isinstance(exc, _UndoGroup):
                    raise

    @staticmethod
    def _store(batch: _LaneBatch, judge: TokenJudge, reads: services.GroupReads | None) -> Any:
        try:
            plan = services.plan_marks(judge, batch.competition_id, batch.inputs, reads=reads)
        except (HTTPException, DomainError):  # a refusal: the app gives it, in the request's language
            return NOT_DONE
        if not plan.writes:
            return plan.nothing_to_write()
        written = writes_so_far()
        ip = audit_ip.set(batch.ip)
        try:
            return services.store_planned(plan, reads)
        except (HTTPException, DomainError):  # not expected (checked under the lock), but refused after all
            if writes_so_far() != written:
                raise _UndoGroup() from None  # it may have written (or held back) something: undo the whole group
            return NOT_DONE
        finally:
            audit_ip.reset(ip)


def _judges(digests: list[str]) -> dict[str, TokenJudge]:
    """Token digest → its user, for the live tokens among ``digests`` whose users are judges (the others: the app
    answers 401 or 403). One query."""
    roles: dict[str, tuple[Any, set[str]]] = {}
    for row in fast_rows(_TOKEN_JUDGES, {"digests": digests}):
        roles.setdefault(row.token_hash, (row, set()))[1].add(row.role)
    return {digest: TokenJudge(row.id, row.username, frozenset(r for r in found if r), row.token_id, row.last_used_at)
            for digest, (row, found) in roles.items() if Role.JUDGE in found}


def _note_uses(judges: list[TokenJudge]) -> None:
    """The tokens' "last used", as the app notes it for the requests it answers (once an hour per token)."""
    now = utcnow()
    note_token_use([j.token_id for j in judges if token_use_is_stale(j.token_used_at, now)], now)


class _UndoGroup(Exception):
    """A batch was refused where its writes cannot be told apart from the group's: roll the group back (every
    batch of it goes to the app)."""


@dataclass(frozen=True)
class _LaneBatch:
    digest: str
    competition_id: int
    inputs: list
    ip: str


def token_lane(app) -> TokenMarksLane | None:
    """The app's ``TokenMarksLane`` among its WSGI middleware, if installed."""
    layer = app.wsgi_app
    while layer is not None:
        if isinstance(layer, TokenMarksLane):
            return layer
        layer = getattr(layer, "wsgi_app", None)
    return None


def install_token_lane(app) -> None:
    """Put ``TokenMarksLane`` in front of the app (once)."""
    if token_lane(app) is None:
        app.wsgi_app = TokenMarksLane(app, app.wsgi_app)
