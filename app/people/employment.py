"""Employment history: which enterprise a worker works for, and since when. Services flush; the request commits.

A worker (the person) keeps one ``Worker`` row for life; each enterprise they work for is an ``Employment`` row
``[started_on, ended_on)``, the current one with ``ended_on`` NULL (at most one: a partial unique index).
``Worker.enterprise_id`` is a copy of the current employment's enterprise, kept because every "own enterprise" rule
(HR scope, registrations, certificates, conflicts of interest) and the worker list's index read it in place. This
module is its only writer after the worker is created:

* the first employment is written with the worker row (``app.people.models._first_employment``; the bulk import
  writes its workers' with ``start_missing``);
* ``move`` ends the current employment and starts the next, and changes the copy with it (a direct assignment to
  ``Worker.enterprise_id`` raises);
* ``mismatches`` finds any worker whose copy and employments disagree (the tests check it after every flow).

Dates are calendar days in the installation's time zone (``app.db.local_date``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, func, insert, literal, or_, select

from app.db import db, local_date, utcnow
from app.people.models import Employment, Worker, moving_employer


def today() -> date:
    return local_date()


def current_employment(worker: Worker) -> Employment | None:
    return db.session.scalar(select(Employment).where(Employment.worker_id == worker.id, Employment.ended_on.is_(None)))


def history(worker: Worker) -> list[Employment]:
    """The worker's employments, the current one first, then the most recent (with their enterprises: one query)."""
    return list(db.session.scalars(
        select(Employment).where(Employment.worker_id == worker.id)
        .order_by(Employment.ended_on.is_not(None), Employment.started_on.desc(), Employment.id.desc())))


def move(worker: Worker, enterprise_id: int, *, on: date | None = None) -> Employment:
    """End the worker's current employment on ``on`` (default today) and start one at ``enterprise_id`` that day;
    ``Worker.enterprise_id`` follows. The one way a stored worker changes enterprise (the transfer flow calls it)."""
    on = on or today()
    current = current_employment(worker)
    if current is not None:
        current.ended_on = max(on, current.started_on)
        db.session.flush()  # the old row stops being current before the new one takes the unique slot
    employment = Employment(worker_id=worker.id, enterprise_id=enterprise_id, started_on=on)
    db.session.add(employment)
    token = moving_employer.set(True)
    try:
        worker.enterprise_id = enterprise_id
    finally:
        moving_employer.reset(token)
    db.session.flush()
    db.session.expire(worker, ["enterprise"])
    return employment


def start_missing(enterprise_id: int, *, on: date | None = None) -> int:
    """Give every worker of ``enterprise_id`` that has no employment yet (rows a bulk INSERT wrote, bypassing the
    ORM) its first, current employment there from ``on`` (default today). One INSERT … SELECT; returns the count."""
    has_any = select(Employment.id).where(Employment.worker_id == Worker.id).exists()
    rows = select(Worker.id, Worker.enterprise_id, literal(on or today(), Employment.started_on.type),
                  literal(utcnow(), Employment.created_at.type)).where(Worker.enterprise_id == enterprise_id, ~has_any)
    result = db.session.execute(insert(Employment).from_select(
        ["worker_id", "enterprise_id", "started_on", "created_at"], rows))
    return result.rowcount


def mismatches(worker_ids: list[int] | None = None) -> list[int]:
    """Workers (of ``worker_ids``, default all) whose ``enterprise_id`` is not the enterprise of exactly one current
    employment. Empty whenever this module kept them in step. One query."""
    current = (select(Employment.worker_id, func.count().label("n"), func.min(Employment.enterprise_id).label("ent"))
               .where(Employment.ended_on.is_(None)).group_by(Employment.worker_id).subquery())
    stmt = (select(Worker.id).outerjoin(current, current.c.worker_id == Worker.id)
            .where(or_(current.c.n.is_(None), current.c.n != 1, and_(current.c.n == 1, current.c.ent != Worker.enterprise_id)))
            .order_by(Worker.id))
    if worker_ids is not None:
        stmt = stmt.where(Worker.id.in_(worker_ids))
    return list(db.session.scalars(stmt))
