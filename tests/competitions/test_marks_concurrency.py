"""Reliability: 32 judge clients at once, every batch of marks sent two or three times (retries, some of them
at the same moment), against a real threaded HTTP server on a SQLite file and on a throwaway PostgreSQL
database. Afterwards the stored current marks are exactly the intended ones: none lost, none duplicated, no
"database is locked", no 5xx.

Each client behaves like the judge page's sync queue: batches go out in order, a batch is re-sent until it was
answered (here: always 2–3 times, sometimes by two or three connections in parallel), and the next batch waits for
an answer to the previous one. Some marks are corrected in a later batch, so the retries of the first value
arrive after the correction was sent — they must not undo it.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from app.accounts.models import Role, User, UserRole
from app.audit.models import AuditEntry
from app.db import db
from competitions.models import Aspect, Competition, Criterion, Entry, Mark, Module, Panel, PanelJudge

JUDGES = 32
ENTRIES = 4
SERVER_THREADS = {"sqlite": 8, "postgres": 32}
SCALES = (("3", "1"), ("10", "0.5"), ("20", "0.25"))  # (max, step) of the aspects




def _build(app) -> tuple[int, list[int], list[str], list[str], list[int]]:
    """A running competition, one module with three aspects, 32 judges on its panel, four coded entries."""
    from app.accounts.services import create_token
    from app.crypto import id_cipher
    from app.orgs.models import Enterprise
    from app.people.models import Worker

    with app.app_context():
        db.create_all()
        cipher = id_cipher()
        competition = Competition(name="并发评分测试", level="city", status="running")
        db.session.add(competition)
        db.session.flush()
        module = Module(competition_id=competition.id, position=1, name="实操", kind="practical")
        crit = Criterion(position=1, name="评分项")
        for i, (smax, step) in enumerate(SCALES):
            crit.aspects.append(Aspect(position=i + 1, name=f"方面{i}", kind="J", max_mark=Decimal(10),
                                       scale_min=Decimal(0), scale_max=Decimal(smax), scale_step=Decimal(step),
                                       judges_required=JUDGES))  # every judge marks every entrant
        module.criteria.append(crit)
        db.session.add(module)
        judges = []
        for n in range(JUDGES):
            user = User(username=f"judge{n}", display_name=f"裁判{n}", password_hash="x")
            user.roles.append(UserRole(role=Role.JUDGE))
            db.session.add(user)
            judges.append(user)
        db.session.flush()
        panel = Panel(competition_id=competition.id, module_id=module.id, chief_judge_id=judges[0].id)
        panel.members = [PanelJudge(judge_id=j.id) for j in judges]
        db.session.add(panel)
        codes = []
        for n in range(ENTRIES):
            ent = Enterprise(name=f"企业{n}", uscc=f"9111000000000000{n:02d}", region="北京市")
            db.session.add(ent)
            db.session.flush()
            number = f"11010519900101{n:03d}X"
            worker = Worker(name=f"选手{n}", gender="M", id_type="resident", id_hash=cipher.hash("resident", number),
                            id_last4=number[-4:], id_encrypted=cipher.encrypt(number), enterprise_id=ent.id)
            db.session.add(worker)
            db.session.flush()
            code = f"C{n:03d}"
            db.session.add(Entry(competition_id=competition.id, worker_id=worker.id, enterprise_id=ent.id,
                                 status="approved", code=code))
            codes.append(code)
        tokens = [create_token(j, "sync").secret for j in judges]
        db.session.commit()
        aspect_ids = [a.id for a in crit.aspects]
        return competition.id, [j.id for j in judges], tokens, codes, aspect_ids


def _plan(rng: random.Random, codes: list[str], aspect_ids: list[int]) -> list[list[dict]]:
    """One judge's batches, in order: every (entry, aspect) once, a few corrected later."""
    marks = []
    for code in codes:
        for aspect_id, (smax, step) in zip(aspect_ids, SCALES, strict=True):
            steps = int(Decimal(smax) / Decimal(step))
            value = Decimal(step) * rng.randint(0, steps)
            marks.append({"code": code, "aspect_id": aspect_id, "value": str(value), "idempotency_key": str(uuid.uuid4())})
    rng.shuffle(marks)
    corrections = []
    for m in rng.sample(marks, 3):
        smax, step = SCALES[aspect_ids.index(m["aspect_id"])]
        old = Decimal(m["value"])
        new = old + Decimal(step) if old + Decimal(step) <= Decimal(smax) else old - Decimal(step)
        corrections.append(m | {"value": str(new), "idempotency_key": str(uuid.uuid4())})
    sequence = marks + corrections
    batches, i = [], 0
    while i < len(sequence):
        size = rng.choice((1, 2, 3, 5))
        batches.append(sequence[i:i + size])
        i += size
    return batches


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # 1,000 lines of access log help nobody
        pass


class _PooledServer(BaseWSGIServer):
    """A WSGI server with a fixed number of request threads, like ``gunicorn -w 4 --threads 2``: connections
    beyond that wait in the (FIFO) queue, not inside the database. (An unbounded thread per connection, as in
    ``make_server(threaded=True)``, puts 60+ writers in SQLite's busy-wait loop, which is not first come, first
    served: under that load a single request can wait past the 5 s busy timeout.)"""

    def __init__(self, app, threads: int) -> None:
        super().__init__("127.0.0.1", 0, app, handler=_QuietHandler)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="marks-server")

    def process_request(self, request, client_address) -> None:
        self.pool.submit(self._work, request, client_address)

    def _work(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - socketserver's own reporting
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        self.pool.shutdown(wait=True)
        super().server_close()


def _send(port: int, token: str, path: str, body: bytes) -> tuple[int, dict | str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, body=body, headers={"Authorization": f"Bearer {token}",
                                                       "Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read().decode()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw
    finally:
        conn.close()


@pytest.mark.no_transaction
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_32_judges_with_retries_store_exactly_the_intended_marks(request, make_app, backend):
    url = request.getfixturevalue(f"{backend}_url")
    app = make_app(url)
    competition_id, judge_ids, tokens, codes, aspect_ids = _build(app)
    path = f"/api/v1/competitions/{competition_id}/marks"

    # SQLite: as many request threads as a small gunicorn deployment; PostgreSQL: one per client (more races).
    server = _PooledServer(app, SERVER_THREADS[backend])
    server_thread = threading.Thread(target=server.serve_forever, name="marks-server", daemon=True)
    server_thread.start()
    port = server.server_port

    failures: list[str] = []
    stored_by_key: Counter[str] = Counter()
    intended: dict[tuple[int, str, int], Decimal] = {}
    keys_sent: set[str] = set()
    lock = threading.Lock()

    latencies: list[float] = []

    def send_and_check(judge_index: int, batch: list[dict]) -> None:
        started = time.perf_counter()
        status, body = _send(port, tokens[judge_index], path, json.dumps(batch).encode())
        with lock:
            latencies.append(time.perf_counter() - started)
            if status != 200:
                failures.append(f"judge {judge_index}: HTTP {status} {str(body)[:300]}")
                return
            for sent, result in zip(batch, body["results"], strict=True):
                if result["status"] == "stored":
                    stored_by_key[sent["idempotency_key"]] += 1

    def judge(judge_index: int) -> None:
        rng = random.Random(1000 + judge_index)
        try:
            for batch in _plan(rng, codes, aspect_ids):
                with lock:
                    for m in batch:
                        intended[(judge_ids[judge_index], m["code"], m["aspect_id"])] = Decimal(m["value"])
                        keys_sent.add(m["idempotency_key"])
                times = rng.choice((2, 3))
                if rng.random() < 0.5:  # a retry racing the original request, then maybe one more retry
                    racing = [threading.Thread(target=send_and_check, args=(judge_index, batch)) for _ in range(2)]
                    for t in racing:
                        t.start()
                    for t in racing:
                        t.join(300)
                    times -= 2
                for _ in range(times):
                    send_and_check(judge_index, batch)
        except Exception as exc:  # noqa: BLE001 - reported to the main thread
            with lock:
                failures.append(f"judge {judge_index}: {exc!r}")

    threads = [threading.Thread(target=judge, args=(i,), name=f"judge-{i}") for i in range(JUDGES)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        assert not any(t.is_alive() for t in threads), "a judge client hung"
    finally:
        server.shutdown()
        server_thread.join(30)
        server.server_close()

    latencies.sort()
    summary = (f"{backend}: {len(latencies)} requests, p50 {latencies[len(latencies) // 2]:.3f} s, "
               f"p95 {latencies[int(len(latencies) * 0.95)]:.3f} s, max {latencies[-1]:.3f} s")
    assert failures == [], summary
    assert all(count == 1 for count in stored_by_key.values()), "a key was stored more than once"
    assert set(stored_by_key) == keys_sent  # every key stored exactly once (each mark changes its value)

    with app.app_context():
        codes_by_entry = dict(db.session.execute(select(Entry.id, Entry.code)).all())
        current = db.session.execute(select(Mark.judge_id, Mark.entry_id, Mark.aspect_id, Mark.value, Mark.revision)
                                     .where(Mark.is_current.is_(True))).all()
        got = {(j, codes_by_entry[e], a): v for j, e, a, v, _r in current}
        assert len(current) == len(got) == JUDGES * ENTRIES * len(SCALES)  # one current mark per target
        assert got == intended
        rows = db.session.scalar(select(func.count()).select_from(Mark))
        assert rows == len(keys_sent)  # nothing stored twice
        assert db.session.scalar(select(func.count(func.distinct(Mark.idempotency_key)))) == rows
        revisions = Counter((j, e, a) for j, e, a, _v, _r in current)
        assert set(revisions.values()) == {1}
        assert {r for *_x, r in current} <= {1, 2}
        audited = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "mark_submitted"))
        assert audited == rows
        if db.engine.dialect.name == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        db.session.remove()
