"""Fixtures for the orgs tests: one user per role, a valid USCC maker, audit helpers."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.db import db
from app.people.domain import uscc_check_char

ROLES = ["admin", "organizer", "hr", "judge", "worker", "anonymous"]
MANAGER_ROLES = {"admin", "organizer"}

_n = itertools.count(1)


def valid_uscc(n: int | None = None) -> str:
    body = f"91320100{(n if n is not None else next(_n)) + 500000000:09d}"[:17]
    return body + uscc_check_char(body)


@pytest.fixture
def home(create_enterprise):
    """The enterprise the HR user and the worker belong to."""
    return create_enterprise(name="本家企业")


@pytest.fixture
def users(create_user, create_worker, home):
    worker = create_worker(enterprise=home)
    return {
        "admin": create_user(Role.ADMIN),
        "organizer": create_user(Role.ORGANIZER),
        "hr": create_user(Role.HR, enterprise=home),
        "judge": create_user(Role.JUDGE),
        "worker": create_user(Role.WORKER, worker=worker),
    }


@pytest.fixture
def as_role(client, login, users):
    """Log the client in as a role ("anonymous" stays logged out) and return the user (or None)."""

    def do(role: str):
        # Requests that fail roll the session back; commit (to the test's outer transaction, which
        # is still rolled back at the end) so the set-up survives them.
        db.session.commit()
        if role == "anonymous":
            return None
        login(client, users[role])
        return users[role]

    return do


def audit_actions(target_type: str, target_id) -> list[str]:
    from app.audit.models import AuditEntry

    return list(db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.target_type == target_type, AuditEntry.target_id == str(target_id))
        .order_by(AuditEntry.id)
    ))


def last_audit(action: str):
    from app.audit.models import AuditEntry

    return db.session.scalar(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc()).limit(1))


@pytest.fixture
def req_ctx(app):
    """Services use translated messages, which need a request (the locale comes from it)."""
    with app.test_request_context():
        yield
