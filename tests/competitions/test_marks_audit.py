"""A batch of marks is audited mark by mark (one chained entry each) but reads the chain's head once: the entries
are appended together before the commit, under the stream's append lock, each chaining onto the previous one; a
rolled-back savepoint takes its queued entries with it, and after a rollback or the end of the transaction the next
append reads the head again."""

from __future__ import annotations

from app.audit.models import AuditEntry
from app.audit.services import append_pending, record, verify_chain
from app.db import db
from tests.competitions.marks_fixtures import item, mw  # noqa: F401
from tests.conftest import statements_run


def _head_reads(fn) -> int:
    """How many times ``fn`` read an audit stream's head."""
    return sum(" ".join(s.split()).startswith("SELECT audit_entry.seq, audit_entry.hash FROM audit_entry WHERE")
               for s in statements_run(fn))


def test_a_batch_reads_the_audit_head_once_and_the_chain_holds(mw):  # noqa: F811
    codes = ("K101", "K102")
    batch = [item(code, aspect.id, "2") for code in codes for aspect in (mw.a1, mw.a2)]
    responses = []
    assert _head_reads(lambda: responses.append(mw.post("j2", "/marks", batch))) == 1
    assert responses[0].status_code == 200, responses[0].get_json()
    entries = mw.audit("mark_submitted")
    assert len(entries) == 4
    seqs = sorted(e.seq for e in entries)
    assert seqs == list(range(seqs[0], seqs[0] + 4))
    _count, problems = verify_chain()
    assert problems == []


def test_a_rolled_back_savepoint_drops_its_entries_and_forgets_the_head(app_ctx):
    record("test_first", target_type="t", target_id=1)
    assert _head_reads(lambda: record("test_queued", target_type="t", target_id=2)) == 0  # queued: nothing read
    appended = []
    assert _head_reads(lambda: appended.extend(append_pending())) == 1
    first = appended[0]
    assert [e.seq for e in appended] == [first.seq, first.seq + 1]
    nested = db.session.begin_nested()
    record("test_undone", target_type="t", target_id=3)
    undone = append_pending()[0]
    record("test_undone_queued", target_type="t", target_id=4)
    nested.rollback()
    record("test_after", target_type="t", target_id=5)
    written = []
    assert _head_reads(lambda: written.extend(append_pending())) == 1  # read again after the savepoint rolled back
    [after] = written  # the rolled-back savepoint's queued entry is gone
    assert after.action == "test_after"
    assert after.seq == first.seq + 2 and after.prev_hash != undone.hash
    db.session.commit()
    assert _head_reads(lambda: (record("test_next", target_type="t", target_id=6), append_pending())) == 1
    assert db.session.query(AuditEntry).filter(AuditEntry.action.like("test_undone%")).count() == 0
    assert verify_chain()[1] == []


def test_entries_are_appended_at_the_commit_and_a_rollback_appends_nothing(app_ctx):
    """``record`` queues; the commit appends (also without any read of the log); a rollback drops the queue."""
    record("test_committed", target_type="t", target_id=1)
    assert _head_reads(lambda: db.session.commit()) == 1
    record("test_rolled_back", target_type="t", target_id=2)
    db.session.rollback()
    db.session.commit()
    actions = [e.action for e in db.session.query(AuditEntry).filter(AuditEntry.action.like("test_%"))]
    assert actions == ["test_committed"]


def test_a_read_of_the_log_sees_the_transactions_entries(app_ctx):
    record("test_seen", target_type="t", target_id=1)
    assert db.session.query(AuditEntry).filter(AuditEntry.action == "test_seen").count() == 1


def test_a_judges_marks_chain_in_that_judges_stream_of_the_competition(mw):  # noqa: F811
    """Judges of one competition append to ``JUDGE_STREAMS`` streams of their own (by judge), so a venue's judges do
    not queue for one chain's append lock; the competition's own stream keeps everything else."""
    from competitions.services.common import JUDGE_STREAMS, audit_stream, audit_streams

    cid = mw.competition.id
    assert len(set(audit_streams(cid))) == JUDGE_STREAMS + 1
    for judge in ("j2", "j3"):
        response = mw.post(judge, "/marks", [item("K101", mw.a1.id, "3")])
        assert response.status_code == 200, response.get_json()
    by_judge = {e.actor_id: e.stream for e in mw.audit("mark_submitted")}
    assert by_judge == {mw.users[j].id: audit_stream(cid, mw.users[j].id) for j in ("j2", "j3")}
    assert set(by_judge.values()) <= set(audit_streams(cid)) - {audit_stream(cid)}
    assert audit_stream(cid, 3) == audit_stream(cid, 3 + JUDGE_STREAMS) != audit_stream(cid, 4)
    assert verify_chain()[1] == []
