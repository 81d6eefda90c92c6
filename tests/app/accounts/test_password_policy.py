"""The password policy: long enough, not the username, not common, repetitive or guessable (zxcvbn)."""

from __future__ import annotations

import pytest

from app.accounts import domain
from app.accounts import services as accounts
from app.errors import DomainError


@pytest.mark.parametrize("password, username, reason", [
    ("short", "", domain.TOO_SHORT),
    ("x" * 257, "", domain.TOO_LONG),
    ("aaaaaaaaaa", "", domain.REPETITIVE),
    ("1234567890", "", domain.COMMON),
    ("qwertyuiop", "", domain.COMMON),
    ("password123", "", domain.COMMON),
    ("abcdefghijk", "", domain.REPETITIVE),
    ("zhangsan.2024!", "zhangsan", domain.CONTAINS_USERNAME),
    ("Judge1-password", "JUDGE1", domain.CONTAINS_USERNAME),
    ("a" * 300, "", domain.TOO_LONG),
])
def test_refused_passwords(password, username, reason):
    assert domain.password_problem(password, username) == reason


@pytest.mark.parametrize("password", ["correct horse battery", "a-good-password", "Tr0ub4dor&3x", "绿水青山就是金山银山啊"])
def test_accepted_passwords(password):
    assert domain.password_problem(password, "judge1") is None


def test_every_way_to_set_a_password_applies_it(app_ctx, create_user):
    admin = create_user("admin")
    with pytest.raises(DomainError) as refused:
        accounts.create_user(admin, "zhangsan", "张三", "aaaaaaaaaa")
    assert refused.value.code == "weak_password"
    with pytest.raises(DomainError):
        accounts.create_user(admin, "zhangsan", "张三", "zhangsan2024")
    user = accounts.create_user(admin, "zhangsan", "张三", "a-good-password")
    with pytest.raises(DomainError):
        accounts.update_user(admin, user, "张三", True, password="1234567890")
    with pytest.raises(DomainError):
        accounts.change_own_password(user, "a-good-password", "zhangsan-zhangsan")
    accounts.change_own_password(user, "a-good-password", "correct horse battery")
