"""Browser sessions, the Flask side: logging in and out, and Flask-Login's user loader.

Flask's session is a signed cookie, valid for ``PERMANENT_SESSION_LIFETIME`` (31 days) wherever a copy of it is kept.
To make logout mean logout, a session is bound to the server in two ways (``app.accounts.services``):

* Flask-Login keeps ``User.get_id()`` — ``"<id>:<session generation>"`` — in the cookie. Raising the user's
  generation (log out everywhere, a new password, a role removed, the account disabled) ends all their sessions.
* The cookie also carries the key of its ``LoginSession`` row (``_session_key``); a plain logout deletes the row,
  which ends this one session.

``load_user`` checks both in the statement that loads the user for the request, so no request pays a query for
it. A refused cookie is emptied of its login. API tokens (``Authorization: Bearer``) are not sessions: they are
revoked one by one and only refused here when their user is disabled (``services.token_login``).
"""

from __future__ import annotations

import re

from flask import current_app, session
from flask_login import current_user, login_user, logout_user

from app.accounts import services
from app.accounts.models import User
from app.db import utcnow

SESSION_KEY = "_session_key"
# What makes a session logged in: Flask-Login's keys (its user, freshness, the client identifier) and ours.
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", SESSION_KEY)
_USER_ID = re.compile(r"([0-9]{1,18}):([0-9]{1,18})")


def log_in(user: User) -> None:
    """Start a browser session for ``user``, whose password was just checked. A login this browser still had ends."""
    previous = session.get(SESSION_KEY)
    if isinstance(previous, str):
        services.close_session(previous)
    key = services.open_session(user, current_app.permanent_session_lifetime)
    login_user(user)
    session[SESSION_KEY] = key


def log_out() -> None:
    """End this browser session: its cookie, copied or not, no longer logs anyone in."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str):
        services.close_session(key)
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
        user = services.session_user(int(found[1]), int(found[2]), key, since)
    if user is None:
        _forget()
    return user


def _forget() -> None:
    """Drop the login from the session (the browser gets the cookie without it)."""
    for name in _LOGIN_KEYS:
        session.pop(name, None)
