"""The live board with several app processes on one SQLite file and no Redis (e.g. ``gunicorn -w 2`` on the
embedded default): a mark stored by one process changes the board every process serves.

Each process keeps its board cache and versions in memory; the versions also count the commits other connections
made to the file (``PRAGMA data_version`` on a read-only connection of the process's own). Another process is
played here by a plain ``sqlite3`` connection, which no hook of this process sees."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from app.db import db
from competitions.services import board

STAMP = "2026-01-01 08:00:00.000000"


def _other_process(path: str, *statements: tuple[str, tuple]) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            con.execute(sql, params)
        con.execute("COMMIT")
    finally:
        con.close()


def test_data_version_counts_the_commits_of_other_connections_only(tmp_path, monkeypatch):
    monkeypatch.setattr(board._DataVersion, "INTERVAL", 0)
    path = str(tmp_path / "dv.db")
    seen = board._DataVersion(path)
    assert seen() == 0  # no file yet: nothing to see, and nothing created
    assert not (tmp_path / "dv.db").exists()
    _other_process(path, ("CREATE TABLE t (x INTEGER)", ()))
    first = seen()
    assert seen() == first  # no commit since: unchanged
    _other_process(path, ("INSERT INTO t VALUES (1)", ()))
    assert seen() == first + 1
    _other_process(path, ("INSERT INTO t VALUES (2)", ()), ("INSERT INTO t VALUES (3)", ()))
    assert seen() == first + 2  # one commit, one change
    assert seen() == first + 2


def test_data_version_looks_at_most_every_interval(tmp_path, monkeypatch):
    path = str(tmp_path / "dv.db")
    _other_process(path, ("CREATE TABLE t (x INTEGER)", ()))
    now = [100.0]
    monkeypatch.setattr(board.time, "monotonic", lambda: now[0])
    seen = board._DataVersion(path)
    first = seen()
    _other_process(path, ("INSERT INTO t VALUES (1)", ()))
    now[0] += board._DataVersion.INTERVAL / 2
    assert seen() == first  # looked too recently: the screens' polls cost no query
    now[0] += board._DataVersion.INTERVAL
    assert seen() == first + 1


@pytest.mark.no_transaction
def test_a_mark_stored_by_another_process_changes_this_process_board(make_app, sqlite_url, monkeypatch):
    from app.accounts.models import Role, User, UserRole
    from app.orgs.models import Enterprise
    from competitions.models import Aspect, Competition, Criterion, Module, Panel, PanelJudge

    app = make_app(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    with app.app_context():
        db.create_all()
        competition = Competition(name="多进程看板", level="city", status="running")
        db.session.add(competition)
        db.session.flush()
        module = Module(competition_id=competition.id, position=1, name="实操", kind="practical")
        criterion = Criterion(position=1, name="评分项")
        criterion.aspects.append(Aspect(position=1, name="方面", kind="M", max_mark=Decimal(10), scale_min=Decimal(0),
                                        scale_max=Decimal(10), scale_step=Decimal("0.5"), judges_required=1,
                                        aggregation="mean"))
        module.criteria.append(criterion)
        judge = User(username="mp-judge", display_name="裁判", password_hash="x")
        judge.roles.append(UserRole(role=Role.JUDGE))
        enterprise = Enterprise(name="看板企业", uscc="911100000000009999", region="北京市")
        db.session.add_all([module, judge, enterprise])
        db.session.flush()
        db.session.add(Panel(competition_id=competition.id, module_id=module.id, chief_judge_id=judge.id,
                             members=[PanelJudge(judge_id=judge.id)]))
        db.session.commit()
        ids = {"competition": competition.id, "aspect": criterion.aspects[0].id, "judge": judge.id,
               "enterprise": enterprise.id}
        db.session.remove()
    _other_process(path, (
        "INSERT INTO worker (id, enterprise_id, name, gender, id_type, id_hash, id_last4, id_encrypted, mobile, "
        "skill_level, is_active, created_at, updated_at) VALUES (1, ?, '选手', 'M', 'resident', 'h1', '0000', ?, '', 3, "
        "1, ?, ?)", (ids["enterprise"], b"x", STAMP, STAMP)), (
        "INSERT INTO entry (id, competition_id, worker_id, enterprise_id, status, code, registered_at) "
        "VALUES (1, ?, 1, ?, 'approved', 'K001', ?)", (ids["competition"], ids["enterprise"], STAMP)))

    def totals() -> dict[str, str | None]:
        with app.app_context():
            body, _etag = board.get_board(ids["competition"])
            db.session.remove()
        import json

        return {e["code"]: e["total"] for e in json.loads(body)["entries"]}

    monkeypatch.setattr(board._DataVersion, "INTERVAL", 0)  # (the quarter-second pace is tested above)
    assert totals() == {"K001": None}
    assert totals() == {"K001": None}  # from the cache
    before = board.board_version(ids["competition"], app)
    _other_process(path, ("INSERT INTO mark (entry_id, aspect_id, judge_id, revision, value, is_current, reason, "
                          "entered_by_id, confirmed_by_id, created_at) VALUES (1, ?, ?, 1, '7.5', 1, '', ?, ?, ?)",
                          (ids["aspect"], ids["judge"], ids["judge"], ids["judge"], STAMP)))
    assert board.board_version(ids["competition"], app) != before
    assert totals() == {"K001": "7.50"}


def test_without_a_sqlite_file_there_is_nothing_to_watch(app):
    watch = board._data_version(app)
    if db.engine.dialect.name == "sqlite" and db.engine.url.database not in (None, "", ":memory:"):
        assert isinstance(watch, board._DataVersion)
    else:
        assert watch() == 0 and watch() == 0
