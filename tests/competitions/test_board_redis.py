"""The board cache in Redis (several gunicorn workers share it): versions and JSON live in Redis."""

from __future__ import annotations

import os
import uuid

import pytest

from app.db import db
from competitions.services import board
from tests.competitions.results_fixtures import rw  # noqa: F401
from tests.conftest import require

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_board(app):
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
        reachable = True
    except redis.exceptions.ConnectionError:
        reachable = False
    require(reachable, f"Redis at {REDIS_URL}")
    prefix = f"test:board:{uuid.uuid4().hex}:"
    saved = {k: app.config.get(k) for k in ("REDIS_URL", "BOARD_REDIS_PREFIX")}
    app.config.update(REDIS_URL=REDIS_URL, BOARD_REDIS_PREFIX=prefix)
    app.extensions.pop("jiangxin_board_redis", None)
    yield client, prefix
    app.config.update(saved)
    app.extensions.pop("jiangxin_board_redis", None)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_board_cache_and_versions_live_in_redis(rw, redis_board):  # noqa: F811
    client, prefix = redis_board
    rw.fill()
    first = rw.get("anonymous", "/board")
    assert first.status_code == 200
    cached = client.get(f"{prefix}json:{rw.competition.id}")
    assert cached is not None and cached.endswith(first.data)
    assert rw.get("anonymous", "/board", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    board._cache.clear()  # another worker: nothing in this process
    assert rw.get("anonymous", "/board").data == first.data
    rw.mark("A104", rw.p2, "j1", 20)
    db.session.commit()  # the commit hook bumps the competition's version in Redis (a mark names its competition)
    assert int(client.get(f"{prefix}v:{rw.competition.id}") or 0) >= 1
    assert client.get(f"{prefix}v:0") is None  # not every board's
    data = rw.get("anonymous", "/board").get_json()
    assert {e["code"]: e["total"] for e in data["entries"]}["A104"] == "78.67"
    before = board.board_version(rw.competition.id)
    board.invalidate_board(rw.competition.id)
    assert board.board_version(rw.competition.id) == (before[0], before[1] + 1, before[2])


def test_redis_stale_while_rebuilding(rw, redis_board):  # noqa: F811
    client, prefix = redis_board
    rw.fill()
    before = rw.get("anonymous", "/board")
    rw.mark("A104", rw.p2, "j1", 20)
    db.session.commit()
    client.set(f"{prefix}lock:{rw.competition.id}", b"1", ex=10)  # a builder in another worker
    assert rw.get("anonymous", "/board").data == before.data
    client.delete(f"{prefix}lock:{rw.competition.id}")
    data = rw.get("anonymous", "/board").get_json()
    assert {e["code"]: e["total"] for e in data["entries"]}["A104"] == "78.67"
