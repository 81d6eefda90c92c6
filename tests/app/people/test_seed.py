"""The trade catalogue seed: real 2022 occupational codes, unique, and an idempotent loader."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.db import db
from app.people.seed import TRADES, seed_trades

CODE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")


def test_at_least_thirty_trades_with_well_formed_codes():
    assert len(TRADES) >= 30
    bad = [code for code, _ in TRADES if not CODE.match(code)]
    assert bad == []
    assert all(name and name == name.strip() and len(name) <= 64 for _, name in TRADES)


def test_codes_and_names_are_unique():
    codes = [c for c, _ in TRADES]
    names = [n for _, n in TRADES]
    assert len(set(codes)) == len(codes)
    assert len(set(names)) == len(names)


def test_known_codes_of_the_2022_classification():
    trades = dict(TRADES)
    for code, name in [
        ("6-31-01-03", "电工"), ("6-18-01-01", "车工"), ("6-18-01-02", "铣工"), ("6-18-02-04", "焊工"),
        ("6-31-01-02", "机修钳工"), ("6-31-07-01", "工业机器人系统运维员"), ("4-12-01-01", "汽车维修工"),
    ]:
        assert trades[code] == name
    # production occupations (major group 6) dominate, as in skills competitions
    assert sum(code.startswith("6-") for code in trades) > len(trades) / 2


def test_seed_trades_is_idempotent(app_ctx):
    from app.people.models import Trade

    assert seed_trades(db.session) == len(TRADES)
    assert seed_trades(db.session) == 0
    assert db.session.scalar(select(func.count(Trade.id))) == len(TRADES)
    assert db.session.scalar(select(Trade.name).where(Trade.code == "6-18-02-04")) == "焊工"


def test_seed_trades_keeps_existing_entries(app_ctx, create_trade):
    from app.people.models import Trade

    create_trade(code="6-31-01-03", name="电工（维修）")  # renamed by an organizer: kept, not duplicated
    create_trade(code="9-99-99-01", name="焊工")  # same name under another code: not inserted again
    assert seed_trades(db.session) == len(TRADES) - 2
    assert db.session.scalar(select(Trade.name).where(Trade.code == "6-31-01-03")) == "电工（维修）"
    assert db.session.scalar(select(func.count(Trade.id)).where(Trade.name == "焊工")) == 1
