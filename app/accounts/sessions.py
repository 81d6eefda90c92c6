"""Browser sessions: logging in and out, and Flask-Login's user loader.

Flask's session is a signed cookie, valid for ``PERMANENT_SESSION_LIFETIME`` (31 days) wherever a copy of it is kept.
To make logout mean logout, a session is bound to the server in two ways:

* Flask-Login keeps ``User.get_id()`` — ``"<id>:<session generation>"`` — in the cookie. Raising the user's
  generation (``services._end_sessions``: log out everywhere, a new password, a role removed, the account disabled)
  ends all their sessions.
* The cookie also carries the key of its ``LoginSession`` row (``_session_key``; the table holds its SHA-256); a
  plain logout deletes the row, which ends this one session. A session also ends 31 days after its login.

``load_user`` checks all of it in the statement that loads the user for the request, so no request pays a query
for it. A refused cookie is emptied of its login. API tokens (``Authorization: Bearer``) are not sessions: they are
revoked one by one, and refused when their user is disabled (``services.token_login``).

The first half is the database side (flushes; the request commits), the second the Flask side.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from functools import cache

from flask import current_app, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import bindparam, delete, select

from app.accounts.models import LoginSession, User
from app.crypto import token_digest
from app.db import db, utcnow

# --- the database side -----------------------------------------------------------------------------------------


def open_session(user: User, lifetime: timedelta) -> str:
    """A new browser session of ``user`` (after the password was checked): its secret key, for the session cookie.
    The user's sessions older than ``lifetime`` (which no cookie can still name) are forgotten here."""
    now = utcnow()
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                  LoginSession.created_at <= now - lifetime))
    key = secrets.token_urlsafe(32)
    db.session.add(LoginSession(key_hash=token_digest(key), user_id=user.id, created_at=now))
    db.session.flush()
    return key


def close_session(key: str) -> None:
    """End the one browser session whose cookie carries ``key`` (a plain logout): its cookie no longer works."""
    db.session.execute(delete(LoginSession).where(LoginSession.key_hash == token_digest(key)))


@cache
def _session_user_statement():
    """Built once: the user of a session, if its row exists, it is younger than ``since`` and the user is enabled
    and still in the session's generation. The user's worker and roles load as ``db.session.get`` loads them."""
    return (select(User).join(LoginSession, LoginSession.user_id == User.id)
            .where(User.id == bindparam("user_id"), User.session_generation == bindparam("generation"),
                   User.is_enabled.is_(True), LoginSession.key_hash == bindparam("key_hash"),
                   LoginSession.created_at > bindparam("since")))


def session_user(user_id: int, generation: int, key: str, since: datetime) -> User | None:
    """The user of a browser session, or None (logged out, ended everywhere, too old, disabled). One statement, the
    one that loads the user for the request: checking the session costs no round trip of its own."""
    return db.session.execute(_session_user_statement(), {
        "user_id": user_id, "generation": generation, "key_hash": token_digest(key), "since": since,
    }).scalar_one_or_none()


# --- the Flask side --------------------------------------------------------------------------------------------

SESSION_KEY = "_session_key"
# What makes a session logged in: Flask-Login's keys (its user, freshness, the client identifier) and ours.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", SESSION_KEY)
_USER_ID = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")


def log_in(user: User) -> None:
    """Start a browser session for ``user``, whose password was just checked. A login this browser still had ends."""
    previous = session.get(SESSION_KEY)
    if isinstance(previous, str):
        close_session(previous)
    key = open_session(user, current_app.permanent_session_lifetime)
    login_user(user)
    session[SESSION_KEY] = key


def log_out() -> None:
    """End this browser session: its cookie, copied or not, no longer logs anyone in."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str):
        close_session(key)
    logout_user()
    _forget()


def renew(user: User) -> None:
    """Keep this browser's session after a change that ended all of ``user``'s sessions when ``user`` is the one
    logged in here (their own new password): the cookie takes the new generation, the other sessions stay ended.
    Anyone else's change, or a request with an API token, leaves this session as it is."""
    if isinstance(session.get(SESSION_KEY), str) and current_user.is_authenticated and current_user.id == user.id:
        login_user(user, fresh=True)


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of this session, if it still holds (see the module's docstring)."""
    found = _USER_ID.fullmatch(user_id) if isinstance(user_id, str) else None
    key = session.get(SESSION_KEY)
    user = None
    if found and isinstance(key, str):
        since = utcnow() - current_app.permanent_session_lifetime
        user = session_user(int(found[1]), int(found[2]), key, since)
    if user is None:
        _forget()
    return user


def _forget() -> None:
    """Drop the login from the session (the browser gets the cookie without it)."""
    for name in _LOGIN_KEYS:
        session.pop(name, None)
