"""Shared set-up of the competitions benchmarks: a running competition on a throwaway SQLite file (or, for
``build`` only, on any database the app's engine reaches, such as a scratch PostgreSQL database: ``database_app``).

The competition, its module, criterion, aspects, judges, panel and API tokens are made through the models;
workers, entries and marks — the bulk — go in with ``executemany`` so that set-up stays a few seconds.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000")
STAMP = "2026-01-01 08:00:00.000000"


@dataclass
class World:
    app: Any
    db_path: Path | None  # None: not a SQLite file
    competition_id: int
    aspect_ids: list[int]
    judge_ids: list[int]
    tokens: list[str]
    codes: list[str]
    entry_ids: list[int]


def sqlite_app(directory: Path, name: str = "bench.db"):
    from app import create_app
    from app.config import TestingConfig
    from app.db import db

    db_path = directory / name
    config = TestingConfig(SQLALCHEMY_DATABASE_URI=f"sqlite:///{db_path}", INSTANCE_PATH=directory / "instance")
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app, db_path


def database_app(directory: Path, url: str):
    """An app on the database of ``url`` (a SQLAlchemy URL), its tables made with ``create_all``."""
    from app import create_app
    from app.config import TestingConfig
    from app.db import db

    app = create_app(TestingConfig(SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=directory / "instance"))
    with app.app_context():
        db.create_all()
    return app


def build(app, db_path: Path | None, *, entries: int, aspects: int, judges: int, tokens: bool = False,
          tag: str = "") -> World:
    """A running competition: one practical module of ``aspects`` J-aspects (0–10 step 0.5, ``judges`` judges each,
    mean), a panel of ``judges`` judges, ``entries`` approved entries with codes E00001…

    ``db_path``: the app's SQLite file, written directly with ``sqlite3``; None for another database (the workers
    and entries then go in through the app's engine, ``_bulk_through_engine``)."""
    from app.accounts.models import Role, User, UserRole
    from app.accounts.services import create_token
    from app.db import db
    from app.orgs.models import Enterprise
    from competitions.models import Aspect, Competition, Criterion, Module, Panel, PanelJudge

    with app.app_context():
        competition = Competition(name="基准测试技能比武", level="city", status="running")
        db.session.add(competition)
        db.session.flush()
        module = Module(competition_id=competition.id, position=1, name="实操", kind="practical")
        crit = Criterion(position=1, name="评分项")
        for i in range(aspects):
            crit.aspects.append(Aspect(position=i + 1, name=f"方面{i + 1}", kind="J", max_mark=Decimal(10),
                                       scale_min=Decimal(0), scale_max=Decimal(10), scale_step=Decimal("0.5"),
                                       judges_required=judges, aggregation="mean"))
        module.criteria.append(crit)
        db.session.add(module)
        users = []
        for n in range(judges):
            user = User(username=f"bench{tag}-judge{n}", display_name=f"裁判{n}", password_hash="x")
            user.roles.append(UserRole(role=Role.JUDGE))
            db.session.add(user)
            users.append(user)
        ent = Enterprise(name=f"基准企业{tag}", uscc=f"91110000000000{len(tag):04d}", region="北京市")
        db.session.add(ent)
        db.session.flush()
        panel = Panel(competition_id=competition.id, module_id=module.id, chief_judge_id=users[0].id)
        panel.members = [PanelJudge(judge_id=u.id) for u in users]
        db.session.add(panel)
        secrets = [create_token(u, "bench").secret for u in users] if tokens else []
        db.session.commit()
        world = World(app, db_path, competition.id, [a.id for a in crit.aspects], [u.id for u in users], secrets, [], [])
        enterprise_id = ent.id
        db.session.remove()

    if db_path is None:
        _bulk_through_engine(world, enterprise_id, entries, tag)
        return world
    con = sqlite3.connect(db_path, isolation_level=None)
    for pragma in PRAGMAS:
        con.execute(pragma)
    con.execute("BEGIN IMMEDIATE")
    first = (con.execute("SELECT COALESCE(MAX(id), 0) FROM worker").fetchone()[0]) + 1
    con.executemany(
        "INSERT INTO worker (id, enterprise_id, name, gender, id_type, id_hash, id_last4, id_encrypted, mobile, "
        "skill_level, is_active, created_at, updated_at) VALUES (?, ?, ?, 'M', 'resident', ?, '0000', ?, '', 3, 1, ?, ?)",
        ((first + n, enterprise_id, f"选手{n}", f"bench{tag}-hash-{n}", b"x", STAMP, STAMP) for n in range(entries)))
    codes = [f"E{tag}{n + 1:05d}" for n in range(entries)]
    con.executemany(
        "INSERT INTO entry (competition_id, worker_id, enterprise_id, status, code, registered_at) "
        "VALUES (?, ?, ?, 'approved', ?, ?)",
        ((world.competition_id, first + n, enterprise_id, codes[n], STAMP) for n in range(entries)))
    con.execute("COMMIT")
    world.codes = codes
    world.entry_ids = [row[0] for row in con.execute(
        "SELECT id FROM entry WHERE competition_id = ? ORDER BY code", (world.competition_id,))]
    con.close()
    return world


def _bulk_through_engine(world: World, enterprise_id: int, entries: int, tag: str) -> None:
    """``build``'s workers and entries through the app's engine (one ``executemany`` each; ids from the database)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from app.db import db
    from app.people.models import Worker
    from competitions.models import Entry

    stamp = datetime.fromisoformat(STAMP).replace(tzinfo=UTC)
    codes = [f"E{tag}{n + 1:05d}" for n in range(entries)]
    with world.app.app_context():
        worker_ids = db.session.scalars(insert(Worker).returning(Worker.id, sort_by_parameter_order=True), [
            {"enterprise_id": enterprise_id, "name": f"选手{n}", "gender": "M", "id_type": "resident",
             "id_hash": f"bench{tag}-hash-{n}", "id_last4": "0000", "id_encrypted": b"x", "mobile": "",
             "skill_level": 3, "is_active": True, "created_at": stamp, "updated_at": stamp}
            for n in range(entries)]).all()
        db.session.execute(insert(Entry), [
            {"competition_id": world.competition_id, "worker_id": worker_ids[n], "enterprise_id": enterprise_id,
             "status": "approved", "code": codes[n], "registered_at": stamp} for n in range(entries)])
        db.session.commit()
        world.codes = codes
        world.entry_ids = list(db.session.scalars(
            select(Entry.id).where(Entry.competition_id == world.competition_id).order_by(Entry.code)))
        db.session.remove()


def insert_marks(world: World) -> int:
    """Every judge's current, confirmed mark on every (entry, aspect), in one ``executemany``."""
    values = [format(Decimal("0.5") * k, "f") for k in range(21)]
    con = sqlite3.connect(world.db_path, isolation_level=None)
    for pragma in PRAGMAS:
        con.execute(pragma)
    con.execute("BEGIN IMMEDIATE")
    rows = ((e, a, j, values[(e * 7 + a * 3 + j) % 21], j, j, STAMP)
            for e in world.entry_ids for a in world.aspect_ids for j in world.judge_ids)
    cur = con.executemany(
        "INSERT INTO mark (entry_id, aspect_id, judge_id, revision, value, is_current, reason, entered_by_id, "
        "confirmed_by_id, created_at) VALUES (?, ?, ?, 1, ?, 1, '', ?, ?, ?)", rows)
    count = cur.rowcount
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return count
