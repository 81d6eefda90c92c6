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
"""

from __future__ import annotations

import gc
import os
from collections import Counter
from collections.abc import Iterable


def pin_workers_enabled(environ=os.environ) -> bool:
    return environ.get("JIANGXIN_PIN_WORKERS", "1").strip().lower() not in {"0", "false", "no", "off"}


def cpu_for_worker(cpus: Iterable[int], busy: Iterable[int]) -> int:
    """The CPU for a new worker: among ``cpus``, the one that the fewest of the live workers (their CPUs:
    ``busy``) are pinned to, the lowest of those on a tie. A worker started in place of one that exited takes
    the CPU that its predecessor left."""
    count = Counter(c for c in busy)
    return min(sorted(cpus), key=lambda c: count[c])


def pre_fork(server, worker) -> None:
    """In the master process, before the worker starts: choose its CPU (the master knows every live worker's)."""
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
