"""CLI: ``demo`` is idempotent and prints a login for every demo account; ``demo --show-logins`` repeats them."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.accounts.models import User, UserRole
from app.db import db
from tests.app.accounts.conftest import form_login

LOGIN_LINE = re.compile(r"^login: (admin|organizer|hr|judge|worker) (\S+) (\S+)$")


def _logins(output: str) -> list[tuple[str, str, str]]:
    lines = [line for line in output.splitlines() if line.startswith("login:")]
    parsed = [LOGIN_LINE.match(line) for line in lines]
    assert all(parsed), lines
    return [m.groups() for m in parsed]


def _demo(app, *args):
    result = app.test_cli_runner().invoke(args=["demo", *args])
    assert result.exit_code == 0, result.output
    return result


def test_demo_prints_ten_logins_one_per_role_slot(app):
    logins = _logins(_demo(app).output)
    assert len(logins) == 10
    assert Counter(role for role, _, _ in logins) == {"admin": 1, "organizer": 1, "hr": 2, "judge": 3, "worker": 3}
    assert len({username for _, username, _ in logins}) == 10
    assert all(len(password) >= 12 for _, _, password in logins)


@pytest.mark.parametrize("show_logins", [False, True])
def test_every_demo_account_holding_a_role_has_its_login_printed(app, show_logins):
    """Whatever the demo data (competitions, certificates) creates: an account that holds a role is one a user may
    need to act as — judge3 is on the panels of every J aspect, and the running competition waits for its marks."""
    output = _demo(app).output
    if show_logins:
        output = _demo(app, "--show-logins").output
    printed = {(role, username) for role, username, _ in _logins(output)}
    held = set(db.session.execute(select(UserRole.role, User.username).join(User, User.id == UserRole.user_id)))
    assert held == printed
    assert ("judge", "judge3") in printed


def test_judge3_logs_in_and_finds_the_running_competition(app):
    from competitions.demo import ELECTRICIAN

    logins = {username: password for _, username, password in _logins(_demo(app).output)}
    judge = app.test_client()
    assert form_login(judge, "judge3", logins["judge3"]).status_code == 302
    page = judge.get("/judging")
    assert page.status_code == 200 and ELECTRICIAN in page.get_data(as_text=True)


def test_demo_users_have_their_scoped_roles(app):
    logins = _logins(_demo(app).output)
    users = {u.username: u for u in db.session.scalars(select(User))}
    hr_enterprises = [users[name].hr_enterprise_ids for role, name, _ in logins if role == "hr"]
    assert all(len(ids) == 1 for ids in hr_enterprises)
    assert hr_enterprises[0] != hr_enterprises[1], "the two HR users belong to different enterprises"
    workers = [users[name] for role, name, _ in logins if role == "worker"]
    assert all(u.worker_id is not None for u in workers)
    assert len({u.worker_id for u in workers}) == 3
    for role, name, _ in logins:
        assert users[name].has_role(role)


def test_demo_is_idempotent(app):
    first = _demo(app)
    users_before = {(u.id, u.username) for u in db.session.scalars(select(User))}
    second = _demo(app)
    assert "already present" in second.output
    assert _logins(second.output) == _logins(first.output)
    db.session.expire_all()
    assert {(u.id, u.username) for u in db.session.scalars(select(User))} == users_before
    from app.people.models import Worker

    assert db.session.scalar(select(func.count()).select_from(Worker)) == 10


def test_show_logins_prints_the_same_lines(app):
    loaded = _logins(_demo(app).output)
    shown = _demo(app, "--show-logins")
    assert _logins(shown.output) == loaded
    assert "demo data" not in shown.output  # only the logins


def test_show_logins_without_demo_data_fails(app):
    result = app.test_cli_runner().invoke(args=["demo", "--show-logins"])
    assert result.exit_code == 1


def test_a_printed_password_really_logs_in(app, client):
    logins = _logins(_demo(app).output)
    for role, username, password in (logins[0], logins[2], logins[-1]):  # admin, an HR user, a worker
        other = app.test_client()
        resp = form_login(other, username, password)
        assert resp.status_code == 302, (role, username)
        assert other.get("/").status_code == 200
    assert form_login(client, logins[0][1], logins[1][2]).status_code == 200  # someone else's password fails


def test_demo_is_audited_and_the_chain_verifies(app):
    _demo(app)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
