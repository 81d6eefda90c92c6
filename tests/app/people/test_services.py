"""Use cases of app.people.services: HR scope, validation, ID storage, duplicates, consents, trades, audit."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.crypto import id_cipher
from app.db import db
from app.errors import Conflict, NotFound, PermissionDenied
from app.people import consents, services
from app.people.models import Consent, Trade, Worker
from tests.app.people.conftest import VALID_ID, new_worker_data
from tests.conftest import make_resident_id


@pytest.fixture(autouse=True)
def _english(_transaction):
    """These tests compare messages with their English msgids; the app's default locale is zh_CN."""
    with force_locale("en"):
        yield



def _last_audit() -> AuditEntry:
    return db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))


def _errors(exc_info) -> dict:
    return exc_info.value.details


# --- scope ----------------------------------------------------------------------------------------------


def test_hr_lists_only_own_enterprise(people):
    hr_a = people["users"]["hr_a"]
    names = {w.name for w in services.list_workers(hr_a).items}
    assert names == {"张帅坤"}


def test_hr_of_several_enterprises_sees_all_or_chooses(people, create_user):
    from app.accounts.models import UserRole

    hr = create_user(Role.HR, enterprise=people["ent_a"])
    hr.roles.append(UserRole(role=Role.HR, enterprise_id=people["ent_b"].id))
    db.session.flush()
    assert {w.name for w in services.list_workers(hr).items} == {"张帅坤", "李乙娜"}
    assert {w.name for w in services.list_workers(hr, enterprise_id=people["ent_b"].id).items} == {"李乙娜"}
    assert [e.id for e in services.hr_enterprises(hr)] == sorted([people["ent_a"].id, people["ent_b"].id],
                                                                 key=lambda i: db.session.get(type(people["ent_a"]), i).name)
    with pytest.raises(services.ValidationFailed) as exc:
        services.create_worker(hr, None, new_worker_data(people["trade"].id))
    assert "enterprise_id" in _errors(exc)
    worker = services.create_worker(hr, people["ent_b"].id, new_worker_data(people["trade"].id))
    assert worker.enterprise_id == people["ent_b"].id


@pytest.mark.parametrize("role", ["admin", "organizer", "judge", "worker"])
def test_non_hr_cannot_list_or_load_workers(people, role):
    actor = people["users"][role]
    with pytest.raises(PermissionDenied):
        services.list_workers(actor)
    with pytest.raises(PermissionDenied):
        services.get_worker(actor, people["worker_a"].id)


def test_hr_of_a_gets_not_found_for_b(people):
    hr_a, worker_b = people["users"]["hr_a"], people["worker_b"]
    with pytest.raises(NotFound):
        services.get_worker(hr_a, worker_b.id)
    with pytest.raises(NotFound):
        services.update_worker(hr_a, worker_b, {"name": "改名"})
    with pytest.raises(NotFound):
        services.set_worker_active(hr_a, worker_b, False)
    with pytest.raises(NotFound):
        services.list_workers(hr_a, enterprise_id=people["ent_b"].id)
    with pytest.raises(NotFound):
        services.create_worker(hr_a, people["ent_b"].id, new_worker_data(people["trade"].id))
    assert worker_b.name == "李乙娜" and worker_b.is_active


# --- search and filters ---------------------------------------------------------------------------------


@pytest.fixture
def many(people, create_worker):
    ent, trade, other = people["ent_a"], people["trade"], people["other_trade"]
    create_worker(enterprise=ent, name="欧阳娜娜", trade=other, mobile="15011112222",
                  id_number=make_resident_id(123, date(1990, 2, 3)))
    create_worker(enterprise=ent, name="王离职", trade=trade, is_active=False)
    return people


@pytest.mark.parametrize(("q", "status", "expected"), [
    ("", "active", {"张帅坤", "欧阳娜娜"}),
    ("", "inactive", {"王离职"}),
    ("", "all", {"张帅坤", "欧阳娜娜", "王离职"}),
    ("欧阳", "active", {"欧阳娜娜"}),
    ("1111222", "active", {"欧阳娜娜"}),             # part of a mobile
    ("焊工", "active", {"欧阳娜娜"}),                 # trade name
    ("6-31", "all", {"张帅坤", "王离职"}),              # trade code
    (make_resident_id(123, date(1990, 2, 3))[-4:], "active", {"欧阳娜娜"}),  # last 4 of the ID
    (make_resident_id(123, date(1990, 2, 3)), "active", set()),             # never by a whole ID (URLs, logs)
    ("李乙娜", "all", set()),                          # another enterprise's worker is never found
    ("%", "active", set()),
])
def test_search(many, q, status, expected):
    result = services.list_workers(many["users"]["hr_a"], q=q, status=status)
    assert {w.name for w in result.items} == expected


def test_filter_by_trade_and_paginate(many):
    hr = many["users"]["hr_a"]
    assert {w.name for w in services.list_workers(hr, trade_id=many["other_trade"].id).items} == {"欧阳娜娜"}
    page = services.list_workers(hr, status="all", per_page=2, page=2)
    assert page.total == 3 and page.pages == 2 and len(page.items) == 1


# --- create ---------------------------------------------------------------------------------------------


def test_create_stores_only_hash_last4_and_encrypted_copy(people):
    hr = people["users"]["hr_a"]
    data = new_worker_data(people["trade"].id, id_number=VALID_ID.lower(), gender="", birth_date=None)
    worker = services.create_worker(hr, None, data)
    assert worker.enterprise_id == people["ent_a"].id
    assert worker.id_hash == id_cipher().hash("resident", VALID_ID)
    assert worker.id_last4 == "002X"
    assert id_cipher().decrypt(worker.id_encrypted) == VALID_ID
    assert VALID_ID not in worker.id_hash
    # derived from the ID number
    assert worker.birth_date == date(1949, 12, 31) and worker.gender == "F"
    entry = _last_audit()
    assert entry.action == "worker_created" and entry.target_id == str(worker.id)
    assert VALID_ID not in str(entry.details) and "002X" not in str(entry.details)
    assert "id_number" in entry.details["fields"] and "王小明" not in str(entry.details)


def test_create_normalizes_mobile(people):
    worker = services.create_worker(people["users"]["hr_a"], None,
                                    new_worker_data(people["trade"].id, mobile="+86 137-0000-1111"))
    assert worker.mobile == "13700001111"


@pytest.mark.parametrize(("overrides", "field", "fragment"), [
    ({"name": ""}, "name", "enter the name"),
    ({"name": "<b>x</b>"}, "name", "may contain only"),
    ({"id_number": ""}, "id_number", "enter the ID number"),
    ({"id_number": "110105194912310021"}, "id_number", "check character"),
    ({"id_number": "110105199002300016"}, "id_number", "not a real date"),
    ({"id_number": "1101051949123100"}, "id_number", "exactly 18"),
    ({"id_type": "passport", "id_number": "E1#"}, "id_number", "5 to 32"),
    ({"id_type": "nonsense"}, "id_type", "document type"),
    ({"id_type": "passport", "id_number": "E12345678"}, "gender", "gender"),
    ({"id_type": "passport", "id_number": "E12345678", "gender": "M"}, "birth_date", "date of birth"),
    ({"birth_date": date(1991, 5, 7)}, "birth_date", "Does not match"),
    ({"gender": "F"}, "gender", "Does not match"),
    ({"mobile": "12345"}, "mobile", "11 digits"),
    ({"trade_id": None}, "trade_id", "choose the trade"),
    ({"trade_id": 999_999}, "trade_id", "does not exist"),
    ({"skill_level": 7}, "skill_level", "1 (highest) to 5"),
])
def test_create_field_errors(people, overrides, field, fragment):
    with pytest.raises(services.ValidationFailed) as exc:
        services.create_worker(people["users"]["hr_a"], None, new_worker_data(people["trade"].id, **overrides))
    assert exc.value.status == 422
    messages = _errors(exc)[field]
    assert any(fragment in m for m in messages), messages
    assert db.session.scalar(select(Worker).where(Worker.name == "王小明")) is None


def test_create_reports_every_bad_field_at_once(people):
    data = new_worker_data(people["trade"].id, name="", id_number="123", mobile="1", skill_level=9, trade_id=None)
    with pytest.raises(services.ValidationFailed) as exc:
        services.create_worker(people["users"]["hr_a"], None, data)
    assert {"name", "id_number", "mobile", "skill_level", "trade_id"} <= set(_errors(exc))


def test_create_with_inactive_trade_fails(people):
    people["other_trade"].is_active = False
    with pytest.raises(services.ValidationFailed) as exc:
        services.create_worker(people["users"]["hr_a"], None, new_worker_data(people["other_trade"].id))
    assert "trade_id" in _errors(exc)


def test_other_document_types(people):
    worker = services.create_worker(people["users"]["hr_a"], None, new_worker_data(
        people["trade"].id, id_type="passport", id_number="e1234 5678", gender="M", birth_date=date(1985, 1, 1)))
    assert worker.id_type == "passport" and worker.id_last4 == "5678"
    assert worker.id_hash == id_cipher().hash("passport", "E12345678")


def test_duplicate_id_in_own_enterprise(people):
    hr = people["users"]["hr_a"]
    services.create_worker(hr, None, new_worker_data(people["trade"].id, id_number=VALID_ID))
    with pytest.raises(Conflict) as exc:
        services.create_worker(hr, None, new_worker_data(people["trade"].id, id_number=VALID_ID, name="另一人"))
    assert exc.value.code == "id_registered"
    assert "your enterprise" in _errors(exc)["id_number"][0]


def test_duplicate_id_in_other_enterprise_does_not_say_where(people):
    services.create_worker(people["users"]["hr_b"], None, new_worker_data(people["trade"].id, id_number=VALID_ID))
    with pytest.raises(Conflict) as exc:
        services.create_worker(people["users"]["hr_a"], None, new_worker_data(people["trade"].id, id_number=VALID_ID))
    message = _errors(exc)["id_number"][0]
    assert "already registered" in message and "your enterprise" not in message
    assert people["ent_b"].name not in message


# --- update -----------------------------------------------------------------------------------------------


def test_update_keeps_id_when_not_reentered_and_audits_field_names(people):
    hr, worker = people["users"]["hr_a"], people["worker_a"]
    old_hash = worker.id_hash
    services.update_worker(hr, worker, {"name": "张帅", "mobile": "13900000000", "skill_level": 2})
    assert worker.id_hash == old_hash and worker.name == "张帅" and worker.mobile == "13900000000"
    entry = _last_audit()
    assert entry.action == "worker_updated" and entry.details == {"fields": ["mobile", "name", "skill_level"]}
    assert "13900000000" not in str(entry.details) and "张帅" not in str(entry.details)


def test_update_with_new_id(people):
    hr, worker = people["users"]["hr_a"], people["worker_a"]
    services.update_worker(hr, worker, {"id_number": VALID_ID, "gender": "F", "birth_date": date(1949, 12, 31)})
    assert worker.id_hash == id_cipher().hash("resident", VALID_ID) and worker.id_last4 == "002X"
    assert _last_audit().details["fields"] == ["birth_date", "gender", "id_number"]


def test_update_to_an_id_of_another_worker_conflicts(people):
    number = make_resident_id(555, date(1992, 3, 4))
    services.create_worker(people["users"]["hr_b"], None, new_worker_data(people["trade"].id, id_number=number))
    with pytest.raises(Conflict):
        services.update_worker(people["users"]["hr_a"], people["worker_a"],
                               {"id_number": number, "gender": "", "birth_date": None})


def test_update_changing_type_needs_the_number(people):
    with pytest.raises(services.ValidationFailed) as exc:
        services.update_worker(people["users"]["hr_a"], people["worker_a"], {"id_type": "passport"})
    assert "id_number" in _errors(exc)


def test_update_without_changes_writes_no_audit(people):
    before = _last_audit()
    worker = people["worker_a"]
    services.update_worker(people["users"]["hr_a"], worker, {"name": worker.name, "trade_id": worker.trade_id})
    assert _last_audit() == before


def test_update_keeps_an_inactive_current_trade(people):
    worker = people["worker_a"]
    people["trade"].is_active = False
    services.update_worker(people["users"]["hr_a"], worker, {"trade_id": worker.trade_id, "name": "张帅"})
    assert worker.name == "张帅"


def test_deactivate_and_reactivate_never_delete(people):
    hr, worker = people["users"]["hr_a"], people["worker_a"]
    services.set_worker_active(hr, worker, False)
    assert db.session.get(Worker, worker.id).is_active is False
    assert _last_audit().action == "worker_deactivated"
    services.set_worker_active(hr, worker, True)
    assert worker.is_active and _last_audit().action == "worker_reactivated"


# --- consents -------------------------------------------------------------------------------------------


def test_worker_gives_and_withdraws_consents_separately(people):
    user, worker = people["users"]["worker"], people["worker_a"]
    assert consents.consent_state(worker) == {"publicity": None, "talent_pool": None}
    assert consents.set_consent(user, worker, "publicity", True) is True
    assert worker.publicity_consent_at is not None and worker.talent_pool_consent_at is None
    assert consents.set_consent(user, worker, "publicity", True) is False  # no change, no event
    consents.set_consent(user, worker, "talent_pool", True)
    consents.set_consent(user, worker, "publicity", False)
    assert worker.publicity_consent_at is None and worker.talent_pool_consent_at is not None
    events = db.session.scalars(select(Consent).where(Consent.worker_id == worker.id).order_by(Consent.id)).all()
    assert [(e.purpose, e.is_granted, e.actor_id) for e in events] == [
        ("publicity", True, user.id), ("talent_pool", True, user.id), ("publicity", False, user.id)]
    assert [e.purpose for e in consents.consent_history(worker)] == ["publicity", "talent_pool", "publicity"]
    entry = _last_audit()
    assert entry.action == "consent_withdrawn" and entry.details == {"purpose": "publicity"}


@pytest.mark.parametrize("role", ["hr_a", "admin", "organizer"])
def test_nobody_else_changes_consents(people, role):
    with pytest.raises(PermissionDenied):
        consents.set_consent(people["users"][role], people["worker_a"], "publicity", True)
    assert people["worker_a"].publicity_consent_at is None


def test_worker_cannot_change_another_workers_consent(people):
    with pytest.raises(PermissionDenied):
        consents.set_consent(people["users"]["worker"], people["worker_b"], "publicity", True)


def test_unknown_purpose(people):
    with pytest.raises(services.ValidationFailed):
        consents.set_consent(people["users"]["worker"], people["worker_a"], "marketing", True)


def test_own_worker_unlinked(people, create_user):
    with pytest.raises(NotFound):
        services.own_worker(create_user(Role.WORKER))
    with pytest.raises(PermissionDenied):
        services.own_worker(people["users"]["hr_a"])


# --- trades -----------------------------------------------------------------------------------------------


def test_create_update_deactivate_trade(people):
    org = people["users"]["organizer"]
    trade = services.create_trade(org, {"code": " 6-20-01-01 ", "name": " 钳工 "})
    assert (trade.code, trade.name, trade.is_active) == ("6-20-01-01", "钳工", True)
    assert _last_audit().action == "trade_created"
    services.update_trade(org, trade, {"name": "装配钳工"})
    assert _last_audit().details == {"name": ["钳工", "装配钳工"]}
    services.set_trade_active(org, trade, False)
    assert trade.is_active is False and _last_audit().action == "trade_deactivated"
    assert trade.id not in dict(services.trade_choices())
    assert trade.id in dict(services.trade_choices(include_id=trade.id))
    assert trade not in services.list_trades().items
    assert trade in services.list_trades(status="inactive").items


@pytest.mark.parametrize(("raw", "field"), [
    ({"code": "63101", "name": "新工种"}, "code"),
    ({"code": "", "name": "新工种"}, "code"),
    ({"code": "6-31-01-03", "name": "新工种"}, "code"),    # duplicate code
    ({"code": "6-99-99-99", "name": "电工"}, "name"),      # duplicate name
    ({"code": "6-99-99-99", "name": ""}, "name"),
    ({"code": "6-99-99-99", "name": "长" * 65}, "name"),
])
def test_trade_validation(people, raw, field):
    with pytest.raises(services.ValidationFailed) as exc:
        services.create_trade(people["users"]["admin"], raw)
    assert field in _errors(exc)


@pytest.mark.parametrize("role", ["hr_a", "judge", "worker"])
def test_only_organizers_and_admins_manage_trades(people, role):
    with pytest.raises(PermissionDenied):
        services.create_trade(people["users"][role], {"code": "6-99-99-98", "name": "无权"})
    assert db.session.scalar(select(Trade).where(Trade.name == "无权")) is None


def test_search_trades(people):
    assert [t.name for t in services.list_trades(q="6-18").items] == ["焊工"]
    assert [t.name for t in services.list_trades(q="电").items] == ["电工"]
