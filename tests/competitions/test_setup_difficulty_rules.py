"""Difficulty factors (难度系数) per entry × aspect, and the rules (tie-break chain, awards, promotion bands)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.db import db
from app.errors import DomainError
from competitions.domain import (
    CHINESE_TIE_BREAK,
    FixedCountAwards,
    MedalAwards,
    PromotionAction,
    ProportionalAwards,
    ThresholdAward,
)
from competitions.models import Aspect, DifficultyFactor
from competitions.services import setup as services
from tests.competitions import setup_support
from tests.competitions.setup_support import problem_paths, raw_json

setup = setup_support.setup

pytestmark = pytest.mark.usefixtures("app")


def url(cid: int, suffix: str) -> str:
    return f"/api/v1/competitions/{cid}{suffix}"


def aspect(name: str) -> Aspect:
    return db.session.scalar(select(Aspect).where(Aspect.name == name))


# --- difficulty factors ---------------------------------------------------------------------------------------


def test_set_update_and_remove_factors(setup):
    cid = setup.with_scheme()
    e1, e2 = setup.entry(cid), setup.entry(cid)
    dive = aspect("难度动作").id
    resp = setup.put(url(cid, "/difficulty"), [{"entry_id": e1.id, "aspect_id": dive, "factor": "3.2"},
                                              {"entry_id": e2.id, "aspect_id": dive, "factor": 2.85}])
    assert resp.status_code == 200, resp.get_json()
    assert raw_json(resp) == [{"entry_id": e1.id, "aspect_id": dive, "factor": "3.2"},
                              {"entry_id": e2.id, "aspect_id": dive, "factor": "2.85"}]
    assert services.difficulty_factors(setup.competition(cid)) == {(e1.id, dive): Decimal("3.2"),
                                                                   (e2.id, dive): Decimal("2.85")}
    # pairs not listed are kept; null removes
    resp = setup.put(url(cid, "/difficulty"), [{"entry_id": e1.id, "aspect_id": dive, "factor": None}])
    assert raw_json(resp) == [{"entry_id": e2.id, "aspect_id": dive, "factor": "2.85"}]
    assert raw_json(setup.get(url(cid, "/difficulty"))) == raw_json(resp)
    audited = setup.audit("difficulty_factors_set", cid)
    assert len(audited) == 2
    assert audited[-1].details["changes"] == [{"entry_id": e1.id, "aspect_id": dive, "old": "3.2", "new": None}]


def test_invalid_factors_are_422_per_item_and_nothing_written(setup):
    cid = setup.with_scheme()
    other = setup.with_scheme(name="另一场")
    mine, theirs = setup.entry(cid), setup.entry(other)
    dive, plain = aspect("难度动作"), aspect("安全规范")
    foreign_dive = db.session.scalars(select(Aspect).where(Aspect.name == "难度动作", Aspect.id != dive.id)).one()
    items = [
        {"entry_id": mine.id, "aspect_id": dive.id, "factor": "0"},
        {"entry_id": mine.id, "aspect_id": dive.id, "factor": "10.5"},
        {"entry_id": theirs.id, "aspect_id": dive.id, "factor": "2"},
        {"entry_id": mine.id, "aspect_id": plain.id, "factor": "2"},
        {"entry_id": mine.id, "aspect_id": foreign_dive.id, "factor": "2"},
        {"entry_id": mine.id, "aspect_id": dive.id, "factor": "-1"},
    ]
    resp = setup.put(url(cid, "/difficulty"), items)
    assert resp.status_code == 422
    problems = [(p["path"], p["code"]) for p in resp.get_json()["error"]["details"]["problems"]]
    assert problems == [
        ("[0].factor", "not_positive"),
        ("[1].factor", "too_large"), ("[1]", "duplicate"),
        ("[2].entry_id", "unknown_entry"),
        ("[3].aspect_id", "no_difficulty"),
        ("[4].aspect_id", "unknown_aspect"),
        ("[5].factor", "not_positive"), ("[5]", "duplicate"),
    ]
    assert db.session.scalar(select(DifficultyFactor.id)) is None
    resp = setup.put(url(cid, "/difficulty"), [{"entry_id": mine.id, "aspect_id": dive.id, "factor": "1.00001"}])
    assert resp.status_code == 422 and problem_paths(resp) == ["[0].factor"]
    resp = setup.put(url(cid, "/difficulty"), [{"entry_id": mine.id, "aspect_id": dive.id, "factor": "10"}])
    assert resp.status_code == 200


def test_the_service_itself_refuses_more_than_4_decimals(setup):
    """Not only the API schema: any caller of the service (the difficulty grid's form too) is refused, never rounded."""
    cid = setup.with_scheme()
    mine, dive = setup.entry(cid), aspect("难度动作")
    with pytest.raises(DomainError) as refused:
        services.set_difficulty(setup.users["organizer"], cid,
                                [{"entry_id": mine.id, "aspect_id": dive.id, "factor": Decimal("1.00001")}])
    assert [(p["path"], p["code"]) for p in refused.value.details["problems"]] == [("[0].factor", "too_precise")]
    assert db.session.scalar(select(DifficultyFactor.id)) is None
    services.set_difficulty(setup.users["organizer"], cid,
                            [{"entry_id": mine.id, "aspect_id": dive.id, "factor": Decimal("1.2500")}])
    assert db.session.scalar(select(DifficultyFactor.factor)) == Decimal("1.25")


@pytest.mark.parametrize("state, allowed", [("draft", True), ("registration_open", True), ("running", True),
                                            ("scoring_closed", False)])
def test_factors_until_scoring_is_closed(setup, state, allowed):
    cid = setup.with_scheme()
    setup.run_to(cid, state)
    entry = setup.entry(cid)
    resp = setup.put(url(cid, "/difficulty"), [{"entry_id": entry.id, "aspect_id": aspect("难度动作").id, "factor": "2"}])
    assert resp.status_code == (200 if allowed else 409)


# --- rules ------------------------------------------------------------------------------------------------------


def test_rules_round_trip_and_engine_objects(setup):
    cid = setup.with_scheme()
    practical = raw_json(setup.get(url(cid, "/scheme")))["modules"][1]["id"]
    rules = {
        "tie_break": [[f"module:{practical}", "desc"], ["completion_time", "asc"]],
        "award_rules": [
            {"type": "medals", "codes": ["gold", "silver", "bronze"], "min_field": [4, 5, 6]},
            {"type": "threshold", "min_total": 70.5, "code": "medallion_for_excellence", "unless": ["gold"]},
            {"type": "fixed", "tiers": [["first_prize", 2], ["second_prize", 4], ["third_prize", 6]]},
            {"type": "proportional", "tiers": [["first_prize", "12.5"], ["second_prize", 20]], "rounding": "half_up",
             "at_least_one": False},
        ],
        "promotion_bands": [
            {"first_rank": 1, "last_rank": 5, "action": "up_one_level", "title": "national_technical_expert"},
            {"first_rank": 6, "last_rank": 20, "action": "to_level", "target_level": 3},
        ],
    }
    resp = setup.put(url(cid, "/rules"), rules)
    assert resp.status_code == 200, resp.get_json()
    stored = raw_json(setup.get(url(cid, "/rules")))
    assert stored["tie_break"] == rules["tie_break"]
    assert stored["award_rules"][1]["min_total"] == "70.5"
    assert stored["award_rules"][3]["tiers"] == [["first_prize", "12.5"], ["second_prize", "20"]]
    assert stored["award_rules"][3]["at_least_one"] is False
    assert stored["promotion_bands"][1] == {"first_rank": 6, "last_rank": 20, "action": "to_level", "target_level": 3}
    assert setup.put(url(cid, "/rules"), stored).get_json() == stored  # GET → PUT round trip
    config = services.rules_config(setup.competition(cid))
    assert config.tie_break == ((f"module:{practical}", "desc"), ("completion_time", "asc"))
    assert [type(s) for s in config.award_strategies] == [MedalAwards, ThresholdAward, FixedCountAwards,
                                                          ProportionalAwards]
    assert config.award_strategies[1].min_total == Decimal("70.5")
    assert [b.action for b in config.promotion_bands] == [PromotionAction.UP_ONE_LEVEL, PromotionAction.TO_LEVEL]
    assert setup.audit("competition_rules_set", cid)[-1].details["tie_break"] == rules["tie_break"]


def test_left_out_means_default_and_empty_means_none(setup):
    cid = setup.create()
    resp = setup.put(url(cid, "/rules"), {"tie_break": [], "promotion_bands": []})
    assert resp.status_code == 200
    config = services.rules_config(setup.competition(cid))
    assert config.tie_break == ()  # diving: equal totals share the place
    assert config.award_strategies == (ProportionalAwards(),)  # 10 / 20 / 30 %
    resp = setup.put(url(cid, "/rules"), {"award_rules": []})
    config = services.rules_config(setup.competition(cid))
    assert config.tie_break == CHINESE_TIE_BREAK and config.award_strategies == ()


INVALID_RULES = [
    ({"tie_break": [["speed", "asc"]]}, ["tie_break[0]"]),
    ({"tie_break": [["completion_time", "up"]]}, ["tie_break[0]"]),
    ({"tie_break": [["completion_time", "asc"], ["completion_time", "desc"]]}, ["tie_break[1]"]),
    ({"tie_break": [["module:999999", "desc"]]}, ["tie_break[0]"]),
    ({"tie_break": ["completion_time"]}, ["tie_break[0]"]),
    ({"award_rules": [{"type": "lottery"}]}, ["award_rules[0].type"]),
    ({"award_rules": [{"type": "proportional", "tiers": [["first_prize", "60"], ["second_prize", "50"]]}]},
     ["award_rules[0]"]),
    ({"award_rules": [{"type": "proportional", "tiers": [["first_prize", "-1"]]}]}, ["award_rules[0]"]),
    ({"award_rules": [{"type": "fixed", "tiers": [["first_prize", "2.5"]]}]}, ["award_rules[0].tiers[0]"]),
    ({"award_rules": [{"type": "fixed", "tiers": [["first_prize", -2]]}]}, ["award_rules[0]"]),
    ({"award_rules": [{"type": "fixed"}]}, ["award_rules[0].tiers"]),
    ({"award_rules": [{"type": "fixed", "tiers": [["first_prize", 2]], "at_least_one": True}]},
     ["award_rules[0].at_least_one"]),
    ({"award_rules": [{"type": "proportional", "tiers": [["first_prize", "10"]], "at_least_one": "maybe"}]},
     ["award_rules[0].at_least_one"]),
    ({"award_rules": [{"type": "medals", "min_field": [0, 5, 6]}]}, ["award_rules[0]"]),
    ({"award_rules": [{"type": "medals", "min_total": "80"}]}, ["award_rules[0].min_total"]),
    ({"award_rules": [{"type": "threshold"}]}, ["award_rules[0].min_total"]),
    ({"promotion_bands": [{"first_rank": 5, "last_rank": 1, "action": "up_one_level"}]}, ["promotion_bands[0]"]),
    ({"promotion_bands": [{"first_rank": 1, "last_rank": 5, "action": "to_level", "target_level": 7}]},
     ["promotion_bands[0]"]),
    ({"promotion_bands": [{"first_rank": 1, "last_rank": 5, "action": "up_one_level"},
                          {"first_rank": 5, "last_rank": 9, "action": "to_level", "target_level": 3}]},
     ["promotion_bands"]),
    ({"promotion_bands": [{"first_rank": "1", "last_rank": 5, "action": "up_one_level"}]},
     ["promotion_bands[0].first_rank"]),
]


@pytest.mark.parametrize("body, paths", INVALID_RULES)
def test_invalid_rules_are_422_with_paths_and_nothing_written(setup, body, paths):
    cid = setup.create()
    before = raw_json(setup.get(url(cid, "/rules")))
    resp = setup.put(url(cid, "/rules"), body)
    assert resp.status_code == 422, resp.get_json()
    assert problem_paths(resp) == paths
    assert all(p["message"] for p in resp.get_json()["error"]["details"]["problems"])
    assert raw_json(setup.get(url(cid, "/rules"))) == before
