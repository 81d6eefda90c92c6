"""board_cached: ``GET /api/v1/competitions/<id>/board`` answered from the board cache, through the test client.

A running competition (100 entries × 10 aspects × 3 judges, all marked) on a temp SQLite file; the board is
built once (warm-up), then each run sends ``REQUESTS`` plain GETs (no ``If-None-Match``: a 200 with the full
body every time) and checks the status and the ETag stay the same (no rebuild). Every request goes through Flask:
routing, the before/after-request hooks (CSRF, limiter, security headers, session), the view and the board's
per-version cache — nothing answers in front of it. (Until 2026-12-07 a WSGI middleware replayed the app's last
board response before Flask ran, and this line measured that: ratio ~1.7, target 0.7. Venue screens in numbers are
now the job of a reverse proxy's micro-cache: ``deploy/nginx/jiangxin.conf``.)

Baseline B2: a bare Flask app with one trivial endpoint (``return "ok"``) through its own test client, the same
number of requests. ratio = baseline time / ours; target 0.5 (the whole framework path at most twice a bare
endpoint's).
"""

from __future__ import annotations

from flask import Flask

from bench._common import Result, compare, temp_dir
from bench._competitions import build, insert_marks, sqlite_app

NAME = "board_cached"
TARGET = 0.5
REQUESTS = 500


class PerRequest(Result):
    """Times per request, printed to the microsecond."""

    def line(self) -> str:
        return (f"BENCH {self.name} value={self.value:.6f}s baseline={self.baseline:.6f}s ratio={self.ratio:.2f} "
                f"target={self.target:g} {'PASS' if self.passed else 'FAIL'}")


def bare_client():
    bare = Flask("bench_bare")

    @bare.get("/ping")
    def ping():
        return "ok"

    return bare.test_client()


def run() -> Result:
    from competitions.services import board

    directory = temp_dir(NAME)
    app, db_path = sqlite_app(directory)
    world = build(app, db_path, entries=100, aspects=10, judges=3)
    insert_marks(world)
    board.reset_cache()
    client = app.test_client()
    url = f"/api/v1/competitions/{world.competition_id}/board"
    first = client.get(url)
    assert first.status_code == 200, first.get_data(as_text=True)[:300]
    assert first.get_json()["phase"] == "live", first.get_json().get("phase")
    etag = first.headers["ETag"]
    size = len(first.get_data())
    first.close()

    def ours() -> None:
        for _ in range(REQUESTS):
            resp = client.get(url)
            assert resp.status_code == 200 and resp.headers["ETag"] == etag and len(resp.get_data()) == size
            resp.close()

    base = bare_client()

    def baseline() -> None:
        for _ in range(REQUESTS):
            resp = base.get("/ping")
            assert resp.status_code == 200 and resp.get_data() == b"ok"
            resp.close()

    value, base_time = compare(ours, baseline, repeat=5)
    return PerRequest(NAME, value / REQUESTS, base_time / REQUESTS, TARGET)
