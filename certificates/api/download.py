"""JSON API side of certificate downloads: ``GET /api/v1/certificates/<id>/pdf`` (the same rules as the page).

A phone app or a script downloads with ``Authorization: Bearer …``; :class:`TokenPdfDownload` answers the plain
case of that (a GET with a token and no cookie or conditional header, a certificate the token's user may download,
its PDF in the store) before the framework runs, in one statement: the token (not revoked) and its user (enabled)
with their roles, and the certificate's download facts. Access is decided by the same ``render.can_download``;
everything else — no or a bad token, a certificate that is not theirs (404) or a role that may not download at
all (403), a PDF not rendered yet, If-None-Match, HEAD, a session cookie — goes through the app as before, so
every refusal and error is the app's own answer. Nothing is kept between requests: a revoked token or a disabled
user is refused on the very next request.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from flask import request
from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import bindparam, select

from app.accounts.models import ApiToken, Role, User, UserRole, live_token
from app.api import Blueprint
from app.auth import roles_required
from app.crypto import token_digest
from app.db import db, sqlite_begin_mode
from app.extensions import unlimited_read
from app.security import SECURITY_HEADERS
from certificates.models import Certificate
from certificates.services import render

log = logging.getLogger(__name__)

blp = Blueprint("certificates_download_api", __name__, url_prefix="/api/v1", description="Certificates: PDF download")

PDF_RESPONSES = {
    "200": {"description": "The PDF (ETag = its SHA-256; Content-Disposition with a UTF-8 file name)",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
    "304": {"description": "Not modified (If-None-Match named the current ETag)"},
    "404": {"description": "No such certificate, or not yours to download"},
}


@blp.route("/certificates/<int:certificate_id>/pdf")
class CertificatePdf(MethodView):
    # No rate limit applies to downloads (none is declared and there are no default limits): skip the limiter's
    # per-request bookkeeping for GET/HEAD.
    @unlimited_read
    @roles_required(Role.WORKER, Role.HR, Role.ORGANIZER, Role.ADMIN)
    @blp.doc(responses=PDF_RESPONSES, parameters=[{
        "in": "query", "name": "inline", "schema": {"type": "integer", "enum": [0, 1]},
        "description": "1: Content-Disposition inline instead of attachment"}])
    def get(self, certificate_id: int):
        """The certificate's PDF (a worker: their own; HR: their enterprise's; organizers and admins: all)"""
        certificate = render.downloadable(current_user, certificate_id)
        return render.pdf_response(certificate, inline=request.args.get("inline") == "1")


# --- token downloads before the framework ---------------------------------------------------------------------

_PATH = re.compile(r"/api/v1/certificates/([1-9][0-9]{0,17})/pdf\Z")
_QUERIES = {"": False, "inline=0": False, "inline=1": True}
# Any of these and the app answers (a session user takes precedence over a token; conditional GETs; proxies'
# range requests).
_FALL_THROUGH = ("HTTP_COOKIE", "HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_RANGE")
FAST_PATH_SETTING = "CERTIFICATE_PDF_TOKEN_FAST_PATH"  # False: every download goes through the app


def _token_download_statement():
    t, u, r, c = ApiToken.__table__, User.__table__, UserRole.__table__, Certificate.__table__.c
    return (select(u.c.worker_id, r.c.role, r.c.enterprise_id, *render._facts_columns())
            .select_from(t.join(u, u.c.id == t.c.user_id)
                         .outerjoin(r, r.c.user_id == u.c.id)
                         .outerjoin(render._facts_from(), c.id == bindparam("cid")))
            .where(*live_token(bindparam("digest"))))


# One row per role of the token's user (one with no role if they have none); the certificate's columns are NULL
# when there is no such certificate; no row when the token is unknown or revoked or its user disabled.
_TOKEN_DOWNLOAD = _token_download_statement()


@dataclass(frozen=True)
class TokenHolder:
    """The token's user as ``render.can_download`` sees them."""

    roles: frozenset[str]
    hr_enterprise_ids: frozenset[int]
    worker_id: int | None

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)


def token_download(rows) -> tuple[TokenHolder, render.DownloadFacts] | None:
    """The token's user and the certificate's facts from the rows of ``_TOKEN_DOWNLOAD``; None when the token is
    unknown, revoked or its user disabled, or there is no such certificate."""
    if not rows or rows[0][3] is None:
        return None
    holder = TokenHolder(
        roles=frozenset(row[1] for row in rows if row[1] is not None),
        hr_enterprise_ids=frozenset(row[2] for row in rows if row[1] == Role.HR and row[2] is not None),
        worker_id=rows[0][0])
    return holder, render._facts_of(rows[0][3:])


class TokenPdfDownload:
    """WSGI middleware: answers a token's plain download of a stored certificate PDF (see the module's docstring)
    with the same status, headers and body as the app; anything else goes to the app."""

    hits = 0  # answers given here (tests)

    def __init__(self, app, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._compiled = None  # (engine, SQL text, bind names in order if positional)

    def __call__(self, environ, start_response):
        answer = None
        if environ.get("REQUEST_METHOD") == "GET":
            match = _PATH.match(environ.get("PATH_INFO", ""))
            auth = environ.get("HTTP_AUTHORIZATION", "")
            inline = _QUERIES.get(environ.get("QUERY_STRING", ""))
            if (match is not None and auth.startswith("Bearer ") and inline is not None
                    and not any(name in environ for name in _FALL_THROUGH)
                    and self.app.config.get(FAST_PATH_SETTING, True)):
                try:
                    answer = self._answer(auth[7:].strip(), int(match.group(1)), inline)
                except Exception:  # the app answers (and reports) whatever went wrong
                    log.exception("token PDF download: falling back to the app")
                    answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        headers, body = answer
        TokenPdfDownload.hits += 1
        start_response("200 OK", headers)
        return [body]

    def _rows(self, params: dict) -> list:
        """The statement's rows. With the app's own sessions: one statement on a pooled DBAPI connection, outside
        SQLAlchemy's execution and transaction machinery (a read of one statement needs no BEGIN: SQLite reads it in
        autocommit mode, never taking the write lock; PostgreSQL's transaction ends when the pool takes the connection
        back) — most of what it would cost otherwise."""
        if db.session.session_factory.kw.get("bind") is not None:
            return self._rows_in_session(params)  # sessions bound to a connection of their own (tests)
        if self._compiled is None:
            with self.app.app_context():
                engine = db.engine
            compiled = _TOKEN_DOWNLOAD.compile(dialect=engine.dialect)
            self._compiled = (engine, str(compiled), compiled.positiontup if compiled.positional else None)
        engine, sql, order = self._compiled
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(sql, [params[name] for name in order] if order is not None else params)
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool, which rolls back

    def _rows_in_session(self, params: dict) -> list:
        mode = sqlite_begin_mode.set("DEFERRED")  # a read: never SQLite's write lock
        try:
            with self.app.app_context():
                try:
                    return db.session.execute(_TOKEN_DOWNLOAD, params).all()
                finally:
                    db.session.rollback()
        finally:
            sqlite_begin_mode.reset(mode)

    def _answer(self, secret: str, certificate_id: int, inline: bool) -> tuple[list[tuple[str, str]], bytes] | None:
        found = token_download(self._rows({"digest": token_digest(secret), "cid": certificate_id}))
        if found is None or not render.can_download(*found):
            return None
        facts = found[1]
        data = render.read_stored(facts.pdf_sha256, render.store_dir(self.app)) if facts.pdf_sha256 else None
        if data is None:  # not rendered yet, or the file is gone or damaged: the app renders and records it
            return None
        headers = [
            ("Content-Type", "application/pdf"),
            ("Content-Length", str(len(data))),
            ("Content-Disposition", _disposition(facts, inline)),
            ("ETag", f'"{facts.pdf_sha256}"'),
            ("Cache-Control", render.CACHE_CONTROL),
            ("Vary", render.VARY),
            *SECURITY_HEADERS,
        ]
        return headers, data


@lru_cache(maxsize=4096)
def _disposition(facts: render.DownloadFacts, inline: bool) -> str:
    return render.content_disposition(render.download_name(facts), inline=inline)


def install_token_fast_path(app) -> None:
    """Put ``TokenPdfDownload`` in front of the app (once)."""
    if not any(isinstance(layer, TokenPdfDownload) for layer in _layers(app.wsgi_app)):
        app.wsgi_app = TokenPdfDownload(app, app.wsgi_app)


def _layers(wsgi_app):
    while wsgi_app is not None:
        yield wsgi_app
        wsgi_app = getattr(wsgi_app, "wsgi_app", None)


blp.record_once(lambda state: install_token_fast_path(state.app))
