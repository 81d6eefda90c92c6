"""Transfers between employers: the new HR asks with the ID number and name, the worker or the old HR confirms or
declines, and the person keeps one record (id, history, entries) while access moves from the old HR to the new.
Every role is tried, including another enterprise's HR and a stranger."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.audit.models import AuditEntry
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.people import employment
from app.people import services as people_services
from app.people.models import Transfer, Worker
from app.people.transfers import services
from tests.conftest import make_resident_id

MOVER_ID = make_resident_id(321, date(1990, 2, 3))


@pytest.fixture
def move(people, create_enterprise, create_worker, create_user):
    """A worker of A (with an account) whom B wants; C is a third enterprise; a stranger is another worker."""
    mover = create_worker(enterprise=people["ent_a"], name="王转岗", id_number=MOVER_ID, trade=people["trade"])
    ent_c = create_enterprise(name="丙重工")
    users = dict(people["users"])
    users.update(mover=create_user(Role.WORKER, worker=mover), hr_c=create_user(Role.HR, enterprise=ent_c),
                 stranger=users["worker"])  # worker_a's account: a worker, not this one
    return {"mover": mover, "ent_a": people["ent_a"], "ent_b": people["ent_b"], "ent_c": ent_c, "users": users}


def _ask(move, who: str = "hr_b", **raw) -> Transfer:
    body = {"id_type": "resident", "id_number": MOVER_ID, "name": "王转岗"}
    body.update(raw)
    return services.request_transfer(move["users"][who], None, body)


def _actions(target) -> list[str]:
    return [a for (a,) in db.session.execute(select(AuditEntry.action).where(
        AuditEntry.target_type == "transfer", AuditEntry.target_id == str(target.id)).order_by(AuditEntry.id))]


# --- requesting --------------------------------------------------------------------------------------------


def test_a_request_shows_the_new_hr_nothing_but_what_it_typed(move):
    transfer = _ask(move, name=" 王 转岗 ")  # spacing is forgiven
    assert (transfer.status, transfer.from_enterprise_id, transfer.to_enterprise_id) == (
        "pending", move["ent_a"].id, move["ent_b"].id)
    seen = services.view(move["users"]["hr_b"], transfer)
    assert seen.name == "王 转岗" and seen.id_masked.endswith(MOVER_ID[-4:])
    assert seen.from_enterprise_id is None and seen.from_enterprise_name is None and seen.worker_id is None
    assert (seen.can_cancel, seen.can_decide) == (True, False)
    assert _actions(transfer) == ["transfer_requested"]
    assert move["mover"].enterprise_id == move["ent_a"].id  # nothing moves yet
    with pytest.raises(NotFound):
        people_services.get_worker(move["users"]["hr_b"], move["mover"].id)


def test_a_wrong_name_and_an_unknown_number_get_the_same_answer(move):
    answers = []
    for raw in ({"name": "王转刚"}, {"id_number": make_resident_id(322, date(1990, 2, 3))}):
        with pytest.raises(DomainError) as refused:
            _ask(move, **raw)
        answers.append((refused.value.status, refused.value.code, str(refused.value.message), refused.value.details))
    assert answers[0] == answers[1] and answers[0][:2] == (404, "person_not_found")


def test_an_invalid_request_names_its_fields(move):
    with pytest.raises(DomainError) as refused:
        _ask(move, id_number="110105199002030000", name="")
    assert refused.value.status == 422 and set(refused.value.details) == {"id_number", "name"}


def test_one_pending_request_per_person(move):
    with pytest.raises(Conflict) as own:
        _ask(move, who="hr_a")
    assert own.value.code == "already_employed"
    _ask(move)
    with pytest.raises(Conflict) as twice:
        _ask(move, who="hr_c")
    assert twice.value.code == "transfer_pending"


@pytest.mark.parametrize("role", ["admin", "organizer", "judge", "worker", "mover"])
def test_only_hr_asks(move, role):
    with pytest.raises(PermissionDenied):
        _ask(move, who=role)


# --- deciding ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("decider", ["mover", "hr_a"])
def test_confirming_moves_the_person_and_the_access(move, decider):
    mover, users = move["mover"], move["users"]
    started = employment.current_employment(mover).started_on
    transfer = _ask(move)
    services.confirm_transfer(users[decider], transfer.id)
    assert transfer.status == "confirmed" and transfer.decided_by_id == users[decider].id
    assert mover.enterprise_id == move["ent_b"].id and mover.is_active
    assert [(e.enterprise_id, e.started_on, e.ended_on) for e in employment.history(mover)] == [
        (move["ent_b"].id, employment.today(), None), (move["ent_a"].id, started, employment.today())]
    assert employment.mismatches([mover.id]) == []
    assert people_services.get_worker(users["hr_b"], mover.id).id == mover.id  # the new HR gains the record…
    with pytest.raises(NotFound):
        people_services.get_worker(users["hr_a"], mover.id)  # …and the old one loses it
    assert services.view(users["hr_b"], transfer).worker_id == mover.id
    assert services.view(users["hr_a"], transfer).worker_id is None
    assert _actions(transfer) == ["transfer_requested", "transfer_confirmed"]
    details = db.session.scalar(select(AuditEntry.details).where(AuditEntry.action == "transfer_confirmed"))
    assert details["by"] == ("worker" if decider == "mover" else "hr")


def test_a_moved_person_keeps_their_entries_with_the_old_employer(move):
    from competitions.models import Competition, Entry

    competition = Competition(name="旧竞赛", level="city", status="published")
    db.session.add(competition)
    db.session.flush()
    entry = Entry(competition_id=competition.id, worker_id=move["mover"].id, enterprise_id=move["ent_a"].id,
                  status="approved", code="001")
    db.session.add(entry)
    db.session.flush()
    services.confirm_transfer(move["users"]["mover"], _ask(move).id)
    db.session.expire_all()
    assert (entry.worker_id, entry.enterprise_id) == (move["mover"].id, move["ent_a"].id)
    assert db.session.scalar(select(Worker.id).where(Worker.id_hash == move["mover"].id_hash)) == move["mover"].id


@pytest.mark.parametrize("decider", ["mover", "hr_a"])
def test_declining_moves_nothing(move, decider):
    transfer = _ask(move)
    services.decline_transfer(move["users"][decider], transfer.id)
    assert transfer.status == "declined" and move["mover"].enterprise_id == move["ent_a"].id
    assert len(employment.history(move["mover"])) == 1
    with pytest.raises(Conflict):
        services.confirm_transfer(move["users"]["mover"], transfer.id)
    _ask(move, who="hr_c")  # the person is free for the next request
    assert _actions(transfer) == ["transfer_requested", "transfer_declined"]


def test_the_new_hr_cancels_but_never_decides(move):
    transfer = _ask(move)
    for action in (services.confirm_transfer, services.decline_transfer):
        with pytest.raises(PermissionDenied):
            action(move["users"]["hr_b"], transfer.id)
    with pytest.raises(PermissionDenied):
        services.cancel_transfer(move["users"]["hr_a"], transfer.id)
    services.cancel_transfer(move["users"]["hr_b"], transfer.id)
    assert transfer.status == "cancelled" and move["mover"].enterprise_id == move["ent_a"].id
    with pytest.raises(Conflict):
        services.cancel_transfer(move["users"]["hr_b"], transfer.id)
    assert _actions(transfer) == ["transfer_requested", "transfer_cancelled"]


@pytest.mark.parametrize("role", ["hr_c", "stranger", "admin", "organizer", "judge"])
def test_anyone_else_finds_no_transfer(move, role):
    transfer = _ask(move)
    user = move["users"][role]
    for action in (services.confirm_transfer, services.decline_transfer, services.cancel_transfer):
        with pytest.raises(NotFound):
            action(user, transfer.id)
    with pytest.raises(NotFound):
        services.get_transfer(user, transfer.id)
    assert transfer.status == "pending"


def test_the_lists_of_each_side(move):
    transfer = _ask(move)
    users = move["users"]
    assert [t.id for t in services.list_transfers(users["hr_b"])] == [transfer.id]
    assert [t.id for t in services.list_transfers(users["hr_a"])] == [transfer.id]
    assert [t.id for t in services.list_transfers(users["mover"])] == [transfer.id]
    assert services.list_transfers(users["hr_c"]) == []
    assert services.list_transfers(users["stranger"]) == []
    with pytest.raises(PermissionDenied):
        services.list_transfers(users["judge"])
    holder = services.view(users["hr_a"], transfer)
    assert (holder.name, holder.from_enterprise_name, holder.to_enterprise_name) == (
        "王转岗", move["ent_a"].name, move["ent_b"].name)
    assert holder.can_decide and holder.incoming and not holder.can_cancel


def test_the_database_keeps_one_pending_transfer_per_worker(move):
    from sqlalchemy.exc import IntegrityError

    transfer = _ask(move)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Transfer(worker_id=transfer.worker_id, from_enterprise_id=move["ent_a"].id,
                                to_enterprise_id=move["ent_c"].id, name_given="王转岗",
                                requested_by_id=move["users"]["hr_c"].id))
        db.session.flush()


# --- pages and API -------------------------------------------------------------------------------------------


def test_the_html_flow(client, move, as_user):
    users, mover = move["users"], move["mover"]
    token = as_user(users["hr_b"])
    page = client.get("/workers/transfers")
    assert page.status_code == 200
    resp = client.post("/workers/transfers", data={"csrf_token": token, "id_type": "resident", "id_number": MOVER_ID,
                                                   "name": "王转岗"})
    assert resp.status_code == 302
    html = client.get("/workers/transfers").get_data(as_text=True)
    assert "王转岗" in html and move["ent_a"].name not in html
    transfer = db.session.scalar(select(Transfer).where(Transfer.worker_id == mover.id))

    as_user(users["mover"])
    html = client.get("/my/profile").get_data(as_text=True)
    assert move["ent_b"].name in html and f"/transfers/{transfer.id}/confirm" in html
    token = as_user(users["mover"])
    resp = client.post(f"/transfers/{transfer.id}/confirm", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/my/profile")

    as_user(users["hr_a"])
    assert client.get(f"/workers/{mover.id}").status_code == 404
    as_user(users["hr_b"])
    assert client.get(f"/workers/{mover.id}").status_code == 200


def test_a_refused_request_does_not_show_the_valid_number_again(client, move, as_user):
    token = as_user(move["users"]["hr_b"])
    resp = client.post("/workers/transfers", data={"csrf_token": token, "id_type": "resident", "id_number": MOVER_ID,
                                                   "name": "别人"})
    assert resp.status_code == 404
    assert MOVER_ID not in resp.get_data(as_text=True)


def test_the_old_hr_confirms_on_its_page(client, move, as_user):
    transfer = _ask(move)
    token = as_user(move["users"]["hr_a"])
    html = client.get("/workers/transfers").get_data(as_text=True)
    assert "王转岗" in html and move["ent_b"].name in html
    resp = client.post(f"/transfers/{transfer.id}/decline", data={"csrf_token": token})
    assert resp.status_code == 302 and transfer.status == "declined"


def test_the_api(client, move, as_user):
    users = move["users"]
    token = as_user(users["hr_b"])
    resp = client.post("/api/v1/transfers", json={"id_number": MOVER_ID, "name": "王转岗"}, headers={"X-CSRFToken": token})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "pending" and body["from_enterprise_id"] is None and body["worker_id"] is None
    assert "id_number" not in body and move["ent_a"].name not in resp.get_data(as_text=True)
    tid = body["id"]
    wrong = client.post("/api/v1/transfers", json={"id_number": MOVER_ID, "name": "别人"}, headers={"X-CSRFToken": token})
    assert wrong.status_code == 404 and wrong.get_json()["error"]["code"] == "person_not_found"
    assert client.post(f"/api/v1/transfers/{tid}/confirm", headers={"X-CSRFToken": token}).status_code == 403

    token = as_user(users["hr_c"])
    assert client.get(f"/api/v1/transfers/{tid}").status_code == 404
    assert client.post(f"/api/v1/transfers/{tid}/confirm", headers={"X-CSRFToken": token}).status_code == 404

    token = as_user(users["mover"])
    listed = client.get("/api/v1/transfers").get_json()["items"]
    assert [t["id"] for t in listed] == [tid] and listed[0]["from_enterprise_name"] == move["ent_a"].name
    done = client.post(f"/api/v1/transfers/{tid}/confirm", headers={"X-CSRFToken": token})
    assert done.status_code == 200 and done.get_json()["status"] == "confirmed"
    again = client.post(f"/api/v1/transfers/{tid}/decline", headers={"X-CSRFToken": token})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "transfer_decided"

    as_user(users["hr_b"])
    seen = client.get(f"/api/v1/transfers/{tid}").get_json()
    assert seen["worker_id"] == move["mover"].id
    assert client.get(f"/api/v1/workers/{move['mover'].id}").status_code == 200
