"""Counted marks for results, the board and the organizers' pages: a mark counts when it is current and
confirmed. Results and the board read marks only through here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.db import db
from competitions.domain import Mark as EngineMark
from competitions.models import Aspect, Criterion, Entry, Mark


def current_marks(competition_id: int, module_id: int | None = None) -> dict[int, dict[int, list[Decimal]]]:
    """``{entry_id: {aspect_id: [values]}}`` of the counted marks (current and confirmed) — the shape
    ``competitions.domain.score_entries`` takes; results and the board read marks only through here.

    One query, whatever the number of entries, read as plain DBAPI tuples (no Row objects, no per-value type
    processing) and each distinct stored value parsed once: 240,000 marks in well under 0.2 s."""
    m, e = Mark.__table__.c, Entry.__table__.c
    joined = Mark.__table__.join(Entry.__table__, e.id == m.entry_id)
    where = [e.competition_id == competition_id, m.is_current.is_(True), m.confirmed_by_id.is_not(None)]
    if module_id is not None:
        a, c = Aspect.__table__.c, Criterion.__table__.c
        joined = joined.join(Aspect.__table__, a.id == m.aspect_id).join(Criterion.__table__, c.id == a.criterion_id)
        where.append(c.module_id == module_id)
    stmt = select(m.entry_id, m.aspect_id, m.value).select_from(joined).where(*where)
    out: dict[int, dict[int, list[Decimal]]] = {}
    parsed: dict[Any, Decimal] = {}
    for entry_id, aspect_id, raw in _plain_rows(stmt):
        value = parsed.get(raw)
        if value is None:  # text on SQLite, Decimal on PostgreSQL
            value = parsed[raw] = raw if isinstance(raw, Decimal) else Decimal(raw)
        cells = out.get(entry_id)
        if cells is None:
            cells = out[entry_id] = {}
        values = cells.get(aspect_id)
        if values is None:
            cells[aspect_id] = [value]
        else:
            values.append(value)
    return out


def _plain_rows(stmt) -> list[tuple]:
    """The DBAPI cursor's own tuples for a Core select whose parameters are plain ints (rendered inline): no Row
    objects, no per-value type processing. Runs on the session's connection (after an autoflush), so it sees the
    transaction's own writes."""
    session = db.session()
    if session.autoflush:
        session.flush()
    conn = session.connection()
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    result = conn.exec_driver_sql(sql)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def current_mark_rows(competition_id: int) -> list[EngineMark]:
    """The counted marks with their judges, as engine ``Mark`` values (divergences, judge statistics). One query."""
    rows = db.session.execute(
        select(Mark.entry_id, Mark.aspect_id, Mark.judge_id, Mark.value).join(Entry, Entry.id == Mark.entry_id)
        .where(Entry.competition_id == competition_id, Mark.is_current.is_(True), Mark.confirmed_by_id.is_not(None)))
    return [EngineMark(entry_id=e, aspect_id=a, judge_id=j, value=v) for e, a, j, v in rows]


def mark_history(competition_id: int, entry_id: int, aspect_id: int) -> list[Mark]:
    """Every revision of every judge's mark of one cell (organizers' pages; never overwritten)."""
    return list(db.session.scalars(
        select(Mark).join(Entry, Entry.id == Mark.entry_id)
        .where(Entry.competition_id == competition_id, Mark.entry_id == entry_id, Mark.aspect_id == aspect_id)
        .order_by(Mark.judge_id, Mark.revision)))
