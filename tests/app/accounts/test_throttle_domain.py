"""The per-account login throttle's rule (app.accounts.domain): free attempts, a doubling wait, forgetting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.accounts.domain import AttemptState, ThrottlePolicy, admit, wait_after

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
POLICY = ThrottlePolicy()


@pytest.mark.parametrize(("failures", "wait"), [
    (0, 0), (1, 0), (4, 0), (5, 60), (6, 120), (7, 240), (8, 480), (9, 900), (10, 900), (10_000, 900),
])
def test_the_wait_doubles_after_the_free_attempts_up_to_the_longest(failures, wait):
    assert wait_after(failures, POLICY) == timedelta(seconds=wait)


def test_five_attempts_are_free_then_the_account_waits():
    state = AttemptState()
    for n in range(1, 6):
        admission = admit(state, T0 + timedelta(seconds=n), POLICY)
        assert admission.allowed
        state = admission.state
        assert state.failures == n
    assert state.blocked_until == T0 + timedelta(seconds=5 + 60)
    refused = admit(state, T0 + timedelta(seconds=64), POLICY)
    assert (refused.allowed, refused.retry_at, refused.state) == (False, state.blocked_until, state)  # nothing counted
    assert refused.wait == timedelta(seconds=1)
    sixth = admit(state, T0 + timedelta(seconds=65), POLICY)
    assert sixth.allowed and sixth.state.failures == 6
    assert sixth.state.blocked_until == T0 + timedelta(seconds=65 + 120)


def test_failures_are_forgotten_after_a_day_without_an_attempt():
    state = AttemptState(failures=4, last_attempt_at=T0, blocked_until=None)
    assert admit(state, T0 + timedelta(hours=23), POLICY).state.failures == 5
    assert admit(state, T0 + timedelta(days=1), POLICY).state.failures == 1


@pytest.mark.parametrize("bad", [
    {"free_attempts": 0}, {"first_wait": timedelta(0)}, {"longest_wait": timedelta(seconds=30)},
    {"memory": timedelta(minutes=5)},
])
def test_a_policy_that_would_not_throttle_is_refused(bad):
    with pytest.raises(ValueError):
        ThrottlePolicy(**bad)


@given(st.lists(st.integers(min_value=0, max_value=3_600), min_size=1, max_size=60))
def test_after_the_free_attempts_admitted_guesses_are_at_least_the_first_wait_apart(gaps):
    """Whatever the timing of a guesser who is always wrong: the free attempts, then never two admitted guesses
    closer than the wait the earlier one earned."""
    state, now, admitted = AttemptState(), T0, []
    for gap in gaps:
        now += timedelta(seconds=gap)
        admission = admit(state, now, POLICY)
        if admission.allowed:
            admitted.append((now, wait_after(admission.state.failures, POLICY)))
            state = admission.state
    for (earlier, wait), (later, _) in zip(admitted, admitted[1:], strict=False):
        assert later - earlier >= wait
