"""The small pure rules of registration and judging assignment: tables and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competitions.services.judging import panel_problems
from competitions.services.registration import code_width, entry_transition, module_prefix, quota_problem


@pytest.mark.parametrize("status, event, expected", [
    ("registered", "approve", "approved"),
    ("registered", "reject", "rejected"),
    ("registered", "withdraw", "withdrawn"),
    ("approved", "withdraw", "withdrawn"),
    ("approved", "approve", None),
    ("approved", "reject", None),
    ("rejected", "approve", None),
    ("rejected", "withdraw", None),
    ("withdrawn", "approve", None),
    ("withdrawn", "withdraw", None),
    ("registered", "explode", None),
    ("nonsense", "approve", None),
])
def test_entry_transitions(status, event, expected):
    assert entry_transition(status, event) == expected


@pytest.mark.parametrize("max_entries, used, requested, exceeded", [
    (None, 100, 100, False), (3, 0, 3, False), (3, 2, 1, False), (3, 3, 1, True), (3, 0, 4, True),
    (0, 0, 1, True), (5, 7, 0, False),  # lowered below the places used: nothing more, nothing undone
])
def test_quota_table(max_entries, used, requested, exceeded):
    assert quota_problem(max_entries, used, requested) is exceeded


@given(st.integers(0, 1000), st.integers(0, 1000), st.integers(1, 1000))
def test_quota_never_lets_the_total_pass_the_limit(limit, used, requested):
    if not quota_problem(limit, used, requested):
        assert used + requested <= limit


@pytest.mark.parametrize("judge_ids, chief, expected", [
    ([1, 2, 3], 2, {}),
    ([1, 2, 3], None, {}),
    ([], None, {}),
    ([1, 2], 3, {"chief_judge_id": "not_member"}),
    ([1, 1], 1, {"judge_ids": {"1": "duplicate"}}),
    ([1, 9], None, {"judge_ids": {"1": "not_judge"}}),
    ([9], 9, {"judge_ids": {"0": "not_judge"}}),  # listed, so not also "not a member"
])
def test_panel_problems(judge_ids, chief, expected):
    assert panel_problems(judge_ids, {1, 2, 3}, chief) == expected


@given(st.integers(1, 10**6))
def test_code_width_fits_every_entry(count):
    width = code_width(count)
    assert width >= 3 and 10**width - 1 >= count


@given(st.integers(0, 5000), st.integers(0, 5000))
def test_module_prefixes_are_distinct_letters(a, b):
    pa, pb = module_prefix(a), module_prefix(b)
    assert pa.isalpha() and pa.isupper()
    assert (pa == pb) == (a == b)
