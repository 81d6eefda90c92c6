"""What the competition engine's tests share (tests/competitions/test_domain*.py): constants, a standing and a
ranked field built from totals, the error a call raises."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import strategies as st

from competitions import domain as d
from competitions.domain import AwardCode, DomainRuleError, ResultStatus, Standing

D = Decimal
F = Fraction
GOLD, SILVER, BRONZE = AwardCode.GOLD, AwardCode.SILVER, AwardCode.BRONZE
FIRST, SECOND, THIRD = AwardCode.FIRST_PRIZE, AwardCode.SECOND_PRIZE, AwardCode.THIRD_PRIZE
EXCELLENCE = AwardCode.EXCELLENCE


def error_of(call) -> DomainRuleError:
    with pytest.raises(DomainRuleError) as info:
        call()
    return info.value


def standing(entry_id, total, time=None, practical=None, theory=None, **kw) -> Standing:
    kinds = {k: v for k, v in (("practical", practical), ("theory", theory)) if v is not None}
    return Standing(entry_id=entry_id, total=None if total is None else D(str(total)),
                    completion_time=time, kind_scores={k: D(str(v)) for k, v in kinds.items()}, **kw)


totals = st.decimals(min_value=0, max_value=100, places=1, allow_nan=False, allow_infinity=False)


def ranked_field(*totals, absent: int = 0):
    entries = [standing(f"e{i:02d}", t) for i, t in enumerate(totals)]
    entries += [Standing.unranked(f"x{i}", ResultStatus.ABSENT) for i in range(absent)]
    return d.rank(entries, tie_break=())


def awarded(result, awards) -> list[tuple]:
    return [(r.rank, awards[r.entry_id]) for r in result]
