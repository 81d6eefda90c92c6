"""marks_open_loop: judges' marks through the real API under gunicorn at a venue's pace, latency without
coordinated omission; on SQLite, then on PostgreSQL. Also, for information, the saturated throughput.

Why: what a venue needs is every judge's mark answered quickly while marks arrive at the judges' pace — a venue of
50 judges each entering a mark every 2–3 s sends about 20 marks a second. The load is five times that: 100
judges, each entering one mark every second on their own schedule, 100 marks a second. The benchmark this replaces
(marks_api) drove 16 clients with no pause and asked for half the throughput of a bare INSERT: that measured how
fast the server empties a queue nobody builds, and its target was not a need.

Ours: ``gunicorn -w 2 --threads 8 'wsgi:app'`` (the README's production command, started in the project's
directory so it reads ``gunicorn.conf.py``; production config; ``JIANGXIN_INSTANCE`` in a temp directory)
serving a running competition built with ``bench/_competitions.py``: one module of ``ASPECTS`` aspects, 100
judges on its panel (an API token each), ``ENTRIES`` approved entries. Each arrival is one
``POST /api/v1/competitions/<id>/marks`` with one new mark on a (entry, aspect) that judge has not marked before
(a first revision), with an idempotency key of its own.

Arrivals (open loop): judge i's phase is a random offset in [0, 1) s (``random.Random(SEED)``), then one arrival
every second: ``WARMUP_S`` seconds untimed, then ``MEASURED_S`` seconds measured (3,000 marks). An arrival is sent
at its scheduled time whatever happened to the judge's earlier ones: a judge keeps up to ``CONNS_PER_JUDGE``
keep-alive connections, as a tablet's browser does, so a slow answer never holds back the next mark (only when all
six of one judge's are busy does an arrival wait for one, and that wait counts). Latency = the time the answer
was read − the arrival's scheduled time (not the time it was sent: a late send counts against the server, which is
the point). A network error (a refused, reset or closed connection, an answer cut short, no answer within
``REQUEST_TIMEOUT``) is retried, up to ``ATTEMPTS`` times in all, on a new connection with the same body and key:
the real API answers such a retry ``duplicate`` if the first attempt was stored. (The usual one: gunicorn closes a
keep-alive connection idle for 2 s, its default, and a judge's spare connection, opened while answers were slow,
may be reused just after; the comment line counts them as errors "on a reused connection".)

Baseline B1 (``bench/_b1_app.py``): a bare Flask app whose one endpoint does one raw INSERT (its own
autocommitted transaction) into a table of its own on the same kind of database — a SQLite file with the app's
pragmas, or the same scratch PostgreSQL database through psycopg — served by the same gunicorn command with the
same ``gunicorn.conf.py`` settings, driven by the same arrivals (the same schedule and bodies, its own keys); at
100 marks a second B1 is far from saturated.

Lines, per database kind (``sqlite``, ``postgres``):
  marks_open_loop_<kind>  value = our p99 latency, baseline = B1's p99, both in ms (an arrival without a good
                          answer counts as infinitely late: ``inf`` when more than 1 % had none);
                          ratio = baseline / ours;
                          target 0.1 (our p99 at most ten times the bare INSERT's). PASS also needs no error and
                          every mark stored exactly once (below). Comment lines (``#``) after it give p50 / p99 /
                          max, errors and retries of both servers, each server's CPU per request, the load
                          generator's CPU and send lag, and how busy the whole machine was.
  marks_saturated_<kind>  information only, no target: ``SAT_CLIENTS`` clients, each one judge on one keep-alive
                          connection, sending ``SAT_PER_CLIENT`` new marks back to back (like the old benchmark,
                          one short round); value / baseline = requests a second; ratio = ours / B1's; the line
                          ends ``target=none INFO`` (``python -m bench`` counts INFO lines as not failing).

Exactly once: after the run, with the servers stopped, the benchmark reads each server's table and compares it with
what it sent (open-loop and saturated marks alike; a saturated mark never sent because the phase's time ran out
does not count): as many rows as marks sent, every sent key present once and no
other, every acknowledged mark's id (from its answer) the row of its key, and for ours every row a first revision
on the (entry, aspect, judge) its arrival aimed at, none twice. A first attempt must be answered ``stored``; a
retry ``stored`` or ``duplicate``. ``BENCH_MARKS_LOSE_ANSWERS=0.02`` checks the harness and the API's idempotency:
that share of first attempts (chosen with the seed) has its answer read and thrown away, as if the network had
lost it, and the retry must then answer ``duplicate``.

The load generator: this process, one asyncio event loop with a small hand-written HTTP/1.1 client over
``asyncio.open_connection`` (every request's bytes are built before the clock starts; an answer is parsed for its
status line, Content-Length, ``Connection: close`` and the JSON result), the garbage collector off during a phase.
At 100 requests a second it used 4–5 % of one core (about 0.4 ms a request, most of it the event loop's wake-ups:
one for each arrival's timer, one for each answer), and 10–15 % when saturating the servers; the comment lines give
the figure measured in each phase and the p99 of the lag between an arrival's scheduled and actual send (a few ms),
so it is seen not to take the two workers' CPUs from them. (Threads with ``http.client`` would cost more: a thread
per request in flight, and each wake-up a GIL hand-over.)

PostgreSQL: only when ``TEST_DATABASE_URL`` names a PostgreSQL server (``postgresql+psycopg://…``); otherwise both
postgres lines say SKIP. The benchmark never writes to that URL's database: it connects to it only to create a
scratch database of its own next to it (``jiangxin_bench_marks_<pid>_<random>``, so concurrent runs do not
collide), puts the app's tables and B1's table in it, and drops it at the end (``WITH (FORCE)``), also on error.
The role therefore needs CREATEDB; a database left behind by a killed run has that prefix.

Bounds: servers listen on 127.0.0.1 free ports only and must answer within 30 s of starting; each answer has
``REQUEST_TIMEOUT``; an open-loop phase stops waiting ``DRAIN_LIMIT`` s after its last arrival (requests still
unanswered count as errors); a saturated phase sends no new request after ``SATURATED_LIMIT`` s; servers are stopped
(SIGTERM, then SIGKILL) and the scratch database dropped at the end, also on error. Four runs of both kinds on a
shared, busy 2-core machine took 166–196 s; ours fell behind on PostgreSQL in all of them, and the longest ran into
the phases' limits (then a 15 s saturated limit; 10 s since). Without ``TEST_DATABASE_URL``, about 80 s.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import random
import secrets
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

from bench._common import temp_dir
from bench._server import Server, machine_busy_ticks

NAME = "marks_open_loop"
TARGET = 0.1
SEED = 20261204
JUDGES = 100
INTERVAL = 1.0  # seconds between one judge's marks
WARMUP_S = 3  # untimed arrivals per judge, before the measured ones
MEASURED_S = 30  # measured arrivals per judge
SAT_CLIENTS = 16
SAT_PER_CLIENT = 100
ASPECTS = 4
CELLS = WARMUP_S + MEASURED_S + SAT_PER_CLIENT  # distinct (entry, aspect) each judge marks, at most
ENTRIES = -(-CELLS // ASPECTS)
CONNS_PER_JUDGE = 6  # keep-alive connections one judge's device keeps at most (as a browser per host)
REQUEST_TIMEOUT = 15.0
ATTEMPTS = 4  # in all: the first and up to three retries of a network error
DRAIN_LIMIT = 10.0  # seconds after an open-loop phase's last arrival
SATURATED_LIMIT = 10.0  # seconds: no new request after this
LOSE_ANSWERS = float(os.environ.get("BENCH_MARKS_LOSE_ANSWERS") or 0)

STORED, DUPLICATE = "stored", "duplicate"


# --- the lines ---------------------------------------------------------------------------------------------------

@dataclass
class Line:
    name: str
    value: float
    baseline: float
    ratio: float
    target: float | None  # None: information only
    unit: str
    note: str = ""  # a reason to FAIL
    comments: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIP"
        if self.target is None:
            return "INFO"
        return "PASS" if self.ratio >= self.target and not self.note else "FAIL"

    def line(self) -> str:
        target = "none" if self.target is None else f"{self.target:g}"
        reason = self.skipped or self.note
        value, baseline = (f"{x:.2f}{self.unit}" if math.isfinite(x) else str(x) for x in (self.value, self.baseline))
        head = (f"BENCH {self.name} value={value} baseline={baseline} ratio={self.ratio:.2f} target={target} "
                f"{self.status}{f' ({reason})' if reason else ''}")
        return "\n".join([head, *(f"# {self.name}: {c}" for c in self.comments)])


def _nan_line(name: str, target: float | None, unit: str, *, note: str = "", skipped: str = "") -> Line:
    nan = float("nan")
    return Line(name, nan, nan, nan if skipped else 0.0, target, unit, note=note, skipped=skipped)


# --- what is sent ------------------------------------------------------------------------------------------------

@dataclass
class Mark:
    """One request: one new mark of one judge. ``at`` is its scheduled time (open loop), NaN when sent back to back."""

    judge: int
    code: str
    aspect_id: int
    key: str
    request: bytes = b""
    at: float = math.nan
    measured: bool = False
    lose: bool = False  # self-check: the first answer is thrown away
    sent: float = math.nan  # the first attempt's write
    done: float = math.nan
    status: str = ""  # stored | duplicate | "" (no answer)
    error: str = ""
    attempts: int = 0
    mark_id: int | None = None


class Plan:
    """Which (entry, aspect) each judge's n-th mark aims at, its value and phase: the same for both servers."""

    def __init__(self, world) -> None:
        self.world = world
        self.cells = [(code, aspect_id) for code in world.codes for aspect_id in world.aspect_ids]
        assert len(self.cells) >= CELLS
        rng = random.Random(SEED)
        self.phases = [rng.random() for _ in range(JUDGES)]
        lose_rng = random.Random(SEED + 1)
        self.lose = [[lose_rng.random() < LOSE_ANSWERS for _ in range(CELLS)] for _ in range(JUDGES)]

    def mark(self, server: str, judge: int, n: int) -> Mark:
        # judges start at different cells, so that marks arriving together are mostly on different entries
        code, aspect_id = self.cells[(n + judge * 7) % len(self.cells)]
        return Mark(judge, code, aspect_id, f"ol-{server}-{judge:03d}-{n:03d}", lose=self.lose[judge][n])

    def value(self, judge: int, n: int) -> str:
        return f"{((n + judge) % 21) * 0.5:.1f}"


def _prepare(marks: list[Mark], plan: Plan, port: int, path: str, tokens: list[str]) -> None:
    heads = [(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
              "Content-Type: application/json\r\nContent-Length: ").encode() for token in tokens]
    for m in marks:
        n = int(m.key.rsplit("-", 1)[1])
        body = json.dumps([{"code": m.code, "aspect_id": m.aspect_id, "value": plan.value(m.judge, n),
                            "idempotency_key": m.key}]).encode()
        m.request = heads[m.judge] + f"{len(body)}\r\n\r\n".encode() + body


# --- the HTTP/1.1 client -----------------------------------------------------------------------------------------

class ProtocolError(Exception):
    """An answer this client cannot read (not retried: not a network error)."""


NETWORK_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError)


class Client:
    """Per judge, a pool of keep-alive connections to one server (at most ``CONNS_PER_JUDGE`` in use)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = [[] for _ in range(JUDGES)]
        self.slots = [asyncio.Semaphore(CONNS_PER_JUDGE) for _ in range(JUDGES)]
        self.opened = 0
        self.closed_by_server = 0
        self.retries = 0
        self.lost = 0
        self.network_errors: Counter[str] = Counter()  # by kind

    async def send(self, m: Mark) -> None:
        async with self.slots[m.judge]:
            await self._send(m)
        m.done = time.monotonic()

    async def _send(self, m: Mark) -> None:
        retrying = False
        for attempt in range(1, ATTEMPTS + 1):
            m.attempts = attempt
            pool = self.idle[m.judge]
            conn = pool.pop() if pool and not retrying else None
            reused = conn is not None
            if attempt == 1:
                m.sent = time.monotonic()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    if conn is None:
                        conn = await asyncio.open_connection("127.0.0.1", self.port)
                        self.opened += 1
                    status, close, body = await self._exchange(conn, m.request)
            except NETWORK_ERRORS as exc:
                self._close(conn)
                m.error = f"network error: {exc!r}"
                self.network_errors[f"{type(exc).__name__} on a {'reused' if reused else 'new'} connection"] += 1
                self.retries += attempt < ATTEMPTS
                retrying = True
                continue
            except ProtocolError as exc:
                self._close(conn)
                m.error = str(exc)
                return
            except asyncio.CancelledError:  # the phase's time is up: this answer will never be read
                self._close(conn)
                raise
            if attempt == 1 and m.lose:  # self-check: as if this answer had been lost on the way
                self._close(conn)
                self.lost += 1
                self.retries += 1
                retrying = True
                continue
            if close:
                self._close(conn)
                self.closed_by_server += 1
            else:
                pool.append(conn)
            if status != 200:
                m.error = f"HTTP {status}: {body[:200]!r}"
                return
            result = json.loads(body)["results"][0]
            m.status, m.mark_id, m.error = result["status"], result["mark_id"], ""
            expected = (STORED, DUPLICATE) if retrying else (STORED,)
            if m.lose:
                expected = (DUPLICATE,)
            if m.status not in expected:
                m.error = f"answered {m.status!r} on attempt {attempt} (expected {' or '.join(expected)})"
            return

    @staticmethod
    async def _exchange(conn, request: bytes) -> tuple[int, bool, bytes]:
        reader, writer = conn
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 "):
            raise ProtocolError(f"not an HTTP/1.1 answer: {head[:80]!r}")
        status = int(head[9:12])
        lower = head.lower()
        start = lower.find(b"\r\ncontent-length:")
        if start < 0:
            raise ProtocolError(f"an answer without Content-Length: {head[:200]!r}")
        end = lower.index(b"\r\n", start + 2)
        body = await reader.readexactly(int(lower[start + 17:end]))
        return status, b"\r\nconnection: close\r\n" in lower, body

    def _close(self, conn) -> None:
        if conn is not None:
            conn[1].close()

    def close_all(self) -> None:
        for pool in self.idle:
            while pool:
                self._close(pool.pop())


# --- one phase ---------------------------------------------------------------------------------------------------

@dataclass
class Phase:
    marks: list[Mark]
    wall: float  # seconds from the first scheduled arrival (or start) to the last answer
    generator_cpu: float  # this process's CPU seconds during the phase
    server_cpu: float  # the server's (master and workers) CPU seconds during the phase
    machine_busy: float  # the whole machine's busy share during the phase (0–1; NaN without /proc)
    client: Client

    def errors(self, sent_only: bool = False) -> list[str]:
        """Every mark without a good answer (``sent_only``: of those sent at all)."""
        return [m.error or "no answer" for m in self.marks if (m.error or not m.status) and (m.attempts or not sent_only)]


async def _run_open_loop(client: Client, marks: list[Mark]) -> None:
    tasks = []
    for m in marks:  # sorted by scheduled time
        delay = m.at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(client.send(m)))
    _done, pending = await asyncio.wait(tasks, timeout=DRAIN_LIMIT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    client.close_all()


async def _run_saturated(client: Client, per_client: list[list[Mark]]) -> None:
    deadline = time.monotonic() + SATURATED_LIMIT

    async def one(marks: list[Mark]) -> None:
        for m in marks:
            if time.monotonic() > deadline:  # no new request; the one in flight ends normally
                return
            await client.send(m)

    tasks = [asyncio.create_task(one(marks)) for marks in per_client]
    _done, pending = await asyncio.wait(tasks, timeout=SATURATED_LIMIT + ATTEMPTS * REQUEST_TIMEOUT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    client.close_all()


def _phase(server: Server, marks: list[Mark], runner, *args) -> Phase:
    """Run one phase of load in an event loop of its own, the collector off, measuring CPU and wall time."""
    client_holder: list[Client] = []

    async def main() -> None:
        client = Client(server.port)
        client_holder.append(client)
        await runner(client, *args)

    gc.collect()
    gc.freeze()
    gc.disable()
    busy0, total0 = machine_busy_ticks()
    server0, cpu0, start = server.cpu_seconds(), time.process_time(), time.monotonic()
    try:
        asyncio.run(main())
    finally:
        gc.enable()
        gc.unfreeze()
    wall_end = time.monotonic()
    cpu, server_cpu = time.process_time() - cpu0, server.cpu_seconds() - server0
    busy1, total1 = machine_busy_ticks()
    first = min((m.at for m in marks if not math.isnan(m.at)), default=start)
    busy = (busy1 - busy0) / (total1 - total0) if total1 > total0 else math.nan
    return Phase(marks, wall_end - first, cpu, server_cpu, busy, client_holder[0])


def open_loop(server: Server, plan: Plan, name: str, path: str, tokens: list[str]) -> Phase:
    marks = []
    for judge in range(JUDGES):
        for n in range(WARMUP_S + MEASURED_S):
            m = plan.mark(name, judge, n)
            m.measured = n >= WARMUP_S
            marks.append(m)
    _prepare(marks, plan, server.port, path, tokens)
    start = time.monotonic() + 0.5  # after the set-up above and the event loop's start
    for m in marks:
        n = int(m.key.rsplit("-", 1)[1])
        m.at = start + plan.phases[m.judge] + n * INTERVAL
    marks.sort(key=lambda m: m.at)
    return _phase(server, marks, _run_open_loop, marks)


def saturated(server: Server, plan: Plan, name: str, path: str, tokens: list[str]) -> Phase:
    first = WARMUP_S + MEASURED_S  # the cells the open loop left
    per_client = [[plan.mark(name, judge, n) for n in range(first, first + SAT_PER_CLIENT)] for judge in range(SAT_CLIENTS)]
    marks = [m for ms in per_client for m in ms]
    _prepare(marks, plan, server.port, path, tokens)
    return _phase(server, marks, _run_saturated, per_client)


# --- checks and statistics ---------------------------------------------------------------------------------------

def nearest_rank(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def latencies_ms(phase: Phase) -> list[float]:
    """The measured arrivals' latencies, sorted; an arrival without a good answer counts as infinitely late."""
    return sorted((m.done - m.at) * 1000 if m.status and not m.error else math.inf
                  for m in phase.marks if m.measured)


def exactly_once(rows: list[tuple], marks: list[Mark], expected_cell=None) -> str:
    """Problems found comparing the server's rows (key, id[, entry_id, aspect_id, judge_id, revision]) with the marks
    sent (those never sent, after a saturated phase's time limit, do not count); "" when every mark is there exactly
    once."""
    problems = []
    marks = [m for m in marks if m.attempts]
    counts = Counter(row[0] for row in rows)
    by_key = {row[0]: row for row in rows}
    sent = {m.key: m for m in marks}
    if len(rows) != len(marks):
        problems.append(f"{len(rows)} rows for {len(marks)} marks sent")
    twice = [k for k, c in counts.items() if c > 1]
    missing = [k for k in sent if k not in by_key]
    extra = [k for k in by_key if k not in sent]
    wrong_id = [m.key for m in marks if m.mark_id is not None and m.key in by_key and by_key[m.key][1] != m.mark_id]
    problems += [f"{len(xs)} {what}, e.g. {xs[0]!r}" for xs, what in
                 ((twice, "keys stored twice"), (missing, "sent marks missing"), (extra, "rows nobody sent"),
                  (wrong_id, "acknowledged ids not the row of their key")) if xs]
    if expected_cell is not None:
        cells = Counter(row[2:5] for row in rows)
        doubled = [c for c, n in cells.items() if n > 1]
        misplaced = [m.key for m in marks if m.key in by_key and by_key[m.key][2:5] != expected_cell(m)]
        later = [row[0] for row in rows if row[5] != 1]
        problems += [f"{len(xs)} {what}, e.g. {xs[0]!r}" for xs, what in
                     ((doubled, "(entry, aspect, judge) stored twice"), (misplaced, "marks on another cell"),
                      (later, "rows not a first revision")) if xs]
    return "; ".join(problems)


def _rows(url: str, sql: str) -> list[tuple]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _fmt_ms(values: list[float]) -> str:
    return (f"p50 {nearest_rank(values, 0.5):.1f} ms, p99 {nearest_rank(values, 0.99):.1f} ms, "
            f"max {values[-1] if values else math.nan:.1f} ms")


def _describe(who: str, phase: Phase, verdict: str) -> str:
    measured = [m for m in phase.marks if m.measured]
    errors = phase.errors()
    c = phase.client
    requests = sum(m.attempts for m in phase.marks)
    network = ", ".join(f"{n} {kind}" for kind, n in c.network_errors.most_common()) or "none"
    return (f"{who}: {len(measured)} measured marks ({len(phase.marks)} with the warm-up), "
            f"{_fmt_ms(latencies_ms(phase))}; {len(errors)} errors{f' (e.g. {errors[0]})' if errors else ''}; "
            f"{c.retries} retries ({sum(m.status == DUPLICATE for m in phase.marks)} answered duplicate, "
            f"{c.lost} answers thrown away on purpose; network errors: {network}); "
            f"{c.opened} connections opened, {c.closed_by_server} closed by "
            f"the server; server CPU {phase.server_cpu / max(requests, 1) * 1000:.2f} ms a request; "
            f"exactly once: {verdict or 'yes'}")


def _generator(phase: Phase, what: str) -> str:
    lag = sorted((m.sent - m.at) * 1000 for m in phase.marks if not math.isnan(m.sent) and not math.isnan(m.at))
    lag_text = f"; send lag p99 {nearest_rank(lag, 0.99):.1f} ms, max {lag[-1]:.1f} ms" if lag else ""
    return (f"load generator ({what}): {phase.generator_cpu:.2f} s CPU in {phase.wall:.1f} s "
            f"({phase.generator_cpu / phase.wall * 100:.1f} % of one core){lag_text}; "
            f"whole machine {phase.machine_busy * 100:.0f} % busy (of {os.cpu_count()} CPUs)")


# --- a database kind ---------------------------------------------------------------------------------------------

class ScratchDatabase:
    """A PostgreSQL database of this run's own on the server of ``test_url``, dropped by ``drop``."""

    def __init__(self, test_url: str) -> None:
        import psycopg
        from psycopg import sql
        from sqlalchemy.engine import make_url

        url = make_url(test_url)
        self.name = f"jiangxin_bench_marks_{os.getpid()}_{secrets.token_hex(3)}"
        self._admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._sql = sql
        with psycopg.connect(self._admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        self.url = url.set(drivername="postgresql+psycopg", database=self.name).render_as_string(hide_password=False)
        self.dsn = url.set(drivername="postgresql", database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self._admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(self._sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(self._sql.Identifier(self.name)))


def _kind(kind: str, test_url: str | None) -> list[Line]:
    from app.db import db
    from bench import _b1_app
    from bench._competitions import build, database_app, sqlite_app

    directory = temp_dir(f"{NAME}-{kind}")
    scratch = None
    servers: list[Server] = []
    try:
        if test_url is None:
            app, db_path = sqlite_app(directory)
            app_url = f"sqlite:///{db_path}"
            b1_path = directory / "b1.db"
            _b1_app.create(str(b1_path))
            b1_url, b1_env = f"sqlite:///{b1_path}", {"BENCH_B1_DB": str(b1_path), "BENCH_B1_DSN": ""}
        else:
            scratch = ScratchDatabase(test_url)
            app, db_path, app_url = database_app(directory, scratch.url), None, scratch.url
            _b1_app.create_postgres(scratch.dsn)
            b1_url, b1_env = scratch.url, {"BENCH_B1_DSN": scratch.dsn}
        world = build(app, db_path, entries=ENTRIES, aspects=ASPECTS, judges=JUDGES, tokens=True)
        with app.app_context():
            db.engine.dispose()  # no connection of this process stays open
        plan = Plan(world)
        path = f"/api/v1/competitions/{world.competition_id}/marks"
        b1_tokens = [f"b1-judge{j:03d}" for j in range(JUDGES)]
        try:
            # the three secrets in the environment, as production on a server database must have them (app.config)
            from app.config import SECRET_NAMES, _new_secret

            secrets_env = {name: _new_secret(name) for name in SECRET_NAMES}
            ours = Server("wsgi:app", {"JIANGXIN_INSTANCE": str(directory / "instance"), "DATABASE_URL": app_url,
                                       "JIANGXIN_CONFIG": "production", **secrets_env}, directory / "gunicorn-ours.log")
            servers.append(ours)
            base = Server("bench._b1_app:app", b1_env, directory / "gunicorn-b1.log")
            servers.append(base)
            ours.wait_ready("/api/v1/openapi.json")
            base.wait_ready("/")
            base_open = open_loop(base, plan, "b1", path, b1_tokens)
            ours_open = open_loop(ours, plan, "jx", path, world.tokens)
            base_sat = saturated(base, plan, "b1", path, b1_tokens)
            ours_sat = saturated(ours, plan, "jx", path, world.tokens)
        finally:
            for server in servers:
                server.stop()
                server.report_trouble()

        entry_ids = dict(zip(world.codes, world.entry_ids, strict=True))

        def cell(m: Mark) -> tuple[int, int, int]:
            return entry_ids[m.code], m.aspect_id, world.judge_ids[m.judge]

        ours_rows = _rows(app_url, "SELECT idempotency_key, id, entry_id, aspect_id, judge_id, revision FROM mark")
        base_rows = _rows(b1_url, f"SELECT idempotency_key, id FROM {_b1_app.TABLE}")
        ours_once = exactly_once(ours_rows, ours_open.marks + ours_sat.marks, cell)
        base_once = exactly_once(base_rows, base_open.marks + base_sat.marks)
    finally:
        if scratch is not None:
            scratch.drop()

    ours_lat, base_lat = latencies_ms(ours_open), latencies_ms(base_open)
    ours_p99, base_p99 = nearest_rank(ours_lat, 0.99), nearest_rank(base_lat, 0.99)
    problems = []
    for who, phase, once in (("ours", ours_open, ours_once), ("B1", base_open, base_once)):
        if phase.errors():
            problems.append(f"{who}: {len(phase.errors())} errors")
        if once:
            problems.append(f"{who}: not exactly once")
    where = f"scratch database {scratch.name}" if scratch else "SQLite files in a temp directory"
    open_line = Line(f"{NAME}_{kind}", ours_p99, base_p99, base_p99 / ours_p99 if ours_p99 > 0 else 0.0, TARGET,
                     "ms", "; ".join(problems), [
                         f"{JUDGES} judges × 1 mark/s each (random phases, seed {SEED}), {WARMUP_S} s warm-up + "
                         f"{MEASURED_S} s measured, latency = answer − scheduled time; {where}",
                         _describe("ours", ours_open, ours_once),
                         _describe("B1", base_open, base_once),
                         _generator(ours_open, "open loop, ours"),
                         _generator(base_open, "open loop, B1"),
                     ])

    def rate(phase: Phase) -> float:
        done = sum(1 for m in phase.marks if m.status and not m.error)
        return done / phase.wall if phase.wall > 0 else 0.0

    ours_rps, base_rps = rate(ours_sat), rate(base_sat)
    sat_errors = ours_sat.errors(sent_only=True) + base_sat.errors(sent_only=True)
    unsent = {who: sum(1 for m in p.marks if not m.attempts) for who, p in (("ours", ours_sat), ("B1", base_sat))}
    cut = "; ".join(f"{who}: {n} not sent within the {SATURATED_LIMIT:g} s limit" for who, n in unsent.items() if n)
    def per_request_ms(phase: Phase) -> float:
        return phase.server_cpu / max(1, sum(m.attempts for m in phase.marks)) * 1000

    sat_line = Line(f"marks_saturated_{kind}", ours_rps, base_rps, ours_rps / base_rps if base_rps else 0.0, None,
                    "req/s", comments=[
                        f"{SAT_CLIENTS} clients with no pause, {SAT_PER_CLIENT} new marks each, one keep-alive "
                        f"connection each; ours {ours_sat.wall:.2f} s, B1 {base_sat.wall:.2f} s; server CPU a request: "
                        f"ours {per_request_ms(ours_sat):.2f} ms, B1 {per_request_ms(base_sat):.2f} ms; "
                        f"{len(sat_errors)} errors{f' (e.g. {sat_errors[0]})' if sat_errors else ''}"
                        f"{f'; {cut}' if cut else ''}",
                        _generator(ours_sat, "saturated, ours"),
                        _generator(base_sat, "saturated, B1"),
                    ])
    return [open_line, sat_line]


def run() -> list[Line]:
    lines = []
    test_url = os.environ.get("TEST_DATABASE_URL") or ""
    kinds = [("sqlite", None)]
    if test_url.startswith("postgresql"):
        kinds.append(("postgres", test_url))
    for kind, url in kinds:
        try:
            lines += _kind(kind, url)
        except Exception as exc:  # noqa: BLE001 - one kind failing must not hide the other
            traceback.print_exc()
            lines += [_nan_line(f"{NAME}_{kind}", TARGET, "ms", note=f"error: {exc!r}"[:300]),
                      _nan_line(f"marks_saturated_{kind}", None, "req/s", note=f"error: {exc!r}"[:300])]
    if len(kinds) == 1:
        reason = "TEST_DATABASE_URL is unset" if not test_url else "TEST_DATABASE_URL is not a PostgreSQL URL"
        lines += [_nan_line(f"{NAME}_postgres", TARGET, "ms", skipped=f"skipped: {reason}"),
                  _nan_line("marks_saturated_postgres", None, "req/s", skipped=f"skipped: {reason}")]
    return lines


if __name__ == "__main__":
    for result in run():
        print(result.line(), flush=True)
    sys.exit(0)

