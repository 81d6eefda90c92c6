"""Use cases for users, roles, memberships, login and API tokens. Services flush; the request commits."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import format_time, format_timedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.orm import joinedload, lazyload

from app.accounts import domain, throttle
from app.accounts.models import ApiToken, Membership, Role, User, UserRole, live_token
from app.audit.services import record
from app.crypto import token_digest
from app.db import db, local_date, utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied, TooManyAttempts

_hasher = PasswordHasher()
# Verifying against this keeps the time of "unknown user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("jiangxin-dummy-password")

PASSWORD_MESSAGES = {
    domain.TOO_SHORT: _l("The password must have at least %(n)d characters.", n=domain.MIN_PASSWORD_LENGTH),
    domain.TOO_LONG: _l("The password may have at most %(n)d characters.", n=domain.MAX_PASSWORD_LENGTH),
    domain.CONTAINS_USERNAME: _l("The password must not contain the username."),
    domain.REPETITIVE: _l("The password repeats characters or follows a sequence or a keyboard row (like aaaa, "
                          "1234 or qwer): choose another."),
    domain.COMMON: _l("This password is one of the most common ones: choose another."),
    domain.GUESSABLE: _l("This password is too easy to guess: make it longer, for example of several uncommon words."),
}


class LoginThrottled(TooManyAttempts):
    """Too many failed logins on one account: the next attempt waits until ``retry_at``."""

    code = "login_throttled"

    def __init__(self, retry_at: datetime, wait: timedelta):
        wait = max(wait, timedelta(seconds=1))
        super().__init__(_l("Too many failed logins for this account. Try again at %(time)s (in %(wait)s).",
                            time=format_time(retry_at, "HH:mm:ss"), wait=format_timedelta(wait)),
                         retry_after=wait)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def user_by_username(username: str) -> User | None:
    """The account of a username as people type it (around spaces and case do not matter), or None."""
    return db.session.execute(select(User).where(func.lower(User.username) == username.strip().lower())).scalar_one_or_none()


def authenticate(username: str, password: str) -> User | None:
    """The user, or None (the failure is audited and counted, so the caller must not roll back). Raises
    ``LoginThrottled`` while the account waits after failed attempts (``app.accounts.throttle``), whatever the
    password: unknown usernames are throttled alike, so the answer tells nothing about which accounts exist."""
    user = user_by_username(username)
    account = throttle.account_key(user.username if user else username)
    admission = throttle.reserve(account)
    if not admission.allowed:
        raise LoginThrottled(admission.retry_at, admission.wait)
    if not check_password(user, password) or not user.is_enabled:
        record("login_failed", target_type="user", target_id=user.id if user else "", details={"username": username[:64]})
        return None
    throttle.clear(account)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record("login", user, actor=user)
    return user


def _check_password_policy(password: str, username: str) -> None:
    problem = domain.password_problem(password, username)
    if problem:
        raise DomainError(PASSWORD_MESSAGES[problem], code="weak_password")


def create_user(actor: User, username: str, display_name: str, password: str) -> User:
    require_admin(actor)
    username = username.strip()
    if db.session.execute(select(User.id).where(func.lower(User.username) == username.lower())).first():
        raise Conflict(_l("This username is taken."), code="username_taken")
    _check_password_policy(password, username)
    user = User(username=username, display_name=display_name.strip() or username, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    record("user_created", user, {"username": username}, actor=actor)
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def require_admin(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied()


def update_user(actor: User, user: User, display_name: str, is_enabled: bool, password: str | None = None) -> User:
    require_admin(actor)
    if user.id == actor.id and not is_enabled:
        raise DomainError(_l("You cannot disable your own account."), code="self_disable")
    changes = {}
    if display_name.strip() and display_name.strip() != user.display_name:
        changes["display_name"] = [user.display_name, display_name.strip()]
        user.display_name = display_name.strip()
    if is_enabled != user.is_enabled:
        changes["is_enabled"] = [user.is_enabled, is_enabled]
        user.is_enabled = is_enabled
        if not is_enabled:
            _end_sessions(user)  # enabling the account again does not bring its old sessions back
    if password:
        _check_password_policy(password, user.username)
        user.password_hash = hash_password(password)
        changes["password"] = "reset"
        _end_sessions(user)
    db.session.flush()
    if changes:
        record("user_updated", user, changes, actor=actor)
    return user


def change_own_password(user: User, current: str, new: str) -> None:
    if not check_password(user, current):
        raise DomainError(_l("The current password is wrong."), code="bad_credentials")
    _check_password_policy(new, user.username)
    user.password_hash = hash_password(new)
    _end_sessions(user)  # the session that changed it is renewed by the view (``app.accounts.sessions.renew``)
    db.session.flush()
    record("password_changed", user)


def grant_role(actor: User, user: User, role: str, enterprise_id: int | None = None, worker_id: int | None = None) -> UserRole:
    require_admin(actor)
    if role not in set(Role):
        raise DomainError(_l("Unknown role."), code="unknown_role")
    if role == Role.HR:
        from app.orgs.models import Enterprise

        if enterprise_id is None or db.session.get(Enterprise, enterprise_id) is None:
            raise DomainError(_l("An HR role needs an enterprise."), code="enterprise_required")
    else:
        enterprise_id = None
    if role == Role.WORKER:
        from app.people.models import Worker

        if worker_id is None or db.session.get(Worker, worker_id) is None:
            raise DomainError(_l("A worker role needs a worker record."), code="worker_required")
        other = db.session.execute(select(User.id).where(User.worker_id == worker_id, User.id != user.id)).first()
        if other:
            raise Conflict(_l("This worker record is already linked to another user."), code="worker_linked")
        user.worker_id = worker_id
    if any(r.role == role and r.enterprise_id == enterprise_id for r in user.roles):
        raise Conflict(_l("The user already has this role."), code="role_exists")
    user_role = UserRole(role=role, enterprise_id=enterprise_id)
    user.roles.append(user_role)
    db.session.flush()
    record("role_granted", user, {"role": role, "enterprise_id": enterprise_id, "worker_id": worker_id}, actor=actor)
    return user_role


def revoke_role(actor: User, user: User, role_id: int) -> None:
    require_admin(actor)
    user_role = next((r for r in user.roles if r.id == role_id), None)
    if user_role is None:
        raise NotFound()
    if user.id == actor.id and user_role.role == Role.ADMIN:
        raise DomainError(_l("You cannot remove your own admin role."), code="self_demote")
    if user_role.role == Role.WORKER:
        user.worker_id = None
    user.roles.remove(user_role)
    _end_sessions(user)
    db.session.flush()
    record("role_revoked", user, {"role": user_role.role, "enterprise_id": user_role.enterprise_id}, actor=actor)


# --- browser sessions ------------------------------------------------------------------------------------------
#
# A browser session is bound twice (``app.accounts.sessions``): to its ``LoginSession`` row, which a plain logout
# deletes, and to the user's ``session_generation``, which ends every session of the user at once (here).


def _end_sessions(user: User) -> None:
    """End every browser session of ``user`` (their next request is anonymous): a new session generation."""
    user.session_generation = (user.session_generation or 0) + 1


def end_all_sessions(user: User) -> None:
    """Log ``user`` out everywhere: every browser session ends, this one too. API tokens are revoked one by one."""
    _end_sessions(user)
    db.session.flush()
    record("sessions_ended", user, actor=user)


def list_users(page: int, per_page: int, q: str = ""):
    stmt = select(User).order_by(User.username)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(User.username.ilike(like) | User.display_name.ilike(like))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once


def create_token(user: User, name: str) -> NewToken:
    name = name.strip()[:64]
    if not name:
        raise DomainError(_l("Give the token a name."), code="name_required")
    secret = "jx_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=token_digest(secret), prefix=secret[:10])
    db.session.add(token)
    db.session.flush()
    record("token_created", token, {"name": name}, actor=user)
    return NewToken(token, secret)


TOKEN_USE_RESOLUTION = timedelta(hours=1)  # a token's "last used" is noted to the hour: not a write per request


def token_use_is_stale(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a token's ``last_used_at`` should be noted again (never noted, or an hour old)."""
    return last_used_at is None or now - last_used_at >= TOKEN_USE_RESOLUTION


def note_token_use(token_ids: Iterable[int], now: datetime) -> None:
    """Note that these tokens were used at ``now``: one UPDATE, in the caller's transaction, of the rows whose
    note is still stale (two processes noting the same use write it once). Callers look first
    (``token_use_is_stale``), so an hour of a script's requests costs one write."""
    ids = sorted(set(token_ids))
    if ids:
        db.session.execute(update(ApiToken).where(
            ApiToken.id.in_(ids), or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_USE_RESOLUTION)
        ).values(last_used_at=now).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class TokenLogin:
    """Whom a personal API token acts for: its (enabled) user with their roles, the token's id, and whether the
    token's "last used" is due to be noted (``token_use_is_stale``)."""

    user: User
    token_id: int
    note_use: bool


@cache
def _token_login_statement():
    """Built once, on first use (every API request with a token runs it; the mappers must be configured first):
    the token's id and "last used", and its user with the user's roles. The user's worker and the roles'
    enterprises load lazily, if a view needs them."""
    return (select(User, ApiToken.id, ApiToken.last_used_at)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(*live_token(bindparam("digest")))
            .options(lazyload(User.worker), joinedload(User.roles).lazyload(UserRole.enterprise)))


def token_login(authorization: str | None) -> TokenLogin | None:
    """The user an ``Authorization: Bearer <token>`` header acts for, or None (no header, another scheme, an
    unknown or revoked token, a disabled user). One statement; nothing is kept between calls, so a revoked token
    or a disabled user is refused on the very next request. The one reader of a token's user: Flask-Login's
    request loader calls it for every ``/api/`` request (``app._init_login``)."""
    if not authorization or not authorization.startswith("Bearer "):
        return None
    secret = authorization[7:].strip()
    if not secret:
        return None
    row = db.session.execute(_token_login_statement(), {"digest": token_digest(secret)}).unique().first()
    if row is None:
        return None
    user, token_id, last_used_at = row
    return TokenLogin(user, token_id, token_use_is_stale(last_used_at, utcnow()))


def list_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())))


def revoke_token(user: User, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        record("token_revoked", token, actor=user)


# --- memberships: roles within one scope ------------------------------------------------------------------------
#
# Roles that are not enterprise-wide — a studio's leader, a pairing's master — are ``Membership`` rows: (role,
# scope_type, scope_id) for a period, held by a user or by a worker. Each domain registers its role names with the
# scope type they live in (``register_scoped_role("studio_leader", "studio")``) and asks ``has_scope`` before
# letting someone act in that scope; routes keep declaring their roles (``app.auth``) as before.

SCOPED_ROLES: dict[str, str] = {}  # role name → the scope type it is held in


def register_scoped_role(role: str, scope_type: str) -> None:
    """Declare a scoped role (a domain does so when it is imported). Registering it again is a no-op."""
    known = SCOPED_ROLES.setdefault(role, scope_type)
    if known != scope_type:
        raise ValueError(f"scoped role {role!r} is already held in {known!r} scopes")


def _scoped_role(role: str, scope_type: str) -> None:
    if SCOPED_ROLES.get(role) != scope_type:
        raise ValueError(f"unknown scoped role {role!r} in {scope_type!r} (see register_scoped_role)")


def _in_force(day: date):
    return Membership.started_on <= day, or_(Membership.ended_on.is_(None), Membership.ended_on > day)


def _held_by(user):
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    held = Membership.user_id == user.id
    return or_(held, Membership.worker_id == user.worker_id) if user.worker_id else held


def has_scope(user, role: str, scope_type: str, scope_id: int, *, on: date | None = None) -> bool:
    """Whether ``user`` holds ``role`` in the scope ``scope_type`` ``scope_id`` on ``on`` (default today), directly
    or through the worker linked to the account. The one permission check of memberships; one query."""
    _scoped_role(role, scope_type)
    held = _held_by(user)
    if held is None:
        return False
    return bool(db.session.scalar(select(exists().where(
        held, Membership.role == role, Membership.scope_type == scope_type, Membership.scope_id == scope_id,
        *_in_force(on or local_date())))))


def scope_ids(user, role: str, scope_type: str, *, on: date | None = None) -> set[int]:
    """The scopes of ``scope_type`` in which ``user`` holds ``role`` (for lists: "the studios I lead")."""
    _scoped_role(role, scope_type)
    held = _held_by(user)
    if held is None:
        return set()
    return set(db.session.scalars(select(Membership.scope_id).where(
        held, Membership.role == role, Membership.scope_type == scope_type, *_in_force(on or local_date()))))


def add_membership(role: str, scope_type: str, scope_id: int, *, user: User | None = None, worker=None,
                   started_on: date | None = None, ended_on: date | None = None, actor: User | None = None
                   ) -> Membership:
    """Give ``role`` in one scope to a user or a worker (exactly one). No permission check: the domain's service that
    calls it (e.g. naming a studio's leader) checks its own. Audited."""
    _scoped_role(role, scope_type)
    if (user is None) == (worker is None):
        raise ValueError("a membership is held by a user or by a worker")
    membership = Membership(user_id=user.id if user else None, worker_id=worker.id if worker else None, role=role,
                            scope_type=scope_type, scope_id=scope_id, started_on=started_on or local_date(),
                            ended_on=ended_on, created_by_id=actor.id if actor else None)
    db.session.add(membership)
    db.session.flush()
    record("membership_added", membership, {"role": role, "scope_type": scope_type, "scope_id": scope_id,
                                            "user_id": membership.user_id, "worker_id": membership.worker_id,
                                            "started_on": membership.started_on.isoformat(),
                                            "ended_on": ended_on.isoformat() if ended_on else None}, actor=actor)
    return membership


def end_membership(membership: Membership, *, on: date | None = None, actor: User | None = None) -> Membership:
    """End an open membership on ``on`` (default today; it no longer holds from that day). Audited."""
    if membership.ended_on is not None:
        raise Conflict(_l("This membership has already ended."), code="membership_ended")
    membership.ended_on = max(on or local_date(), membership.started_on)
    db.session.flush()
    record("membership_ended", membership, {"role": membership.role, "scope_type": membership.scope_type,
                                            "scope_id": membership.scope_id,
                                            "ended_on": membership.ended_on.isoformat()}, actor=actor)
    return membership
