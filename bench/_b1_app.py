"""Baseline B1 for marks_api: a bare Flask app with one endpoint doing one raw INSERT into a SQLite file.

Served by gunicorn exactly like the real app (``gunicorn … 'bench._b1_app:app'``); the database file is named by
``BENCH_B1_DB`` and has the app's pragmas (WAL, synchronous=NORMAL, foreign_keys=ON, busy_timeout=5000, mmap_size=256 MiB). Each
request thread keeps one connection; each request is one autocommitted INSERT of the posted mark.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, jsonify, request

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000",
           "PRAGMA mmap_size=268435456")
DDL = ("CREATE TABLE IF NOT EXISTS mark (id INTEGER PRIMARY KEY, judge TEXT NOT NULL, code TEXT NOT NULL, "
       "aspect_id INTEGER NOT NULL, value TEXT NOT NULL, idempotency_key TEXT UNIQUE)")

app = Flask(__name__)
_local = threading.local()


def connection() -> sqlite3.Connection:
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = sqlite3.connect(os.environ["BENCH_B1_DB"], isolation_level=None, check_same_thread=False)
        for pragma in PRAGMAS:
            con.execute(pragma)
    return con


def create(path: str) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        con.execute(pragma)
    con.execute(DDL)
    con.close()


@app.post("/api/v1/competitions/<int:competition_id>/marks")
def marks(competition_id: int):
    items = request.get_json()
    judge = request.headers.get("Authorization", "")[-8:]
    item = items[0]
    cur = connection().execute(
        "INSERT INTO mark (judge, code, aspect_id, value, idempotency_key) VALUES (?, ?, ?, ?, ?)",
        (judge, item["code"], item["aspect_id"], str(item["value"]), item["idempotency_key"]))
    return jsonify({"results": [{"index": 0, "status": "stored", "mark_id": cur.lastrowid}]})
