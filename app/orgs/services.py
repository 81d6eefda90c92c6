"""Use cases for enterprises and industry chains (STUB: being completed)."""

from sqlalchemy import select

from app.db import db
from app.orgs.models import Enterprise


def enterprise_choices() -> list[tuple[int, str]]:
    return [(e.id, e.name) for e in db.session.scalars(select(Enterprise).order_by(Enterprise.name))]
