"""Shared by the benchmarks that go through HTTP: a gunicorn server on a free port of 127.0.0.1, and CPU counters.

``Server`` runs the README's production command (``gunicorn -w 2 --threads 8 <target>``; tests that start one may
choose the threads and add options) in the project's directory, so it reads ``gunicorn.conf.py`` like production
does; ``stop`` ends it (SIGTERM, then SIGKILL) and is safe to call twice. ``tree_cpu_seconds`` reads a process's
and its children's CPU time from ``/proc`` (Linux; NaN elsewhere), ``machine_busy_ticks`` the whole machine's busy
and total time.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn process on 127.0.0.1:<free port>, started in the project's directory (it reads
    ``gunicorn.conf.py``); stopped (SIGTERM, then SIGKILL) by ``stop``."""

    def __init__(self, target: str, env: dict[str, str], log: Path, *, threads: int = 8,
                 args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.log = log
        self._log = log.open("wb")
        cmd = [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "--threads", str(threads), "-b", f"127.0.0.1:{self.port}",
               "--log-level", "warning", *args, target]
        if not Path(cmd[0]).exists():
            cmd[0:1] = [sys.executable, "-m", "gunicorn"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def wait_ready(self, path: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}): {self.tail()}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            try:
                conn.request("GET", path)
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
            finally:
                conn.close()
        raise RuntimeError(f"gunicorn not ready after {timeout:.0f} s: {self.tail()}")

    def tail(self) -> str:
        self._log.flush()
        return self.log.read_text(errors="replace")[-2000:]

    def cpu_seconds(self) -> float:
        """CPU seconds the master and its workers have used so far."""
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if not self._log.closed:
            self._log.close()

    def report_trouble(self) -> None:
        """After ``stop``: print the log's tail to stderr if the server failed or logged a traceback."""
        text = self.log.read_text(errors="replace")
        if self.proc.returncode not in (0, -15) or "Traceback" in text:
            print(f"{self.log}:\n{text[-3000:]}", file=sys.stderr)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: str) -> tuple[int, int] | None:
    """(parent pid, utime + stime in ticks) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2:].split()  # the name, in parentheses, may hold spaces
    return int(rest[1]), int(rest[11]) + int(rest[12])


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its live children (gunicorn's master and workers); NaN without ``/proc``."""
    if not Path("/proc/self/stat").exists():
        return float("nan")
    ticks = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(entry)
            if stat is not None and (int(entry) == pid or stat[0] == pid):
                ticks += stat[1]
    return ticks / _TICK


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot (``/proc/stat``); (0, 0) without it."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total
