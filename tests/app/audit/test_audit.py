"""The audit log: append-only, hash-chained, verified by ``flask audit verify``, admin-only page."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from app.accounts import services as accounts
from app.audit.models import AuditEntry
from app.audit.services import GENESIS, _json_plain, append_pending, record, verify_chain
from app.db import db
from tests.app.audit.support import drop_triggers


@pytest.fixture
def history(app_ctx, create_user, create_enterprise, create_worker):
    """Several real actions, each audited: user creation, role grants and revocation, tokens."""
    admin = create_user("admin")
    ent = create_enterprise()
    user = accounts.create_user(admin, "auditee", "Auditee", "a-long-password")
    accounts.grant_role(admin, user, "hr", enterprise_id=ent.id)
    role = accounts.grant_role(admin, user, "judge")
    accounts.revoke_role(admin, user, role.id)
    accounts.create_token(user, "script")
    record("worker_updated", create_worker(enterprise=ent), {"name": ["甲", "乙"]}, actor=admin)
    append_pending()  # what the commit does: the tests below tamper with the stored rows
    return admin


def _verify_cli(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_chain_links_every_entry_to_the_previous_one(history):
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == [
        "user_created", "role_granted", "role_granted", "role_revoked", "token_created", "worker_updated",
    ]
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert entries[0].actor_id == history.id


def test_chain_verifies_after_several_actions(app, history):
    count, problems = verify_chain()
    assert (count, problems) == (6, [])
    result = _verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "audit chain OK: 6 entries" in result.output


def test_updates_and_deletes_are_refused_by_the_database(history):
    for statement in ("UPDATE audit_entry SET action = 'x'", "DELETE FROM audit_entry WHERE seq = 1"):
        with pytest.raises(Exception, match="append-only"), db.session.begin_nested():
            db.session.execute(text(statement))
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 6


def test_tampered_details_make_verify_fail(app, history):
    drop_triggers()
    db.session.execute(text("UPDATE audit_entry SET details = :d WHERE seq = 3"), {"d": '{"role": "admin"}'})
    db.session.expire_all()
    count, problems = verify_chain()
    assert [(p.seq, p.reason) for p in problems] == [(3, "hash")]
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert "BROKEN" in result.output


def test_rehashed_tampering_breaks_the_next_link(app, history):
    """Even with the key, an attacker who recomputes the edited row's hash alone breaks the link to the next entry."""
    from app.audit.domain import iso
    from app.audit.services import entry_mac

    drop_triggers()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.seq == 2))
    forged = {"role": "admin", "enterprise_id": None, "worker_id": None}
    digest = entry_mac().digest(entry.stream, entry.seq, iso(entry.at), entry.actor_id, entry.actor_name, entry.action,
                                entry.target_type, entry.target_id, entry.ip, forged, entry.prev_hash)
    db.session.execute(text("UPDATE audit_entry SET details = :d, hash = :h WHERE seq = 2"),
                       {"d": '{"role": "admin", "enterprise_id": null, "worker_id": null}', "h": digest})
    db.session.expire_all()
    _, problems = verify_chain()
    assert [(p.seq, p.reason) for p in problems] == [(3, "prev_hash")]
    assert _verify_cli(app).exit_code == 1


def test_deleted_row_is_detected_as_a_gap(app, history):
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_entry WHERE seq = 4"))
    db.session.expire_all()
    count, problems = verify_chain()
    assert count == 5
    assert {(p.seq, p.reason) for p in problems} == {(5, "gap"), (5, "prev_hash")}
    result = _verify_cli(app)
    assert result.exit_code == 1
    assert "entry 5: gap" in result.output


def test_without_an_anchor_deleting_the_newest_row_leaves_a_consistent_chain(history):
    """What the chain alone cannot show, hence the anchor outside the database (test_tampering.py)."""
    drop_triggers()
    db.session.execute(text("DELETE FROM audit_entry WHERE seq = 6"))
    db.session.expire_all()
    assert verify_chain() == (5, [])


def test_empty_log_verifies(app, app_ctx):
    assert verify_chain() == (0, [])
    result = _verify_cli(app)
    assert result.exit_code == 0
    assert "0 entries" in result.output


def test_audit_page_is_admin_only(client, login, create_user, create_enterprise, create_worker):
    ent = create_enterprise()
    users = [create_user("organizer"), create_user("hr", enterprise=ent), create_user("judge"),
             create_user("worker", worker=create_worker(enterprise=ent))]
    for user in users:
        other = client.application.test_client()
        login(other, user)
        resp = other.get("/admin/audit")
        assert resp.status_code == 403
        assert "<tbody>" not in resp.get_data(as_text=True)
    resp = client.get("/admin/audit")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


def test_audit_page_shows_entries_newest_first(client, login, history):
    login(client, history)
    resp = client.get("/admin/audit")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True).split("<tbody>")[1]
    assert html.index("<code>worker_updated</code>") < html.index("<code>user_created</code>")
    assert history.username in html  # the actor is shown
    resp = client.get("/admin/audit?action=role_revoked")
    html = resp.get_data(as_text=True).split("<tbody>")[1]
    assert "<code>role_revoked</code>" in html
    assert "<code>user_created</code>" not in html


def test_login_and_failed_login_are_audited(client, create_user):
    from app.accounts.services import hash_password
    from tests.conftest import csrf_token

    user = create_user("judge", password_hash=hash_password("right-password-1"))
    token = csrf_token(client)
    client.post("/login", data={"username": user.username, "password": "wrong", "csrf_token": token})
    client.post("/login", data={"username": user.username, "password": "right-password-1", "csrf_token": token})
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["login_failed", "login"]
    assert verify_chain()[1] == []


_SCALAR = st.one_of(st.text(), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False),
                    st.decimals(allow_nan=False), st.dates())


@given(st.dictionaries(st.text(), st.one_of(_SCALAR, st.lists(_SCALAR), st.dictionaries(st.text(), _SCALAR))))
def test_details_are_stored_as_json_gives_them_back(details):
    """A flat dict of plain values is copied as it is (the marks API's fast way), anything else goes through JSON:
    either way what is stored and hashed is what JSON gives back."""
    plain = _json_plain(details)
    assert plain == json.loads(json.dumps(details, ensure_ascii=False, default=str))
    assert plain is not details


def test_details_that_json_would_change_go_through_json():
    assert _json_plain({"at": date(2026, 12, 4), "n": Decimal("2.50"), 1: "x"}) == {"at": "2026-12-04", "n": "2.50",
                                                                                     "1": "x"}
    assert _json_plain(None) == {} and _json_plain({}) == {}
