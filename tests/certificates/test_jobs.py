"""Background jobs: inline (tests), after the commit only, a real process pool and real RQ workers running a
certificate batch against a database of their own (the job never depends on the request that queued it)."""

from __future__ import annotations

import os
import uuid
import zipfile
from datetime import date

import pytest
from sqlalchemy import func, select

from app import jobs
from app.db import db
from app.models import AppSetting
from tests.conftest import _transaction, make_resident_id, require  # noqa: F401  (database tests)

BORN = date(1981, 2, 3)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def touch(key: str, value: str) -> None:
    """A job for these tests: writes one setting."""
    db.session.merge(AppSetting(key=key, value=value))


def test_inline_runs_at_once_in_the_callers_session(app_ctx):
    jobs.enqueue("tests.certificates.test_jobs:touch", "job-inline", "1")
    assert db.session.get(AppSetting, "job-inline").value == "1"


def test_unknown_job_fails_in_the_caller(app_ctx):
    with pytest.raises((ValueError, ImportError, AttributeError)):
        jobs.enqueue("tests.certificates.test_jobs:no_such_job")


def test_jobs_are_submitted_after_the_commit_and_dropped_on_rollback(app, app_ctx, monkeypatch):
    submitted = []
    monkeypatch.setitem(app.config, "JOBS_BACKEND", "thread")
    monkeypatch.setattr(jobs, "submit", lambda app_, name, func, args: submitted.append((name, func, args)))
    db.session.add(AppSetting(key="job-pending", value="x"))
    db.session.flush()
    jobs.enqueue("tests.certificates.test_jobs:touch", "a", "1")
    assert submitted == []  # the transaction is open: a worker would not see the row yet
    db.session.commit()
    assert submitted == [("thread", "tests.certificates.test_jobs:touch", ("a", "1"))]
    db.session.add(AppSetting(key="job-pending-2", value="x"))
    db.session.flush()
    jobs.enqueue("tests.certificates.test_jobs:touch", "b", "2")
    db.session.rollback()
    db.session.commit()
    assert len(submitted) == 1


@pytest.mark.no_transaction
def test_thread_pool_runs_a_job_in_its_own_app_context(isolated_app):
    isolated_app.config["JOBS_BACKEND"] = "thread"
    try:
        with isolated_app.app_context():
            jobs.enqueue("tests.certificates.test_jobs:touch", "job-thread", "ok")
    finally:
        jobs.shutdown()  # waits until the pool's jobs have run
    with isolated_app.app_context():
        assert db.session.get(AppSetting, "job-thread").value == "ok"


def _batch_world(create_enterprise, create_worker, create_user, n: int):
    from app.accounts.models import Role

    ent = create_enterprise(name="并行企业")
    for i in range(n):
        create_worker(name=f"并行{i:02d}", enterprise=ent, id_number=make_resident_id(i, BORN))
    organizer = create_user(Role.ORGANIZER)
    db.session.commit()
    return organizer


def _csv(n: int) -> bytes:
    lines = ["姓名,证件号码,证书类型,证书事项,获奖等级"]
    lines += [f"并行{i:02d},{make_resident_id(i, BORN)},参赛证书,并行测试,参赛" for i in range(n)]
    return ("\ufeff" + "\r\n".join(lines)).encode()


def _run_batch(app, create_enterprise, create_worker, create_user, n: int) -> str:
    from certificates.services import batches

    with app.app_context():
        organizer = _batch_world(create_enterprise, create_worker, create_user, n)
        batch = batches.preview_file(organizer, "p.csv", _csv(n))
        assert batches.summary(batch)["new"] == n
        batches.confirm_batch(organizer, batch.id)
        batch_id = batch.id
        db.session.commit()  # the chunks are handed to the backend now
    return batch_id


def _assert_finished(app, batch_id: str, n: int) -> None:
    """Once the backend has run every job (the pool shut down and joined, the RQ worker's burst over)."""
    from certificates.models import Certificate, CertificateBatch
    from certificates.services import batches

    with app.app_context():
        b = db.session.get(CertificateBatch, batch_id)
        assert (b.status, b.done, b.failed, b.total) == ("done", n, 0, n), b.errors
        assert db.session.scalar(select(func.count()).select_from(Certificate)
                                 .where(Certificate.batch_id == batch_id)) == n
        serials = db.session.scalars(select(Certificate.serial)).all()
        assert len(set(serials)) == n
        with zipfile.ZipFile(batches.zip_path(batch_id)) as zf:
            assert len(zf.namelist()) == n


@pytest.mark.no_transaction
def test_process_pool_issues_a_batch_with_two_workers(isolated_app, create_enterprise, create_worker, create_user):
    isolated_app.config.update(JOBS_BACKEND="pool", JOBS_WORKERS=2, CERTIFICATE_BATCH_CHUNK=5)
    try:
        batch_id = _run_batch(isolated_app, create_enterprise, create_worker, create_user, 12)
    finally:
        jobs.shutdown()  # waits until the workers have run every chunk (follow-up work runs inline in them)
    _assert_finished(isolated_app, batch_id, 12)


@pytest.fixture
def rq_app(isolated_app):
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
        reachable = True
    except redis.exceptions.ConnectionError:
        reachable = False
    require(reachable, f"Redis at {REDIS_URL}")
    queue = f"test-jobs-{uuid.uuid4().hex}"
    isolated_app.config.update(JOBS_BACKEND="rq", REDIS_URL=REDIS_URL, JOBS_QUEUE=queue, CERTIFICATE_BATCH_CHUNK=4)
    yield isolated_app
    for key in client.scan_iter(f"*{queue}*"):
        client.delete(key)
    client.close()


@pytest.mark.redis
@pytest.mark.no_transaction
def test_rq_worker_issues_a_batch(rq_app, create_enterprise, create_worker, create_user):
    from rq import SimpleWorker

    batch_id = _run_batch(rq_app, create_enterprise, create_worker, create_user, 6)
    queue = jobs.rq_queue(rq_app)
    assert queue.count == 2  # two chunks of at most 4 rows wait in Redis until a worker takes them
    with rq_app.app_context():  # as `flask jobs worker` does: the worker runs the jobs in this app
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    queue.connection.close()
    _assert_finished(rq_app, batch_id, 6)
