"""gunicorn.conf.py: each gunicorn worker pinned to one CPU, spread evenly."""

from __future__ import annotations

import gc
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


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs CPU affinity and two CPUs")
def test_gunicorn_started_here_pins_its_workers_to_different_cpus(tmp_path):
    """The real thing: ``gunicorn -w 2 wsgi:app`` from the project's directory reads gunicorn.conf.py."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


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
