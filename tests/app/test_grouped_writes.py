"""Group commit (app.grouped_writes): every job runs exactly once, in some group, and gets its own result; jobs
that arrive while the leader waits for its turn (before it takes its jobs) join its group, those that arrive while a
group runs share the next one; a failed group leaves its jobs not done and the next group runs normally."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from app.grouped_writes import NOT_DONE, GroupCommit


def test_a_lone_job_is_its_own_group():
    groups: list[list[int]] = []

    def run(take):
        jobs = take()
        groups.append([j.payload for j in jobs])
        for job in jobs:
            job.result = job.payload * 10

    writer = GroupCommit(run)
    assert writer.submit(3) == 30
    assert writer.submit(4) == 40
    assert groups == [[3], [4]]
    assert (writer.groups, writer.jobs) == (2, 2)


def _crowd(writer: GroupCommit, n: int) -> dict[int, object]:
    results: dict[int, object] = {}
    start = threading.Barrier(n)

    def client(i: int) -> None:
        start.wait()
        results[i] = writer.submit(i)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    return results


def test_jobs_arriving_during_a_group_share_the_next_one_and_each_runs_once():
    runs: Counter[int] = Counter()
    sizes: list[int] = []

    def run(take):
        jobs = take()
        sizes.append(len(jobs))
        time.sleep(0.02)  # a group takes a while: the others queue up meanwhile
        for job in jobs:
            runs[job.payload] += 1
            job.result = ("done", job.payload)

    writer = GroupCommit(run)
    results = _crowd(writer, 24)
    assert results == {i: ("done", i) for i in range(24)}
    assert runs == Counter(range(24))  # exactly once each
    assert writer.jobs == 24 and writer.groups == len(sizes) < 24  # some groups held several jobs
    assert max(sizes) > 1


def test_a_group_takes_at_most_max_group_jobs():
    sizes: list[int] = []

    def run(take):
        jobs = take()
        sizes.append(len(jobs))
        time.sleep(0.01)
        for job in jobs:
            job.result = job.payload

    writer = GroupCommit(run, max_group=3)
    results = _crowd(writer, 16)
    assert results == {i: i for i in range(16)}
    assert max(sizes) <= 3 and sum(sizes) == 16


def test_a_failed_group_leaves_its_jobs_not_done_and_the_next_group_runs():
    calls = []

    def run(take):
        jobs = take()
        calls.append([j.payload for j in jobs])
        if any(j.payload == "boom" for j in jobs):
            raise RuntimeError("the database went away")
        for job in jobs:
            job.result = "ok"

    writer = GroupCommit(run)
    with pytest.raises(RuntimeError):
        writer.submit("boom")  # the leader sees the error
    assert writer.submit("next") == "ok"  # not stuck: the failed group ended

    # Followers of a failed group get NOT_DONE (their requests are answered the ordinary way)
    gate = threading.Event()
    entered = threading.Event()

    def slow_then_fail(take):
        jobs = take()
        if jobs[0].payload == "first":
            entered.set()
            gate.wait(5)
            for job in jobs:
                job.result = "ok"
            return
        raise RuntimeError("fail the second group")

    writer = GroupCommit(slow_then_fail)
    out: dict[str, object] = {}
    first = threading.Thread(target=lambda: out.setdefault("first", writer.submit("first")))
    first.start()
    assert entered.wait(5)
    errors: list[BaseException] = []

    def follower(name: str) -> None:
        try:
            out[name] = writer.submit(name)
        except RuntimeError as exc:  # whichever follower leads the second group sees the error
            errors.append(exc)
            out[name] = "raised"

    followers = [threading.Thread(target=follower, args=(f"f{i}",)) for i in range(3)]
    for t in followers:
        t.start()
    time.sleep(0.05)  # all three queue behind the first group
    gate.set()
    for t in [first, *followers]:
        t.join(5)
    assert out["first"] == "ok"
    outcomes = [out[f"f{i}"] for i in range(3)]
    assert outcomes.count(NOT_DONE) == 2 and outcomes.count("raised") == 1
    assert len(errors) == 1


def test_jobs_arriving_while_the_leader_waits_for_its_turn_join_its_group():
    turn = threading.Event()  # the write lock, held elsewhere until set
    waiting = threading.Event()
    groups: list[list[str]] = []

    def run(take):
        waiting.set()
        assert turn.wait(5)  # as BEGIN IMMEDIATE waits while another process writes
        jobs = take()
        groups.append([j.payload for j in jobs])
        for job in jobs:
            job.result = job.payload.upper()

    writer = GroupCommit(run)
    out: dict[str, object] = {}
    lead = threading.Thread(target=lambda: out.setdefault("a", writer.submit("a")))
    lead.start()
    assert waiting.wait(5)
    others = [threading.Thread(target=lambda p=p: out.setdefault(p, writer.submit(p))) for p in "bcd"]
    for t in others:
        t.start()
    deadline = time.monotonic() + 5
    while len(writer._waiting) < 4 and time.monotonic() < deadline:  # all three queued behind the leader
        time.sleep(0.005)
    turn.set()
    for t in [lead, *others]:
        t.join(5)
    assert out == {"a": "A", "b": "B", "c": "C", "d": "D"}
    assert groups == [["a", "b", "c", "d"]]  # one group: the leader's turn came after they arrived
    assert (writer.groups, writer.jobs) == (1, 4)


def test_a_group_that_fails_before_taking_its_jobs_leaves_them_not_done():
    def run(take):
        raise RuntimeError("BEGIN IMMEDIATE failed")

    writer = GroupCommit(run)
    with pytest.raises(RuntimeError):
        writer.submit("x")
    assert writer._waiting == [] and not writer._running  # the job left the queue; the next job leads a new group

    writer._run_group = lambda take: [setattr(j, "result", "ok") for j in take()]
    assert writer.submit("y") == "ok"
