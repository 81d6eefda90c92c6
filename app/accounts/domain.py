"""Pure rules of accounts (no Flask, no database, no clock): the password policy, and how password guessing on one
account is slowed down.

A password has ``MIN_PASSWORD_LENGTH`` to ``MAX_PASSWORD_LENGTH`` characters, does not contain the username, and is
not easy to guess: zxcvbn (Dropbox's estimator, with its lists of common passwords, names and words, and its
detection of repeats, sequences and keyboard patterns) must rate it at least ``MIN_PASSWORD_SCORE`` of 4 — "safely
unguessable" even for someone who has the password hash. ``aaaaaaaaaa``, ``1234567890``, ``password123`` and the
username twice are refused.

Every login attempt on an account counts as a failure until its password proves right (which clears the count):
counting it before the password is checked is what stops a burst of parallel guesses, from any number of processes,
at the free attempts. After ``free_attempts`` failures in a row the account waits ``first_wait`` before the next
attempt, then twice as long after each further failure, at most ``longest_wait``; an attempt during the wait is
refused without looking at the password (and without counting: it tests nothing). Failures are forgotten when the
account has had no attempt for ``memory``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from zxcvbn import zxcvbn

# --- the password policy ---
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256
MIN_PASSWORD_SCORE = 3
ESTIMATED_LENGTH = 72  # zxcvbn's own limit: a longer password is judged by its first 72 characters
MIN_USERNAME_IN_PASSWORD = 3  # a username this long or longer must not appear in the password

# Why a password is refused.
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
CONTAINS_USERNAME = "contains_username"
REPETITIVE = "repetitive"
COMMON = "common"
GUESSABLE = "guessable"

_REPETITIVE_PATTERNS = frozenset({"repeat", "sequence", "spatial"})
# zxcvbn keeps the user inputs of a call in a module-level dictionary: one estimate at a time.
_estimating = threading.Lock()


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` is refused for the user ``username`` (one of the reason codes above), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_PASSWORD_LENGTH:
        return TOO_LONG
    name = username.strip().lower()
    if len(name) >= MIN_USERNAME_IN_PASSWORD and name in password.lower():
        return CONTAINS_USERNAME
    with _estimating:
        estimate = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=[name] if name else [])
    score: int = estimate["score"]
    if score >= MIN_PASSWORD_SCORE:
        return None
    patterns = {str(match.get("pattern")) for match in estimate["sequence"]}
    dictionaries = {str(match.get("dictionary_name")) for match in estimate["sequence"]}
    if "user_inputs" in dictionaries:
        return CONTAINS_USERNAME
    if patterns & _REPETITIVE_PATTERNS:
        return REPETITIVE
    if "passwords" in dictionaries:
        return COMMON
    return GUESSABLE


# --- login throttle ---
FREE_ATTEMPTS = 5
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(minutes=15)
FAILURE_MEMORY = timedelta(days=1)


@dataclass(frozen=True)
class ThrottlePolicy:
    free_attempts: int = FREE_ATTEMPTS
    first_wait: timedelta = FIRST_WAIT
    longest_wait: timedelta = LONGEST_WAIT
    memory: timedelta = FAILURE_MEMORY

    def __post_init__(self) -> None:
        if self.free_attempts < 1 or self.first_wait <= timedelta(0) or self.longest_wait < self.first_wait:
            raise ValueError("a throttle needs at least one free attempt and a positive, growing wait")
        if self.memory < self.longest_wait:
            raise ValueError("failures must be remembered at least as long as the longest wait")


@dataclass(frozen=True)
class AttemptState:
    """What is stored per account: failures in a row, the last attempt, and until when the account waits."""

    failures: int = 0
    last_attempt_at: datetime | None = None
    blocked_until: datetime | None = None


@dataclass(frozen=True)
class Admission:
    """The answer to an attempt: ``allowed``, or refused until ``retry_at`` (``wait`` from the attempt); ``state``
    is what to store (for an allowed attempt: counted as a failure, until the password proves right)."""

    allowed: bool
    retry_at: datetime | None
    state: AttemptState
    wait: timedelta = timedelta(0)


def wait_after(failures: int, policy: ThrottlePolicy) -> timedelta:
    """How long an account waits after ``failures`` failed attempts in a row: nothing for the free attempts, then
    ``first_wait``, doubling with each further failure, at most ``longest_wait``."""
    if failures < policy.free_attempts:
        return timedelta(0)
    doublings = failures - policy.free_attempts
    if doublings >= 32:  # far past the longest wait; and 2 ** n stays small
        return policy.longest_wait
    wait: timedelta = policy.first_wait * (1 << doublings)
    return min(wait, policy.longest_wait)


def admit(state: AttemptState, now: datetime, policy: ThrottlePolicy) -> Admission:
    """Whether an attempt at ``now`` may check its password, and the state to store if so."""
    if state.blocked_until is not None and now < state.blocked_until:
        return Admission(False, state.blocked_until, state, state.blocked_until - now)
    remembered = state.last_attempt_at is not None and now - state.last_attempt_at < policy.memory
    failures = (state.failures if remembered else 0) + 1
    wait = wait_after(failures, policy)
    return Admission(True, None, AttemptState(failures, now, now + wait if wait else None))
