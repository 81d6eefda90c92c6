"""import_csv_10k: import 10,000 workers from a UTF-8 CSV (preview + confirm through the services).

Baseline B5: the ``csv`` module reads the same file and one ``executemany`` INSERTs its rows, in one
transaction, into an equivalent plain table: the ``worker`` table's own DDL (same columns, unique ID
column, indexes and foreign keys) in another SQLite file with the app's pragmas (WAL,
synchronous=NORMAL, foreign_keys=ON), through plain ``sqlite3``. The baseline maps the CSV columns
straight onto that table (the ID number into the unique ID column, constants for enterprise and
trade), so it does the same writing but no decoding check, validation, hashing, encryption, staging,
duplicate lookups, audit or ORM. Each run starts from an empty table and a checkpointed WAL.
"""

from __future__ import annotations

import csv
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bench._common import Result, compare, import_through_services, reset_workers, temp_dir, throwaway_app, worker_rows

NAME = "import_csv_10k"
TARGET = 0.25
ROWS = 10_000
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000")
INSERT = ("INSERT INTO worker (enterprise_id, name, gender, birth_date, id_type, id_hash, id_last4, id_encrypted, mobile, "
          "trade_id, skill_level, is_active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def write_csv(path: Path, rows: list[list[str]]) -> None:
    from app.people.imports.domain import TEMPLATE_HEADERS

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(TEMPLATE_HEADERS)
        writer.writerows(rows)


def baseline_db(directory: Path) -> Path:
    """The worker table's DDL (from the models) in a separate SQLite file, with one enterprise and trade."""
    from sqlalchemy import create_engine

    from app.db import db
    from app.models import import_all_models

    import_all_models()
    path = directory / "baseline.db"
    engine = create_engine(f"sqlite:///{path}")
    db.metadata.create_all(engine, tables=[db.metadata.tables[t] for t in ("enterprise", "trade", "worker")])
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO enterprise (id, name, uscc, region, is_active, created_at) "
                "VALUES (1, 'e', 'u', '', 1, '2026-01-01')")
    con.execute("INSERT INTO trade (id, code, name, is_active) VALUES (1, '6-31-01-03', '电工', 1)")
    con.commit()
    con.close()
    return path


def csv_executemany(csv_path: Path, db_path: Path) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(db_path, isolation_level=None)
    for pragma in PRAGMAS:
        con.execute(pragma)
    with csv_path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        con.execute("BEGIN IMMEDIATE")
        con.executemany(INSERT, ((1, name, gender, birth, id_type, number, number[-4:], number.encode(), mobile, 1, level, 1,
                                  now, now)
                                 for name, gender, birth, id_type, number, mobile, _trade, level in reader))
        con.execute("COMMIT")
    con.close()


def reset_baseline(db_path: Path) -> None:
    con = sqlite3.connect(db_path, isolation_level=None)
    for pragma in PRAGMAS:
        con.execute(pragma)
    con.execute("DELETE FROM worker")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def run() -> Result:
    directory = temp_dir(NAME)
    bench = throwaway_app(directory)
    csv_path = directory / "workers.csv"
    write_csv(csv_path, worker_rows(ROWS, bench.trade_codes))
    base_db = baseline_db(directory)

    def ours() -> None:
        assert import_through_services(bench, csv_path.name, csv_path) == ROWS

    value, baseline = compare(ours, lambda: csv_executemany(csv_path, base_db), repeat=7,
                              ours_setup=lambda: reset_workers(bench), baseline_setup=lambda: reset_baseline(base_db))
    return Result(NAME, value, baseline, TARGET)
