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
    """Import every domain's model modules so metadata (and Alembic) sees all tables."""
    from app.domains import domains

    for domain in domains():
        for module in domain.models:
            importlib.import_module(module)
