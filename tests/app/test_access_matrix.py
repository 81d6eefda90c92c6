"""Every route × every role: each route declares who may use it, and the declaration holds.

The matrix is built from the live URL map, so a new route without an access declaration, or with a
URL argument this file cannot fill, fails here. HR of enterprise B is a role of its own: on objects
of enterprise A it must get 403/404 and never see A's data.
"""

from __future__ import annotations

import importlib
import re
from decimal import Decimal

import pytest
from flask import url_for

from app.accounts.models import Role
from app.db import db
from tests.conftest import csrf_token

ROLES = ["anonymous", "admin", "organizer", "hr_a", "hr_b", "judge", "worker"]
SKIP_METHODS = {"HEAD", "OPTIONS"}


def _access_of(app, endpoint: str, method: str):
    view = app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        return getattr(handler, "_access", None)
    return getattr(view, "_access", None)


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - SKIP_METHODS):
            yield rule, method


def test_every_route_declares_access(app):
    missing = [
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule, method in _routes(app)
        if _access_of(app, rule.endpoint, method) is None
    ]
    assert missing == []


@pytest.fixture
def world(app, create_enterprise, create_worker, create_user, create_trade):
    from app.accounts.services import create_token
    from app.orgs.models import IndustryChain
    from app.people.models import WorkerImport

    ent_a, ent_b = create_enterprise(name="甲企业"), create_enterprise(name="乙企业")
    trade = create_trade()
    worker_a = create_worker(enterprise=ent_a, name="甲工人宋", trade=trade)
    worker_b = create_worker(enterprise=ent_b, name="乙工人")
    chain = IndustryChain(name="测试产业链", members=[ent_a])
    db.session.add(chain)
    users = {
        "admin": create_user(Role.ADMIN),
        "organizer": create_user(Role.ORGANIZER),
        "hr_a": create_user(Role.HR, enterprise=ent_a),
        "hr_b": create_user(Role.HR, enterprise=ent_b),
        "judge": create_user(Role.JUDGE),
        "worker": create_user(Role.WORKER, worker=worker_a),
    }
    victim = create_user(Role.JUDGE)
    token = create_token(victim, "victim").token
    from competitions.models import Aspect, Competition, Criterion, Entry, Mark, Module, Panel, PanelJudge

    competition = Competition(name="测试竞赛", level="city", status="running")
    module = Module(position=0, name="实操", kind="practical")
    criterion = Criterion(position=0, name="质量")
    aspect = Aspect(position=0, name="尺寸", kind="M", max_mark=Decimal(10), scale_min=Decimal(0),
                    scale_max=Decimal(10), scale_step=Decimal(1))
    criterion.aspects.append(aspect)
    module.criteria.append(criterion)
    competition.modules.append(module)
    db.session.add(competition)
    db.session.flush()
    entry = Entry(competition_id=competition.id, worker_id=worker_a.id, enterprise_id=ent_a.id, status="approved", code="007")
    db.session.add(entry)
    db.session.flush()
    # The judge is the chief of the module's panel, so object-level judge rules let them through too.
    db.session.add(Panel(competition_id=competition.id, module_id=module.id, chief_judge_id=users["judge"].id,
                         members=[PanelJudge(judge_id=users["judge"].id)]))
    mark = Mark(entry_id=entry.id, aspect_id=aspect.id, judge_id=users["judge"].id, value=Decimal(5),
                entered_by_id=users["organizer"].id)
    db.session.add(mark)
    imp = WorkerImport(id="a" * 32, enterprise_id=ent_a.id, created_by_id=users["hr_a"].id, filename="a.csv",
                       file_format="csv", rows=[], errors=[])
    db.session.add(imp)
    # A third enterprise asks for another worker of A, whom hr_a (the current employer) decides about. The first
    # confirm moves that worker (not worker_a); each later step on the transfer is a 409 (a decided transfer answers
    # that first).
    from app.people.models import Transfer

    ent_c, mover = create_enterprise(name="丙企业"), create_worker(enterprise=ent_a, name="甲调动")
    transfer = Transfer(worker_id=mover.id, from_enterprise_id=ent_a.id, to_enterprise_id=ent_c.id,
                        name_given=mover.name, requested_by_id=create_user(Role.HR, enterprise=ent_c).id)
    db.session.add(transfer)
    db.session.flush()
    args = {
        "worker_id": worker_a.id, "enterprise_id": ent_a.id, "user_id": victim.id, "chain_id": chain.id,
        "trade_id": trade.id, "import_id": imp.id, "token_id": token.id, "role_id": victim.roles[0].id,
        "transfer_id": transfer.id, "code": "en", "filename": "css/app.css",
        "competition_id": competition.id, "module_id": module.id, "entry_id": entry.id, "mark_id": mark.id, "number": 1,
    }
    world = {"users": users, "args": args, "worker_a": worker_a, "worker_b": worker_b, "ent_a": ent_a,
             "ent_b": ent_b, "competition": competition, "module": module, "entry": entry, "aspect": aspect}
    for extension in WORLD_EXTENSIONS:  # each domain fills the URL arguments of its own routes
        extension.extend(world)
        db.session.flush()
    return world


def _url(app, rule, args) -> str | None:
    values = {}
    for name in rule.arguments:
        if name not in args:
            return None
        values[name] = args[name]
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _allowed(access, role: str) -> bool:
    kind = access[0]
    if kind == "public":
        return True
    if role == "anonymous":
        return False
    if kind == "login":
        return True
    needed = set(access[1])
    have = {"hr_a": {"hr"}, "hr_b": {"hr"}}.get(role, {role})
    return bool(needed & have)


# Domains add objects and URL arguments for their routes in tests/<domain>/access_world.py:
# ``extend(world)`` adds to world["args"]; ``SCOPED_ARGS`` names arguments that are enterprise A's objects.
WORLD_EXTENSIONS = [importlib.import_module(f"tests.{pkg}.access_world") for pkg in ("competitions", "certificates")]
SCOPED_ARGS = ("worker_id", "import_id", "transfer_id", "entry_id") + tuple(
    arg for extension in WORLD_EXTENSIONS for arg in getattr(extension, "SCOPED_ARGS", ())
)  # objects of enterprise A


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, client, login, world, role):
    if role != "anonymous":
        login(client, world["users"][role])
    token = csrf_token(client)
    unfilled, failures = [], []
    for rule, method in _routes(app):
        access = _access_of(app, rule.endpoint, method)
        url = _url(app, rule, world["args"])
        if url is None:
            unfilled.append(rule.rule)
            continue
        if rule.endpoint in ("accounts.logout", "accounts.logout_everywhere"):
            continue  # would end the session for the rest of the matrix
        is_api = rule.rule.startswith("/api/")
        headers = {"X-CSRFToken": token}
        data = None if is_api else {"csrf_token": token}
        resp = client.open(url, method=method, headers=headers, data=data)
        resp.close()  # file responses (static) hold the file open until closed
        status = resp.status_code
        where = f"{role} {method} {rule.rule} -> {status}"
        if status >= 500:
            failures.append(where + " (server error)")
            continue
        if not _allowed(access, role):
            if role == "anonymous":
                ok = status == 401 if is_api else (status == 302 and "/login" in resp.headers.get("Location", ""))
            else:
                ok = status == 403
            if not ok:
                failures.append(where + " (should be refused)")
            continue
        if status in (401, 403) and not (role == "hr_b" and any(a in rule.arguments for a in SCOPED_ARGS)):
            failures.append(where + " (should be allowed)")
        if role == "hr_b" and any(a in rule.arguments for a in SCOPED_ARGS):
            if status not in (403, 404):
                failures.append(where + " (other enterprise's object must be 403/404)")
            if world["worker_a"].name.encode() in resp.data:
                failures.append(where + " (leaks enterprise A's worker)")
    assert unfilled == [], f"routes with arguments this matrix cannot fill: {unfilled}"
    assert failures == []


def test_hr_lists_never_show_other_enterprise(app, client, login, world):
    login(client, world["users"]["hr_b"])
    for path in ("/workers", "/api/v1/workers"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert re.search(world["worker_a"].name[:1] + r"\*", resp.get_data(as_text=True)) is None
        assert world["worker_a"].name not in resp.get_data(as_text=True)
