"""Memberships: roles within one scope, held by a user or by a worker (and so by the account linked to that worker),
for a period, checked by the one function ``has_scope``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts import services
from app.accounts.models import Membership, Role
from app.audit.models import AuditEntry
from app.db import db, local_date
from app.errors import Conflict


@pytest.fixture
def scoped_roles():
    """Two scoped roles as the studios and mentors domains will register them."""
    before = dict(services.SCOPED_ROLES)
    services.register_scoped_role("studio_leader", "studio")
    services.register_scoped_role("pairing_master", "pairing")
    yield
    services.SCOPED_ROLES.clear()
    services.SCOPED_ROLES.update(before)


@pytest.fixture
def folks(scoped_roles, create_worker, create_user):
    leader = create_user(Role.ORGANIZER)
    master = create_worker()
    return {"leader": leader, "master": master, "master_user": create_user(Role.WORKER, worker=master),
            "other": create_user(Role.ORGANIZER)}


def test_a_user_holds_a_role_in_one_scope_only(folks):
    services.add_membership("studio_leader", "studio", 7, user=folks["leader"])
    assert services.has_scope(folks["leader"], "studio_leader", "studio", 7)
    assert not services.has_scope(folks["leader"], "studio_leader", "studio", 8)
    assert not services.has_scope(folks["other"], "studio_leader", "studio", 7)
    assert not services.has_scope(folks["leader"], "pairing_master", "pairing", 7)
    assert services.scope_ids(folks["leader"], "studio_leader", "studio") == {7}


def test_a_worker_holds_it_for_the_account_linked_to_them(folks, create_user):
    services.add_membership("pairing_master", "pairing", 12, worker=folks["master"])
    assert services.has_scope(folks["master_user"], "pairing_master", "pairing", 12)
    assert not services.has_scope(create_user(Role.WORKER), "pairing_master", "pairing", 12)


def test_only_within_its_period(folks):
    today = local_date()
    soon = services.add_membership("studio_leader", "studio", 7, user=folks["leader"],
                                   started_on=today + timedelta(days=3))
    assert not services.has_scope(folks["leader"], "studio_leader", "studio", 7)
    assert services.has_scope(folks["leader"], "studio_leader", "studio", 7, on=today + timedelta(days=3))
    services.end_membership(soon, on=today + timedelta(days=10))
    assert services.has_scope(folks["leader"], "studio_leader", "studio", 7, on=today + timedelta(days=9))
    assert not services.has_scope(folks["leader"], "studio_leader", "studio", 7, on=today + timedelta(days=10))
    with pytest.raises(Conflict):
        services.end_membership(soon)


def test_nobody_else_holds_anything(folks, create_user):
    from flask_login import AnonymousUserMixin

    services.add_membership("studio_leader", "studio", 7, user=folks["leader"])
    folks["leader"].is_enabled = False
    assert not services.has_scope(folks["leader"], "studio_leader", "studio", 7)
    assert not services.has_scope(AnonymousUserMixin(), "studio_leader", "studio", 7)
    assert not services.has_scope(None, "studio_leader", "studio", 7)
    assert services.scope_ids(None, "studio_leader", "studio") == set()


def test_roles_are_registered_with_their_scope_type(folks):
    for role, scope_type in (("studio_leader", "pairing"), ("studio_boss", "studio")):
        with pytest.raises(ValueError):
            services.has_scope(folks["leader"], role, scope_type, 7)
        with pytest.raises(ValueError):
            services.add_membership(role, scope_type, 7, user=folks["leader"])
    with pytest.raises(ValueError):
        services.register_scoped_role("studio_leader", "pairing")
    services.register_scoped_role("studio_leader", "studio")  # again: fine


def test_held_by_a_user_or_a_worker_never_both(folks):
    with pytest.raises(ValueError):
        services.add_membership("studio_leader", "studio", 7, user=folks["leader"], worker=folks["master"])
    with pytest.raises(ValueError):
        services.add_membership("studio_leader", "studio", 7)
    for holders in ({"user_id": folks["leader"].id, "worker_id": folks["master"].id}, {}):
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(Membership(role="studio_leader", scope_type="studio", scope_id=7, started_on=local_date(),
                                      **holders))
            db.session.flush()


def test_changes_are_audited(folks):
    membership = services.add_membership("studio_leader", "studio", 7, user=folks["leader"], actor=folks["other"])
    services.end_membership(membership, actor=folks["other"])
    rows = db.session.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.details).where(
        AuditEntry.target_type == "membership").order_by(AuditEntry.id)).all()
    assert [(a, actor) for a, actor, _d in rows] == [("membership_added", folks["other"].id),
                                                    ("membership_ended", folks["other"].id)]
    assert rows[0][2]["scope_id"] == 7 and rows[0][2]["user_id"] == folks["leader"].id


def test_one_query_per_check(folks):
    from tests.conftest import statements_run

    services.add_membership("studio_leader", "studio", 7, user=folks["leader"])
    answers = []
    statements = statements_run(lambda: answers.append(services.has_scope(folks["leader"], "studio_leader", "studio", 7)))
    assert answers == [True] and len(statements) == 1
