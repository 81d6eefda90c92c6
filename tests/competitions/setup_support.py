"""Fixtures of the competition-setup tests (imported by tests/competitions/test_setup_*.py).

``setup`` gives one user per role with a Bearer token (no CSRF needed), a trade, two enterprises and helpers to
call the API as a role, create a competition through the API and put a scheme in place.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db, utcnow
from competitions.models import Competition, Entry, Module
from tests.conftest import csrf_token

ROLES = ("organizer", "admin", "hr", "judge", "worker", "anonymous")
MANAGERS = ("organizer", "admin")

SAMPLE_SCHEME: dict[str, Any] = {
    "modules": [
        {"name": "理论知识", "kind": "theory", "weight": "30", "criteria": [
            {"name": "笔试", "aspects": [
                {"name": "单项选择题", "kind": "M", "max_mark": "60", "scale_max": "60", "scale_step": "0.5"},
                {"name": "判断题", "kind": "M", "max_mark": "40", "scale_max": "40"},
            ]},
        ]},
        {"name": "实际操作", "kind": "practical", "weight": "70", "criteria": [
            {"name": "安全文明生产", "aspects": [
                {"name": "安全规范", "kind": "J", "max_mark": "10", "scale_max": "3", "judges_required": 3,
                 "normalize": True, "level_words": ["不合格", "合格", "良好", "优秀"]},
            ]},
            {"name": "工艺质量", "aspects": [
                {"name": "接线工艺", "kind": "J", "max_mark": "20", "scale_max": "10", "scale_step": "0.5",
                 "judges_required": 5, "aggregation": "trimmed_mean", "trim_k": 1, "normalize": True,
                 "divergence_threshold": "2"},
                {"name": "难度动作", "kind": "J", "max_mark": "30", "scale_max": "10", "scale_step": "0.5",
                 "judges_required": 7, "aggregation": "trimmed_sum", "trim_k": 2, "uses_difficulty": True,
                 "divergence_threshold": None},
                {"name": "完成时间", "kind": "M", "max_mark": "40", "scale_max": "40", "scale_step": "0.25"},
            ]},
        ]},
    ]
}


def sample_scheme() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE_SCHEME)


def strip_ids(doc: Any) -> Any:
    """The scheme document without the ids the export adds (and the module max marks it computes)."""
    if isinstance(doc, dict):
        out = {k: strip_ids(v) for k, v in doc.items() if k != "id"}
        if "criteria" in out:
            out.pop("max_mark", None)
        return out
    if isinstance(doc, list):
        return [strip_ids(v) for v in doc]
    return doc


@dataclass
class SetupWorld:
    client: Any
    users: dict[str, Any]
    tokens: dict[str, str]
    trade: Any
    ent_a: Any
    ent_b: Any
    create_worker: Any

    def headers(self, role: str) -> dict[str, str]:
        if role == "anonymous":  # with a CSRF token, so a refusal is about the login, not CSRF
            if "anonymous" not in self.tokens:
                self.tokens["anonymous"] = csrf_token(self.client)
            return {"X-CSRFToken": self.tokens["anonymous"]}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, role: str, method: str, url: str, body: Any = None, raw: str | None = None, **kw):
        if raw is not None:
            kw["data"] = raw
            kw["content_type"] = "application/json"
        elif body is not None:
            kw["json"] = body
        headers = {**self.headers(role), **kw.pop("headers", {})}
        resp = self.client.open(url, method=method, headers=headers, **kw)
        resp.get_data()  # buffer file responses before closing them
        resp.close()
        return resp

    def get(self, url: str, role: str = "organizer", **kw):
        return self.call(role, "GET", url, **kw)

    def post(self, url: str, body: Any = None, role: str = "organizer", **kw):
        return self.call(role, "POST", url, body, **kw)

    def put(self, url: str, body: Any = None, role: str = "organizer", **kw):
        return self.call(role, "PUT", url, body, **kw)

    def patch(self, url: str, body: Any = None, role: str = "organizer", **kw):
        return self.call(role, "PATCH", url, body, **kw)

    def create(self, **overrides) -> int:
        body = {"name": "电工职业技能竞赛", "level": "city", "trade_id": self.trade.id, "organizer_name": "市总工会",
                "starts_on": "2026-05-01", "ends_on": "2026-05-03", "venue": "市职业技术学院"}
        body.update(overrides)
        resp = self.post("/api/v1/competitions", body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()["id"]

    def with_scheme(self, scheme: dict[str, Any] | None = None, **overrides) -> int:
        cid = self.create(**overrides)
        resp = self.put(f"/api/v1/competitions/{cid}/scheme", scheme or sample_scheme())
        assert resp.status_code == 200, resp.get_json()
        return cid

    def step(self, cid: int, event: str, role: str = "organizer", note: str = ""):
        return self.post(f"/api/v1/competitions/{cid}/transitions", {"event": event, "note": note}, role=role)

    def competition(self, cid: int) -> Competition:
        db.session.expire_all()
        return db.session.get(Competition, cid)

    def entry(self, cid: int, *, status: str = "approved", code: str | None = None) -> Entry:
        worker = self.create_worker(enterprise=self.ent_a, trade=self.trade)
        e = Entry(competition_id=cid, worker_id=worker.id, enterprise_id=worker.enterprise_id, status=status, code=code)
        db.session.add(e)
        db.session.flush()
        return e

    def lock_modules(self, cid: int) -> None:
        for m in db.session.scalars(select(Module).where(Module.competition_id == cid)):
            m.locked_at = utcnow()
            m.locked_by_id = self.users["organizer"].id
        db.session.flush()

    def run_to(self, cid: int, state: str) -> None:
        """Drive a competition (with a valid scheme) through the API up to ``state``."""
        order = ["draft", "registration_open", "registration_closed", "running", "scoring_closed"]
        events = ["open_registration", "close_registration", "start", "close_scoring"]
        current = self.competition(cid).status
        for i in range(order.index(current), order.index(state)):
            if events[i] == "start":
                self.entry(cid, code="A01")
            if events[i] == "close_scoring":
                self.lock_modules(cid)
            resp = self.step(cid, events[i])
            assert resp.status_code == 200, resp.get_json()

    def audit(self, action: str, cid: int | None = None) -> list[AuditEntry]:
        stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        if cid is not None:
            stmt = stmt.where(AuditEntry.target_type == "competition", AuditEntry.target_id == str(cid))
        return list(db.session.scalars(stmt))


def raw_json(resp) -> Any:
    return json.loads(resp.get_data(as_text=True))


def problem_paths(resp) -> list[str]:
    return [p["path"] for p in resp.get_json()["error"]["details"]["problems"]]


@pytest.fixture
def setup(app, client, create_enterprise, create_worker, create_user, create_trade) -> SetupWorld:
    from app.accounts.services import create_token

    ent_a, ent_b = create_enterprise(name="甲电力公司"), create_enterprise(name="乙电网公司")
    worker = create_worker(enterprise=ent_a, name="张帅坤")
    users = {
        "organizer": create_user(Role.ORGANIZER),
        "admin": create_user(Role.ADMIN),
        "hr": create_user(Role.HR, enterprise=ent_a),
        "judge": create_user(Role.JUDGE),
        "worker": create_user(Role.WORKER, worker=worker),
    }
    tokens = {role: create_token(user, "tests").secret for role, user in users.items()}
    return SetupWorld(client=client, users=users, tokens=tokens, trade=create_trade(), ent_a=ent_a, ent_b=ent_b,
                      create_worker=create_worker)
