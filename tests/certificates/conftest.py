"""Fixtures for the pure certificate tests: no app, no database (the domain has neither)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _transaction():
    """Overrides tests/conftest.py's per-test database transaction: these tests never touch the database."""
    yield
