"""Use cases for workers, trades and consents. Services flush; the request commits.

HR manages the workers of its own enterprises only: every load goes through ``hr_enterprise_ids``
and a worker of another enterprise is ``NotFound`` (never a hint that it exists). ID numbers are
validated, then kept only as a keyed hash (duplicates, lookup), the last four characters and an
encrypted copy; nothing here returns or audits the number itself. Consents are ``app.people.consents``,
employments ``app.people.employment``, transfers ``app.people.transfers``. Organizers and admins manage the
trade catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, defaultload, lazyload, undefer_group

from app.accounts.models import Role
from app.audit.services import record
from app.crypto import id_cipher
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.orgs.models import Enterprise
from app.people import domain
from app.people.labels import (
    BIRTH_DATE_MESSAGES,
    GENDER_MESSAGES,
    MISMATCH_MESSAGES,
    MOBILE_MESSAGES,
    NAME_MESSAGES,
    OTHER_ID_MESSAGES,
    RESIDENT_ID_MESSAGES,
    TRADE_CODE_MESSAGES,
)
from app.people.models import IdType, Trade, Worker

TRADE_MANAGERS = (Role.ORGANIZER, Role.ADMIN)
WORKER_FIELDS = ("name", "gender", "birth_date", "id_type", "id_number", "mobile", "trade_id", "skill_level")
STATUS_FILTERS = {"active": True, "inactive": False, "all": None}


class ValidationFailed(DomainError):
    """Several fields are wrong; ``details`` maps each field name to its translated messages."""

    status = 422
    code = "validation_error"

    def __init__(self, errors: dict[str, list[Any]]):
        super().__init__(_l("Please correct the marked fields."), details={k: [str(m) for m in v] for k, v in errors.items()})


def id_message(id_type: str, reason: str) -> Any:
    table = RESIDENT_ID_MESSAGES if id_type == IdType.RESIDENT else OTHER_ID_MESSAGES
    return table.get(reason) or table["format"]


# --- HR scope ------------------------------------------------------------------------------------


def hr_enterprises(actor) -> list[Enterprise]:
    """The enterprises the actor is HR of, by name (one query)."""
    ids = actor.hr_enterprise_ids
    if not ids:
        return []
    stmt = (select(Enterprise).where(Enterprise.id.in_(ids)).options(lazyload(Enterprise.chains))
            .order_by(Enterprise.name, Enterprise.id))
    return list(db.session.scalars(stmt))


def _require_hr(actor) -> set[int]:
    ids = set(actor.hr_enterprise_ids)
    if not ids:
        raise PermissionDenied()
    return ids


def _scope(actor, enterprise_id: int | None) -> set[int]:
    """The enterprise ids a request works on: one chosen (must be the actor's) or all of the actor's."""
    ids = _require_hr(actor)
    if enterprise_id is None:
        return ids
    if enterprise_id not in ids:
        raise NotFound()
    return {enterprise_id}


def chosen_enterprise_id(actor, enterprise_id: int | None) -> int:
    """The HR actor's enterprise a request acts for (an import of workers, a batch of certificates): the chosen one,
    which must be theirs, or their only one."""
    ids = _require_hr(actor)
    if enterprise_id is None:
        if len(ids) == 1:
            return next(iter(ids))
        message = _l("Please choose the enterprise.")
        raise DomainError(message, code="enterprise_required", details={"enterprise_id": [str(message)]})
    if enterprise_id not in ids:
        raise NotFound()
    return enterprise_id


def target_enterprise_id(actor, enterprise_id: int | None) -> int:
    """The enterprise a new worker joins (``chosen_enterprise_id``, its refusal as a form's field error)."""
    if enterprise_id is None and len(_require_hr(actor)) > 1:
        raise ValidationFailed({"enterprise_id": [_l("Please choose the enterprise.")]})
    return chosen_enterprise_id(actor, enterprise_id)


# --- reading workers -------------------------------------------------------------------------------


def _search_clause(q: str):
    clauses = [Worker.name.icontains(q, autoescape=True), Trade.name.icontains(q, autoescape=True),
               Trade.code.icontains(q, autoescape=True)]
    digits = domain.normalize_mobile(q)
    if digits.isdigit() and len(digits) >= 3:
        clauses.append(Worker.mobile.contains(digits, autoescape=True))
    number = domain.normalize_id_number(q)
    if len(number) == 4:
        clauses.append(Worker.id_last4 == number)
    # Deliberately no search by a whole ID number: it would travel in URLs and end up in logs.
    return or_(*clauses)


def list_workers(actor, *, enterprise_id: int | None = None, q: str = "", status: str = "active",
                 trade_id: int | None = None, page: int = 1, per_page: int = 20):
    """One page of the actor's workers: a count and one joined select, whatever the page size."""
    scope = _scope(actor, enterprise_id)
    stmt = (select(Worker).outerjoin(Worker.trade)
            .options(contains_eager(Worker.trade), defaultload(Worker.enterprise).lazyload(Enterprise.chains),
                     undefer_group("consents"))
            .where(Worker.enterprise_id.in_(scope)))
    active = STATUS_FILTERS.get(status, True)
    if active is not None:
        stmt = stmt.where(Worker.is_active.is_(active))
    if trade_id:
        stmt = stmt.where(Worker.trade_id == trade_id)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(_search_clause(q))
    stmt = stmt.order_by(Worker.name, Worker.id)
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def get_worker(actor, worker_id: int) -> Worker:
    """A worker of one of the actor's enterprises; anything else is NotFound."""
    ids = _require_hr(actor)
    worker = db.session.get(Worker, worker_id)
    if worker is None or worker.enterprise_id not in ids:
        raise NotFound()
    return worker


def own_worker(actor) -> Worker:
    """The worker record linked to the actor's user (role worker)."""
    if not actor.has_role(Role.WORKER):
        raise PermissionDenied()
    worker = db.session.get(Worker, actor.worker_id) if actor.worker_id else None
    if worker is None:
        raise NotFound(_l("Your account is not linked to a worker record. Please ask your HR department."))
    return worker


# --- validating worker data ------------------------------------------------------------------------


@dataclass
class _Clean:
    values: dict[str, Any]
    id_number: str | None  # normalized, only when (re-)entered


def _clean_worker(raw: dict[str, Any], current: Worker | None, today: date | None = None) -> _Clean:
    """Validate the given fields (all of them on create); collect every error before raising."""
    errors: dict[str, list[Any]] = {}
    out: dict[str, Any] = {}
    creating = current is None

    def err(field_name: str, message: Any) -> None:
        errors.setdefault(field_name, []).append(message)

    if creating or "name" in raw:
        name = " ".join((raw.get("name") or "").split())
        reason = domain.validate_name(name)
        if reason:
            err("name", NAME_MESSAGES[reason])
        out["name"] = name

    id_type = raw.get("id_type") if "id_type" in raw else (current.id_type if current else None)
    id_type = id_type or IdType.RESIDENT.value
    if id_type not in {t.value for t in IdType}:
        err("id_type", _l("Please choose a document type."))
    elif creating or "id_type" in raw:
        out["id_type"] = id_type

    number = domain.normalize_id_number(raw.get("id_number") or "")
    if not number and (creating or ("id_type" in raw and current is not None and id_type != current.id_type)):
        err("id_number", _l("Please re-enter the document number when changing the document type.") if current
            else id_message(id_type, "missing"))
    if number and "id_type" not in errors:
        reason = domain.validate_id_number(id_type, number, today)
        if reason:
            err("id_number", id_message(id_type, reason))
    valid_resident = bool(number) and "id_number" not in errors and id_type == IdType.RESIDENT
    # Empty gender/birth date will be read from the resident ID once its own error is fixed.
    waits_for_id = bool(number) and "id_number" in errors and id_type == IdType.RESIDENT

    if creating or "gender" in raw:
        gender = (raw.get("gender") or "").strip().upper() or None
        if gender is None and valid_resident:
            gender = domain.resident_id_gender(number)
        reason = domain.validate_gender(gender)
        if reason and not (reason == "missing" and waits_for_id):
            err("gender", GENDER_MESSAGES[reason])
        out["gender"] = gender

    if creating or "birth_date" in raw:
        born = raw.get("birth_date")
        if born is None and valid_resident:
            born = domain.resident_id_birth_date(number)
        reason = domain.validate_birth_date(born, today)
        if reason and not (reason == "missing" and waits_for_id):
            err("birth_date", BIRTH_DATE_MESSAGES[reason])
        out["birth_date"] = born

    if valid_resident:
        # Compare with what the record will hold: given values, else the current ones.
        born = out.get("birth_date", current.birth_date if current else None)
        gender = out.get("gender", current.gender if current else None)
        for field_name in domain.resident_id_mismatches(number, born, gender):
            if field_name not in errors:
                err(field_name, MISMATCH_MESSAGES[field_name])

    if creating or "mobile" in raw:
        mobile = domain.normalize_mobile(raw.get("mobile") or "") or None
        if mobile is not None and domain.validate_mobile(mobile):
            err("mobile", MOBILE_MESSAGES["format"])
        out["mobile"] = mobile

    if creating or "trade_id" in raw:
        trade_id = raw.get("trade_id") or None
        if trade_id is None:
            err("trade_id", _l("Please choose the trade."))
        else:
            trade = db.session.get(Trade, trade_id)
            keeps_current = current is not None and current.trade_id == trade_id
            if trade is None or not (trade.is_active or keeps_current):
                err("trade_id", _l("This trade does not exist or is no longer in use."))
        out["trade_id"] = trade_id

    if creating or "skill_level" in raw:
        level = raw.get("skill_level") or None
        if domain.validate_skill_level(level):
            err("skill_level", _l("The skill level is 1 (highest) to 5."))
        out["skill_level"] = level

    if errors:
        raise ValidationFailed(errors)
    return _Clean(out, number or None)


def _already_registered(id_hash: str, enterprise_ids: set[int], exclude_id: int | None) -> None:
    stmt = select(Worker.id, Worker.enterprise_id).where(Worker.id_hash == id_hash)
    if exclude_id is not None:
        stmt = stmt.where(Worker.id != exclude_id)
    row = db.session.execute(stmt).first()
    if row is None:
        return
    # Name no other enterprise: that would tell HR where a person works.
    if row.enterprise_id in enterprise_ids:
        message = _l("This ID number is already registered for a worker of your enterprise "
                     "(look in the list, including inactive workers).")
    else:
        message = _l("This ID number is already registered. If the person now works for you, ask for their "
                     "transfer on the Transfers page: they keep one record.")
    raise Conflict(message, code="id_registered", details={"id_number": [str(message)]})


def _store_id(values: dict[str, Any], id_type: str, number: str) -> None:
    cipher = id_cipher()
    values["id_hash"] = cipher.hash(id_type, number)
    values["id_last4"] = number[-4:]
    values["id_encrypted"] = cipher.encrypt(number)


def _flush_unique() -> None:
    """Flush; a concurrent registration of the same ID hash becomes the same Conflict as the check.

    The session is then unusable until rolled back, which the error handler (or the view) does.
    """
    try:
        db.session.flush()
    except IntegrityError as exc:
        if "id_hash" not in str(exc.orig):
            raise
        message = _l("This ID number is already registered.")
        raise Conflict(message, code="id_registered", details={"id_number": [str(message)]}) from exc


def create_worker(actor, enterprise_id: int | None, raw: dict[str, Any]) -> Worker:
    ent_id = target_enterprise_id(actor, enterprise_id)
    clean = _clean_worker(raw, None)
    values = clean.values
    assert clean.id_number is not None
    _store_id(values, values["id_type"], clean.id_number)
    _already_registered(values["id_hash"], actor.hr_enterprise_ids, None)
    worker = Worker(enterprise_id=ent_id, is_active=True, **values)
    db.session.add(worker)
    _flush_unique()
    given = sorted({k for k, v in values.items() if k in WORKER_FIELDS and v is not None} | {"id_number"})
    record("worker_created", worker, {"enterprise_id": ent_id, "fields": given})
    return worker


def update_worker(actor, worker: Worker, raw: dict[str, Any]) -> Worker:
    """Change the given fields (absent keys stay). An empty ``id_number`` keeps the stored ID."""
    if worker.enterprise_id not in _require_hr(actor):
        raise NotFound()
    raw = {k: v for k, v in raw.items() if k in WORKER_FIELDS}
    clean = _clean_worker(raw, worker)
    values = clean.values
    changed = sorted(k for k, v in values.items() if getattr(worker, k) != v)
    if clean.id_number is not None:
        id_type = values.get("id_type", worker.id_type)
        new_hash = id_cipher().hash(id_type, clean.id_number)
        if new_hash != worker.id_hash:
            _already_registered(new_hash, actor.hr_enterprise_ids, worker.id)
            _store_id(values, id_type, clean.id_number)
            changed = sorted(set(changed) | {"id_number"})
    if not changed:
        return worker
    for key, value in values.items():
        setattr(worker, key, value)
    _flush_unique()
    record("worker_updated", worker, {"fields": changed})
    return worker


def set_worker_active(actor, worker: Worker, active: bool) -> Worker:
    """Deactivate (left the enterprise, …) or reactivate; workers are never deleted."""
    if worker.enterprise_id not in _require_hr(actor):
        raise NotFound()
    if worker.is_active == active:
        return worker
    worker.is_active = active
    db.session.flush()
    record("worker_reactivated" if active else "worker_deactivated", worker)
    return worker


# --- trades ----------------------------------------------------------------------------------------


def can_manage_trades(actor) -> bool:
    return actor.has_role(*TRADE_MANAGERS)


def _require_trade_manager(actor) -> None:
    if not can_manage_trades(actor):
        raise PermissionDenied()


def list_trades(*, q: str = "", status: str = "active", page: int = 1, per_page: int = 50):
    stmt = select(Trade)
    active = STATUS_FILTERS.get(status, True)
    if active is not None:
        stmt = stmt.where(Trade.is_active.is_(active))
    q = (q or "").strip()
    if q:
        stmt = stmt.where(or_(Trade.name.icontains(q, autoescape=True), Trade.code.icontains(q, autoescape=True)))
    return db.paginate(stmt.order_by(Trade.code, Trade.id), page=page, per_page=per_page, error_out=False)


def trade_choices(include_id: int | None = None) -> list[tuple[int, str]]:
    """Active trades for a select box, plus ``include_id`` (a worker's current, perhaps inactive, trade)."""
    stmt = select(Trade).order_by(Trade.code)
    stmt = stmt.where(or_(Trade.is_active.is_(True), Trade.id == include_id) if include_id else Trade.is_active.is_(True))
    return [(t.id, f"{t.code} {t.name}") for t in db.session.scalars(stmt)]


def get_trade(trade_id: int) -> Trade:
    trade = db.session.get(Trade, trade_id)
    if trade is None:
        raise NotFound()
    return trade


def _clean_trade(raw: dict[str, Any], current: Trade | None) -> dict[str, Any]:
    errors: dict[str, list[Any]] = {}
    out: dict[str, Any] = {}
    if current is None or "code" in raw:
        code = domain.normalize_trade_code(raw.get("code"))
        reason = domain.validate_trade_code(code)
        if reason:
            errors["code"] = [TRADE_CODE_MESSAGES[reason]]
        elif db.session.execute(select(Trade.id).where(Trade.code == code, Trade.id != (current.id if current else -1))).first():
            errors["code"] = [_l("A trade with this code already exists.")]
        out["code"] = code
    if current is None or "name" in raw:
        name = " ".join((raw.get("name") or "").split())
        if not name:
            errors["name"] = [_l("Please enter the name of the trade.")]
        elif len(name) > 64:
            errors["name"] = [_l("The name may have at most 64 characters.")]
        elif db.session.execute(select(Trade.id).where(func.lower(Trade.name) == name.lower(),
                                                       Trade.id != (current.id if current else -1))).first():
            errors["name"] = [_l("A trade with this name already exists.")]
        out["name"] = name
    if "is_active" in raw and raw["is_active"] is not None:
        out["is_active"] = bool(raw["is_active"])
    if errors:
        raise ValidationFailed(errors)
    return out


def create_trade(actor, raw: dict[str, Any]) -> Trade:
    _require_trade_manager(actor)
    values = _clean_trade(raw, None)
    values.pop("is_active", None)
    trade = Trade(is_active=True, **values)
    db.session.add(trade)
    db.session.flush()
    record("trade_created", trade, {"code": trade.code, "name": trade.name})
    return trade


def update_trade(actor, trade: Trade, raw: dict[str, Any]) -> Trade:
    _require_trade_manager(actor)
    values = _clean_trade(raw, trade)
    changes = {k: [getattr(trade, k), v] for k, v in values.items() if getattr(trade, k) != v}
    if not changes:
        return trade
    for key, (_old, value) in changes.items():
        setattr(trade, key, value)
    db.session.flush()
    if list(changes) == ["is_active"]:
        record("trade_reactivated" if trade.is_active else "trade_deactivated", trade)
    else:
        record("trade_updated", trade, changes)
    return trade


def set_trade_active(actor, trade: Trade, active: bool) -> Trade:
    return update_trade(actor, trade, {"is_active": active})
