"""A database restart under load: judges' marks get 503 with Retry-After (never a 500), no acknowledged mark is
lost or stored twice, and the app recovers by itself (issue 14, item 6).

The test starts a PostgreSQL cluster of its own (``initdb`` and ``pg_ctl`` on a free port, in a temp directory) and
restarts it while four judges send marks through the app — never the machine's own server."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.conftest import require

pytestmark = [pytest.mark.no_transaction, pytest.mark.xdist_group("throwaway_cluster")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throwaway PostgreSQL cluster (trust authentication, listening on 127.0.0.1:<port> only)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or ([shutil.which("initdb")] if shutil.which(
            "initdb") else [])
        require(bool(found), "PostgreSQL's initdb/pg_ctl are not installed")
        self.bin = Path(found[-1]).parent
        # Its own directory under the system's temp dir (pytest's is private to root, where the server cannot go).
        self.dir = Path(tempfile.mkdtemp(prefix="jiangxin-cluster-"))
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0  # initdb refuses root: run the server as the postgres user
        if self.as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{tool} failed: {done.stdout}{done.stderr}"

    def _ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.dir), "-l", str(self.dir / "log"), "-w", "-o", options, *args)

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def cluster():
    made = Cluster()
    try:
        yield made
    finally:
        made.stop()
        shutil.rmtree(made.dir, ignore_errors=True)


def test_a_restart_gives_503_loses_no_mark_and_recovers(make_app, cluster):
    from app.db import db
    from bench._competitions import build

    app = make_app(cluster.url, SECRET_KEY="x" * 32)
    with app.app_context():
        db.create_all()
    world = build(app, None, entries=40, aspects=2, judges=4, tokens=True)
    path = f"/api/v1/competitions/{world.competition_id}/marks"
    statuses: list[int] = []
    retry_afters: set[str] = set()
    acknowledged: dict[str, int] = {}  # idempotency key -> mark id, from a 200 answer
    lock = threading.Lock()
    halfway = threading.Event()
    failures: list[str] = []

    def judge(j: int) -> None:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {world.tokens[j]}"}
        for n in range(40):
            key = f"restart-{j}-{n}"
            body = [{"code": world.codes[n], "aspect_id": world.aspect_ids[j % 2], "value": "7.5",
                     "idempotency_key": key}]
            for _attempt in range(60):
                resp = client.post(path, json=body, headers=headers)
                with lock:
                    statuses.append(resp.status_code)
                if resp.status_code == 200:
                    result = resp.get_json()["results"][0]
                    with lock:
                        acknowledged[key] = result["mark_id"]
                    break
                if resp.status_code != 503:
                    failures.append(f"{key}: {resp.status_code} {resp.get_data(as_text=True)[:200]}")
                    return
                retry_afters.add(resp.headers.get("Retry-After", ""))
                assert resp.get_json()["error"]["code"] == "busy"
                time.sleep(0.2)  # (the header says 5 s; the test does not wait that long)
            else:
                failures.append(f"{key}: still refused after 60 attempts")
                return
            if n == 10:
                halfway.set()

    threads = [threading.Thread(target=judge, args=(j,)) for j in range(4)]
    for t in threads:
        t.start()
    assert halfway.wait(60)
    cluster.restart()
    for t in threads:
        t.join(180)
    assert not failures, failures
    assert 500 not in statuses
    assert 503 in statuses and retry_afters == {"5"}, (statuses.count(503), retry_afters)  # the restart was seen
    assert len(acknowledged) == 4 * 40
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres") as conn:
        rows = conn.execute("SELECT idempotency_key, id FROM mark").fetchall()
    stored = dict(rows)
    assert len(rows) == len(stored) == 160  # each mark once
    assert stored == acknowledged  # every acknowledged mark is the row of its key
    with app.app_context():  # the app recovered without a restart: the audit chain is whole too
        from app.audit.services import verify_chain

        assert verify_chain()[1] == []
