"""Fixtures for the people tests: two enterprises, their HR, a trade and one user per role."""

from __future__ import annotations

from datetime import date

import pytest

from app.accounts.models import Role
from tests.conftest import csrf_token, make_resident_id

VALID_ID = "11010519491231002X"  # born 1949-12-31, female


@pytest.fixture
def people(create_enterprise, create_trade, create_worker, create_user):
    ent_a, ent_b = create_enterprise(name="甲钢铁"), create_enterprise(name="乙电网")
    trade = create_trade(code="6-31-01-03", name="电工")
    other_trade = create_trade(code="6-18-02-04", name="焊工")
    worker_a = create_worker(enterprise=ent_a, name="张帅坤", trade=trade, mobile="13812345678", skill_level=3)
    worker_b = create_worker(enterprise=ent_b, name="李乙娜", trade=trade, mobile="13912345670")
    users = {
        "admin": create_user(Role.ADMIN),
        "organizer": create_user(Role.ORGANIZER),
        "hr_a": create_user(Role.HR, enterprise=ent_a),
        "hr_b": create_user(Role.HR, enterprise=ent_b),
        "judge": create_user(Role.JUDGE),
        "worker": create_user(Role.WORKER, worker=worker_a),
    }
    return {"ent_a": ent_a, "ent_b": ent_b, "trade": trade, "other_trade": other_trade,
            "worker_a": worker_a, "worker_b": worker_b, "users": users}


@pytest.fixture
def as_user(client, login):
    """Log the client in as a role of the ``people`` world (or stay anonymous) and return a CSRF token."""

    def make(user=None) -> str:
        if user is not None:
            login(client, user)
        return csrf_token(client)

    return make


def new_worker_data(trade_id: int, /, **overrides) -> dict:
    data = {"name": "王小明", "id_type": "resident", "id_number": make_resident_id(777, date(1991, 5, 6)),
            "gender": "", "birth_date": None, "mobile": "13700001111", "trade_id": trade_id, "skill_level": 4}
    data.update(overrides)
    return data
