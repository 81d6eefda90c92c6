"""Use cases of a transfer between employers. Services flush; the request commits.

The flow, each step audited:

1. **Request** (HR of the new enterprise): they type the person's document type, number and name. If a worker of
   another enterprise holds that number under that name, a pending ``Transfer`` is created. Nothing of the person is
   shown to the requester beyond what they typed (the name as typed, the masked number): not the current employer,
   not the record. A number nobody holds and a name that does not match get the same answer.
2. **Decision** by the worker (their own account) or the HR of the worker's current enterprise: confirm or decline.
   Confirming ends the current employment and starts one at the new enterprise (``employment.move``): the person
   keeps their id, history, certificates and results, the old HR loses access and the new HR gains it (HR scope
   reads the current employment). The new HR cannot decide its own request.
3. **Cancel** (HR of the new enterprise) while it is pending.

Who may see a transfer: the requesting side (HR of the new enterprise), the deciding side (HR of the enterprise the
worker is moving from) and the worker. Anyone else gets "not found", as for a worker of another enterprise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Role
from app.audit.services import record
from app.crypto import id_cipher
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.people import domain, employment
from app.people.labels import NAME_MESSAGES
from app.people.models import IdType, Transfer, Worker
from app.people.services import ValidationFailed, id_message, target_enterprise_id

PENDING = domain.TRANSFER_PENDING
LIST_LIMIT = 200


class PersonNotFound(DomainError):
    status = 404
    code = "person_not_found"


def _already_pending() -> Conflict:
    return Conflict(_l("A transfer of this person is already waiting for a decision."), code="transfer_pending")


# --- requesting ----------------------------------------------------------------------------------------------


def request_transfer(actor, enterprise_id: int | None, raw: dict[str, Any]) -> Transfer:
    """HR of the new enterprise asks to take over the person with this document number and name."""
    to_id = target_enterprise_id(actor, enterprise_id)
    errors: dict[str, list[Any]] = {}
    name = domain.normalize_name(raw.get("name") or "")
    reason = domain.validate_name(name)
    if reason:
        errors["name"] = [NAME_MESSAGES[reason]]
    id_type = raw.get("id_type") or IdType.RESIDENT.value
    number = domain.normalize_id_number(raw.get("id_number") or "")
    if id_type not in {t.value for t in IdType}:
        errors["id_type"] = [_l("Please choose a document type.")]
    else:
        reason = "missing" if not number else domain.validate_id_number(id_type, number)
        if reason:
            errors["id_number"] = [id_message(id_type, reason)]
    if errors:
        raise ValidationFailed(errors)
    worker = db.session.scalar(select(Worker).where(Worker.id_hash == id_cipher().hash(id_type, number)))
    if worker is None or not domain.same_name(name, worker.name):
        # One answer for "nobody has this number" and "someone else's name": the number alone confirms no name.
        message = _l("No registered person has this document number and name. Check both; a person who is not "
                     "registered yet is registered as a new worker.")
        raise PersonNotFound(message, details={"id_number": [str(message)]})
    if worker.enterprise_id == to_id:
        raise Conflict(_l("This person already works for this enterprise."), code="already_employed")
    if db.session.scalar(select(Transfer.id).where(Transfer.worker_id == worker.id, Transfer.status == PENDING)):
        raise _already_pending()
    transfer = Transfer(worker_id=worker.id, from_enterprise_id=worker.enterprise_id, to_enterprise_id=to_id,
                        status=PENDING, name_given=name, requested_by_id=actor.id)
    db.session.add(transfer)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # a concurrent request for the same person took the one pending slot
        raise _already_pending() from exc
    record("transfer_requested", transfer, {"worker_id": worker.id, "from_enterprise_id": transfer.from_enterprise_id,
                                            "to_enterprise_id": to_id})
    return transfer


# --- who is who ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sides:
    requester: bool  # HR of the enterprise the worker moves to
    holder: bool  # HR of the enterprise the worker moves from
    worker: bool  # the worker, with their own account

    @property
    def any(self) -> bool:
        return self.requester or self.holder or self.worker

    @property
    def decides(self) -> bool:
        return self.holder or self.worker


def sides(actor, transfer: Transfer) -> Sides:
    hr = actor.hr_enterprise_ids
    return Sides(requester=transfer.to_enterprise_id in hr, holder=transfer.from_enterprise_id in hr,
                 worker=actor.has_role(Role.WORKER) and actor.worker_id == transfer.worker_id)


def get_transfer(actor, transfer_id: int, *, for_update: bool = False) -> Transfer:
    stmt = select(Transfer).where(Transfer.id == transfer_id)
    if for_update:
        stmt = stmt.with_for_update(of=Transfer)
    transfer = db.session.scalar(stmt)
    if transfer is None or not sides(actor, transfer).any:
        raise NotFound(_l("No such transfer."))
    return transfer


def list_transfers(actor) -> list[Transfer]:
    """The transfers the actor is a side of (HR: of their enterprises, either way; a worker: their own), pending first,
    newest first. One query."""
    clauses = []
    hr = actor.hr_enterprise_ids
    if hr:
        clauses += [Transfer.to_enterprise_id.in_(hr), Transfer.from_enterprise_id.in_(hr)]
    if actor.has_role(Role.WORKER) and actor.worker_id:
        clauses.append(Transfer.worker_id == actor.worker_id)
    if not clauses:
        raise PermissionDenied()
    return list(db.session.scalars(
        select(Transfer).where(or_(*clauses))
        .order_by(Transfer.status != PENDING, Transfer.requested_at.desc(), Transfer.id.desc()).limit(LIST_LIMIT)))


# --- deciding ----------------------------------------------------------------------------------------------------


def _transition(actor, transfer_id: int, event: str) -> tuple[Transfer, Sides]:
    """Refusals in this order: not a side (not found), no longer pending (conflict), not this side's step (denied)."""
    transfer = get_transfer(actor, transfer_id, for_update=True)
    status = domain.transfer_transition(transfer.status, event)
    if status is None:
        raise Conflict(_l("This transfer was already decided."), code="transfer_decided")
    side = sides(actor, transfer)
    if event == "cancel" and not side.requester:
        raise PermissionDenied(_l("Only the enterprise that asked for the transfer can cancel it."))
    if event != "cancel" and not side.decides:
        raise PermissionDenied(_l("The worker or the HR of their current enterprise decides about a transfer."))
    now = utcnow()
    done = db.session.execute(
        update(Transfer).where(Transfer.id == transfer.id, Transfer.status == transfer.status)
        .values(status=status, decided_by_id=actor.id, decided_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict(_l("This transfer was already decided."), code="transfer_decided")
    db.session.refresh(transfer)
    return transfer, side


def _details(transfer: Transfer, side: Sides | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"worker_id": transfer.worker_id, "from_enterprise_id": transfer.from_enterprise_id,
                           "to_enterprise_id": transfer.to_enterprise_id}
    if side is not None:
        out["by"] = "worker" if side.worker else "hr"
    return out


def confirm_transfer(actor, transfer_id: int) -> Transfer:
    """The worker or the current employer's HR agrees: the worker moves to the new enterprise."""
    transfer, side = _transition(actor, transfer_id, "confirm")
    worker = transfer.worker
    if worker.enterprise_id != transfer.from_enterprise_id:  # cannot happen while the request is the one pending
        raise Conflict(_l("The worker has changed enterprise since the request."), code="transfer_stale")
    employment.move(worker, transfer.to_enterprise_id)
    worker.is_active = True
    db.session.flush()
    record("transfer_confirmed", transfer, _details(transfer, side))
    return transfer


def decline_transfer(actor, transfer_id: int) -> Transfer:
    transfer, side = _transition(actor, transfer_id, "decline")
    record("transfer_declined", transfer, _details(transfer, side))
    return transfer


def cancel_transfer(actor, transfer_id: int) -> Transfer:
    transfer, _side = _transition(actor, transfer_id, "cancel")
    record("transfer_cancelled", transfer, _details(transfer))
    return transfer


# --- what each side is shown --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransferView:
    """A transfer as one actor may see it. The requesting side sees what it typed and its own enterprise; the
    worker's name, their current enterprise and the record only once the worker is theirs."""

    id: int
    status: str
    name: str  # the requester: the name as typed; the deciding sides: the worker's name
    id_masked: str
    to_enterprise_id: int
    to_enterprise_name: str
    from_enterprise_id: int | None
    from_enterprise_name: str | None
    worker_id: int | None  # set when the actor may open the worker's record
    requested_at: datetime
    decided_at: datetime | None
    can_decide: bool
    can_cancel: bool
    incoming: bool  # the actor is asked to decide (or was)


def view(actor, transfer: Transfer) -> TransferView:
    side = sides(actor, transfer)
    knows_person = side.holder or side.worker
    worker = transfer.worker
    pending = transfer.status == PENDING
    hr_of_worker = worker.enterprise_id in actor.hr_enterprise_ids
    return TransferView(
        id=transfer.id, status=transfer.status, name=worker.name if knows_person else transfer.name_given,
        id_masked=domain.mask_id(worker.id_last4, worker.id_type),
        to_enterprise_id=transfer.to_enterprise_id, to_enterprise_name=transfer.to_enterprise.name,
        from_enterprise_id=transfer.from_enterprise_id if knows_person else None,
        from_enterprise_name=transfer.from_enterprise.name if knows_person else None,
        worker_id=worker.id if hr_of_worker or side.worker else None,
        requested_at=transfer.requested_at, decided_at=transfer.decided_at,
        can_decide=pending and side.decides, can_cancel=pending and side.requester, incoming=side.decides)
