"""gunicorn.conf.py: each gunicorn worker pinned to one CPU, spread evenly; its garbage collector tuned; each worker
serving its share of the open connections."""

from __future__ import annotations

import gc
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent


def _conf():
    spec = importlib.util.spec_from_file_location("jiangxin_gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conf = _conf()


@pytest.mark.parametrize("cpus, busy, expected", [
    ([0, 1], [], 0),
    ([0, 1], [0], 1),
    ([0, 1], [0, 1], 0),
    ([0, 1], [1], 0),  # the worker on CPU 0 exited: its successor takes CPU 0
    ([0, 1, 2, 3], [0, 1, 3], 2),
    ([0, 1], [0, 0, 1], 1),
    ([5, 2], [], 2),  # the lowest of the allowed CPUs first, whatever their order
    ([2, 5], [2, 7], 5),  # a CPU no longer allowed does not count
])
def test_a_new_worker_takes_the_cpu_with_the_fewest_workers(cpus, busy, expected):
    assert conf.cpu_for_worker(cpus, busy) == expected


@pytest.mark.parametrize("value, enabled", [
    (None, True), ("1", True), ("yes", True), ("0", False), ("false", False), ("No", False), (" off ", False),
])
def test_pinning_can_be_turned_off(value, enabled):
    environ = {} if value is None else {"JIANGXIN_PIN_WORKERS": value}
    assert conf.pin_workers_enabled(environ) is enabled


class _Server:
    def __init__(self, workers: int) -> None:
        self.cfg = SimpleNamespace(workers=workers)
        self.WORKERS: dict[int, SimpleNamespace] = {}
        self.warnings: list[str] = []
        self.log = SimpleNamespace(warning=lambda msg, *args: self.warnings.append(msg % args))

    def spawn(self, pid: int) -> SimpleNamespace:
        worker = SimpleNamespace(pid=pid)
        conf.pre_fork(self, worker)
        self.WORKERS[pid] = worker
        return worker


def test_workers_are_spread_over_the_cpus_and_a_replacement_fills_the_gap(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.delenv("JIANGXIN_PIN_WORKERS", raising=False)
    server = _Server(workers=3)
    assert [server.spawn(pid).jiangxin_cpu for pid in (11, 12, 13)] == [0, 1, 0]
    del server.WORKERS[12]  # the worker on CPU 1 exited
    assert server.spawn(14).jiangxin_cpu == 1


@pytest.mark.parametrize("workers, cpus, env", [(1, {0, 1}, None), (2, {3}, None), (2, {0, 1}, "0")])
def test_nothing_is_pinned_with_one_worker_one_cpu_or_when_turned_off(monkeypatch, workers, cpus, env):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: cpus, raising=False)
    if env is None:
        monkeypatch.delenv("JIANGXIN_PIN_WORKERS", raising=False)
    else:
        monkeypatch.setenv("JIANGXIN_PIN_WORKERS", env)
    pinned = []
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, mask: pinned.append(mask), raising=False)
    server = _Server(workers=workers)
    worker = server.spawn(21)
    conf.post_fork(server, worker)
    assert worker.jiangxin_cpu is None and pinned == []


def test_the_worker_pins_itself_and_a_refusal_only_warns(monkeypatch):
    pinned = []
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, mask: pinned.append((pid, mask)), raising=False)
    server = _Server(workers=2)
    conf.post_fork(server, SimpleNamespace(pid=31, jiangxin_cpu=1))
    assert pinned == [(0, {1})]  # 0: the calling thread; the threads it starts later inherit the mask

    def refuse(pid, mask):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setaffinity", refuse, raising=False)
    conf.post_fork(server, SimpleNamespace(pid=32, jiangxin_cpu=0))
    assert server.warnings == ["could not pin worker 32 to CPU 0: [Errno 1] Operation not permitted"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs CPU affinity and two CPUs")
def test_gunicorn_started_here_pins_its_workers_to_different_cpus(tmp_path):
    """The real thing: ``gunicorn -w 2 wsgi:app`` from the project's directory reads gunicorn.conf.py."""
    port = _free_port()
    env = {**os.environ, "JIANGXIN_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}
    env.pop("JIANGXIN_PIN_WORKERS", None)
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(gunicorn, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        masks: list[set[int]] = []
        while time.monotonic() < deadline and proc.poll() is None:
            children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
            masks = []
            for pid in children:
                try:
                    masks.append(os.sched_getaffinity(int(pid)))
                except ProcessLookupError:
                    pass
            if len(masks) == 2 and all(len(m) == 1 for m in masks):
                break
            time.sleep(0.2)
        assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
        assert len(masks) == 2 and all(len(m) == 1 for m in masks), masks
        assert masks[0] != masks[1]
    finally:
        _stop(proc)


def test_a_worker_that_loaded_the_app_freezes_it_and_collects_young_objects_less_often():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        gc.unfreeze()
        conf.post_worker_init(SimpleNamespace(pid=41))
        assert gc.get_freeze_count() > 1000  # this test process's modules, as a worker's app would be
        assert gc.get_threshold() == (conf.GC_YOUNG_THRESHOLD, *before[1:])
        garbage = [[]]
        garbage[0].append(garbage)  # a new cycle is not frozen: it is still collected
        del garbage
        assert gc.collect() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        if frozen:
            gc.freeze()


# --- each worker serves its share of the open connections ---

FREE = conf._FREE


@pytest.mark.parametrize("mine, counts, over", [
    (9, [9, 7], True),  # 16 over 2: a share of 8
    (8, [8, 8], False),
    (11, [11, 5], True),
    (5, [11, 5], False),
    (9, [9, 8], False),  # 17 over 2: a share of 9 (rounded up)
    (10, [10, 7], True),
    (1, [1, 0], False),  # one connection: the worker holding it is within its share (1 over 2, rounded up)
    (2, [2, 0], True),
    (8, [8, FREE, FREE], False),  # one live worker: nothing to balance with
    (8, [8, FREE, 0], True),  # a free slot does not count as a worker
    (3, [3, 3, 2], False),
    (4, [4, 2, 2], True),
])
def test_a_worker_is_over_its_share_when_it_holds_more_than_the_mean_rounded_up(mine, counts, over):
    assert conf.over_share(mine, counts) is over


@given(st.lists(st.integers(0, 500), min_size=1, max_size=8), st.integers(0, 20))
def test_closing_connections_of_workers_over_their_share_ends_with_every_worker_within_it(counts, free):
    """Moving one connection at a time from a worker over its share to the least busy worker (the one likelier to
    accept the reconnection) ends; then no worker is over its share, and the least busy one never was."""
    counts = list(counts)
    slots = counts + [FREE] * free
    assert not conf.over_share(min(counts), slots)
    for _ in range(sum(counts) * len(counts) + 1):
        over = [i for i, c in enumerate(counts) if conf.over_share(c, counts + [FREE] * free)]
        if not over:
            break
        counts[over[0]] -= 1
        counts[counts.index(min(counts))] += 1
    else:
        pytest.fail("did not settle")
    assert max(counts) <= -(-sum(counts) // len(counts))


@pytest.fixture
def fresh_counts(monkeypatch):
    monkeypatch.setattr(conf, "_counts", None)
    monkeypatch.delenv("JIANGXIN_BALANCE_CONNECTIONS", raising=False)
    monkeypatch.setenv("JIANGXIN_PIN_WORKERS", "0")


def test_each_worker_gets_a_slot_and_a_replacement_takes_the_freed_one(fresh_counts):
    server = _Server(workers=2)
    first, second = server.spawn(1), server.spawn(2)
    assert (first.jiangxin_slot, second.jiangxin_slot) == (0, 1)
    assert first.jiangxin_counts is second.jiangxin_counts  # one array, made before the first fork
    assert first.jiangxin_counts[:3] == [0, 0, FREE]
    first.jiangxin_counts[1] = 7  # what the second worker published
    del server.WORKERS[2]
    conf.child_exit(server, second)
    assert first.jiangxin_counts[1] == FREE
    assert server.spawn(3).jiangxin_slot == 1
    assert first.jiangxin_counts[1] == 0


@pytest.mark.parametrize("workers, env", [(1, None), (2, "0"), (2, "off")])
def test_nothing_is_balanced_with_one_worker_or_when_turned_off(fresh_counts, monkeypatch, workers, env):
    if env is not None:
        monkeypatch.setenv("JIANGXIN_BALANCE_CONNECTIONS", env)
    server = _Server(workers=workers)
    worker = server.spawn(1)
    assert worker.jiangxin_slot is None
    worker.nr_conns = 50
    req = SimpleNamespace(must_close=False)
    conf.pre_request(worker, req)
    assert req.must_close is False
    conf.child_exit(server, worker)  # nothing to free


def _two_workers(counts: tuple[int, int]):
    server = _Server(workers=2)
    a, b = server.spawn(1), server.spawn(2)
    a.nr_conns, b.nr_conns = counts
    return a, b


def _close(worker) -> bool:
    req = SimpleNamespace(must_close=False)
    conf.pre_request(worker, req)
    return req.must_close


def test_a_worker_over_its_share_closes_one_connection_at_a_time(fresh_counts, monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(conf.time, "monotonic", lambda: clock[0])
    a, b = _two_workers((11, 5))
    assert _close(b)  # b publishes 5 while a's count is still 0 (a new worker): 5 of 5 is over 3
    clock[0] += conf.SHED_GAP
    b.nr_conns = 5  # its client reconnected to b again
    assert a.jiangxin_counts[:2] == [0, 5]
    assert _close(a)  # a publishes 11 of 16: over 8
    assert a.jiangxin_counts[:2] == [11, 5]
    assert not _close(a)  # its count has not caught up yet: no second one within SHED_GAP
    clock[0] += conf.SHED_GAP
    a.nr_conns = 10  # the first closed; its client reconnected to b
    b.nr_conns = 6
    assert not _close(b)
    assert _close(a)
    clock[0] += conf.SHED_GAP
    a.nr_conns, b.nr_conns = 8, 8
    assert not _close(b) and not _close(a)


def test_an_http2_connection_is_never_closed_to_balance(fresh_counts):
    a, _b = _two_workers((11, 5))
    a.jiangxin_counts[1] = 5
    req = SimpleNamespace(must_close=False, version=(2, 0))  # one of its streams; closing would end the others
    conf.pre_request(a, req)
    assert req.must_close is False
    assert a.jiangxin_counts[:2] == [11, 5]  # its count is still published


def test_a_worker_that_keeps_no_connections_open_is_left_alone(fresh_counts):
    a, b = _two_workers((0, 0))
    del a.nr_conns  # gunicorn's sync worker: one request per connection
    assert not _close(a)
    assert a.jiangxin_counts[:2] == [0, 0]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return sorted(int(p) for p in out)


def test_gunicorn_moves_keep_alive_connections_off_a_worker_holding_them_all(tmp_path):
    """The real thing, with gunicorn's threaded worker: one worker is stopped while eight clients connect, so the
    other accepts every connection; once both run, the connections end up shared between them. Without the
    balancing, keep-alive connections stay where they were accepted: all eight on one worker."""
    (tmp_path / "pid_app.py").write_text(
        "import os\n\n\ndef app(environ, start_response):\n"
        "    body = str(os.getpid()).encode()\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])\n"
        "    return [body]\n")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIANGXIN_")}
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2", "--threads", "4",
           "--keep-alive", "30", "--pythonpath", str(tmp_path), "-b", f"127.0.0.1:{port}", "pid_app:app"]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(8)]

    def served_by(conn) -> int:
        conn.request("GET", "/")
        return int(conn.getresponse().read())

    try:
        deadline, workers, seen = time.monotonic() + 30, [], set()
        while time.monotonic() < deadline and (len(workers) < 2 or seen != set(workers)):
            assert proc.poll() is None, log.read_text(errors="replace")[-2000:]
            workers = _children(proc.pid)
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                seen.add(served_by(probe))  # a new connection each time: both workers answer, sooner or later
            except OSError:
                time.sleep(0.1)
            finally:
                probe.close()
        assert seen == set(workers) and len(workers) == 2, (seen, workers)
        busy, idle = workers
        os.kill(idle, signal.SIGSTOP)
        try:
            assert [served_by(c) for c in conns] == [busy] * 8
        finally:
            os.kill(idle, signal.SIGCONT)
        # Each round sends one request on every connection; an over-share worker closes one of its connections per
        # SHED_GAP and its client reconnects. Poll rounds until the connections are shared out (the condition, not a
        # number of rounds and sleeps, ends the wait), with a deadline.
        deadline, last = time.monotonic() + 30, [busy] * 8
        while sorted(last.count(pid) for pid in workers) not in ([3, 5], [4, 4]) and time.monotonic() < deadline:
            last = [served_by(c) for c in conns]
        assert sorted(last.count(pid) for pid in workers) in ([3, 5], [4, 4]), last
    finally:
        for c in conns:
            c.close()
        _stop(proc)
