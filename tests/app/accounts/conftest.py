"""Helpers for the accounts tests: a real form login (password round trip, CSRF) and audit queries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import db
from tests.conftest import csrf_token

PASSWORD = "password-123"  # what tests/conftest.py's create_user hashes


def form_login(client, username: str, password: str = PASSWORD, next_url: str | None = None, headers=None):
    token = csrf_token(client)
    data = {"username": username, "password": password, "csrf_token": token}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data, headers=headers or {})


def flashes(resp) -> list[str]:
    return re.findall(r'<div class="flash flash-\w+" role="status">(.*?)</div>', resp.get_data(as_text=True))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def last_audit() -> AuditEntry:
    return db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()


@pytest.fixture
def logged_in(client, login, create_user):
    """A client logged in as a fresh user with the given roles: ``logged_in("admin")``."""

    def make(*roles, **kwargs):
        user = create_user(*roles, **kwargs)
        login(client, user)
        return user

    return make
