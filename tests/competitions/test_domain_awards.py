"""The competition engine's awards and promotion recommendations (competitions.domain.awards, .promotion): what a
ranking earns — tables for every rule of docs/domain.md and hypothesis properties. The rest of the engine:
test_domain.py."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from competitions import domain as d
from competitions.domain import (
    FixedCountAwards,
    MedalAwards,
    PromotionAction,
    PromotionBand,
    PromotionOutcome,
    ProportionalAwards,
    Rounding,
    Standing,
    ThresholdAward,
)
from tests.competitions.domain_support import (
    BRONZE,
    EXCELLENCE,
    FIRST,
    GOLD,
    SECOND,
    SILVER,
    THIRD,
    D,
    F,
    awarded,
    error_of,
    ranked_field,
    totals,
)

# --- awards ----------------------------------------------------------------------------------------------------------


def test_proportional_awards_10_20_30_percent():
    result = ranked_field(*range(100, 80, -1))  # 20 entrants, distinct totals
    awards = d.assign_awards(result, [ProportionalAwards()])
    codes = [awards[r.entry_id] for r in result]
    assert codes == [(FIRST,)] * 2 + [(SECOND,)] * 4 + [(THIRD,)] * 6 + [()] * 8


@pytest.mark.parametrize(("field", "rounding", "counts", "strict_counts"), [
    # strict_counts: at_least_one=False, each share rounded and nothing more
    (20, "floor", (2, 4, 6), (2, 4, 6)),
    (15, "floor", (1, 3, 4), (1, 3, 4)),
    (15, "ceil", (2, 3, 5), (2, 3, 5)),
    (15, "half_up", (2, 3, 5), (2, 3, 5)),  # 1.5 → 2, 3, 4.5 → 5
    (8, "floor", (1, 1, 2), (0, 1, 2)),  # found in use: 0.8 → 0 gave the winner 二等奖 and nobody 一等奖
    (7, "floor", (1, 1, 2), (0, 1, 2)),
    (7, "ceil", (1, 2, 3), (1, 2, 3)),
    (7, "half_up", (1, 1, 2), (1, 1, 2)),  # 0.7 → 1, 1.4 → 1, 2.1 → 2
    (3, "floor", (1, 1, 1), (0, 0, 0)),  # as many entrants as tiers: one each
    (2, "floor", (0, 0, 0), (0, 0, 0)),  # fewer entrants than tiers: the shares alone
    (0, "ceil", (0, 0, 0), (0, 0, 0)),
])
def test_proportional_rounding(field, rounding, counts, strict_counts):
    assert ProportionalAwards(rounding=rounding).counts(field) == counts
    assert ProportionalAwards(rounding=rounding, at_least_one=False).counts(field) == strict_counts


def test_a_tier_without_a_share_stays_empty_when_the_others_get_at_least_one():
    awards = ProportionalAwards(tiers=((FIRST, D(0)), (SECOND, D(20)), (THIRD, D(30))))
    assert awards.counts(2) == (0, 1, 1)
    assert awards.counts(1) == (0, 0, 0)


@given(field=st.integers(min_value=0, max_value=120),
       shares=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=4),
       rounding=st.sampled_from(["floor", "ceil", "half_up"]))
def test_at_least_one_only_raises_empty_tiers_and_the_winner_gets_the_first(field, shares, rounding):
    assume(sum(shares) <= 100)
    tiers = tuple((f"tier{i}", D(p)) for i, p in enumerate(shares))
    lenient = ProportionalAwards(tiers=tiers, rounding=rounding).counts(field)
    strict = ProportionalAwards(tiers=tiers, rounding=rounding, at_least_one=False).counts(field)
    shared = [i for i, p in enumerate(shares) if p > 0]
    for i, (a, b) in enumerate(zip(lenient, strict, strict=True)):
        assert a == b or (b == 0 and a == 1 and i in shared and field >= len(shared))
    if shared and field >= len(shared):
        assert all(lenient[i] >= 1 for i in shared)
        result = ranked_field(*range(1000, 1000 - field, -1))  # distinct totals: rank 1 is one entrant
        given_awards = d.assign_awards(result, [ProportionalAwards(tiers=tiers, rounding=rounding)])
        assert given_awards[result[0].entry_id] == (tiers[shared[0]][0],)


def test_award_codes_lists_what_the_strategies_can_give_in_their_order_once():
    strategies = [MedalAwards(), ProportionalAwards(), FixedCountAwards(tiers=((FIRST, 1), ("gold", 2))),
                  ThresholdAward(min_total=D(90))]
    assert d.award_codes(strategies) == (GOLD, SILVER, BRONZE, FIRST, SECOND, THIRD, EXCELLENCE)
    assert d.award_codes([]) == ()


@pytest.mark.parametrize(("totals", "strategy", "empty"), [
    ((100, 90, 80, 70, 60, 50, 40, 30), ProportionalAwards(at_least_one=False), (FIRST,)),  # 0 / 1 / 2
    ((), ProportionalAwards(), ()),  # nobody ranked: nothing to warn of
    ((100, 90, 80, 70, 60, 50, 40, 30), ProportionalAwards(), ()),  # 1 / 1 / 2
    ((100, 100, 80), FixedCountAwards(tiers=((FIRST, 1), (SECOND, 1), (THIRD, 1))), (SECOND,)),  # a tie takes 2
    ((100, 90), ProportionalAwards(), (FIRST, SECOND, THIRD)),  # fewer entrants than tiers: the shares alone
    ((100, 90, 80), MedalAwards(), ()),  # medals go by the minimum field, not by counts
    ((100, 90, 80), FixedCountAwards(tiers=((FIRST, 1), (SECOND, 0), (THIRD, 1))), ()),  # no place: not owed
])
def test_empty_tiers_names_count_tiers_owed_an_award_that_nobody_got(totals, strategy, empty):
    result = ranked_field(*totals)
    awards = d.assign_awards(result, [strategy])
    assert d.empty_tiers([strategy], awards, len(result)) == empty


def test_award_rules_json_keeps_at_least_one_and_defaults_to_it():
    from competitions.domain.config import award_rules_from_json, award_rules_to_json

    [default] = award_rules_from_json([{"type": "proportional", "tiers": [["first_prize", "10"]]}])
    assert default.at_least_one is True
    [strict] = award_rules_from_json([{"type": "proportional", "tiers": [["first_prize", "10"]],
                                       "at_least_one": False}])
    assert strict.at_least_one is False
    assert award_rules_to_json([strict])[0]["at_least_one"] is False
    with pytest.raises(d.DomainRuleError):
        award_rules_from_json([{"type": "proportional", "tiers": [["first_prize", "10"]], "at_least_one": "yes"}])


def test_proportional_ties_on_a_boundary_all_get_the_better_award():
    # 10 entrants, floor → 1 / 2 / 3: boundaries after positions 1, 3 and 6
    result = ranked_field(100, 90, 80, 80, 70, 60, 60, 50, 40, 30)
    awards = d.assign_awards(result, [ProportionalAwards()])
    assert awarded(result, awards) == [
        (1, (FIRST,)), (2, (SECOND,)), (3, (SECOND,)), (3, (SECOND,)),  # tie across the 2nd-prize boundary
        (5, (THIRD,)), (6, (THIRD,)), (6, (THIRD,)),  # tie across the 3rd-prize boundary
        (8, ()), (9, ()), (10, ()),
    ]


def test_a_tie_for_first_takes_the_first_prize_slots_and_the_next_tier_starts_after_them():
    result = ranked_field(100, 100, 90, 80, 70, 60, 50, 40, 30, 20)
    awards = d.assign_awards(result, [ProportionalAwards()])
    assert awarded(result, awards)[:7] == [
        (1, (FIRST,)), (1, (FIRST,)), (3, (SECOND,)), (4, (THIRD,)), (5, (THIRD,)), (6, (THIRD,)), (7, ()),
    ]


def test_proportional_field_counts_only_ranked_entrants():
    result = ranked_field(*range(100, 90, -1), absent=10)  # 10 ranked, 10 absent
    awards = d.assign_awards(result, [ProportionalAwards()])
    assert sum(1 for r in result if awards[r.entry_id] == (FIRST,)) == 1
    assert all(awards[r.entry_id] == () for r in result if r.rank is None)


def test_fixed_counts_2_4_6_with_boundary_ties():
    result = ranked_field(99, 98, 98, 90, 89, 88, 87, 80, 79, 78, 77, 76, 70, 70, 60)
    awards = d.assign_awards(result, [FixedCountAwards(tiers=((FIRST, 2), (SECOND, 4), (THIRD, 6)))])
    assert awarded(result, awards) == [
        (1, (FIRST,)), (2, (FIRST,)), (2, (FIRST,)),  # tie on the 2-boundary: both first
        (4, (SECOND,)), (5, (SECOND,)), (6, (SECOND,)),
        (7, (THIRD,)), (8, (THIRD,)), (9, (THIRD,)), (10, (THIRD,)), (11, (THIRD,)), (12, (THIRD,)),
        (13, ()), (13, ()), (15, ()),  # 13 > 12
    ]


@pytest.mark.parametrize(("totals", "expected"), [
    ([95, 95, 90, 85, 80, 75], [GOLD, GOLD, BRONZE, None, None, None]),  # two golds → no silver
    ([95, 90, 90, 85, 80, 75], [GOLD, SILVER, SILVER, None, None, None]),  # two silvers → no bronze
    ([95, 95, 95, 85, 80, 75], [GOLD, GOLD, GOLD, None, None, None]),
    ([95, 90, 85, 85, 80, 75], [GOLD, SILVER, BRONZE, BRONZE, None, None]),
    ([95, 90, 85, 80, 75, 70, 65], [GOLD, SILVER, BRONZE, None, None, None, None]),
])
def test_medals_by_rank_with_shared_medals(totals, expected):
    result = ranked_field(*totals)
    awards = d.assign_awards(result, [MedalAwards()])
    assert [awards[r.entry_id][0] if awards[r.entry_id] else None for r in result] == expected


@pytest.mark.parametrize(("entrants", "medals"), [
    (3, []),  # ≤ 3 → no medals
    (4, [GOLD]),  # gold only
    (5, [GOLD, SILVER]),
    (6, [GOLD, SILVER, BRONZE]),
    (9, [GOLD, SILVER, BRONZE]),
])
def test_medals_minimum_field(entrants, medals):
    result = ranked_field(*range(100, 100 - entrants, -1), absent=3)  # absent entries do not count
    awards = d.assign_awards(result, [MedalAwards()])
    assert [c for r in result for c in awards[r.entry_id]] == medals


def test_medals_minimum_field_is_configurable():
    result = ranked_field(100, 90, 80)
    awards = d.assign_awards(result, [MedalAwards(min_field=(1, 1, 1))])
    assert [awards[r.entry_id] for r in result] == [(GOLD,), (SILVER,), (BRONZE,)]


def test_threshold_award_only_for_those_without_a_medal():
    result = ranked_field(760, 740, 720, 710, 700, "699.99", 650)
    awards = d.assign_awards(result, [ThresholdAward(min_total=D(700)), MedalAwards()])  # order does not matter
    assert [awards[r.entry_id] for r in result] == [
        (GOLD,), (SILVER,), (BRONZE,), (EXCELLENCE,), (EXCELLENCE,), (), (),  # "at or above" 700
    ]


def test_threshold_award_compares_the_exact_total():
    result = d.rank([Standing(entry_id="A", total=F(1399999, 2000))], tie_break=())  # 699.9995 → published 700.00
    assert result[0].published_total == D("700.00")
    assert d.assign_awards(result, [ThresholdAward(min_total=D(700), unless=())]) == {"A": ()}


def test_strategies_combine():
    result = ranked_field(*range(100, 80, -1), absent=1)
    awards = d.assign_awards(result, [ProportionalAwards(), MedalAwards(), ThresholdAward(min_total=D(95))])
    assert [awards[r.entry_id] for r in result][:8] == [
        (FIRST, GOLD), (FIRST, SILVER), (SECOND, BRONZE), (SECOND, EXCELLENCE), (SECOND, EXCELLENCE),
        (SECOND, EXCELLENCE), (THIRD,), (THIRD,),
    ]
    assert awards["x0"] == ()


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: ProportionalAwards(tiers=((FIRST, D(60)), (SECOND, D(50)))), "shares_above_100"),
    (lambda: ProportionalAwards(tiers=((FIRST, D(-1)),)), "negative_share"),
    (lambda: FixedCountAwards(tiers=((FIRST, -1),)), "negative_count"),
    (lambda: MedalAwards(min_field=(0, 5, 6)), "min_field_below_1"),
    (lambda: MedalAwards(codes=(GOLD, SILVER)), "three_medals"),
])
def test_award_config_errors(make, reason):
    err = error_of(make)
    assert (err.code, err.reason) == ("invalid_award_config", reason)


def test_award_configs_refuse_floats():
    with pytest.raises(TypeError):
        ProportionalAwards(tiers=((FIRST, 10.0),))
    with pytest.raises(TypeError):
        ThresholdAward(min_total=700.0)
    with pytest.raises(TypeError):
        FixedCountAwards(tiers=((FIRST, 2.0),))


@given(st.lists(totals, min_size=0, max_size=30), st.sampled_from(list(Rounding)), st.randoms(use_true_random=False))
def test_award_properties(rows, rounding, rnd):
    entries = [Standing(entry_id=i, total=t) for i, t in enumerate(rows)]
    result = d.rank(entries, tie_break=())
    strategies = [ProportionalAwards(rounding=rounding), MedalAwards()]
    awards = d.assign_awards(result, strategies)
    order = {FIRST: 0, SECOND: 1, THIRD: 2, None: 3}
    tier = {r.entry_id: order[next((c for c in awards[r.entry_id] if c in order), None)] for r in result}
    by_id = {r.entry_id: r for r in result}
    for a in result:
        for b in result:
            if a.rank == b.rank:
                assert awards[a.entry_id] == awards[b.entry_id]  # equal ranks, equal awards
            if a.rank < b.rank:
                assert tier[a.entry_id] <= tier[b.entry_id]  # a better rank never gets a lesser prize
    # at least the configured number of each prize is handed out in total, never fewer (ties only add)
    counts = ProportionalAwards(rounding=rounding).counts(len(rows))
    assert sum(1 for t in tier.values() if t < 3) >= min(sum(counts), len(rows))
    shuffled = list(result)
    rnd.shuffle(shuffled)
    assert d.assign_awards(shuffled, strategies) == awards
    assert by_id.keys() == awards.keys()


# --- promotion bands ---------------------------------------------------------------------------------------------------


def test_national_workers_promotion_bands():
    result = ranked_field(*range(100, 78, -1))  # 22 entrants, ranks 1–22
    ids = [r.entry_id for r in result]
    levels = {ids[0]: 3, ids[1]: 2, ids[2]: 1, ids[3]: None, ids[4]: 4,
              ids[5]: 4, ids[6]: 5, ids[7]: 3, ids[8]: 2, ids[9]: None, ids[20]: 5}
    recs = {r.entry_id: r for r in d.recommend_promotions(result, levels)}
    got = {ids.index(e): (r.outcome, r.recommended_level, r.title) for e, r in recs.items()}
    title = "national_technical_expert"
    assert got[0] == (PromotionOutcome.PROMOTE, 2, title)  # 高级工 → 技师
    assert got[1] == (PromotionOutcome.PROMOTE, 1, title)  # 技师 → 高级技师
    assert got[2] == (PromotionOutcome.TITLE_ONLY, None, title)  # a 1 stays 1 with the title only
    assert got[3] == (PromotionOutcome.LEVEL_UNKNOWN, None, title)
    assert got[4] == (PromotionOutcome.PROMOTE, 3, title)
    assert got[5] == (PromotionOutcome.PROMOTE, 3, None)  # 6th–20th → 高级工 if below
    assert got[6] == (PromotionOutcome.PROMOTE, 3, None)
    assert got[7] == (PromotionOutcome.ALREADY_AT_LEVEL, None, None)
    assert got[8] == (PromotionOutcome.ALREADY_AT_LEVEL, None, None)
    assert got[9] == (PromotionOutcome.PROMOTE, 3, None)  # no level recorded is below 高级工
    assert 20 not in got and 21 not in got  # ranks 21, 22: no band
    assert len(got) == 20


def test_promotion_bands_go_by_rank_so_shared_ranks_stay_together():
    result = ranked_field(100, 99, 98, 97, 96, 96, 95)  # ranks 1, 2, 3, 4, 5, 5, 7
    recs = d.recommend_promotions(result, {}, (PromotionBand(first_rank=1, last_rank=5, action="up_one_level"),))
    assert [r.rank for r in recs] == [1, 2, 3, 4, 5, 5]
    assert {r.outcome for r in recs} == {PromotionOutcome.LEVEL_UNKNOWN}


@pytest.mark.parametrize(("make", "reason"), [
    (lambda: PromotionBand(first_rank=0, last_rank=5, action="up_one_level"), "rank_range"),
    (lambda: PromotionBand(first_rank=6, last_rank=5, action="up_one_level"), "rank_range"),
    (lambda: PromotionBand(first_rank=1, last_rank=5, action="to_level"), "target_level"),
    (lambda: PromotionBand(first_rank=1, last_rank=5, action="to_level", target_level=6), "target_level"),
    (lambda: PromotionBand(first_rank=1, last_rank=5, action="up_one_level", target_level=2), "target_level_unused"),
    (lambda: d.check_bands([PromotionBand(first_rank=1, last_rank=5, action="up_one_level"),
                            PromotionBand(first_rank=5, last_rank=9, action="to_level", target_level=3)]), "overlap"),
])
def test_promotion_band_errors(make, reason):
    err = error_of(make)
    assert (err.code, err.reason) == ("invalid_promotion_band", reason)


def test_invalid_skill_level_is_refused():
    result = ranked_field(100)
    assert error_of(lambda: d.recommend_promotions(result, {"e00": 7})).code == "invalid_skill_level"
    assert PromotionAction("to_level") is PromotionAction.TO_LEVEL
