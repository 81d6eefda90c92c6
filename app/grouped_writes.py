"""Group commit: many requests' small writes in one SQLite write transaction.

SQLite has one writer at a time, and every write transaction pays a fixed price however little it writes: its
turn in the write queue, ``BEGIN IMMEDIATE``, re-reading every page it touches when another connection wrote
since its last transaction (SQLite empties a connection's page cache then), and ``COMMIT``. When many small
writes arrive at once — 16 judges' tablets autosaving one mark each — that fixed price, not the work, sets the
pace, and a thread holding the write lock waits for the GIL behind its process's other threads at every
statement.

``GroupCommit`` lets those writes share the price. A request hands in a *job* and waits. If no group is running
in the process, its own thread leads: it runs ``run_group(take)`` (one transaction: the caller opens and commits
it), which first begins its transaction — waiting for its turn of the write lock while another process writes —
and only then calls ``take()`` for every job waiting at that moment, so that the jobs which arrived during that
wait join this group instead of waiting for the next one; each job gets its own result. Jobs that arrive after
``take()`` wait for the next group, which the first of them leads. A job's result says what to answer; a job that
could not be done (a refusal, an error) is marked so by ``run_group`` and its request is answered the ordinary
way, from the start. Nothing is kept between groups, and a job is never run twice: a follower waits until its
group has ended.

This is written here rather than taken from a library because it is a few dozen lines about our own transaction
rules (SQLite's single writer, our write queue); the general idea is the group commit of database engines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

NOT_DONE = object()  # a job's result when its group did not do it: answer the request the ordinary way


class Job:
    __slots__ = ("payload", "result", "_turn", "_lead")

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.result: Any = NOT_DONE
        self._turn = threading.Event()
        self._lead = False


class GroupCommit:
    """One per process and database; see the module's docstring."""

    def __init__(self, run_group: Callable[[Callable[[], list[Job]]], None], max_group: int = 64) -> None:
        self._run_group = run_group
        self._max_group = max_group
        self._lock = threading.Lock()
        self._waiting: list[Job] = []
        self._running = False
        self.groups = 0  # groups run (tests, benchmarks)
        self.jobs = 0

    def submit(self, payload: Any) -> Any:
        """Run ``payload`` in a group (perhaps leading it); its result, or ``NOT_DONE``."""
        job = Job(payload)
        with self._lock:
            self._waiting.append(job)
            lead = not self._running
            self._running = True
        if not lead:
            job._turn.wait()
            if not job._lead:
                return job.result  # done by another thread's group
        self._lead_group()
        return job.result

    def _lead_group(self) -> None:
        taken: list[list[Job]] = []

        def take() -> list[Job]:
            """The group: the jobs waiting now (the leader's own first in line), at most ``max_group``; the same list
            if called again."""
            if not taken:
                with self._lock:
                    taken.append(self._waiting[:self._max_group])
                    del self._waiting[:self._max_group]
            return taken[0]

        try:
            self._run_group(take)
        finally:
            group = take()  # a group that failed before taking its jobs leaves them not done
            self.groups += 1
            self.jobs += len(group)
            with self._lock:
                successor = self._waiting[0] if self._waiting else None
                if successor is None:
                    self._running = False
                else:
                    successor._lead = True  # still running: the next group is theirs
            for job in group:
                if not job._lead:
                    job._turn.set()
            if successor is not None:
                successor._turn.set()
