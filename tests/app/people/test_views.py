"""HTML views of workers, trades and the worker's profile, for every role."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.db import db
from app.people import consents
from app.people.models import Consent, Trade, Worker
from tests.app.people.conftest import VALID_ID
from tests.conftest import make_resident_id

ROLES = ["anonymous", "admin", "organizer", "hr_a", "hr_b", "judge", "worker"]


def _login(people, as_user, role):
    return as_user(None if role == "anonymous" else people["users"][role])


def _form(trade_id, **overrides):
    data = {"name": "王小明", "id_type": "resident", "id_number": make_resident_id(777, date(1991, 5, 6)),
            "gender": "", "birth_date": "", "mobile": "13700001111", "trade_id": str(trade_id), "skill_level": "4"}
    data.update(overrides)
    return data


# --- the worker list --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("admin", 403), ("organizer", 403), ("judge", 403), ("worker", 403), ("hr_a", 200), ("hr_b", 200),
])
def test_worker_list_access(client, people, as_user, role, status):
    _login(people, as_user, role)
    resp = client.get("/workers")
    assert resp.status_code == status
    if status == 302:
        assert "/login" in resp.headers["Location"]


def test_worker_list_is_masked_and_scoped(client, people, as_user):
    as_user(people["users"]["hr_a"])
    html = client.get("/workers").get_data(as_text=True)
    assert "张*坤" in html and "张帅坤" not in html
    assert "138****5678" in html and "13812345678" not in html
    assert "*" * 14 + people["worker_a"].id_last4 in html
    assert "李*娜" not in html and "李乙娜" not in html  # enterprise B


def test_worker_list_search_and_filters(client, people, as_user, create_worker):
    create_worker(enterprise=people["ent_a"], name="王离职", is_active=False, trade=people["trade"])
    as_user(people["users"]["hr_a"])
    assert "王*职" not in client.get("/workers").get_data(as_text=True)
    assert "王*职" in client.get("/workers?status=inactive").get_data(as_text=True)
    html = client.get("/workers?q=5678").get_data(as_text=True)
    assert "张*坤" in html
    assert "张*坤" not in client.get("/workers?q=nobody").get_data(as_text=True)
    assert client.get(f"/workers?enterprise_id={people['ent_b'].id}").status_code == 404


# --- create -----------------------------------------------------------------------------------------------


def test_create_worker_form(client, people, as_user):
    token = as_user(people["users"]["hr_a"])
    assert client.get("/workers/new").status_code == 200
    resp = client.post("/workers/new", data=_form(people["trade"].id, csrf_token=token))
    assert resp.status_code == 302
    worker = db.session.scalar(select(Worker).where(Worker.name == "王小明"))
    assert worker.enterprise_id == people["ent_a"].id and worker.gender == "M" and worker.birth_date == date(1991, 5, 6)
    assert resp.headers["Location"].endswith(f"/workers/{worker.id}")


def test_create_worker_shows_each_error_next_to_its_field(client, people, as_user):
    token = as_user(people["users"]["hr_a"])
    resp = client.post("/workers/new", data=_form(people["trade"].id, csrf_token=token, name="",
                                                  id_number="110105194912310021", mobile="12345", skill_level="9"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Please enter the name." in html or "请" in html
    assert html.count('class="error"') >= 3
    assert db.session.scalar(select(Worker).where(Worker.name == "王小明")) is None


def test_create_worker_errors_in_english(client, people, as_user):
    token = as_user(people["users"]["hr_a"])
    client.set_cookie("lang", "en")
    resp = client.post("/workers/new", data=_form(people["trade"].id, csrf_token=token, id_number="110105199002300016"))
    assert resp.status_code == 422
    assert "The date of birth inside the ID number is not a real date." in resp.get_data(as_text=True)


def test_create_duplicate_id_is_409_and_does_not_name_the_other_enterprise(client, people, as_user, create_worker):
    create_worker(enterprise=people["ent_b"], id_number=VALID_ID, name="乙方人")
    token = as_user(people["users"]["hr_a"])
    client.set_cookie("lang", "en")
    resp = client.post("/workers/new", data=_form(people["trade"].id, csrf_token=token, id_number=VALID_ID))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409
    assert "This ID number is already registered." in html
    assert people["ent_b"].name not in html and VALID_ID not in html


def test_create_without_csrf_is_refused(client, people, as_user):
    as_user(people["users"]["hr_a"])
    resp = client.post("/workers/new", data=_form(people["trade"].id))
    assert resp.status_code in (400, 422)
    assert db.session.scalar(select(Worker).where(Worker.name == "王小明")) is None


def test_hr_of_several_enterprises_chooses(client, people, as_user, create_user):
    from app.accounts.models import Role, UserRole

    hr = create_user(Role.HR, enterprise=people["ent_a"])
    hr.roles.append(UserRole(role=Role.HR, enterprise_id=people["ent_b"].id))
    db.session.flush()
    token = as_user(hr)
    html = client.get("/workers").get_data(as_text=True)
    assert "张*坤" in html and "李*娜" in html and people["ent_b"].name in html
    html = client.get(f"/workers?enterprise_id={people['ent_b'].id}").get_data(as_text=True)
    assert "张*坤" not in html and "李*娜" in html
    assert 'name="enterprise_id"' in client.get("/workers/new").get_data(as_text=True)
    resp = client.post("/workers/new", data=_form(people["trade"].id, csrf_token=token, enterprise_id=str(people["ent_b"].id)))
    assert resp.status_code == 302
    assert db.session.scalar(select(Worker.enterprise_id).where(Worker.name == "王小明")) == people["ent_b"].id


# --- detail, edit, deactivate ---------------------------------------------------------------------------


def test_detail_shows_full_name_but_masked_id_and_mobile(client, people, as_user):
    as_user(people["users"]["hr_a"])
    html = client.get(f"/workers/{people['worker_a'].id}").get_data(as_text=True)
    assert "张帅坤" in html and "138****5678" in html and "13812345678" not in html
    assert "*" * 14 + people["worker_a"].id_last4 in html


@pytest.mark.parametrize("path", ["/workers/{id}", "/workers/{id}/edit"])
def test_hr_of_b_gets_404_for_workers_of_a(client, people, as_user, path):
    as_user(people["users"]["hr_b"])
    resp = client.get(path.format(id=people["worker_a"].id))
    assert resp.status_code == 404
    assert "张帅坤" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("action", ["edit", "deactivate", "reactivate"])
def test_hr_of_b_cannot_post_to_workers_of_a(client, people, as_user, action):
    token = as_user(people["users"]["hr_b"])
    worker = people["worker_a"]
    resp = client.post(f"/workers/{worker.id}/{action}", data=_form(people["trade"].id, csrf_token=token, name="被改"))
    assert resp.status_code == 404
    db.session.refresh(worker)
    assert worker.name == "张帅坤" and worker.is_active


@pytest.mark.parametrize("role", ["admin", "organizer", "judge", "worker"])
def test_other_roles_cannot_open_a_worker(client, people, as_user, role):
    as_user(people["users"][role])
    assert client.get(f"/workers/{people['worker_a'].id}").status_code == 403


def test_edit_form_does_not_contain_the_full_mobile_or_id(client, people, as_user):
    as_user(people["users"]["hr_a"])
    html = client.get(f"/workers/{people['worker_a'].id}/edit").get_data(as_text=True)
    assert 'value="张帅坤"' in html
    assert "13812345678" not in html and "138****5678" in html


def test_edit_keeps_id_and_mobile_when_left_empty(client, people, as_user):
    token = as_user(people["users"]["hr_a"])
    worker = people["worker_a"]
    old_hash, old_mobile = worker.id_hash, worker.mobile
    data = _form(people["trade"].id, csrf_token=token, name="张帅", id_number="", mobile="", gender="M",
                 birth_date="1990-01-01", skill_level="2")
    resp = client.post(f"/workers/{worker.id}/edit", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.refresh(worker)
    assert (worker.name, worker.id_hash, worker.mobile, worker.skill_level) == ("张帅", old_hash, old_mobile, 2)
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry.action == "worker_updated" and entry.details == {"fields": ["name", "skill_level"]}


def test_edit_can_remove_the_stored_mobile_and_a_new_number_wins_over_removing(client, people, as_user):
    token = as_user(people["users"]["hr_a"])
    worker = people["worker_a"]
    assert 'name="clear_mobile"' in client.get(f"/workers/{worker.id}/edit").get_data(as_text=True)
    base = dict(csrf_token=token, name=worker.name, id_number="", gender="M", birth_date="1990-01-01")
    resp = client.post(f"/workers/{worker.id}/edit", data=_form(people["trade"].id, mobile="13900001111",
                                                               clear_mobile="y", **base))
    assert resp.status_code == 302
    db.session.refresh(worker)
    assert worker.mobile == "13900001111"
    resp = client.post(f"/workers/{worker.id}/edit", data=_form(people["trade"].id, mobile="", clear_mobile="y", **base))
    assert resp.status_code == 302
    db.session.refresh(worker)
    assert worker.mobile is None
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry.action == "worker_updated" and "mobile" in entry.details["fields"]
    # nothing stored: no box to tick
    assert 'name="clear_mobile"' not in client.get(f"/workers/{worker.id}/edit").get_data(as_text=True)


def test_edit_error_rerenders(client, people, as_user):
    token = as_user(people["users"]["hr_a"])
    worker = people["worker_a"]
    resp = client.post(f"/workers/{worker.id}/edit", data=_form(people["trade"].id, csrf_token=token, name="",
                                                               id_number="", mobile="", gender="M", birth_date="1990-01-01"))
    assert resp.status_code == 422
    db.session.refresh(worker)
    assert worker.name == "张帅坤"


def test_deactivate_and_reactivate(client, people, as_user):
    token = as_user(people["users"]["hr_a"])
    worker = people["worker_a"]
    assert client.post(f"/workers/{worker.id}/deactivate", data={"csrf_token": token}).status_code == 302
    db.session.refresh(worker)
    assert worker.is_active is False
    assert "张*坤" in client.get("/workers?status=inactive").get_data(as_text=True)
    assert client.post(f"/workers/{worker.id}/reactivate", data={"csrf_token": token}).status_code == 302
    db.session.refresh(worker)
    assert worker.is_active is True


def test_deactivate_needs_csrf(client, people, as_user):
    as_user(people["users"]["hr_a"])
    client.post(f"/workers/{people['worker_a'].id}/deactivate")
    db.session.refresh(people["worker_a"])
    assert people["worker_a"].is_active is True


def test_hr_sees_consent_state_but_has_no_button(client, people, as_user):
    consents.record_consent(people["worker_a"], "publicity", True, actor_id=people["users"]["worker"].id)
    as_user(people["users"]["hr_a"])
    client.set_cookie("lang", "en")
    html = client.get(f"/workers/{people['worker_a'].id}").get_data(as_text=True)
    assert "Given" in html and "Not given" in html
    assert "/my/consents" not in html


# --- trades ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("admin", 200), ("organizer", 200), ("hr_a", 403), ("judge", 403), ("worker", 403),
])
def test_trade_pages_access(client, people, as_user, role, status):
    _login(people, as_user, role)
    assert client.get("/trades").status_code == status
    assert client.get("/trades/new").status_code == status
    assert client.get(f"/trades/{people['trade'].id}/edit").status_code == status


def test_trade_create_edit_deactivate(client, people, as_user):
    token = as_user(people["users"]["organizer"])
    html = client.get("/trades?q=电").get_data(as_text=True)
    assert "电工" in html and "焊工" not in html
    resp = client.post("/trades/new", data={"csrf_token": token, "code": "6-20-01-01", "name": "钳工"})
    assert resp.status_code == 302
    trade = db.session.scalar(select(Trade).where(Trade.code == "6-20-01-01"))
    resp = client.post(f"/trades/{trade.id}/edit", data={"csrf_token": token, "code": "6-20-01-02", "name": "钳工"})
    assert resp.status_code == 302
    assert client.post(f"/trades/{trade.id}/deactivate", data={"csrf_token": token}).status_code == 302
    db.session.refresh(trade)
    assert (trade.code, trade.is_active) == ("6-20-01-02", False)
    assert "钳工" in client.get("/trades?status=inactive").get_data(as_text=True)
    assert client.post(f"/trades/{trade.id}/reactivate", data={"csrf_token": token}).status_code == 302
    db.session.refresh(trade)
    assert trade.is_active


def test_trade_errors(client, people, as_user):
    token = as_user(people["users"]["admin"])
    client.set_cookie("lang", "en")
    resp = client.post("/trades/new", data={"csrf_token": token, "code": "63101", "name": "电工"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "An occupational code looks like 6-31-01-03" in html and "A trade with this name already exists." in html


# --- the worker's own profile ---------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [
    ("anonymous", 302), ("admin", 403), ("hr_a", 403), ("judge", 403), ("worker", 200),
])
def test_profile_access(client, people, as_user, role, status):
    _login(people, as_user, role)
    assert client.get("/my/profile").status_code == status


def test_profile_shows_own_data_masked_and_consents(client, people, as_user):
    as_user(people["users"]["worker"])
    client.set_cookie("lang", "en")
    html = client.get("/my/profile").get_data(as_text=True)
    assert "张帅坤" in html and people["ent_a"].name in html
    assert "*" * 14 + people["worker_a"].id_last4 in html and "138****5678" in html
    assert "Publicity" in html and "Talent pool" in html and "I consent" in html
    assert "No changes yet." in html


def test_profile_of_unlinked_worker_user(client, people, as_user, create_user):
    as_user(create_user("worker"))
    resp = client.get("/my/profile")
    assert resp.status_code == 404


def test_worker_grants_and_withdraws_consent(client, people, as_user):
    token = as_user(people["users"]["worker"])
    worker = people["worker_a"]
    resp = client.post("/my/consents", data={"csrf_token": token, "purpose": "talent_pool", "granted": "1"})
    assert resp.status_code == 302
    db.session.refresh(worker)
    assert worker.talent_pool_consent_at is not None and worker.publicity_consent_at is None
    client.set_cookie("lang", "en")
    html = client.get("/my/profile").get_data(as_text=True)
    assert "Withdraw consent" in html and "Given" in html
    client.post("/my/consents", data={"csrf_token": token, "purpose": "talent_pool", "granted": "0"})
    db.session.refresh(worker)
    assert worker.talent_pool_consent_at is None
    events = db.session.scalars(select(Consent.is_granted).where(Consent.worker_id == worker.id)).all()
    assert sorted(events) == [False, True]


@pytest.mark.parametrize("data", [
    {"purpose": "publicity", "granted": "1"},            # no CSRF token
    {"purpose": "marketing", "granted": "1", "csrf": 1},
    {"purpose": "publicity", "granted": "yes", "csrf": 1},
])
def test_bad_consent_posts_change_nothing(client, people, as_user, data):
    token = as_user(people["users"]["worker"])
    if data.pop("csrf", None):
        data["csrf_token"] = token
    resp = client.post("/my/consents", data=data)
    assert resp.status_code in (302, 400)
    db.session.refresh(people["worker_a"])
    assert people["worker_a"].publicity_consent_at is None


@pytest.mark.parametrize("role", ["hr_a", "admin", "organizer"])
def test_others_cannot_post_consents(client, people, as_user, role):
    token = as_user(people["users"][role])
    assert client.post("/my/consents", data={"csrf_token": token, "purpose": "publicity", "granted": "1"}).status_code == 403
    db.session.refresh(people["worker_a"])
    assert people["worker_a"].publicity_consent_at is None
