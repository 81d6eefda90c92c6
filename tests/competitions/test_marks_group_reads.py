"""``GroupReads`` (competitions.services.marks): the reads of many judges' batches made at once give every batch
exactly what its own queries give — the same plan, or the same refusal item by item — whatever the batches hold:
stored marks and keys, other judges' marks, conflicted and unknown codes, unknown aspects, another module's aspect,
a judge off the panel, another competition. And the many-judge reads they are built on (``judges_ties``,
``coded_entries``) answer as the one-judge ones do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.db import db
from app.errors import DomainError, NotFound
from competitions.models import DeclaredConflict, ModuleCode
from competitions.services import judging
from competitions.services import marks as services
from competitions.services.marks_setup import SetupCache, setup_version_column
from tests.competitions.marks_fixtures import item, key, mw  # noqa: F401
from tests.conftest import statements_run


def _inputs(*marks) -> list[services.MarkInput]:
    return [services.MarkInput(m["code"], m["aspect_id"], Decimal(m["value"]), m["idempotency_key"]) for m in marks]


def _outcome(actor, competition_id, items, reads=None):
    """What planning the batch gives: the refusal (code, status, items), or the plan's parts."""
    try:
        plan = services.plan_marks(actor, competition_id, items, reads=reads)
    except DomainError as exc:
        return ("refused", exc.code, exc.status, exc.details)
    except NotFound as exc:
        return ("not found", str(exc))
    return ("plan", [(w.index, w.entry_id, w.aspect.id, w.value, w.duplicate_of and w.duplicate_of.id, w.earlier)
                     for w in plan.work],
            [w.index for w in plan.writes], {t: (m.id, m.revision, m.value) for t, m in plan.currents.items()},
            plan.others, plan.nothing_to_write() if not plan.writes else None)


@pytest.mark.parametrize("kept", [False, True], ids=["read", "kept from an earlier group"])
@pytest.mark.parametrize("exact", [services._EXACT_TRIPLES, 0], ids=["exact marks", "a superset of marks"])
def test_a_group_plans_every_batch_as_its_own_queries_do(mw, monkeypatch, exact, kept):  # noqa: F811
    monkeypatch.setattr(services, "_EXACT_TRIPLES", exact)  # a group with many targets reads a superset
    u = mw.users
    cid = mw.competition.id
    stored_key = key()
    # marks already there: j2's own on K101/a1 (with a key a retry sends again), j1's, j2's and j3's on K102/a1
    # (its three places), j5's on module 2
    assert mw.mark("j2", "K101", mw.a1, "1", stored_key).status_code == 200
    for judge in ("j1", "j2", "j3"):
        assert mw.mark(judge, "K102", mw.a1, "2").status_code == 200
    assert mw.mark("j5", "K101", mw.b1, "3").status_code == 200
    db.session.add(DeclaredConflict(competition_id=mw.competition.id, entry_id=mw.entries[2].id, judge_id=u["j3"].id,
                                    reason="亲属"))
    db.session.commit()

    batches = {
        "j2": _inputs(item("K101", mw.a1.id, "1", stored_key),  # a retry: duplicate
                      item("K101", mw.a2.id, "7.5"), item("K102", mw.a1.id, "3"),  # a change of its own
                      item("K103", mw.a2.id, "2")),
        "j3": _inputs(item("K103", mw.a1.id, "1")),  # declared conflict: not assigned
        "j4": _inputs(item("K102", mw.a1.id, "2"), item("K102", mw.a2.id, "4")),  # a1 full there
        "j1": _inputs(item("K101", mw.a1.id, "9")),  # off the scale
        "j5": _inputs(item("K102", mw.b1.id, "1"), item("K101", mw.b1.id, "2")),
        "j2 again": _inputs(item("K999", mw.a1.id, "1"), item("K101", 99999, "1")),  # unknown code and aspect
        "j4 off panel": _inputs(item("K101", mw.b1.id, "1")),  # module 2 is j5's alone
        "j4 own": _inputs(item("K101", mw.a1.id, "1")),  # conflicted (own enterprise)
    }
    actor = {name: u[name.split()[0]] for name in batches}
    judge = {name: services.GroupBatch(actor[name].id, cid, items) for name, items in batches.items()}
    group = [*judge.values(), services.GroupBatch(u["j2"].id, cid + 999, batches["j2"])]
    setup = None
    if kept:  # what the lane keeps between groups (SQLite: while the setup version stands; else nothing is kept)
        setup = SetupCache()
        setup.begin(_version())
        services.GroupReads(group[:3], setup)  # an earlier, smaller group fills part of it
    reads = services.GroupReads(group, setup)
    for name, items in batches.items():
        grouped = _outcome(actor[name], cid, items, reads)
        alone = _outcome(actor[name], cid, items)
        assert grouped == alone, name
    # the outcomes are the ones the rules give (so the comparison compared something)
    assert _outcome(actor["j2"], cid, batches["j2"], reads)[0] == "plan"
    assert _outcome(actor["j4"], cid, batches["j4"], reads)[1:3] == ("aspect_full", 409)
    assert _outcome(actor["j3"], cid, batches["j3"], reads)[1:3] == ("not_assigned", 404)
    # a competition that does not exist: as alone
    assert _outcome(u["j2"], cid + 999, batches["j2"], reads) == _outcome(u["j2"], cid + 999, batches["j2"])


def test_a_group_reads_in_six_queries_whatever_its_size_and_two_once_kept(mw, app):  # noqa: F811
    cid = mw.competition.id
    db.session.connection()  # the transaction begun: only the reads are counted
    judges = {u.id: u for u in mw.users.values()}
    setup = SetupCache()
    setup.begin(_version())  # SQLite: holds the setup version; PostgreSQL: nothing to hold, nothing kept
    kept = db.engine.dialect.name == "sqlite"
    for size in (1, 4):
        batches = [services.GroupBatch(mw.users[j].id, cid, _inputs(item(code, mw.a1.id, "1"), item(code, mw.a2.id, "2")))
                   for j, code in (("j1", "K101"), ("j2", "K102"), ("j3", "K101"), ("j4", "K103"))[:size]]
        statements = statements_run(lambda batches=batches: services.GroupReads(batches))
        assert len(statements) == 6, statements
        statements_run(lambda batches=batches: services.GroupReads(batches, setup))  # fills what it keeps
        # then only the marks and the judges counted on the group's entries × aspects
        statements = statements_run(lambda batches=batches: services.GroupReads(batches, setup))
        assert len(statements) == (2 if kept else 6), statements
        reads = services.GroupReads(batches, setup)
        planned = statements_run(lambda batches=batches, reads=reads: [
            services.plan_marks(judges[b.judge_id], cid, b.items, reads=reads) for b in batches])
        assert planned == []  # every batch planned from the group's reads


def test_many_judges_ties_and_codes_answer_as_one_judge_does(mw):  # noqa: F811
    u = mw.users
    db.session.add(DeclaredConflict(competition_id=mw.competition.id, entry_id=mw.entries[1].id, judge_id=u["j2"].id,
                               reason="同事"))
    db.session.commit()
    judges = [u[j].id for j in ("j1", "j2", "j3", "j4", "j5")]
    assert judging.judges_ties(judges) == {j: judging.judge_ties(j) for j in judges}
    assert judging.judges_ties([]) == {}
    pairs = {(mw.module1.id, "K101"), (mw.module1.id, "K102"), (mw.module2.id, "K103"), (mw.module1.id, "NOPE")}
    found = judging.coded_entries(mw.competition, pairs, judges)
    for judge in judges:
        for part in (pairs, {(mw.module1.id, "K102")}, set()):
            assert found.covers(part, judge)
            assert found.for_judge(part, judge) == judging.entries_for_codes(mw.competition, part, judge_id=judge)
    assert found.for_judge(pairs, u["j2"].id)[(mw.module1.id, "K102")].declared
    assert not found.covers(pairs, u["organizer"].id) and not found.covers({(mw.module1.id, "K9")}, judges[0])


@pytest.mark.parametrize("module_codes", [False, True], ids=["entry codes", "module codes"])
def test_a_whole_competition_s_codes_answer_as_each_code_s_query(mw, module_codes):  # noqa: F811
    """``competition_coded_entries`` (what the lane keeps): every code and every judge, as the per-code query."""
    u = mw.users
    db.session.add(DeclaredConflict(competition_id=mw.competition.id, entry_id=mw.entries[1].id, judge_id=u["j2"].id))
    db.session.add(DeclaredConflict(competition_id=mw.competition.id, entry_id=mw.entries[1].id, judge_id=u["j3"].id))
    pairs = {(m.id, c) for m in (mw.module1, mw.module2) for c in ("K101", "K102", "K103", "NOPE", "")}
    if module_codes:
        mw.competition.uses_module_codes = True
        for m, prefix in ((mw.module1, "A"), (mw.module2, "B")):
            for n, e in enumerate(mw.entries[:2]):  # the third entry has no module codes
                db.session.add(ModuleCode(entry_id=e.id, module_id=m.id, code=f"{prefix}{n}"))
        pairs = {(m.id, c) for m in (mw.module1, mw.module2) for c in ("A0", "A1", "B0", "B1", "K101", "A9")}
    if not module_codes:
        mw.entries[2].status = "withdrawn"
    db.session.commit()
    whole = judging.competition_coded_entries(mw.competition)
    for judge in [u[j].id for j in ("j1", "j2", "j3", "j4", "j5", "organizer")]:
        for part in (pairs, {next(iter(sorted(pairs)))}, set()):
            assert whole.covers(part, judge)
            assert whole.for_judge(part, judge) == judging.entries_for_codes(mw.competition, part, judge_id=judge)
    found = whole.for_judge(pairs, u["j2"].id)
    assert len(found) == 4  # two entries per module (the third withdrawn, or without module codes)
    assert sum(e.declared for e in found.values()) == 2  # the second entry, in either module


def test_a_batch_after_a_written_one_sees_its_marks(mw, app):  # noqa: F811
    """In the group's write transaction, a batch planned after another was written sees that batch's marks — the
    places it took on an aspect, a key it stored — as its own queries would."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the token lane writes groups on SQLite only")
    u, cid = mw.users, mw.competition.id
    assert mw.mark("j1", "K102", mw.a1, "1").status_code == 200
    shared = key()
    first = _inputs(item("K102", mw.a1.id, "2", shared))
    later = {"j3": _inputs(item("K102", mw.a1.id, "3")),  # the third place on K102/a1
             "j4": _inputs(item("K102", mw.a1.id, "2")),  # a fourth: full once j2 and j3 are written
             "j2": _inputs(item("K102", mw.a1.id, "2", shared))}  # j2's retry: a duplicate
    reads = services.GroupReads([services.GroupBatch(u["j2"].id, cid, first),
                                 *(services.GroupBatch(u[j].id, cid, items) for j, items in later.items())])
    db.session.connection()
    services.store_planned(services.plan_marks(u["j2"], cid, first, reads=reads), reads)
    for judge, items in later.items():
        grouped, alone = _outcome(u[judge], cid, items, reads), _outcome(u[judge], cid, items)
        assert grouped == alone, judge
        if grouped[0] == "plan" and grouped[2]:
            services.store_planned(services.plan_marks(u[judge], cid, items, reads=reads), reads)
    assert _outcome(u["j4"], cid, later["j4"], reads)[1:3] == ("aspect_full", 409)
    assert _outcome(u["j2"], cid, later["j2"], reads)[-1][0].status == "duplicate"


def _version():
    """The setup version as the lane's first query reads it (None without its row)."""
    return db.session.scalar(select(setup_version_column()))
