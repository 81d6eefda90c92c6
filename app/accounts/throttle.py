"""The per-account login throttle, stored in the database (the rule is ``app.accounts.domain.admit``).

The per-address rate limit (Flask-Limiter, ``LOGIN_RATE_LIMIT``) counts in each process unless Redis holds it, and
must let a venue's judges behind one address in. Guessing one account's password is stopped here instead, by a
``login_throttle`` row per account that every process and host shares.

An attempt takes the account's row with ``FOR UPDATE`` (on SQLite a write request holds the database's write lock
anyway) and counts itself before its password is checked, in the request's transaction: parallel attempts on the
same account queue on the row, and each sees the ones before it. A right password deletes the row (the request
commits); a wrong one leaves it counted (the login page answers 200 and commits); a refused attempt changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select

from app.accounts.domain import Admission, AttemptState, ThrottlePolicy, admit
from app.accounts.models import LoginThrottle
from app.db import db, utcnow

POLICY = ThrottlePolicy()
PRUNE_BATCH = 100  # forgotten rows deleted when a new account row is made: the table holds about a day of names


def account_key(name: str) -> str:
    """The throttle's key of a username: lower case, as long as the column allows."""
    return name.strip().lower()[:64]


def reserve(account: str, policy: ThrottlePolicy = POLICY) -> Admission:
    """Admit or refuse a login attempt on ``account`` (``account_key``) now; an admitted one is counted as a failure
    until ``clear`` is called. Flushes; the request commits."""
    now = utcnow()
    row = _locked(account)
    if row is None:
        _prune(account, now, policy)
        db.session.execute(_insert_missing(account, now))
        row = _locked(account)
    admission = admit(AttemptState(row.failures, row.last_attempt_at, row.blocked_until), now, policy)
    if admission.allowed:
        row.failures = admission.state.failures
        row.last_attempt_at = admission.state.last_attempt_at
        row.blocked_until = admission.state.blocked_until
        db.session.flush()
    return admission


def clear(account: str) -> None:
    """The password was right: the account's failures are forgotten."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.account == account))


def _locked(account: str) -> LoginThrottle | None:
    return db.session.execute(select(LoginThrottle).where(LoginThrottle.account == account)
                              .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def _insert_missing(account: str, now: datetime):
    """INSERT the account's row unless another transaction just did (then wait for it and use its row)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - other backends are not supported
        return insert(LoginThrottle).values(account=account, failures=0, last_attempt_at=now)
    return dialect_insert(LoginThrottle).values(account=account, failures=0, last_attempt_at=now).on_conflict_do_nothing()


def _prune(account: str, now: datetime, policy: ThrottlePolicy) -> None:
    """Delete some rows nobody has tried for ``policy.memory`` (their failures count no more): rows locked by another
    attempt are skipped, so pruning never waits for a login."""
    forgotten = (select(LoginThrottle.account)
                 .where(LoginThrottle.last_attempt_at <= now - policy.memory, LoginThrottle.account != account)
                 .limit(PRUNE_BATCH).with_for_update(skip_locked=True))
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.account.in_(forgotten))
                       .execution_options(synchronize_session=False))
