"""results_compute_240k: ``compute_results`` for 2,000 entries × 40 aspects × 3 judges (240,000 counted marks).

The competition, module and aspects are made through the models; workers, entries and the 240,000 marks go
into a temp SQLite file with ``executemany``. ``compute_results(id)`` runs inside a request context (a fresh
session each run, as a request would have); value = the median of 3 runs. There is no code baseline: the
baseline is the target time, 0.5 s, so ``ratio`` = 0.5 s / value and PASS means ratio ≥ 1.0.

A second competition with 200 entries (same scheme) is computed with a ``before_cursor_execute`` listener
counting the SQL statements; the line FAILs (and says so) if 2,000 entries need more statements than 200.
"""

from __future__ import annotations

import statistics

from bench._common import Result, temp_dir, timed
from bench._competitions import build, insert_marks, sqlite_app

NAME = "results_compute_240k"
LIMIT = 0.5  # seconds
ENTRIES, SMALL, ASPECTS, JUDGES = 2_000, 200, 40, 3


class QueryCountResult(Result):
    queries: tuple[int, int] = (0, 0)

    @property
    def passed(self) -> bool:
        return super().passed and self.queries[1] <= self.queries[0]

    def line(self) -> str:
        small, big = self.queries
        note = f" queries={small}@{SMALL}/{big}@{ENTRIES}" + ("" if big <= small else " (query count grows with entries)")
        return (f"BENCH {self.name} value={self.value:.4f}s baseline={self.baseline:.4f}s ratio={self.ratio:.2f} "
                f"target={self.target:g} {'PASS' if self.passed else 'FAIL'}{note}")


def run() -> Result:
    from sqlalchemy import event

    from app.db import db
    from competitions.services.results import compute_results

    directory = temp_dir(NAME)
    app, db_path = sqlite_app(directory)
    big = build(app, db_path, entries=ENTRIES, aspects=ASPECTS, judges=JUDGES)
    assert insert_marks(big) == ENTRIES * ASPECTS * JUDGES
    # the small competition has its own judges (distinct user names) and workers
    small = build(app, db_path, entries=SMALL, aspects=ASPECTS, judges=JUDGES, tag="s")
    insert_marks(small)

    def compute(competition_id: int, expect: int) -> None:
        with app.test_request_context("/"):
            results = compute_results(competition_id)
            assert len(results.entries) == expect
            assert all(e["rank"] is not None for e in results.entries)
            db.session.remove()

    counts: dict[int, int] = {}

    def count_queries(competition_id: int, expect: int) -> int:
        seen = [0]

        def listener(*_args, **_kw) -> None:
            seen[0] += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            compute(competition_id, expect)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return seen[0]

    compute(big.competition_id, ENTRIES)  # warm-up (imports, statement caches, page cache)
    counts[SMALL] = count_queries(small.competition_id, SMALL)
    counts[ENTRIES] = count_queries(big.competition_id, ENTRIES)
    value = statistics.median(timed(lambda: compute(big.competition_id, ENTRIES)) for _ in range(3))
    result = QueryCountResult(NAME, value, LIMIT, 1.0)
    result.queries = (counts[SMALL], counts[ENTRIES])
    return result

