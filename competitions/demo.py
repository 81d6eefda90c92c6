"""Demo competitions for a newcomer: one published, one running (called by ``app.demo.load_demo``).

Everything goes through the competition services, acting as the demo users (organizer, HR, judges),
each call inside a throwaway request context with that user logged in, so every rule is checked and every audit
entry names its actor exactly as if the steps had been clicked through:

1. 2026年市职工职业技能大赛 焊工赛项 (city, 焊工): scheme → registration by the two HR users → approval → draw
   (``random.Random(seed)``: reproducible per database) → panels → start → complete marks by the judges → both
   modules locked by their chief judges → scoring closed → decoded → results published (version 1) with awards.
2. 2026年高端装备制造产业链 电工技能比武 (chain, 电工): the same up to the start; marks partly entered (the
   third judge has not marked yet, some aspects are open), so the live board shows codes with running totals.

Idempotency: ``load_demo`` calls this only when it creates the demo seed, i.e. on a database without demo data;
a second ``demo`` run creates nothing. A database that already holds the older demo (without competitions) keeps
it as it is — start from an empty database (or drop it) to see the competitions.

J aspects need three judges: judge1, judge2 and judge3 (``app.demo.DEMO_USERS``, whose logins ``demo`` prints):
log in as judge3 to enter the marks the running competition still waits for.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import current_app, g
from flask_login import login_user
from sqlalchemy import select

from app.accounts.models import User
from app.db import db
from app.people.models import Trade, Worker
from competitions.models import Aspect, Criterion, Entry, Module
from competitions.services import judging, marks, registration, results, setup

if TYPE_CHECKING:
    from app.demo import DemoContext

WELDING = "2026年市职工职业技能大赛 焊工赛项"
ELECTRICIAN = "2026年高端装备制造产业链 电工技能比武"

WELDING_SCHEME: dict[str, Any] = {"modules": [
    {"name": "理论知识", "kind": "theory", "weight": "30", "criteria": [
        {"name": "笔试", "aspects": [
            {"name": "单项选择题", "kind": "M", "max_mark": "60", "scale_max": "60"},
            {"name": "判断题", "kind": "M", "max_mark": "40", "scale_max": "40"},
        ]},
    ]},
    {"name": "实际操作", "kind": "practical", "weight": "70", "criteria": [
        {"name": "焊接工艺", "aspects": [
            {"name": "焊缝外观", "kind": "J", "max_mark": "30", "scale_max": "3", "judges_required": 3,
             "normalize": True, "level_words": ["不合格", "合格", "良好", "优秀"]},
            {"name": "安全文明生产", "kind": "J", "max_mark": "10", "scale_max": "3", "judges_required": 3,
             "normalize": True, "level_words": ["不合格", "合格", "良好", "优秀"]},
        ]},
        {"name": "焊缝检测", "aspects": [
            {"name": "焊缝尺寸", "kind": "M", "max_mark": "30", "scale_max": "30", "scale_step": "0.5"},
            {"name": "射线探伤", "kind": "M", "max_mark": "30", "scale_max": "30"},
        ]},
    ]},
]}

ELECTRICIAN_SCHEME: dict[str, Any] = {"modules": [
    {"name": "理论知识", "kind": "theory", "weight": "30", "criteria": [
        {"name": "笔试", "aspects": [
            {"name": "电工基础", "kind": "M", "max_mark": "100", "scale_max": "100"},
        ]},
    ]},
    {"name": "实际操作", "kind": "practical", "weight": "70", "criteria": [
        {"name": "配电盘安装", "aspects": [
            {"name": "接线工艺", "kind": "J", "max_mark": "40", "scale_max": "3", "judges_required": 3,
             "normalize": True, "level_words": ["不合格", "合格", "良好", "优秀"]},
            {"name": "通电试验", "kind": "M", "max_mark": "60", "scale_max": "60"},
        ]},
    ]},
]}

# Fixed prizes for a small field (the default 10 / 20 / 30 % would give no first prize to six entrants).
AWARD_RULES = [{"type": "fixed", "tiers": [["first_prize", 1], ["second_prize", 2], ["third_prize", 2]]}]
# The winner goes up one level with the title 全国技术能手 (as in the national workers' contest), 2nd–3rd to 高级工:
# the published demo competition has promotion recommendations for the organizer to confirm.
PROMOTION_BANDS = [{"first_rank": 1, "last_rank": 1, "action": "up_one_level", "title": "national_technical_expert"},
                   {"first_rank": 2, "last_rank": 3, "action": "to_level", "target_level": 3}]


@contextmanager
def acting_as(user: User) -> Iterator[None]:
    """Run service calls as ``user``: a request context with the user logged in (audit entries name the actor)."""
    with current_app.test_request_context(environ_base={"REMOTE_ADDR": ""}):
        login_user(user)
        try:
            yield
        finally:
            g.pop("_login_user", None)  # the app context (and its g) outlives this request context


def _aspects(module_id: int) -> list[Aspect]:
    return list(db.session.scalars(select(Aspect).join(Criterion, Criterion.id == Aspect.criterion_id)
                           .where(Criterion.module_id == module_id).order_by(Criterion.position, Aspect.position)))


def _prepare(organizer: User, hrs: dict[int, User], values: dict[str, Any], scheme: dict[str, Any],
             workers: list[Worker], rng: random.Random, panels: list[tuple[list[User], User]]):
    """Create, register, approve, draw, set panels and start; return (competition, modules, codes by worker)."""
    with acting_as(organizer):
        competition = setup.create_competition(organizer, values)
        setup.replace_scheme(organizer, competition.id, scheme)
        setup.set_rules(organizer, competition.id, {"award_rules": AWARD_RULES, "promotion_bands": PROMOTION_BANDS})
        setup.apply_transition(organizer, competition, "open_registration")
    entry_ids: list[int] = []
    for enterprise_id, hr in hrs.items():
        with acting_as(hr):
            entry_ids += [e.id for e in registration.register_workers(
                hr, competition.id, [w.id for w in workers if w.enterprise_id == enterprise_id])]
    with acting_as(organizer):
        registration.decide_entries(organizer, competition.id, entry_ids, "approve")
        setup.apply_transition(organizer, competition, "close_registration")
        registration.draw(organizer, competition.id, rng=rng)
        modules = list(db.session.scalars(select(Module).where(Module.competition_id == competition.id)
                                  .order_by(Module.position)))
        for module, (judges, chief) in zip(modules, panels, strict=True):
            judging.set_panel(organizer, competition.id, module.id, [j.id for j in judges], chief.id)
        setup.apply_transition(organizer, competition, "start")
    return competition, modules


def _codes(competition_id: int) -> list[str]:
    return sorted(db.session.scalars(select(Entry.code).where(Entry.competition_id == competition_id,
                                                      Entry.code.is_not(None))))


def _value(aspect: Aspect, rng: random.Random, base: int) -> Decimal:
    """A plausible mark: J aspects around the entrant's level ``base`` (0–3, judges within one step: no
    divergence), M aspects 55–100 % of the scale on its step."""
    if aspect.kind == "J":
        return Decimal(min(3, max(0, base + rng.choice((0, 0, -1)))))
    steps = int(aspect.scale_max / aspect.scale_step)
    return aspect.scale_step * rng.randint(steps * 55 // 100, steps)


def _mark(judge: User, competition_id: int, items: list[tuple[str, Aspect, Decimal]], tag: str) -> None:
    if not items:
        return
    with acting_as(judge):
        marks.submit_marks(judge, competition_id, [
            marks.MarkInput(code=code, aspect_id=aspect.id, value=str(value),
                            idempotency_key=f"demo-{tag}-{judge.id}-{code}-{aspect.id}")
            for code, aspect, value in items])


def _enter(competition_id: int, module: Module, judges: list[User], codes: list[str], rng: random.Random, *,
           complete: bool, tag: str) -> None:
    """Each judge's marks for the module: M aspects by the first judge, J aspects by all panel judges.
    ``complete=False`` leaves gaps (the last judge has not marked J aspects, the last codes lack M marks)."""
    by_judge: dict[int, list[tuple[str, Aspect, Decimal]]] = {j.id: [] for j in judges}
    levels = {code: rng.randint(1, 3) for code in codes}
    for aspect in _aspects(module.id):
        for n, code in enumerate(codes):
            if aspect.kind == "J":
                for i, judge in enumerate(judges[:aspect.judges_required]):
                    if complete or (i < 2 and n < len(codes) - 1) or n < 2:
                        by_judge[judge.id].append((code, aspect, _value(aspect, rng, levels[code])))
            elif complete or n < len(codes) - 2:
                by_judge[judges[0].id].append((code, aspect, _value(aspect, rng, levels[code])))
    for judge in judges:
        _mark(judge, competition_id, by_judge[judge.id], tag)


def load_competitions(context: DemoContext) -> None:
    """Create the two demo competitions (see the module docstring) from the foundation's demo workers."""
    seed, workers = context.seed, context.workers
    users = {u.username: u for u in db.session.scalars(select(User))}
    organizer = users["organizer"]
    judge1, judge2, judge3 = users["judge1"], users["judge2"], users["judge3"]
    hrs = {min(hr.hr_enterprise_ids): hr for hr in (users["hr_steel"], users["hr_grid"])}
    trades = {t.code: t for t in db.session.scalars(select(Trade))}
    rng = random.Random(f"competitions:{seed}")
    # Judges belong to no enterprise (independent experts): no judge marks an entrant of their own enterprise.

    # 1. published: six welders of two enterprises, complete marks, locked, decoded, published.
    welders = [w for w in workers if w.enterprise_id in hrs][:6]
    welding, (theory, practical) = _prepare(
        organizer, hrs,
        {"name": WELDING, "level": "city", "trade_id": _trade_id(trades, "6-18-02-04"),
         "organizer_name": "市总工会", "starts_on": date(2026, 5, 12), "ends_on": date(2026, 5, 14),
         "venue": "市职业技能公共实训基地"},
        WELDING_SCHEME, welders, rng, [([judge1, judge2], judge1), ([judge2, judge1, judge3], judge2)])
    codes = _codes(welding.id)
    _enter(welding.id, theory, [judge1, judge2], codes, rng, complete=True, tag="w")
    _enter(welding.id, practical, [judge2, judge1, judge3], codes, rng, complete=True, tag="w")
    with acting_as(judge1):
        marks.lock_module(judge1, welding.id, theory.id)
    with acting_as(judge2):
        marks.lock_module(judge2, welding.id, practical.id)
    with acting_as(organizer):
        setup.apply_transition(organizer, welding, "close_scoring")
        results.decode(organizer, welding.id)
        results.publish(organizer, welding.id)

    # 2. running: five electricians, marks partly entered.
    electricians = [w for w in workers if w.enterprise_id in hrs][1:6]
    electric, (theory, practical) = _prepare(
        organizer, hrs,
        {"name": ELECTRICIAN, "level": "chain", "trade_id": _trade_id(trades, "6-31-01-03"),
         "organizer_name": "高端装备制造产业链工会联合会", "starts_on": date(2026, 11, 20),
         "ends_on": date(2026, 11, 28), "venue": "海港重工实训中心"},
        ELECTRICIAN_SCHEME, electricians, rng, [([judge2, judge1], judge2), ([judge1, judge2, judge3], judge1)])
    codes = _codes(electric.id)
    _enter(electric.id, theory, [judge2, judge1], codes, rng, complete=True, tag="e")
    _enter(electric.id, practical, [judge1, judge2, judge3], codes, rng, complete=False, tag="e")


def _trade_id(trades: dict[str, Trade], code: str) -> int | None:
    trade = trades.get(code)
    return trade.id if trade is not None else None
