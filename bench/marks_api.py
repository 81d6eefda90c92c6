"""marks_api_throughput / marks_api_p95: judges' marks through the real API under gunicorn, 16 clients at once.

Ours: ``gunicorn -w 2 --threads 8 'wsgi:app'`` (production config; ``JIANGXIN_INSTANCE`` and ``DATABASE_URL``
point at a temp directory and a SQLite file made with ``create_all``) serving a running competition: one module
of 4 aspects, 16 judges on its panel (one API token each), 78 coded entries (26 per round). 16 client threads, one keep-alive
``http.client`` connection and one judge each, send ``POST /api/v1/competitions/<id>/marks`` with one new mark
per request (a distinct (entry, aspect) per request, a fresh idempotency key): 4 warm-up requests each, then
100 timed ones each (1,600 in all), in each of 5 rounds that alternate baseline and ours (the lines give the
medians of the rounds). Before the rounds, each server gets one untimed round of the same load: the first round
on a fresh server and database file read lower on both sides, and by different amounts from run to run. Every
answer must be 200 with ``stored``.

(Until 2026-12-04: 3 rounds and no untimed round. Single runs of the same code then read ratios from 0.46 to 0.57:
the spread of the measurement was wider than the differences it had to tell apart.)

Baseline B1 (``bench/_b1_app.py``): a bare Flask app whose one endpoint does one raw INSERT into a SQLite file
with the same pragmas, served by the same gunicorn command, driven by the same clients with the same bodies.
Both servers are started in the project's directory, so both read ``gunicorn.conf.py`` (settings only).

(Until 2026-12-04 both servers ran unbalanced. Which worker held each of the 16 keep-alive connections was chance,
and ours read anywhere from 1,222 to 2,243 requests a second from round to round: a worker holding eleven, or all
sixteen, of them served them alone at the end of the round. Most of the spread in this line's earlier readings came
from there.)

Three lines:
  marks_api_throughput  value / baseline = requests per second; ratio = ours / baseline's; target 0.5.
  marks_api_p95         value / baseline = the 95th-percentile latency in ms; ratio = baseline's / ours;
                        target 0.2 (our p95 at most five times the bare INSERT's under the same load).
  marks_api_batch25_throughput  an extra line, not a replacement: after the rounds, the same 16 clients send
                        8 batches of 25 new marks each (as the judge page's offline queue does when it syncs);
                        value = marks stored per second, baseline = the bare INSERT's rows per second (one per
                        request, the median of the rounds above).
Servers listen on 127.0.0.1 only, every request has a 30 s timeout, a run is abandoned after 120 s, and both
servers are stopped at the end (also on error).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench._common import temp_dir
from bench._competitions import build, sqlite_app

CLIENTS = 16
PER_CLIENT = 100
WARMUP = 4
ASPECTS = 4
ROUNDS = 5  # alternating baseline / ours; medians of the rounds
UNTIMED = 1  # rounds each server runs first, not counted
PER_ROUND = (PER_CLIENT + WARMUP + ASPECTS - 1) // ASPECTS  # entries each round marks
BATCH = 25  # marks per request in the extra batch line
BATCH_REQUESTS = 8  # per client
BATCH_ENTRIES = (WARMUP + BATCH * BATCH_REQUESTS + ASPECTS - 1) // ASPECTS
ENTRIES = (UNTIMED + ROUNDS) * PER_ROUND + BATCH_ENTRIES
THROUGHPUT_TARGET = 0.5
P95_TARGET = 0.2
RUN_LIMIT = 120.0  # seconds for one run of 1,600 requests
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Line:
    name: str
    value: float
    baseline: float
    ratio: float
    target: float
    unit: str
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.ratio >= self.target and not self.note

    def line(self) -> str:
        note = f" ({self.note})" if self.note else ""
        return (f"BENCH {self.name} value={self.value:.1f}{self.unit} baseline={self.baseline:.1f}{self.unit} "
                f"ratio={self.ratio:.2f} target={self.target:g} {'PASS' if self.passed else 'FAIL'}{note}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn process on 127.0.0.1:<free port>, started in the project's directory (it reads
    ``gunicorn.conf.py``); stopped (SIGTERM, then SIGKILL) by ``stop``."""

    def __init__(self, target: str, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        self._log = log.open("wb")
        cmd = [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "--threads", "8", "-b", f"127.0.0.1:{self.port}",
               "--log-level", "warning", target]
        if not Path(cmd[0]).exists():
            cmd[0:1] = [sys.executable, "-m", "gunicorn"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}): {self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path)
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn not ready after {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        self._log.flush()
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def plans(world, round_: int) -> list[list[bytes]]:
    """Per client (judge), its request bodies: one new mark on a distinct (entry, aspect) each (each round has
    its own entries, so every request of every round stores a first revision)."""
    codes = world.codes[round_ * PER_ROUND:(round_ + 1) * PER_ROUND]
    cells = [(code, aspect_id) for code in codes for aspect_id in world.aspect_ids]
    out = []
    for judge in range(CLIENTS):
        bodies = []
        for n in range(WARMUP + PER_CLIENT):
            code, aspect_id = cells[(n + judge * 7) % len(cells)]
            value = f"{((n + judge) % 21) * 0.5:.1f}"
            bodies.append(json.dumps([{"code": code, "aspect_id": aspect_id, "value": value,
                                       "idempotency_key": str(uuid.uuid4())}]).encode())
        out.append(bodies)
    return out


def batch_plans(world) -> list[list[bytes]]:
    """Per client (judge): ``BATCH_REQUESTS`` bodies of ``BATCH`` new marks each, on entries no round used (the
    first ``WARMUP`` bodies are the warm-up: one mark each)."""
    codes = world.codes[(UNTIMED + ROUNDS) * PER_ROUND:]
    cells = [(code, aspect_id) for code in codes for aspect_id in world.aspect_ids]
    out = []
    for judge in range(CLIENTS):
        marks = [{"code": code, "aspect_id": aspect_id, "value": f"{((n + judge) % 21) * 0.5:.1f}",
                  "idempotency_key": str(uuid.uuid4())} for n, (code, aspect_id) in enumerate(cells)]
        warm = [json.dumps([m]).encode() for m in marks[:WARMUP]]
        rest = marks[WARMUP:WARMUP + BATCH * BATCH_REQUESTS]
        out.append(warm + [json.dumps(rest[i:i + BATCH]).encode() for i in range(0, len(rest), BATCH)])
    return out


def drive(port: int, path: str, tokens: list[str], bodies: list[list[bytes]]) -> tuple[float, list[float], list[str]]:
    """Run every client; returns (wall seconds of the timed part, latencies, failures)."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    failures: list[str] = []
    deadline = [0.0]

    def set_deadline() -> None:
        deadline[0] = time.monotonic() + RUN_LIMIT

    ready = threading.Barrier(CLIENTS + 1, action=set_deadline, timeout=60)

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json"}

        def send(body: bytes) -> None:
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            if resp.status != 200:
                failures.append(f"HTTP {resp.status} {raw[:200]!r}")
            elif any(r["status"] != "stored" for r in json.loads(raw)["results"]):
                failures.append(f"not stored: {raw[:200]!r}")

        try:
            for body in bodies[i][:WARMUP]:
                send(body)
        except Exception as exc:  # noqa: BLE001 - reported in the line
            failures.append(f"warm-up: {exc!r}")
        ready.wait()
        try:
            for body in bodies[i][WARMUP:]:
                if time.monotonic() > deadline[0]:
                    failures.append("run took too long")
                    break
                started = time.perf_counter()
                send(body)
                latencies[i].append(time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - reported in the line
            failures.append(repr(exc))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    for t in threads:
        t.join(RUN_LIMIT + 35)
    wall = time.perf_counter() - start
    return wall, [x for per in latencies for x in per], failures


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else float("nan")


def run() -> list[Line]:
    directory = temp_dir("marks_api")
    app, db_path = sqlite_app(directory)
    world = build(app, db_path, entries=ENTRIES, aspects=ASPECTS, judges=CLIENTS, tokens=True)
    from app.db import db

    with app.app_context():
        db.engine.dispose()  # no connection of this process stays open on the file
    path = f"/api/v1/competitions/{world.competition_id}/marks"
    base_db = directory / "b1.db"
    from bench._b1_app import create

    create(str(base_db))

    servers: list[Server] = []
    try:
        ours = Server("wsgi:app", {"JIANGXIN_INSTANCE": str(directory / "instance"),
                                   "DATABASE_URL": f"sqlite:///{db_path}", "JIANGXIN_CONFIG": "production"},
                      directory / "gunicorn-ours.log")
        servers.append(ours)
        base = Server("bench._b1_app:app", {"BENCH_B1_DB": str(base_db)}, directory / "gunicorn-b1.log")
        servers.append(base)
        ours.wait_ready("/api/v1/openapi.json")
        base.wait_ready("/")

        base_tokens = [f"b1-judge{i:02d}" for i in range(CLIENTS)]
        rounds = []
        for round_ in range(UNTIMED + ROUNDS):
            base_run = drive(base.port, path, base_tokens, plans(world, round_))
            our_run = drive(ours.port, path, world.tokens, plans(world, round_))  # fresh idempotency keys
            rounds.append((our_run, base_run))
        untimed, rounds = rounds[:UNTIMED], rounds[UNTIMED:]
        batch_run = drive(ours.port, path, world.tokens, batch_plans(world))
    finally:
        for server in servers:
            server.stop()
            if server.proc.returncode not in (0, -15) or "Traceback" in server.log.read_text(errors="replace"):
                print(f"{server.log}:\n{server.log.read_text(errors='replace')[-3000:]}", file=sys.stderr)

    total = CLIENTS * PER_CLIENT
    our_fail = [f for (_w, _l, fails), _b in untimed + rounds for f in fails]
    base_fail = [f for _o, (_w, _l, fails) in untimed + rounds for f in fails]
    note = ""
    if our_fail or base_fail:
        note = f"{len(our_fail)} failed, e.g. {our_fail[:1]}; baseline {len(base_fail)} failed {base_fail[:1]}"
    elif any(len(o[1]) != total or len(b[1]) != total for o, b in rounds):
        note = "not every request was answered"
    ours_rps = statistics.median(total / o[0] for o, _b in rounds)
    base_rps = statistics.median(total / b[0] for _o, b in rounds)
    ours_p95 = statistics.median(p95(o[1]) for o, _b in rounds) * 1000
    base_p95 = statistics.median(p95(b[1]) for _o, b in rounds) * 1000
    batch_wall, _lat, batch_fail = batch_run
    batch_mps = CLIENTS * BATCH * BATCH_REQUESTS / batch_wall
    batch_note = f"{len(batch_fail)} failed, e.g. {batch_fail[:1]}" if batch_fail else ""
    return [
        Line("marks_api_throughput", ours_rps, base_rps, ours_rps / base_rps, THROUGHPUT_TARGET, "req/s", note),
        Line("marks_api_p95", ours_p95, base_p95, base_p95 / ours_p95 if ours_p95 else 0.0, P95_TARGET, "ms", note),
        # extra, not a replacement: marks stored per second when the judge page sends batches of BATCH marks
        # (its offline queue does) vs the bare INSERT endpoint's rows per second, one row per request
        Line(f"marks_api_batch{BATCH}_throughput", batch_mps, base_rps, batch_mps / base_rps, THROUGHPUT_TARGET,
             "marks/s", batch_note),
    ]
