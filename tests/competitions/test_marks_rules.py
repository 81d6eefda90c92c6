"""The marks API checks a batch with a few plain-row reads (``_plan``: the competition with the batch's aspects and
the judge's seats, the entries behind the codes with the judge's conflicts under every rule, the keys and current
marks) and stores with Core statements. What the ORM did implicitly must still happen: the board learns of the new
mark, the same-chain rule and module codes (二次加密) are applied as ``judging`` applies them, and a paper batch
still needs the chief judge or an organizer."""

from __future__ import annotations

import pytest

from app.db import db, utcnow
from app.errors import DomainError
from app.orgs.models import IndustryChain
from competitions.models import ModuleCode
from competitions.services import board
from competitions.services import marks as services
from tests.competitions.marks_fixtures import item, key, mw  # noqa: F401
from tests.conftest import statements_run


def test_a_mark_through_the_api_gives_the_board_a_new_version(mw):  # noqa: F811
    before = board.board_version(mw.competition.id)
    resp = mw.mark("j2", "K101", mw.a1, "2")
    assert resp.status_code == 200, resp.get_json()
    assert board.board_version(mw.competition.id) != before


def _selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_a_batch_reads_as_often_as_one_mark(mw):  # noqa: F811
    """A fixed number of reads checks a batch (the competition, the aspects with the judge's seats, the entries
    behind the codes with the judge's conflicts, keys and current marks), whatever its size."""
    a1, a2 = mw.a1.id, mw.a2.id
    responses = []
    one = statements_run(lambda: responses.append(mw.post("j2", "/marks", [item("K101", a1, "2")])))
    batch = [item(code, aspect, "2") for code in ("K102", "K103") for aspect in (a1, a2)]
    four = statements_run(lambda: responses.append(mw.post("j2", "/marks", batch)))
    assert [r.status_code for r in responses] == [200, 200], [r.get_json() for r in responses]
    marks_reads = [s for s in _selects(one) if "FROM mark" in s or "FROM entry" in s or "aspect" in s]
    assert len(marks_reads) <= 4, marks_reads  # aspects, entries, keys + currents, the board's entries
    assert len(_selects(four)) <= len(_selects(one))


def test_the_same_chain_rule_applies_when_the_mark_arrives(mw):  # noqa: F811
    """j4 belongs to enterprise A; A and B in one industry chain make B's entrant (K102) conflicted for j4 once the
    competition applies the same-chain rule."""
    db.session.add(IndustryChain(name="汽车产业链", members=[mw.enterprises[0], mw.enterprises[1]]))
    mw.competition.conflict_same_chain = True
    db.session.flush()
    resp = mw.mark("j4", "K102", mw.a1, "2")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_assigned"
    assert mw.mark("j4", "K103", mw.a1, "2").status_code == 200  # C is not in the chain
    mw.competition.conflict_same_chain = False
    db.session.flush()
    assert mw.mark("j4", "K102", mw.a1, "2").status_code == 200


def test_module_codes_name_the_entries_when_the_competition_uses_them(mw):  # noqa: F811
    mw.competition.uses_module_codes = True
    for n, entry in enumerate(mw.entries):
        db.session.add(ModuleCode(entry_id=entry.id, module_id=mw.module1.id, code=f"M{n + 1:03d}"))
    db.session.flush()
    by_entry_code = mw.mark("j2", "K101", mw.a1, "2")
    assert by_entry_code.status_code == 404 and by_entry_code.get_json()["error"]["code"] == "not_assigned"
    resp = mw.mark("j2", "M001", mw.a1, "2")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["results"][0]["code"] == "M001"
    assert [m.entry_id for m in mw.marks(judge_id=mw.users["j2"].id)] == [mw.entries[0].id]
    # the code of module 1 names nothing in module 2
    other = mw.mark("j5", "M001", mw.b1, "2")
    assert other.status_code == 404


def test_a_judge_may_not_enter_paper_marks_but_the_chief_judge_may(mw):  # noqa: F811
    body = {"judge_id": mw.users["j3"].id, "marks": [item("K101", mw.a1.id, "2")]}
    refused = mw.post("j2", "/marks/paper", body)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "not_clerk"
    stored = mw.post("j1", "/marks/paper", body)
    assert stored.status_code == 200, stored.get_json()
    assert stored.get_json()["results"][0]["confirmed"] is False


def test_the_service_sees_what_its_caller_changed_but_did_not_flush(mw):  # noqa: F811
    """The batch reads are Core statements (no autoflush): a caller's pending ORM change is flushed first, as an
    ORM query would have flushed it."""
    judge, competition_id, aspect_id = mw.users["j2"], mw.competition.id, mw.a1.id
    assert judge.id and mw.module1.id  # loaded now: nothing below refreshes them (a refresh would autoflush)
    mw.module1.locked_at = utcnow()  # pending, not flushed
    with pytest.raises(DomainError) as refused:
        services.submit_marks(judge, competition_id, [services.MarkInput("K101", aspect_id, "2", key())])
    assert refused.value.code == "module_locked"
