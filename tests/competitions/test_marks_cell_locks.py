"""PostgreSQL: judges' marks lock the competition row only against setup changes (``FOR SHARE``), so two judges
marking at once go on side by side — but two judges taking the last place of one cell are serialized by the cell's
lock (``lock_cells``): the second sees the first's mark and is refused ``aspect_full``, never a place too many.
(SQLite's write transactions are one at a time; there is nothing to race.)"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from app.accounts.models import Role, User, UserRole
from app.db import db
from app.errors import DomainError
from competitions.models import Aspect, Competition, Criterion, Entry, Mark, Module, Panel, PanelJudge
from competitions.services import marks


def _world(app) -> tuple[int, int, list[int]]:
    """A running competition: one aspect taking 2 judges' marks, a panel of 3 judges, one entrant (K1)."""
    from app.orgs.models import Enterprise
    from app.people.models import Worker

    with app.app_context():
        db.create_all()
        competition = Competition(name="单元格锁", level="city", status="running")
        db.session.add(competition)
        db.session.flush()
        module = Module(competition_id=competition.id, position=1, name="实操", kind="practical")
        criterion = Criterion(position=1, name="评分项")
        criterion.aspects.append(Aspect(position=1, name="方面", kind="J", max_mark=Decimal(10), scale_min=Decimal(0),
                                        scale_max=Decimal(10), scale_step=Decimal(1), judges_required=2))
        module.criteria.append(criterion)
        db.session.add(module)
        judges = [User(username=f"cell-judge{i}", display_name=f"裁判{i}", password_hash="x") for i in range(3)]
        for judge in judges:
            judge.roles.append(UserRole(role=Role.JUDGE))
        enterprise = Enterprise(name="单元格企业", uscc="911100000000000001", region="北京市")
        db.session.add_all([*judges, enterprise])
        db.session.flush()
        worker = Worker(enterprise_id=enterprise.id, name="选手", gender="M", id_type="resident", id_hash="cell-hash",
                        id_last4="0000", id_encrypted=b"x", mobile="", skill_level=3)
        db.session.add(worker)
        db.session.flush()
        db.session.add(Entry(competition_id=competition.id, worker_id=worker.id, enterprise_id=enterprise.id,
                             status="approved", code="K1"))
        panel = Panel(competition_id=competition.id, module_id=module.id, chief_judge_id=judges[0].id)
        panel.members = [PanelJudge(judge_id=j.id) for j in judges]
        db.session.add(panel)
        db.session.commit()
        return competition.id, criterion.aspects[0].id, [j.id for j in judges]


def _mark(competition_id: int, aspect_id: int, judge_id: int, key: str):
    judge = db.session.get(User, judge_id)
    return marks.submit_marks(judge, competition_id, [marks.MarkInput("K1", aspect_id, "5", key)])


@pytest.mark.no_transaction
def test_two_judges_taking_the_last_place_of_a_cell_are_serialized(make_app, postgres_url):
    app = make_app(postgres_url)
    competition_id, aspect_id, judges = _world(app)
    with app.app_context():
        _mark(competition_id, aspect_id, judges[0], "first")
        db.session.commit()  # one of the two places taken

    holding, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def second_judge() -> None:  # takes the last place and holds its transaction open
        try:
            with app.app_context():
                _mark(competition_id, aspect_id, judges[1], "second")
                holding.set()
                release.wait(30)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcome["second"] = exc
            holding.set()

    def third_judge() -> None:  # wants the same place at the same time
        try:
            with app.app_context():
                _mark(competition_id, aspect_id, judges[2], "third")
                db.session.commit()
                outcome["third"] = "stored"
        except DomainError as exc:
            outcome["third"] = exc.code
        except BaseException as exc:  # noqa: BLE001
            outcome["third"] = exc

    second = threading.Thread(target=second_judge)
    second.start()
    assert holding.wait(30) and "second" not in outcome, outcome
    third = threading.Thread(target=third_judge)
    third.start()
    with app.app_context():  # the third judge waits for the cell's lock (not for the competition row)
        deadline = time.monotonic() + 30
        while not db.session.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")):
            assert time.monotonic() < deadline and third.is_alive(), outcome
            db.session.rollback()
        db.session.rollback()
    release.set()
    second.join(30)
    third.join(30)
    assert outcome == {"third": "aspect_full"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Mark).where(Mark.is_current.is_(True))) == 2
        db.session.remove()
