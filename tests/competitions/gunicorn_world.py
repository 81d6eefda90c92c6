"""A real gunicorn serving a running competition, for the tests of what only several threads and processes show
(the live board's streams and its freshness across workers). The server is ``bench._server.Server`` — the
production command, reading ``gunicorn.conf.py`` — on a free port of 127.0.0.1; the competition is
``bench._competitions.build``'s (one practical module of J-aspects, judges with API tokens, approved entries).
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._competitions import World, build, database_app, sqlite_app
from bench._server import Server


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


def request(port: int, method: str, path: str, *, headers: dict[str, str] | None = None, body: Any = None,
            timeout: float = 10.0) -> Answer:
    """One request on a connection of its own; how long the whole answer took."""
    data = None if body is None else json.dumps(body).encode()
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers={**({"Content-Type": "application/json"} if data else {}),
                                                        **(headers or {})})
        resp = conn.getresponse()
        content = resp.read()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, content, time.monotonic() - started)
    finally:
        conn.close()


def competition(directory: Path, database_url: str | None = None, *, entries: int = 6, aspects: int = 2,
                judges: int = 2) -> tuple[World, str]:
    """A running competition on a SQLite file in ``directory`` (or on ``database_url``); (world, its URL)."""
    from app.db import db

    if database_url is None:
        app, db_path = sqlite_app(directory)
        database_url = f"sqlite:///{db_path}"
    else:
        app, db_path = database_app(directory, database_url), None
    world = build(app, db_path, entries=entries, aspects=aspects, judges=judges, tokens=True)
    with app.app_context():
        db.engine.dispose()  # no connection of the test's process stays open
    return world, database_url


def serve(directory: Path, database_url: str, *, threads: int, env: dict[str, str] | None = None,
          args: tuple[str, ...] = ()) -> Server:
    """gunicorn -w 2 --threads ``threads`` on the database, production configuration, no Redis; ready to answer."""
    from app.config import SECRET_NAMES, _new_secret

    server = Server("wsgi:app", {"JIANGXIN_INSTANCE": str(directory / "instance"), "DATABASE_URL": database_url,
                                 "JIANGXIN_CONFIG": "production", "REDIS_URL": "",
                                 **{name: _new_secret(name) for name in SECRET_NAMES}, **(env or {})},
                    directory / "gunicorn.log", threads=threads, args=args)
    try:
        server.wait_ready("/healthz", timeout=60)
    except BaseException:
        server.stop()
        raise
    return server


def mark(port: int, world: World, *, judge: int, code: str, aspect: int, value: str, timeout: float = 10.0) -> Answer:
    """A judge's mark through the API, as the judges' page sends it."""
    key = f"t-{judge}-{code}-{aspect}-{time.monotonic_ns()}"
    return request(port, "POST", f"/api/v1/competitions/{world.competition_id}/marks",
                   headers={"Authorization": f"Bearer {world.tokens[judge]}"},
                   body=[{"code": code, "aspect_id": world.aspect_ids[aspect], "value": value, "idempotency_key": key}],
                   timeout=timeout)
