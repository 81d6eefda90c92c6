"""A batch of marks is audited mark by mark (one chained entry each) but reads the chain's head once: the
transaction holds the append lock, so each append chains onto the previous one; a rolled-back savepoint or the
end of the transaction makes the next append read the head again."""

from __future__ import annotations

from app.audit.models import AuditEntry
from app.audit.services import record, verify_chain
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


def test_a_rolled_back_savepoint_forgets_the_head(app_ctx):
    first = record("test_first", target_type="t", target_id=1)
    assert _head_reads(lambda: record("test_second", target_type="t", target_id=2)) == 0
    nested = db.session.begin_nested()
    undone = record("test_undone", target_type="t", target_id=3)
    nested.rollback()
    reads = []
    reads.append(_head_reads(lambda: reads.append(record("test_after", target_type="t", target_id=4))))
    after = reads[0]
    assert reads[1] == 1  # read again after the savepoint rolled back
    assert after.seq == first.seq + 2 and after.prev_hash != undone.hash
    db.session.commit()
    assert _head_reads(lambda: record("test_next", target_type="t", target_id=5)) == 1  # a new transaction
    assert db.session.query(AuditEntry).filter(AuditEntry.action == "test_undone").count() == 0
