"""Baseline B1 for the marks benchmarks: a bare Flask app with one endpoint doing one raw INSERT per request.

Served by gunicorn exactly like the real app (``gunicorn … 'bench._b1_app:app'``). The database is either a
SQLite file named by ``BENCH_B1_DB`` (the app's pragmas: WAL, synchronous=NORMAL, foreign_keys=ON,
busy_timeout=5000, mmap_size=256 MiB) or, when ``BENCH_B1_DSN`` is set, a PostgreSQL database (a libpq DSN,
``postgresql://…``) reached with psycopg. Either way its table is ``b1_mark``, of its own (``create`` makes it).
Each request thread keeps one connection in autocommit mode; each request is one INSERT of the posted batch's first
mark, its own transaction. The INSERT skips a key it already holds (``ON CONFLICT … DO NOTHING``, checked by the
key's unique index like any INSERT), and the answer then says ``duplicate``, so that a client's retry with the same
idempotency key is answered as the real API answers it; only such a retry costs a second statement (the SELECT of
the stored row's id).
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, jsonify, request

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000",
           "PRAGMA mmap_size=268435456")
TABLE = "b1_mark"
DDL_SQLITE = (f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, judge TEXT NOT NULL, code TEXT NOT NULL, "
              "aspect_id INTEGER NOT NULL, value TEXT NOT NULL, idempotency_key TEXT UNIQUE)")
DDL_POSTGRES = (f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGSERIAL PRIMARY KEY, judge TEXT NOT NULL, code TEXT NOT NULL, "
                "aspect_id INTEGER NOT NULL, value TEXT NOT NULL, idempotency_key TEXT UNIQUE)")
_INSERT = (f"INSERT INTO {TABLE} (judge, code, aspect_id, value, idempotency_key) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id")
_SELECT = f"SELECT id FROM {TABLE} WHERE idempotency_key = ?"

app = Flask(__name__)
_local = threading.local()


def _postgres(sql: str) -> str:
    return sql.replace("?", "%s")


class _Database:
    """This thread's connection and its two statements, in the placeholder style of its driver."""

    def __init__(self) -> None:
        dsn = os.environ.get("BENCH_B1_DSN")
        if dsn:
            import psycopg

            self.con = psycopg.connect(dsn, autocommit=True)
            self.insert, self.select = _postgres(_INSERT), _postgres(_SELECT)
        else:
            self.con = sqlite3.connect(os.environ["BENCH_B1_DB"], isolation_level=None, check_same_thread=False)
            for pragma in PRAGMAS:
                self.con.execute(pragma)
            self.insert, self.select = _INSERT, _SELECT

    def store(self, row: tuple) -> tuple[str, int]:
        found = self.con.execute(self.insert, row).fetchall()  # to the end: SQLite commits when the statement is done
        if found:
            return "stored", found[0][0]
        return "duplicate", self.con.execute(self.select, (row[-1],)).fetchone()[0]


def database() -> _Database:
    db = getattr(_local, "db", None)
    if db is None:
        db = _local.db = _Database()
    return db


def create(path: str) -> None:
    """The SQLite file and its table."""
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        con.execute(pragma)
    con.execute(DDL_SQLITE)
    con.close()


def create_postgres(dsn: str) -> None:
    """The table, in the PostgreSQL database of ``dsn``."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(DDL_POSTGRES)


@app.post("/api/v1/competitions/<int:competition_id>/marks")
def marks(competition_id: int):
    items = request.get_json()
    judge = request.headers.get("Authorization", "")[-8:]
    item = items[0]
    status, mark_id = database().store((judge, item["code"], item["aspect_id"], str(item["value"]),
                                        item["idempotency_key"]))
    return jsonify({"results": [{"index": 0, "status": status, "mark_id": mark_id}]})
