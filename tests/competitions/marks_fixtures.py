"""Fixtures of the marks tests (imported by test_marks_*).

``mw`` ("marks world") is a running competition with three coded entries from enterprises A, B and C, module 1
(aspects: 0–3 step 1 with threshold 1, and 0–10 step 0.5 with threshold 2; three judges required) judged by
the chief judge j1 and judges j2, j3 and j4 — j4 belongs to enterprise A, so the entry of A's worker is
conflicted for j4 — and module 2 judged by j5 alone. Every user has a Bearer token (no CSRF needed).
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db
from competitions.models import (
    Aspect,
    Competition,
    Criterion,
    Entry,
    JudgeProfile,
    Mark,
    Module,
    Panel,
    PanelJudge,
)
from tests.competitions.helpers import forbidden_keys  # noqa: F401  (re-exported to the tests)
from tests.conftest import csrf_token

_keys = itertools.count(1)


def key() -> str:
    return f"{uuid.uuid4()}-{next(_keys)}"


def item(code: str, aspect_id: int, value: Any, idempotency_key: str | None = None) -> dict[str, Any]:
    return {"code": code, "aspect_id": aspect_id, "value": value, "idempotency_key": idempotency_key or key()}




@dataclass
class MarksWorld:
    client: Any
    users: dict[str, Any]
    tokens: dict[str, str]
    enterprises: list[Any]
    workers: list[Any]
    competition: Competition
    module1: Module
    module2: Module
    a1: Aspect
    a2: Aspect
    b1: Aspect
    entries: list[Entry]

    codes = ("K101", "K102", "K103")

    # --- requests -----------------------------------------------------------------------------------------
    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":
            if "anonymous" not in self.tokens:
                self.tokens["anonymous"] = csrf_token(self.client)
            return {"X-CSRFToken": self.tokens["anonymous"]}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, role: str, method: str, url: str, **kw):
        resp = self.client.open(url, method=method, headers=self.headers(role), **kw)
        resp.close()
        return resp

    def url(self, suffix: str = "") -> str:
        return f"/api/v1/competitions/{self.competition.id}{suffix}"

    def post(self, role: str, suffix: str, body: Any = None):
        return self.call(role, "POST", self.url(suffix), json=body)

    def post_raw(self, role: str, suffix: str, text: str):
        return self.call(role, "POST", self.url(suffix), data=text, content_type="application/json")

    def get(self, role: str, suffix: str):
        return self.call(role, "GET", self.url(suffix))

    def put(self, role: str, suffix: str, body: Any):
        return self.call(role, "PUT", self.url(suffix), json=body)

    def mark(self, role: str, code: str, aspect: Aspect, value: Any, idempotency_key: str | None = None):
        return self.post(role, "/marks", [item(code, aspect.id, value, idempotency_key)])

    # --- state --------------------------------------------------------------------------------------------
    def fill(self, values: dict[tuple[str, str, int], Any] | None = None, judges=("j1", "j2", "j3"),
             default: Any = "2") -> None:
        """Every judge in ``judges`` marks every entry on both aspects of module 1 (``values`` overrides)."""
        values = values or {}
        for judge in judges:
            batch = [item(code, a.id, values.get((judge, code, a.id), default)) for code in self.codes
                     for a in (self.a1, self.a2)]
            resp = self.post(judge, "/marks", batch)
            assert resp.status_code == 200, resp.get_json()

    def set_status(self, status: str) -> None:
        self.competition.status = status
        db.session.commit()

    def marks(self, **where) -> list[Mark]:
        stmt = select(Mark).order_by(Mark.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(Mark, name) == value)
        return list(db.session.scalars(stmt))

    def audit(self, action: str) -> list[AuditEntry]:
        return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))

    def secrets(self) -> list[str]:
        """What a judge must never receive: names, enterprises, ID tails, mobiles."""
        out = []
        for w in self.workers:
            out += [w.name, w.mobile, w.id_last4]
        return out + [e.name for e in self.enterprises] + [e.uscc for e in self.enterprises]

    def assert_blind(self, resp) -> None:
        text = resp.get_data(as_text=True)
        for secret in self.secrets():
            assert secret not in text, f"{secret!r} leaked"
        data = json.loads(text)
        assert forbidden_keys(data, {"entry_id", "worker_id", "worker", "enterprise", "enterprise_id", "name",
                                     "worker_name", "enterprise_name", "id_number", "mobile"}) == []


def build_world(client, create_enterprise, create_worker, create_user) -> MarksWorld:
    from app.accounts.services import create_token

    enterprises = [create_enterprise(name=n) for n in ("甲机械厂", "乙汽车厂", "丙钢铁厂")]
    workers = [create_worker(enterprise=e, name=n) for e, n in zip(enterprises, ("张帅坤", "李建国", "王秀英"), strict=True)]
    users = {
        "organizer": create_user(Role.ORGANIZER),
        "admin": create_user(Role.ADMIN),
        "hr": create_user(Role.HR, enterprise=enterprises[0]),
        "worker": create_user(Role.WORKER, worker=workers[1]),
        "j1": create_user(Role.JUDGE),
        "j2": create_user(Role.JUDGE),
        "j3": create_user(Role.JUDGE),
        "j4": create_user(Role.JUDGE),
        "j5": create_user(Role.JUDGE),
    }
    db.session.add(JudgeProfile(user_id=users["j4"].id, enterprise_id=enterprises[0].id))
    tokens = {role: create_token(u, "test").secret for role, u in users.items()}
    competition = Competition(name="数控车工技能比武", level="city", status="running")
    db.session.add(competition)
    db.session.flush()

    def module(position: int, specs) -> tuple[Module, list[Aspect]]:
        m = Module(competition_id=competition.id, position=position, name=f"模块{position}", kind="practical")
        crit = Criterion(position=1, name=f"评分项{position}")
        for i, (smax, step, threshold) in enumerate(specs):
            crit.aspects.append(Aspect(
                position=i + 1, name=f"方面{position}-{i + 1}", kind="J", max_mark=Decimal(10), scale_min=Decimal(0),
                scale_max=Decimal(smax), scale_step=Decimal(step), judges_required=3, aggregation="mean",
                divergence_threshold=None if threshold is None else Decimal(threshold)))
        m.criteria.append(crit)
        db.session.add(m)
        db.session.flush()
        return m, list(crit.aspects)

    module1, (a1, a2) = module(1, [("3", "1", "1"), ("10", "0.5", "2")])
    module2, (b1,) = module(2, [("3", "1", "1")])
    for m, judges, chief in ((module1, ("j1", "j2", "j3", "j4"), "j1"), (module2, ("j5",), "j5")):
        panel = Panel(competition_id=competition.id, module_id=m.id, chief_judge_id=users[chief].id)
        panel.members = [PanelJudge(judge_id=users[j].id) for j in judges]
        db.session.add(panel)
    entries = [Entry(competition_id=competition.id, worker_id=w.id, enterprise_id=w.enterprise_id, status="approved",
                     code=code) for w, code in zip(workers, MarksWorld.codes, strict=True)]
    db.session.add_all(entries)
    db.session.commit()
    return MarksWorld(client, users, tokens, enterprises, workers, competition, module1, module2, a1, a2, b1, entries)


@pytest.fixture
def mw(app, client, create_enterprise, create_worker, create_user) -> MarksWorld:
    return build_world(client, create_enterprise, create_worker, create_user)
