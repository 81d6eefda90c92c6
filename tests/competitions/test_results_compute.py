"""compute_results: hand-computed totals, shared ranks, awards, promotions; a constant number of queries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import event

from app.db import db
from app.people.models import Worker
from competitions.models import Entry, Mark
from competitions.services.results import compute_results
from tests.competitions.results_fixtures import rw  # noqa: F401


def by_code(results):
    return {e["code"]: e for e in results.entries}


def test_totals_ranks_awards_and_promotions_match_hand_computation(rw):  # noqa: F811
    rw.fill()
    results = compute_results(rw.competition.id)
    rows = by_code(results)
    assert results.weighted and results.complete
    assert [e["code"] for e in results.entries] == ["A101", "A102", "A103", "A104", "A105"]
    assert {c: (r["total"], r["total_exact"]) for c, r in rows.items()} == {
        "A101": ("90.00", "90"), "A102": ("89.33", "268/3"), "A103": ("89.33", "268/3"),
        "A104": ("55.33", "166/3"), "A105": (None, None)}
    assert {c: (r["rank"], r["shared"], r["status"]) for c, r in rows.items()} == {
        "A101": (1, False, "ranked"), "A102": (2, True, "ranked"), "A103": (2, True, "ranked"),
        "A104": (4, False, "ranked"), "A105": (None, False, "absent")}
    theory, practical = rw.theory.id, rw.practical.id
    assert {m["module_id"]: (m["score"], m["contribution"]) for m in rows["A102"]["modules"]} == {
        theory: ("80.00", "24.00"), practical: ("28.00", "65.33")}
    assert {c: [a["code"] for a in r["awards"]] for c, r in rows.items()} == {
        "A101": ["first_prize", "medallion_for_excellence"], "A102": ["second_prize", "medallion_for_excellence"],
        "A103": ["second_prize", "medallion_for_excellence"], "A104": ["third_prize"], "A105": []}
    assert rows["A101"]["promotion"] == {"outcome": "promote", "current_level": 2, "recommended_level": 1,
                                         "title": "national_technical_expert"}
    assert rows["A102"]["promotion"]["outcome"] == "promote" and rows["A102"]["promotion"]["recommended_level"] == 3
    assert rows["A103"]["promotion"]["outcome"] == "already_at_level"
    assert rows["A104"]["promotion"] is None


def test_tie_break_completion_time_splits_the_shared_rank(rw):  # noqa: F811
    rw.fill()
    rw.entries["A103"].completion_seconds = 3000
    rw.entries["A102"].completion_seconds = 3100
    db.session.flush()
    rows = by_code(compute_results(rw.competition.id))
    assert (rows["A103"]["rank"], rows["A103"]["shared"]) == (1 + 1, False)
    assert (rows["A102"]["rank"], rows["A102"]["shared"]) == (3, False)


def test_unconfirmed_and_superseded_marks_do_not_count(rw):  # noqa: F811
    rw.fill()
    rw.mark("A104", rw.p2, "j1", 20)  # revision 2 replaces 10: practical 26 → 26/30 × 70 + 18
    clerk_mark = Mark(entry_id=rw.entries["A101"].id, aspect_id=rw.t1.id, judge_id=rw.users["j2"].id, revision=1,
                      value=Decimal(0), entered_by_id=rw.users["organizer"].id)  # paper sheet, not confirmed
    db.session.add(clerk_mark)
    db.session.flush()
    rows = by_code(compute_results(rw.competition.id))
    assert rows["A104"]["total_exact"] == "236/3"  # 18 + 182/3
    assert rows["A101"]["total"] == "90.00"


def test_partial_marks_make_the_results_incomplete(rw):  # noqa: F811
    rw.fill(("A101",))
    rw.mark("A102", rw.t1, "j1", 50)
    db.session.commit()
    results = compute_results(rw.competition.id)
    rows = by_code(results)
    assert not results.complete
    assert rows["A102"]["complete"] is False and rows["A102"]["total"] == "15.00"
    assert rows["A101"]["complete"] is True


def _add_entries(rw, n: int) -> None:  # noqa: F811
    """n more entries with a full set of marks (rows inserted directly: fast)."""
    ent = rw.enterprises[1]
    start = db.session.query(Entry).count()
    for i in range(n):
        k = start + i
        w = Worker(enterprise_id=ent.id, name=f"批量{k}", gender="M", birth_date=date(1990, 1, 1), id_type="resident",
                   id_hash=f"bulk-{rw.competition.id}-{k}", id_last4="0000", id_encrypted=b"x", skill_level=3)
        db.session.add(w)
        db.session.flush()
        e = Entry(competition_id=rw.competition.id, worker_id=w.id, enterprise_id=ent.id, status="approved",
                  code=f"B{k:04d}")
        db.session.add(e)
        db.session.flush()
        rows = [(rw.t1, "j1", 50), (rw.p1, "j1", 5), (rw.p1, "j2", 6), (rw.p1, "j3", 7), (rw.p2, "j1", 10)]
        db.session.add_all(Mark(entry_id=e.id, aspect_id=a.id, judge_id=rw.users[j].id, value=Decimal(v),
                                entered_by_id=rw.users[j].id, confirmed_by_id=rw.users[j].id) for a, j, v in rows)
    db.session.flush()


def _queries(competition_id: int) -> tuple[int, object]:
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.session.get_bind()
    engine = getattr(engine, "engine", engine)
    event.listen(engine, "before_cursor_execute", count)
    try:
        db.session.expire_all()
        results = compute_results(competition_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements), results


def test_query_count_does_not_grow_with_entries(rw):  # noqa: F811
    rw.fill()
    _add_entries(rw, 5)
    small, results = _queries(rw.competition.id)
    assert len(results.entries) == 10
    _add_entries(rw, 90)
    large, results = _queries(rw.competition.id)
    assert len(results.entries) == 100
    assert small == large
    assert large <= 8
