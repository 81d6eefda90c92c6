"""Shell-level tables that belong to no single domain, and the import of every model module."""

from __future__ import annotations

import importlib

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import db


class AppSetting(db.Model):
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


def import_all_models() -> None:
    """Import every model module so metadata (and Alembic) sees all tables."""
    import app.accounts.models  # noqa: F401
    import app.audit.models  # noqa: F401
    import app.orgs.models  # noqa: F401
    import app.people.models  # noqa: F401

    # Domain packages register their tables here so Alembic and create_all see every table.
    for module in ("competitions.models", "certificates.models"):
        importlib.import_module(module)
