"""What the audit tests share."""

from __future__ import annotations

from sqlalchemy import text

from app.db import db


def drop_triggers() -> None:
    """What an attacker with database access does first: drop the triggers that keep the log append-only."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
        db.session.execute(text("DROP TRIGGER audit_entry_no_delete"))
    else:
        db.session.execute(text("DROP TRIGGER audit_entry_no_change ON audit_entry"))
