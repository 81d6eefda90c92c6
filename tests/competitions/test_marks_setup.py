"""What the token lane keeps between groups of marks (competitions.services.marks_setup): the setup version that
SQLite triggers move on every change of a watched table, the cache that keeps answers while it stands, and — the
point of it all — that no change, made by this app or by another process writing the file, is ever missed: the
next mark is checked against it."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from app.accounts.models import ApiToken, Role, User, UserRole
from app.db import db
from app.orgs.models import Enterprise, IndustryChain, chain_member
from app.people.models import Worker
from competitions.api import marks_lane
from competitions.models import (
    SETUP_TABLES,
    Aspect,
    Competition,
    Criterion,
    DeclaredConflict,
    Entry,
    JudgeProfile,
    Mark,
    Module,
    ModuleCode,
    Panel,
    PanelJudge,
)
from competitions.services import marks_setup
from competitions.services.marks_setup import SetupCache, setup_version_column
from tests.competitions.marks_fixtures import item, mw  # noqa: F401

STAMP = "2026-01-01 08:00:00.000000"


@pytest.fixture
def sqlite_only(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the setup version's triggers and the lane's groups are SQLite's")


def _counter() -> int:
    return db.session.execute(text("SELECT n FROM marks_setup_version WHERE id = 1")).scalar_one()


def test_every_watched_table_is_a_model_table_with_its_triggers(app, sqlite_only):
    assert set(SETUP_TABLES) <= set(db.metadata.tables)
    with app.app_context():
        names = set(db.session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    expected = {f"marks_setup_{t}_{e.split()[0].lower()}" for t, events in SETUP_TABLES.items() for e in events}
    assert expected <= names and len(expected) == 44


def _changes(w):  # noqa: C901 - a table of cases
    """Name → (a change of one watched table through the ORM, whether it must move the counter)."""
    u, ent = w.users, w.enterprises

    def token():
        db.session.scalar(select(ApiToken).where(ApiToken.user_id == u["j3"].id)).revoked_at = db.func.now()

    def user():
        u["j3"].display_name = "改名"

    def role():
        db.session.add(UserRole(user_id=u["j3"].id, role=Role.ORGANIZER))

    def competition():
        w.competition.name = "改名"

    def module():
        w.module1.locked_at = db.func.now()

    def criterion():
        db.session.get(Criterion, w.a1.criterion_id).name = "改名"

    def aspect():
        w.a1.scale_max = Decimal(2)

    def panel():
        db.session.scalar(select(Panel).where(Panel.module_id == w.module1.id)).chief_judge_id = u["j2"].id

    def panel_judge():
        db.session.delete(db.session.scalar(select(PanelJudge).where(PanelJudge.judge_id == u["j3"].id)))

    def entry():
        w.entries[0].status = "withdrawn"

    def module_code():
        db.session.add(ModuleCode(entry_id=w.entries[0].id, module_id=w.module1.id, code="M1"))

    def declared():
        db.session.add(DeclaredConflict(competition_id=w.competition.id, entry_id=w.entries[0].id, judge_id=u["j3"].id))

    def profile():
        db.session.add(JudgeProfile(user_id=u["j3"].id, enterprise_id=ent[1].id))

    def chain():
        found = IndustryChain(name="链")
        db.session.add(found)
        db.session.flush()
        db.session.execute(chain_member.insert().values(chain_id=found.id, enterprise_id=ent[0].id))

    def worker_moves():
        w.workers[0].enterprise_id = ent[2].id

    def worker_renamed():
        w.workers[0].name = "改名"

    def new_worker():
        db.session.add(Worker(enterprise_id=ent[0].id, name="新人", gender="F", id_type="resident", id_hash="h-new",
                              id_last4="0000", id_encrypted=b"x", mobile="", skill_level=3))

    def new_enterprise():
        db.session.add(Enterprise(name="新企业", uscc="91110000MA00000009", region="北京市"))

    def a_mark():  # (the token's first use was noted before: see the test)
        assert w.mark("j2", "K101", w.a1, "1").status_code == 200

    return {"api_token": (token, True), "user": (user, True), "user_role": (role, True),
            "competition": (competition, True), "module": (module, True), "criterion": (criterion, True),
            "aspect": (aspect, True), "panel": (panel, True), "panel_judge": (panel_judge, True),
            "entry": (entry, True), "module_code": (module_code, True), "declared_conflict": (declared, True),
            "judge_profile": (profile, True), "chain_member": (chain, True), "worker's enterprise": (worker_moves, True),
            "worker's name": (worker_renamed, False), "a new worker": (new_worker, False),
            "an enterprise": (new_enterprise, False), "a mark and its audit entry": (a_mark, False)}


CHANGES = ["api_token", "user", "user_role", "competition", "module", "criterion", "aspect", "panel", "panel_judge",
           "entry", "module_code", "declared_conflict", "judge_profile", "chain_member", "worker's enterprise",
           "worker's name", "a new worker", "an enterprise", "a mark and its audit entry"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_of_a_watched_table_moves_the_counter(mw, sqlite_only, change):  # noqa: F811
    act, moves = _changes(mw)[change]
    assert mw.mark("j2", "K102", mw.a2, "1").status_code == 200  # j2's token's first use noted (api_token) before
    before = _counter()
    act()
    db.session.flush()
    assert (_counter() > before) is moves


def test_the_cache_keeps_answers_while_the_counter_stands(mw, sqlite_only, monkeypatch):  # noqa: F811
    loads: list[list[int]] = []

    def load(keys):
        loads.append(list(keys))
        return {k: k * 10 for k in keys if k != 3}  # 3: not found, asked again each time

    cache = SetupCache()
    assert cache.many("x", [1, 2], load) == {1: 10, 2: 20}  # no version held: nothing kept
    assert cache.many("x", [1], load) == {1: 10} and loads == [[1, 2], [1]]
    cache.begin(_version())
    assert cache.version == _counter()
    assert cache.many("x", [1, 2, 3], load) == {1: 10, 2: 20}
    assert cache.many("x", [2, 1, 3, 3], load) == {2: 20, 1: 10}
    assert cache.many("y", [1], load) == {1: 10}  # another kind: its own answers
    assert loads[2:] == [[1, 2, 3], [3], [1]]
    cache.begin(_version())  # the counter stands: kept
    assert cache.many("x", [1, 2], load) == {1: 10, 2: 20} and len(loads) == 5
    mw.competition.name = "改名"
    db.session.flush()
    cache.begin(_version())  # it moved: forgotten
    assert cache.many("x", [1], load) == {1: 10} and loads[-1] == [1]
    cache.discard()
    assert cache.version is None and cache.many("x", [1], load) == {1: 10} and loads[-1] == [1]
    cache.begin(_version())
    monkeypatch.setattr(marks_setup, "MAX_ITEMS", 3)
    cache.many("x", [1, 2], load)
    cache.many("y", [4, 5], load)  # beyond the bound: everything else forgotten first
    assert loads[-1] == [4, 5] and cache.many("x", [1], load) == {1: 10} and loads[-1] == [1]


def test_a_database_without_the_counter_keeps_nothing(mw, sqlite_only):  # noqa: F811
    db.session.execute(text("DELETE FROM marks_setup_version"))
    cache = SetupCache()
    cache.begin(_version())
    assert cache.version is None
    calls = []
    cache.many("x", [1], lambda keys: calls.append(keys) or {1: 1})
    cache.many("x", [1], lambda keys: calls.append(keys) or {1: 1})
    assert calls == [[1], [1]]


# --- no change is missed: the lane's next mark is checked against it ---------------------------------------------


def _world(app):
    """A running competition on the app's own SQLite file: one module of one aspect (0–10 step 0.5, three judges),
    judges j1 (linked to a worker of enterprise C) and j2, each with a token, entries E1 and E2 of enterprises A and
    B. Returns ids and token secrets."""
    from app.accounts.services import create_token

    with app.app_context():
        db.create_all()
        a, b, c = (Enterprise(name=n, uscc=f"9111000000000000{i}X", region="北京市")
                   for i, n in enumerate(("甲厂", "乙厂", "丙厂")))
        db.session.add_all([a, b, c])
        db.session.flush()
        workers = [Worker(enterprise_id=e.id, name=f"选手{i}", gender="M", id_type="resident", id_hash=f"h{i}",
                          id_last4="0000", id_encrypted=b"x", mobile="", skill_level=3) for i, e in enumerate((a, b, c))]
        db.session.add_all(workers)
        db.session.flush()
        judges = []
        for n in (1, 2):
            judge = User(username=f"setup-j{n}", display_name=f"裁判{n}", password_hash="x",
                         worker_id=workers[2].id if n == 1 else None)
            judge.roles.append(UserRole(role=Role.JUDGE))
            db.session.add(judge)
            judges.append(judge)
        competition = Competition(name="缓存比武", level="city", status="running")
        db.session.add(competition)
        db.session.flush()
        module = Module(competition_id=competition.id, position=1, name="实操", kind="practical")
        criterion = Criterion(position=1, name="评分项")
        criterion.aspects.append(Aspect(position=1, name="方面", kind="J", max_mark=Decimal(10), scale_min=Decimal(0),
                                        scale_max=Decimal(10), scale_step=Decimal("0.5"), judges_required=3,
                                        aggregation="mean"))
        module.criteria.append(criterion)
        db.session.add(module)
        db.session.flush()
        panel = Panel(competition_id=competition.id, module_id=module.id, chief_judge_id=judges[1].id)
        panel.members = [PanelJudge(judge_id=j.id) for j in judges]
        db.session.add(panel)
        entries = [Entry(competition_id=competition.id, worker_id=w.id, enterprise_id=w.enterprise_id,
                         status="approved", code=code) for w, code in zip(workers[:2], ("E1", "E2"), strict=True)]
        db.session.add_all(entries)
        tokens = [create_token(j, "test").secret for j in judges]
        db.session.commit()
        return {"cid": competition.id, "aspect": criterion.aspects[0].id, "module": module.id, "j1": judges[0].id,
                "j2": judges[1].id, "worker_j1": workers[2].id, "e2": entries[1].id, "b": b.id, "tokens": tokens}


def _another_process(path: str, *statements: tuple[str, tuple]) -> None:
    """A change committed by a plain ``sqlite3`` connection, which no hook of this process sees."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys=ON")
        con.execute("BEGIN IMMEDIATE")
        for sql, params in statements:
            con.execute(sql, params)
        con.execute("COMMIT")
    finally:
        con.close()


# name → (the statements another process commits, given the world's ids; the app's answer to j1's next mark)
ELSEWHERE = {
    "j1's token revoked": (lambda w: [("UPDATE api_token SET revoked_at = ? WHERE user_id = ?", (STAMP, w["j1"]))], 401),
    "j1 disabled": (lambda w: [('UPDATE "user" SET is_enabled = 0 WHERE id = ?', (w["j1"],))], 401),
    "j1 no longer a judge": (lambda w: [("DELETE FROM user_role WHERE user_id = ?", (w["j1"],))], 403),
    "j1 off the panel": (lambda w: [("DELETE FROM panel_judge WHERE judge_id = ?", (w["j1"],))], 403),
    "the module locked": (lambda w: [("UPDATE module SET locked_at = ? WHERE id = ?", (STAMP, w["module"]))], 409),
    "scoring closed": (lambda w: [("UPDATE competition SET status = 'scoring_closed' WHERE id = ?", (w["cid"],))], 409),
    "the scale lowered": (lambda w: [("UPDATE aspect SET scale_max = 4 WHERE id = ?", (w["aspect"],))], 422),
    "E2 withdrawn": (lambda w: [("UPDATE entry SET status = 'withdrawn' WHERE id = ?", (w["e2"],))], 404),
    "E2's code drawn again": (lambda w: [("UPDATE entry SET code = 'Z9' WHERE id = ?", (w["e2"],))], 404),
    "j1 declared a conflict with E2": (lambda w: [(
        "INSERT INTO declared_conflict (competition_id, entry_id, judge_id, reason, created_at) VALUES (?, ?, ?, '', ?)",
        (w["cid"], w["e2"], w["j1"], STAMP))], 404),
    "j1 now of E2's enterprise": (lambda w: [(
        "INSERT INTO judge_profile (user_id, enterprise_id) VALUES (?, ?)", (w["j1"], w["b"]))], 404),
    "j1's worker moved to E2's enterprise": (lambda w: [(
        "UPDATE worker SET enterprise_id = ? WHERE id = ?", (w["b"], w["worker_j1"]))], 404),
}


@pytest.fixture
def judged(make_app, sqlite_url):
    """(the app, its world, j1's mark of E2 through the app's client, the app's token lane)."""
    app = make_app(sqlite_url)
    w = _world(app)
    client = app.test_client()
    lane = marks_lane.token_lane(app)

    def mark(value: str):
        return client.post(f"/api/v1/competitions/{w['cid']}/marks", json=[item("E2", w["aspect"], value)],
                           headers={"Authorization": f"Bearer {w['tokens'][0]}"})

    return app, w, mark, lane


@pytest.mark.no_transaction
@pytest.mark.parametrize("change", list(ELSEWHERE))
def test_a_change_made_by_another_process_reaches_the_next_mark(judged, sqlite_url, change):
    app, w, mark, lane = judged
    hits = marks_lane.TokenMarksLane.hits
    assert mark("5").status_code == 200  # (its group notes the token's first use: a change of api_token)
    assert mark("5.5").status_code == 200
    fills = lane.setup.fills
    assert mark("6").status_code == 200 and marks_lane.TokenMarksLane.hits == hits + 3
    assert lane.setup.fills == fills  # the third mark was checked against what the second one's group kept
    statements, status = ELSEWHERE[change]
    _another_process(sqlite_url.removeprefix("sqlite:///"), *statements(w))
    resp = mark("6.5")
    assert resp.status_code == status, resp.get_json()
    assert marks_lane.TokenMarksLane.hits == hits + 3  # refused: the app's own answer
    with app.app_context():
        assert db.session.scalars(select(Mark.value).where(Mark.judge_id == w["j1"]).order_by(Mark.id)).all() == [
            Decimal("5"), Decimal("5.5"), Decimal("6")]


@pytest.mark.no_transaction
def test_a_change_elsewhere_is_read_again_and_marks_go_on(judged, sqlite_url):
    _app, _w, mark, lane = judged
    hits = marks_lane.TokenMarksLane.hits
    assert mark("5").status_code == 200 and mark("5.5").status_code == 200  # (the first noted the token's use)
    fills = lane.setup.fills
    _another_process(sqlite_url.removeprefix("sqlite:///"), ("UPDATE competition SET venue = '新场馆'", ()))
    assert mark("6").status_code == 200 and marks_lane.TokenMarksLane.hits == hits + 3
    assert lane.setup.fills > fills  # read again


def _version():
    """The setup version as the lane's first query reads it (None without its row)."""
    return db.session.scalar(select(setup_version_column()))
