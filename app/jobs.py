"""Background jobs: ``enqueue("package.module:function", *args)`` runs a function outside the request.

Backends (``JOBS_BACKEND``, see app.config):

``pool`` (the embedded default)
    A ``ProcessPoolExecutor`` of ``JOBS_WORKERS`` processes started with *spawn* (no inherited database
    connections or locks). Each worker process builds its own app once with ``create_app`` from a snapshot of
    the enqueuing app's configuration, and runs every job in a fresh app context. CPU-bound work (rendering
    PDFs) really runs in parallel. Jobs live as long as the server process: a job keeps running when the
    browser that started it is closed; a job queued when the server stops is lost (use ``rq`` when that
    matters).
``thread``
    A thread pool inside the server process (same app, one app context per job): no start-up cost, but
    Python threads do not render PDFs in parallel.
``rq`` (the default when ``REDIS_URL`` is set)
    The job goes to the Redis queue ``JOBS_QUEUE``; ``rq worker --url $REDIS_URL jiangxin`` (or
    ``flask --app wsgi jobs worker``) processes on any machine do the work. A worker builds the app from the
    environment (``DATABASE_URL`` …) — or uses the app whose context is active (``flask jobs worker``,
    tests with a ``SimpleWorker``).
``inline``
    Runs the job at once in the caller's app context and session (tests; jobs that enqueue follow-up work
    from inside a worker).

A job must not depend on the request that queued it: it gets plain arguments (ids), loads what it needs,
commits its own progress (so a page can poll it) and leaves a failure visible in the database. ``enqueue``
called while the session has an open transaction submits the job only after that transaction commits
(design rule: side effects after the commit), so a worker never looks for a row that is not there yet;
a transaction rolled back drops the job.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import click
from flask import Flask, current_app, has_app_context
from flask.cli import AppGroup
from sqlalchemy import event

from app.db import db

log = logging.getLogger("jiangxin.jobs")

BACKENDS = ("inline", "thread", "pool", "rq")

_lock = threading.Lock()
_executors: dict[tuple[int, str], Executor] = {}


# --- entry point --------------------------------------------------------------------------------------


def backend(app: Flask | None = None) -> str:
    app = app or current_app
    name = app.config.get("JOBS_BACKEND") or ("rq" if app.config.get("REDIS_URL") else "pool")
    if name not in BACKENDS:
        raise ValueError(f"JOBS_BACKEND must be one of {BACKENDS}, got {name!r}")
    return name


def enqueue(func_path: str, *args: Any) -> None:
    """Run ``func_path`` (``"module:function"`` or ``"module.function"``) with ``args`` in the background.

    Arguments must be picklable plain values (ids, strings). In a transaction the job is submitted when it
    commits; inline jobs run at once.
    """
    resolve(func_path)  # fail here, in the caller, for a typo rather than later in a worker
    app = current_app._get_current_object()
    name = backend(app)
    if name == "inline":
        run_job(func_path, args)
        return
    session = db.session()
    if not session.in_transaction():
        submit(app, name, func_path, args)
        return
    pending = [True]

    def _committed(_session) -> None:
        if pending[0]:
            pending[0] = False
            submit(app, name, func_path, args)

    def _rolled_back(_session, previous) -> None:
        if previous.parent is None:  # the whole transaction, not a savepoint inside it
            pending[0] = False

    event.listen(session, "after_commit", _committed)
    event.listen(session, "after_soft_rollback", _rolled_back)


def submit(app: Flask, name: str, func_path: str, args: tuple) -> None:
    """Hand the job to the backend now (``enqueue`` calls this after the commit)."""
    if name == "rq":
        queue = rq_queue(app)
        queue.enqueue_call("app.jobs.rq_run", args=(func_path, list(args)),
                           timeout=app.config.get("JOBS_TIMEOUT", 3600), result_ttl=3600, failure_ttl=7 * 86400,
                           description=func_path)
        return
    future = _executor(app, name).submit(*_task(app, name, func_path, args))
    future.add_done_callback(_log_failure(func_path))


def resolve(func_path: str) -> Callable[..., Any]:
    module, sep, attr = func_path.partition(":")
    if not sep:
        module, _dot, attr = func_path.rpartition(".")
    func = getattr(importlib.import_module(module), attr, None)
    if not callable(func):
        raise ValueError(f"no job function {func_path!r}")
    return func


def run_job(func_path: str, args: tuple | list) -> Any:
    """Call the job in the current app context and commit; roll back and re-raise on failure."""
    try:
        result = resolve(func_path)(*args)
        db.session.commit()
        return result
    except BaseException:
        db.session.rollback()
        log.exception("job %s%r failed", func_path, tuple(args))
        raise


def _log_failure(func_path: str) -> Callable[[Future], None]:
    def callback(future: Future) -> None:
        exc = future.exception()
        if exc is not None:
            log.error("job %s failed in the pool: %r", func_path, exc)

    return callback


# --- in-process pools ------------------------------------------------------------------------------------


def _executor(app: Flask, name: str) -> Executor:
    key = (id(app), name)
    with _lock:
        ex = _executors.get(key)
        if ex is None:
            workers = max(1, int(app.config.get("JOBS_WORKERS") or 2))
            if name == "pool":
                ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init_worker, initargs=(config_snapshot(app),))
            else:
                ex = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jiangxin-job")
            _executors[key] = ex
        return ex


def _task(app: Flask, name: str, func_path: str, args: tuple) -> tuple:
    if name == "pool":
        return (_pool_run, func_path, tuple(args))
    return (_thread_run, app, func_path, tuple(args))


def _thread_run(app: Flask, func_path: str, args: tuple) -> None:
    with app.app_context():
        run_job(func_path, args)


def shutdown(wait: bool = True) -> None:
    """Stop the in-process pools (tests, benchmarks; the server's pools end with the process)."""
    with _lock:
        executors = list(_executors.values())
        _executors.clear()
    for ex in executors:
        ex.shutdown(wait=wait, cancel_futures=not wait)


class ConfigSnapshot:
    """The picklable part of an app's configuration, given to ``create_app`` in a worker process."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def config_snapshot(app: Flask) -> ConfigSnapshot:
    values: dict[str, Any] = {}
    for key, value in app.config.items():
        if not key.isupper():
            continue
        try:
            pickle.dumps(value)
        except Exception:  # e.g. a callable in some extension's setting: the worker's default is fine
            continue
        values[key] = value
    values["JOBS_BACKEND"] = "inline"  # a job that queues more work does it in its own worker
    return ConfigSnapshot(values)


_worker_app: Flask | None = None


def _init_worker(snapshot: ConfigSnapshot) -> None:
    global _worker_app
    from app import create_app

    _worker_app = create_app(snapshot)  # type: ignore[arg-type]


def _pool_run(func_path: str, args: tuple) -> None:
    assert _worker_app is not None, "worker process not initialized"
    with _worker_app.app_context():
        run_job(func_path, args)


# --- RQ --------------------------------------------------------------------------------------------------


def rq_connection(app: Flask | None = None):
    from redis import Redis

    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        raise RuntimeError("JOBS_BACKEND=rq needs REDIS_URL")
    return Redis.from_url(url)


def rq_queue(app: Flask | None = None):
    from rq import Queue

    app = app or current_app
    return Queue(app.config.get("JOBS_QUEUE") or "jiangxin", connection=rq_connection(app))


_rq_app: Flask | None = None


def rq_run(func_path: str, args: list) -> None:
    """What an RQ worker calls: run the job in the active app (``flask jobs worker``, tests) or in an app
    built once per worker process from the environment (plain ``rq worker``)."""
    global _rq_app
    if has_app_context():
        app = current_app._get_current_object()
    else:
        if _rq_app is None:
            from app import create_app

            _rq_app = create_app()
            _rq_app.config["JOBS_BACKEND"] = "inline"
        app = _rq_app
    with app.app_context():
        run_job(func_path, args)


jobs_cli = AppGroup("jobs", help="Background jobs (certificate batches).")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst: bool) -> None:
    """Run an RQ worker for this app's queue (needs REDIS_URL)."""
    from rq import Worker

    app = current_app._get_current_object()
    app.config["JOBS_BACKEND"] = "inline"
    queue = rq_queue(app)
    click.echo(f"rq worker on {queue.name}")
    Worker([queue], connection=queue.connection).work(burst=burst)
