"""Serials under concurrent issuing, on a SQLite file and on a throwaway PostgreSQL database: 16 threads, each
with its own connection and transaction, issue at once. No serial number is ever given twice, the sequence
has no holes when nothing failed, and the same certificate asked for by many threads at once is issued once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role, User, UserRole
from app.crypto import id_cipher
from app.db import db
from app.orgs.models import Enterprise
from app.people.models import Worker
from certificates import domain
from certificates.models import Certificate, SerialSequence

THREADS = 16
PER_THREAD = 4


def _build(app) -> tuple[int, list[int]]:
    with app.app_context():
        db.create_all()
        cipher = id_cipher()
        ent = Enterprise(name="并发企业", uscc="911100000000000017", region="北京市")
        db.session.add(ent)
        db.session.flush()
        workers = []
        for n in range(THREADS):
            number = f"11010519900101{n:03d}X"
            w = Worker(name=f"并发{n}", gender="M", id_type="resident", id_hash=cipher.hash("resident", number),
                       id_last4=number[-4:], id_encrypted=cipher.encrypt(number), enterprise_id=ent.id)
            db.session.add(w)
            workers.append(w)
        user = User(username="org", display_name="组织者", password_hash="x")
        user.roles.append(UserRole(role=Role.ORGANIZER))
        db.session.add(user)
        db.session.commit()
        return user.id, [w.id for w in workers]


def _issue(app, user_id: int, worker_id: int, subject: str, barrier: threading.Barrier | None) -> tuple[str, bool]:
    from certificates.services.issuance import issue_certificate

    with app.app_context():
        if barrier is not None:
            barrier.wait(timeout=60)
        try:
            actor = db.session.get(User, user_id)
            result = issue_certificate(actor, kind="award", worker_id=worker_id, achievement="一等奖", subject_key=subject)
            db.session.commit()
            return result.certificate.serial, result.created
        finally:
            db.session.rollback()
            db.session.remove()


def _run(app) -> None:
    user_id, worker_ids = _build(app)
    barrier = threading.Barrier(THREADS)

    def work(i: int) -> list[tuple[str, bool]]:
        out = [_issue(app, user_id, worker_ids[i], f"manual:c{i}-0", barrier)]
        out += [_issue(app, user_id, worker_ids[i], f"manual:c{i}-{k}", None) for k in range(1, PER_THREAD)]
        return out

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for rs in pool.map(work, range(THREADS)) for r in rs]
    serials = [s for s, created in results]
    assert all(created for _, created in results)
    assert len(set(serials)) == THREADS * PER_THREAD  # never the same number twice
    seqs = sorted(domain.parse_serial(s).seq for s in serials)
    assert seqs == list(range(1, THREADS * PER_THREAD + 1))  # and no holes when nothing failed
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == THREADS * PER_THREAD
        assert db.session.scalar(select(SerialSequence.last_seq)) == THREADS * PER_THREAD

    # The same certificate asked for by every thread at the same moment: one is issued, all get it.
    same = threading.Barrier(THREADS)
    with ThreadPoolExecutor(THREADS) as pool:
        races = list(pool.map(lambda _i: _issue(app, user_id, worker_ids[0], "competition:1:entry:1", same),
                              range(THREADS)))
    assert sum(created for _, created in races) == 1
    assert len({s for s, _ in races}) == 1
    with app.app_context():
        live = db.session.scalar(select(func.count()).select_from(Certificate).where(
            Certificate.subject_key == "competition:1:entry:1", Certificate.status == "issued"))
        assert live == 1


@pytest.mark.no_transaction
def test_concurrent_serials_sqlite(make_app, sqlite_url):
    _run(make_app(sqlite_url))


@pytest.mark.no_transaction
@pytest.mark.postgres
def test_concurrent_serials_postgres(make_app, postgres_url):
    _run(make_app(postgres_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": THREADS + 2}))


@pytest.mark.no_transaction
@pytest.mark.postgres
def test_the_union_issuer_is_created_once_when_the_first_issuings_race(make_app, postgres_url, monkeypatch):
    """The union's issuer has no enterprise id (no unique key covers it). B looks for it and finds none; before B
    creates it, A creates it and commits. B must then use A's issuer, not make a second one with its own ORG4 code
    and its own serials from 1. (B waits up to 3 s for A: with creators taking turns, A waits for B instead.)"""
    from certificates.services import issuance

    app = make_app(postgres_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 4})
    user_id, worker_ids = _build(app)
    a_done = threading.Event()
    b_waiting = threading.Event()
    original = issuance._union_name

    def union_name():
        if threading.current_thread().name == "B":
            b_waiting.set()
            a_done.wait(timeout=3)
        return original()

    monkeypatch.setattr(issuance, "_union_name", union_name)
    results: dict[str, tuple[str, bool]] = {}

    def run(name: str, worker: int, wait_for_b: bool) -> None:
        if wait_for_b:
            b_waiting.wait(timeout=10)
        results[name] = _issue(app, user_id, worker_ids[worker], f"manual:race-{name}", None)
        if name == "A":
            a_done.set()

    threads = [threading.Thread(target=run, args=("B", 1, False), name="B"),
               threading.Thread(target=run, args=("A", 0, True), name="A")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with app.app_context():
        from certificates.models import CertificateIssuer

        assert db.session.scalar(select(func.count()).select_from(CertificateIssuer)) == 1
    parsed = sorted((domain.parse_serial(s) for s, _created in results.values()), key=lambda p: p.seq)
    assert len({p.issuer_code for p in parsed}) == 1 and [p.seq for p in parsed] == [1, 2]
