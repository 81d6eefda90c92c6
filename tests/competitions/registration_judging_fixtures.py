"""Fixtures of the registration and judging tests (imported by test_registration_* and test_judging_*).

``world`` builds two enterprises A and B (plus C, in A's industry chain), their workers, one user per
role, a competition open for registration with two modules (aspects with level words), judges on the
panel of module 1 and of module 2, and a Bearer token per user so requests need no CSRF token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from app.accounts.models import Role
from app.db import db
from app.orgs.models import IndustryChain
from competitions.models import Aspect, Competition, Criterion, Entry, Module, Panel, PanelJudge
from tests.competitions.helpers import forbidden_keys  # noqa: F401  (re-exported to the tests)
from tests.conftest import csrf_token

ROLES = ("organizer", "admin", "hr_a", "hr_b", "judge_on", "judge_off", "worker", "anonymous")


@dataclass
class World:
    client: Any
    users: dict[str, Any]
    tokens: dict[str, str]
    ent_a: Any
    ent_b: Any
    ent_c: Any
    chain: Any
    workers_a: list[Any]
    inactive_a: Any
    workers_b: list[Any]
    workers_c: list[Any]
    competition: Competition
    module1: Module
    module2: Module
    aspects: list[Aspect] = field(default_factory=list)

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":  # with a valid CSRF token, so the refusal is about the login, not CSRF
            if "anonymous" not in self.tokens:
                self.tokens["anonymous"] = csrf_token(self.client)
            return {"X-CSRFToken": self.tokens["anonymous"]}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, role: str, method: str, url: str, **kw):
        resp = self.client.open(url, method=method, headers=self.headers(role), **kw)
        resp.close()
        return resp

    def get(self, role: str, url: str, **kw):
        return self.call(role, "GET", url, **kw)

    def post(self, role: str, url: str, body: Any = None, **kw):
        if body is not None:
            kw["json"] = body
        return self.call(role, "POST", url, **kw)

    def put(self, role: str, url: str, body: Any = None, **kw):
        return self.call(role, "PUT", url, json=body, **kw)

    def url(self, suffix: str = "", competition: Competition | None = None) -> str:
        return f"/api/v1/competitions/{(competition or self.competition).id}{suffix}"

    def set_status(self, status: str, competition: Competition | None = None) -> None:
        (competition or self.competition).status = status
        db.session.flush()

    def entry(self, worker, status: str = "approved", competition: Competition | None = None,
              code: str | None = None) -> Entry:
        """An entry written directly (setting up a state, not testing registration)."""
        e = Entry(competition_id=(competition or self.competition).id, worker_id=worker.id,
                  enterprise_id=worker.enterprise_id, status=status, code=code)
        db.session.add(e)
        db.session.flush()
        return e

    def secrets(self) -> list[str]:
        """Strings a judge must never receive: every worker's name, every enterprise's name."""
        people = self.workers_a + self.workers_b + self.workers_c + [self.inactive_a]
        return [w.name for w in people] + [self.ent_a.name, self.ent_b.name, self.ent_c.name]


def make_module(competition: Competition, position: int, name: str, *, aspects: int = 2) -> tuple[Module, list[Aspect]]:
    module = Module(competition_id=competition.id, position=position, name=name, kind="practical")
    crit = Criterion(position=1, name=f"{name}评分项")
    made = []
    for i in range(aspects):
        a = Aspect(position=i + 1, name=f"{name}方面{i + 1}", kind="J", max_mark=Decimal("10"), scale_min=Decimal("0"),
                   scale_max=Decimal("3"), scale_step=Decimal("0.5"), judges_required=3, aggregation="mean",
                   level_words=["不合格", "合格", "良好", "优秀"])
        crit.aspects.append(a)
        made.append(a)
    module.criteria.append(crit)
    db.session.add(module)
    db.session.flush()
    return module, made


def make_competition(name: str = "电工技能比武", status: str = "registration_open", **kw) -> Competition:
    c = Competition(name=name, level="city", status=status, **kw)
    db.session.add(c)
    db.session.flush()
    return c


def set_panel(module: Module, judges: list[Any], chief=None) -> Panel:
    panel = Panel(competition_id=module.competition_id, module_id=module.id, chief_judge_id=chief.id if chief else None)
    panel.members = [PanelJudge(judge_id=j.id) for j in judges]
    db.session.add(panel)
    db.session.flush()
    return panel




def raw_json(resp) -> Any:
    return json.loads(resp.get_data(as_text=True))


@pytest.fixture
def world(app, client, create_enterprise, create_worker, create_user, create_trade) -> World:
    from app.accounts.services import create_token

    ent_a, ent_b = create_enterprise(name="甲电力公司"), create_enterprise(name="乙电网公司")
    ent_c = create_enterprise(name="丙线缆厂")
    chain = IndustryChain(name="电力装备产业链", members=[ent_a, ent_c])
    db.session.add(chain)
    trade = create_trade()
    workers_a = [create_worker(enterprise=ent_a, name=n, trade=trade) for n in ("张帅坤", "李建国", "王秀英", "赵立新")]
    inactive_a = create_worker(enterprise=ent_a, name="钱已离", trade=trade, is_active=False)
    workers_b = [create_worker(enterprise=ent_b, name=n, trade=trade) for n in ("孙悟能", "周海涛")]
    workers_c = [create_worker(enterprise=ent_c, name="吴线缆", trade=trade)]
    users = {
        "organizer": create_user(Role.ORGANIZER),
        "admin": create_user(Role.ADMIN),
        "hr_a": create_user(Role.HR, enterprise=ent_a),
        "hr_b": create_user(Role.HR, enterprise=ent_b),
        "judge_on": create_user(Role.JUDGE),
        "judge_off": create_user(Role.JUDGE),
        "worker": create_user(Role.WORKER, worker=workers_a[0]),
    }
    tokens = {role: create_token(u, "test").secret for role, u in users.items()}
    competition = make_competition(trade_id=trade.id)
    module1, aspects1 = make_module(competition, 1, "模块一")
    module2, aspects2 = make_module(competition, 2, "模块二")
    set_panel(module1, [users["judge_on"]], chief=users["judge_on"])
    set_panel(module2, [users["judge_off"]])
    return World(client, users, tokens, ent_a, ent_b, ent_c, chain, workers_a, inactive_a, workers_b, workers_c,
                 competition, module1, module2, aspects1 + aspects2)
