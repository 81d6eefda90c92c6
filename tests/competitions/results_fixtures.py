"""Fixtures of the results and board tests (imported by test_results_* and test_board_*).

``rw`` ("results world"): a running competition with two modules weighted 30 / 70 — theory (t1: M, 0–100 step 1,
one judge) and practical (p1: J, 0–10 step 0.5, three judges, mean; p2: M, 0–20 step 1, one judge) — and five
approved entries A101…A105. ``rw.fill()`` enters the marks below (hand-computed totals):

    code  t1   p1 (j1,j2,j3)  p2   theory part   practical part        total (exact)   published
    A101  90   8, 9, 10       18   27            27/30 × 70 = 63       90              90.00
    A102  80   9, 9, 9        19   24            28/30 × 70 = 196/3    268/3           89.33
    A103  80   9, 9, 9        19   24            196/3                 268/3           89.33  (shares rank 2)
    A104  60   5, 6, 7        10   18            16/30 × 70 = 112/3    166/3           55.33
    A105  —    —              —    absent (no marks)

Only A101's worker (enterprise 甲机械厂) gave publicity consent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db, utcnow
from competitions.models import Aspect, Competition, Criterion, Entry, Mark, Module
from tests.competitions.helpers import forbidden_keys  # noqa: F401  (re-exported to the tests)
from tests.conftest import csrf_token

CODES = ("A101", "A102", "A103", "A104", "A105")
MARKS = {
    "A101": (90, ("8", "9", "10"), 18),
    "A102": (80, ("9", "9", "9"), 19),
    "A103": (80, ("9", "9", "9"), 19),
    "A104": (60, ("5", "6", "7"), 10),
}
NAMES = ("张帅坤", "李建国", "王秀英", "赵大力", "钱多多")
ENTERPRISES = ("甲机械厂", "乙汽车厂", "丙钢铁厂", "丁电力厂", "戊化工厂")
LEVELS = (2, 4, 3, None, 5)
IDENTITY_KEYS = {"entry_id", "worker_id", "name", "enterprise_id", "enterprise_name", "publicity_consent",
                 "worker", "enterprise"}




@dataclass
class ResultsWorld:
    client: Any
    users: dict[str, Any]
    tokens: dict[str, str]
    competition: Competition
    theory: Module
    practical: Module
    t1: Aspect
    p1: Aspect
    p2: Aspect
    entries: dict[str, Entry]
    workers: list[Any]
    enterprises: list[Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":  # its own client: a session cookie next to a Bearer token would shadow the token
            if "anonymous" not in self.tokens:
                self.tokens["anonymous"] = csrf_token(self.anonymous_client)
            return {"X-CSRFToken": self.tokens["anonymous"]}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    @property
    def anonymous_client(self):
        if "client" not in self.extra:
            self.extra["client"] = self.client.application.test_client()
        return self.extra["client"]

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/competitions/{self.competition.id}{suffix}"

    def call(self, role: str, method: str, suffix: str, **kw):
        headers = {**self.headers(role), **kw.pop("headers", {})}
        client = self.anonymous_client if role == "anonymous" else self.client
        resp = client.open(self.url(suffix), method=method, headers=headers, **kw)
        resp.close()
        return resp

    def get(self, role: str, suffix: str, **kw):
        return self.call(role, "GET", suffix, **kw)

    def post(self, role: str, suffix: str, body: Any = None):
        return self.call(role, "POST", suffix, json=body if body is not None else {})

    def mark(self, code: str, aspect: Aspect, judge: str, value: Any, *, at=None) -> Mark:
        judge_id = self.users[judge].id
        entry = self.entries[code]
        current = db.session.scalar(select(Mark).where(Mark.entry_id == entry.id, Mark.aspect_id == aspect.id,
                                                       Mark.judge_id == judge_id, Mark.is_current.is_(True)))
        revision = 1
        if current is not None:
            current.is_current = False
            revision = current.revision + 1
        mark = Mark(entry_id=entry.id, aspect_id=aspect.id, judge_id=judge_id, revision=revision,
                    value=Decimal(str(value)), entered_by_id=judge_id, confirmed_by_id=judge_id,
                    created_at=at or utcnow())
        db.session.add(mark)
        db.session.flush()
        return mark

    def fill(self, codes=CODES, *, at=None) -> None:
        for code in codes:
            if code not in MARKS:
                continue
            t, p1s, p2 = MARKS[code]
            self.mark(code, self.t1, "j1", t, at=at)
            for judge, value in zip(("j1", "j2", "j3"), p1s, strict=True):
                self.mark(code, self.p1, judge, value, at=at)
            self.mark(code, self.p2, "j1", p2, at=at)
        db.session.commit()

    def lock_all(self) -> None:
        for m in (self.theory, self.practical):
            m.locked_at = utcnow()
            m.locked_by_id = self.users["j1"].id
        db.session.commit()

    def set_status(self, status: str) -> None:
        self.competition.status = status
        db.session.commit()

    def ready_to_publish(self) -> None:
        self.fill()
        self.lock_all()
        self.set_status("scoring_closed")
        resp = self.post("organizer", "/decode")
        assert resp.status_code == 200, resp.get_json()

    def audit(self, action: str) -> list[AuditEntry]:
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))

    def secrets(self) -> list[str]:
        return [w.name for w in self.workers] + [e.name for e in self.enterprises]

    def assert_blind(self, resp) -> None:
        text = resp.get_data(as_text=True)
        for secret in self.secrets():
            assert secret not in text, f"{secret!r} leaked"
        data = json.loads(text)
        data.pop("modules", None)  # module heads and the competition have a "name" of their own
        data.pop("competition", None)
        assert forbidden_keys(data, IDENTITY_KEYS) == []


def build_world(client, create_enterprise, create_worker, create_user) -> ResultsWorld:
    from app.accounts.services import create_token
    from app.people.consents import record_consent
    from competitions.services import board

    board.reset_cache()
    enterprises = [create_enterprise(name=n) for n in ENTERPRISES]
    workers = [create_worker(enterprise=e, name=n, skill_level=level)
               for e, n, level in zip(enterprises, NAMES, LEVELS, strict=True)]
    record_consent(workers[0], "publicity", True, actor_id=None, at=utcnow() - timedelta(days=1))
    users = {
        "organizer": create_user(Role.ORGANIZER),
        "admin": create_user(Role.ADMIN),
        "hr": create_user(Role.HR, enterprise=enterprises[0]),
        "worker": create_user(Role.WORKER, worker=workers[0]),
        "j1": create_user(Role.JUDGE),
        "j2": create_user(Role.JUDGE),
        "j3": create_user(Role.JUDGE),
    }
    users["judge"] = users["j2"]
    tokens = {role: create_token(u, "test").secret for role, u in users.items() if role != "judge"}
    tokens["judge"] = tokens["j2"]
    competition = Competition(
        name="数控车工技能比武", level="city", status="running",
        tie_break=[["completion_time", "asc"], ["module_kind:practical", "desc"], ["module_kind:theory", "desc"]],
        award_rules=[{"type": "fixed", "tiers": [["first_prize", 1], ["second_prize", 2], ["third_prize", 1]]},
                     {"type": "threshold", "min_total": "89", "code": "medallion_for_excellence", "unless": []}],
        promotion_bands=[{"first_rank": 1, "last_rank": 1, "action": "up_one_level", "title": "national_technical_expert"},
                         {"first_rank": 2, "last_rank": 3, "action": "to_level", "target_level": 3}],
    )
    db.session.add(competition)
    db.session.flush()

    def aspect(position, name, kind, max_mark, smax, step, judges):
        return Aspect(position=position, name=name, kind=kind, max_mark=Decimal(max_mark), scale_min=Decimal(0),
                      scale_max=Decimal(smax), scale_step=Decimal(step), judges_required=judges, aggregation="mean",
                      divergence_threshold=Decimal(2) if kind == "J" else None)

    theory = Module(competition_id=competition.id, position=1, name="理论", kind="theory", weight=Decimal(30))
    theory.criteria.append(Criterion(position=1, name="笔试", aspects=[aspect(1, "笔试成绩", "M", 100, 100, 1, 1)]))
    practical = Module(competition_id=competition.id, position=2, name="实操", kind="practical", weight=Decimal(70))
    practical.criteria.append(Criterion(position=1, name="加工", aspects=[
        aspect(1, "工艺", "J", 10, 10, "0.5", 3), aspect(2, "尺寸", "M", 20, 20, 1, 1)]))
    db.session.add_all([theory, practical])
    db.session.flush()
    t1 = theory.criteria[0].aspects[0]
    p1, p2 = practical.criteria[0].aspects
    entries = {}
    for code, w in zip(CODES, workers, strict=True):
        entries[code] = Entry(competition_id=competition.id, worker_id=w.id, enterprise_id=w.enterprise_id,
                              status="approved", code=code)
    db.session.add_all(entries.values())
    db.session.commit()
    return ResultsWorld(client, users, tokens, competition, theory, practical, t1, p1, p2, entries, workers, enterprises)


@pytest.fixture
def rw(app, client, create_enterprise, create_worker, create_user) -> ResultsWorld:
    return build_world(client, create_enterprise, create_worker, create_user)
