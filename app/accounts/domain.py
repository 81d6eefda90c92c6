"""Pure rules of accounts: the password policy (no Flask, no database).

A password has ``MIN_PASSWORD_LENGTH`` to ``MAX_PASSWORD_LENGTH`` characters, does not contain the username, and is
not easy to guess: zxcvbn (Dropbox's estimator, with its lists of common passwords, names and words, and its
detection of repeats, sequences and keyboard patterns) must rate it at least ``MIN_PASSWORD_SCORE`` of 4 — "safely
unguessable" even for someone who has the password hash. ``aaaaaaaaaa``, ``1234567890``, ``password123`` and the
username twice are refused.
"""

from __future__ import annotations

import threading

from zxcvbn import zxcvbn

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
