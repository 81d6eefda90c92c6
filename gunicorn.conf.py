"""gunicorn's settings for Jiangxin: read by ``gunicorn wsgi:app`` started in this directory (it is gunicorn's
default config file; options on the command line take precedence).

Each worker process is pinned to one CPU, spread evenly over the CPUs this server may use.

Why: a worker is one Python process, so its threads run Python one at a time (the GIL) and use about one CPU
between them. Left to the scheduler, the thread holding the GIL keeps moving from one CPU to another. Every move
drags the interpreter's hot memory (reference counts, the session, the statement cache) across CPU caches. And a
thread that has released the GIL for a moment (each SQLite statement does) finds it taken by a thread on
another CPU.

Measured with the marks benchmark's load (gunicorn ``-w 2 --threads 8``, 16 clients, two CPUs), twelve rounds
alternating pinned and unpinned servers, medians: judges' marks 879 → 1,133 requests a second, CPU per request
1,472 → 1,325 µs; the bare-INSERT baseline served by the same command 2,050 → 2,393.

``JIANGXIN_PIN_WORKERS=0`` leaves the workers to the scheduler. Do that when the server's CPUs are shared with
something else that is busy, such as the database server on the same machine. Nothing is pinned with one worker,
or with one CPU.

Once a worker has loaded the app, Python's garbage collector is told two things (``tune_gc``):

- everything loaded so far (modules, the app, SQLAlchemy's and marshmallow's compiled machinery: about 180,000
  objects that live as long as the process) is frozen (``gc.freeze``), so that the collector's full collections no
  longer walk it. A full collection of a loaded worker took about 100 ms here, with the GIL held and, as often as
  not, the database's write lock too: every other writer of the file waited.
- the youngest generation is collected every ``GC_YOUNG_THRESHOLD`` container allocations instead of Python's 700.
  A request allocates a few hundred of them and frees nearly all at its end; collecting ten times less often
  scans about as many objects in all, but pays the collection's fixed cost ten times less.

Measured with the same load, 16 alternating rounds: CPU per mark request 1,084 → 1,034 µs, and 9 % more marks a
second (the median of the paired rounds' ratios). The threshold alone changed nothing; freezing alone saved 4 % CPU
but no throughput that showed. This machine's speed drifts by ±15 % between rounds, so a gain of this size is near
what such a run can tell; the reason to keep it is the 100 ms pause it removes. ``gc.freeze``
keeps the frozen objects for the worker's life: only what was loaded at start, never a request's garbage.

Each worker serves its share of the open connections (``pre_request``): a worker that holds more than its share
(all workers' open connections divided by the number of workers, rounded up) answers one request with
``Connection: close``, at most one every ``SHED_GAP`` seconds. The client opens a new connection, as browsers and
HTTP libraries do by themselves, and the worker that accepts it first, usually the less busy one, serves it. Why:
a keep-alive connection stays with the worker that accepted it, and which one that is, when many clients connect
at once, is chance. Judges' tablets and scripts that send mark after mark on one connection could leave one
worker with eleven of sixteen and the other with five: the first saturated its CPU while the second ran out of
work, and the clients of the first waited. The workers publish their counts of open connections in a small array
of shared memory that the master makes before the first fork (one slot per worker, freed when it exits).

Measured with the marks benchmark's load (16 clients, each on one keep-alive connection, fresh connections every
round), two runs of 8 rounds alternating servers with and without: without, the two workers' shares of CPU ranged
from 0.96/0.04 to 0.41/0.59 and judges' marks from 1,222 to 2,243 requests a second (medians 1,995 and 1,749);
with, the shares were 0.45–0.49/0.51–0.55 in every round and the marks 2,048–2,256 a second (medians 2,121 and
2,097), closing 13 to 18 connections in a round of 1,600 requests. It is not free everywhere: the benchmark's bare
INSERT app, which barely feels which worker serves it, served 4 % fewer requests a second with it (10 rounds).
``JIANGXIN_BALANCE_CONNECTIONS=0`` turns it off. Nothing is balanced with one worker, with workers that keep no
connections open (gunicorn's sync worker), or on an HTTP/2 connection (its streams would all end).
"""

from __future__ import annotations

import gc
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from multiprocessing import RawArray


def _enabled(name: str, environ) -> bool:
    return environ.get(name, "1").strip().lower() not in {"0", "false", "no", "off"}


def pin_workers_enabled(environ=os.environ) -> bool:
    return _enabled("JIANGXIN_PIN_WORKERS", environ)


def balance_enabled(environ=os.environ) -> bool:
    return _enabled("JIANGXIN_BALANCE_CONNECTIONS", environ)


def cpu_for_worker(cpus: Iterable[int], busy: Iterable[int]) -> int:
    """The CPU for a new worker: among ``cpus``, the one that the fewest of the live workers (their CPUs:
    ``busy``) are pinned to, the lowest of those on a tie. A worker started in place of one that exited takes
    the CPU that its predecessor left."""
    count = Counter(c for c in busy)
    return min(sorted(cpus), key=lambda c: count[c])


def pre_fork(server, worker) -> None:
    """In the master process, before the worker starts: its slot for its count of connections, and its CPU (the
    master knows every live worker's)."""
    _give_slot(server, worker)
    worker.jiangxin_cpu = None
    if not pin_workers_enabled() or not hasattr(os, "sched_getaffinity") or server.cfg.workers < 2:
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return
    busy = [getattr(w, "jiangxin_cpu", None) for w in server.WORKERS.values()]
    worker.jiangxin_cpu = cpu_for_worker(cpus, [c for c in busy if c is not None])


def post_fork(server, worker) -> None:
    """In the worker, before it loads the app or starts its threads (they inherit the CPU)."""
    cpu = getattr(worker, "jiangxin_cpu", None)
    if cpu is None:
        return
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:  # e.g. a sandbox that forbids it: the worker runs unpinned
        server.log.warning("could not pin worker %s to CPU %s: %s", worker.pid, cpu, exc)


GC_YOUNG_THRESHOLD = 7000  # container allocations between collections of the youngest generation (Python: 700)


def tune_gc() -> None:
    """See the module's docstring: freeze what is loaded, collect the youngest generation less often."""
    gc.collect()  # what start-up left as garbage goes now, not frozen with the rest
    gc.freeze()
    _young, *older = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *older)


def post_worker_init(worker) -> None:
    """In the worker, once it has loaded the app (before it serves its first request)."""
    tune_gc()


BALANCE_SLOTS = 64  # workers that can publish their counts of connections; any more are not balanced
SHED_GAP = 0.005  # seconds: a worker closes at most one connection in this time, so that its count catches up
_FREE = -1  # a slot of no live worker
_counts = None  # the shared array of open connections per worker, made in the master before its first fork


def over_share(mine: int, counts: Sequence[int]) -> bool:
    """Whether a worker with ``mine`` open connections holds more than its share: ``counts`` are the live
    workers' counts (its own included, ``_FREE`` for a slot of none), the share is their total divided by the
    live workers, rounded up."""
    live = [c for c in counts if c != _FREE]
    return len(live) > 1 and mine > -(-sum(live) // len(live))


def _give_slot(server, worker) -> None:
    """In the master: the lowest slot no live worker has, or none (then this worker is not balanced)."""
    global _counts
    worker.jiangxin_slot = None
    if not balance_enabled() or server.cfg.workers < 2:
        return
    if _counts is None:
        _counts = RawArray("i", [_FREE] * BALANCE_SLOTS)
    taken = {getattr(w, "jiangxin_slot", None) for w in server.WORKERS.values()}
    slot = next((i for i in range(BALANCE_SLOTS) if i not in taken), None)
    if slot is not None:
        _counts[slot] = 0
        worker.jiangxin_slot, worker.jiangxin_counts, worker.jiangxin_shed_after = slot, _counts, 0.0


def child_exit(server, worker) -> None:
    """In the master, once a worker has exited: its slot is free (its connections are gone)."""
    slot = getattr(worker, "jiangxin_slot", None)
    if slot is not None:
        worker.jiangxin_counts[slot] = _FREE


def pre_request(worker, req) -> None:
    """In the worker, before each request: publish its count of open connections; if it holds more than its
    share, this request's answer closes its connection (see the module's docstring)."""
    slot = getattr(worker, "jiangxin_slot", None)
    mine = getattr(worker, "nr_conns", None)  # gunicorn's threaded worker: its open connections, this one included
    if slot is None or not isinstance(mine, int):
        return
    counts = worker.jiangxin_counts
    counts[slot] = mine
    if over_share(mine, counts[:]) and getattr(req, "version", (1, 1)) < (2, 0):  # HTTP/2: one connection, many streams
        now = time.monotonic()
        if now >= worker.jiangxin_shed_after:
            worker.jiangxin_shed_after = now + SHED_GAP
            req.must_close = True  # gunicorn answers "Connection: close" and closes it after the answer
