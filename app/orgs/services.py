"""Use cases for enterprises and industry chains. Services flush; the request commits.

Organizers and admins manage enterprises (never deleted: deactivated and reactivated) and industry
chains (产业链) with their member enterprises; HR may read only the enterprises it belongs to. Every
create and change is written to the audit log. List pages load with a fixed number of queries: the
page, its chains (selectin) and the active-worker counts of the page in one grouped query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.accounts.models import MANAGERS, Role
from app.audit.services import record
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.orgs.models import Enterprise, IndustryChain
from app.people.domain import validate_uscc

USCC_MESSAGES = {
    "length": _l("The unified social credit code must have exactly 18 characters."),
    "format": _l(
        "The unified social credit code may contain only digits and capital letters except I, O, S, V and Z, "
        "and characters 3 to 8 must be digits (the region code)."
    ),
    "check": _l("The check character (the last character) of the unified social credit code is wrong."),
}

NAME_MAX, REGION_MAX = 128, 64


# --- validation ---------------------------------------------------------------------------------


def normalize_uscc(value: str | None) -> str:
    return re.sub(r"\s+", "", value or "").upper()


def uscc_error(value: str | None) -> Any:
    """The translated reason a USCC is invalid, or None."""
    reason = validate_uscc(normalize_uscc(value))
    return USCC_MESSAGES[reason] if reason else None


def _invalid(field_name: str, message: Any, code: str) -> DomainError:
    return DomainError(message, code=code, status=422, details={field_name: [str(message)]})


def _clean_name(value: str | None, max_len: int = NAME_MAX) -> str:
    name = re.sub(r"\s+", " ", value or "").strip()
    if not name:
        raise _invalid("name", _l("Please enter a name."), "name_required")
    if len(name) > max_len:
        raise _invalid("name", _l("The name may have at most %(n)d characters.", n=max_len), "name_too_long")
    return name


def _clean_region(value: str | None) -> str:
    region = (value or "").strip()
    if len(region) > REGION_MAX:
        raise _invalid("region", _l("The region may have at most %(n)d characters.", n=REGION_MAX), "region_too_long")
    return region


def _clean_uscc(value: str | None) -> str:
    message = uscc_error(value)
    if message:
        raise _invalid("uscc", message, "invalid_uscc")
    return normalize_uscc(value)


# --- permissions --------------------------------------------------------------------------------


def can_manage(actor) -> bool:
    return actor.has_role(*MANAGERS)


def require_manager(actor) -> None:
    if not can_manage(actor):
        raise PermissionDenied()


def _readable_enterprise_ids(actor) -> set[int] | None:
    """None means every enterprise; otherwise the ids the actor may read (HR: its own)."""
    if can_manage(actor):
        return None
    if actor.has_role(Role.HR):
        return set(actor.hr_enterprise_ids)
    raise PermissionDenied()


# --- enterprises --------------------------------------------------------------------------------


def enterprise_choices(active_only: bool = False) -> list[tuple[int, str]]:
    stmt = select(Enterprise.id, Enterprise.name).order_by(Enterprise.name)
    if active_only:
        stmt = stmt.where(Enterprise.is_active.is_(True))
    return [(row.id, row.name) for row in db.session.execute(stmt)]


@dataclass
class EnterprisePage:
    """One page of enterprises with their active-worker counts (``counts[enterprise.id]``)."""

    pagination: Any
    counts: dict[int, int] = field(default_factory=dict)

    @property
    def items(self) -> list[Enterprise]:
        return list(self.pagination.items)


def active_worker_counts(enterprise_ids: Iterable[int]) -> dict[int, int]:
    from app.people.models import Worker

    ids = list(enterprise_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Worker.enterprise_id, func.count(Worker.id))
        .where(Worker.enterprise_id.in_(ids), Worker.is_active.is_(True))
        .group_by(Worker.enterprise_id)
    )
    counts = dict.fromkeys(ids, 0)
    counts.update({ent_id: n for ent_id, n in rows})
    return counts


def list_enterprises(actor, page: int = 1, per_page: int = 20, q: str = "", is_active: bool | None = None) -> EnterprisePage:
    readable = _readable_enterprise_ids(actor)
    stmt = select(Enterprise).order_by(Enterprise.name, Enterprise.id)
    if readable is not None:
        stmt = stmt.where(Enterprise.id.in_(readable or [-1]))
    q = (q or "").strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Enterprise.name.ilike(like), Enterprise.uscc.ilike(like), Enterprise.region.ilike(like)))
    if is_active is not None:
        stmt = stmt.where(Enterprise.is_active.is_(is_active))
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    return EnterprisePage(pagination, active_worker_counts(e.id for e in pagination.items))


def get_enterprise(actor, enterprise_id: int) -> Enterprise:
    readable = _readable_enterprise_ids(actor)
    enterprise = db.session.get(Enterprise, enterprise_id)
    if enterprise is None or (readable is not None and enterprise.id not in readable):
        raise NotFound()
    return enterprise


def _check_unique_enterprise(name: str | None, uscc: str | None, exclude_id: int | None = None) -> None:
    if name is not None:
        stmt = select(Enterprise.id).where(Enterprise.name == name)
        if exclude_id is not None:
            stmt = stmt.where(Enterprise.id != exclude_id)
        if db.session.execute(stmt).first():
            message = _l("An enterprise with this name already exists.")
            raise Conflict(message, code="duplicate_name", details={"name": [str(message)]})
    if uscc is not None:
        stmt = select(Enterprise.id).where(Enterprise.uscc == uscc)
        if exclude_id is not None:
            stmt = stmt.where(Enterprise.id != exclude_id)
        if db.session.execute(stmt).first():
            message = _l("An enterprise with this unified social credit code already exists.")
            raise Conflict(message, code="duplicate_uscc", details={"uscc": [str(message)]})


def create_enterprise(actor, name: str, uscc: str, region: str = "") -> Enterprise:
    require_manager(actor)
    name, uscc, region = _clean_name(name), _clean_uscc(uscc), _clean_region(region)
    _check_unique_enterprise(name, uscc)
    enterprise = Enterprise(name=name, uscc=uscc, region=region, is_active=True)
    db.session.add(enterprise)
    db.session.flush()
    record("enterprise_created", enterprise, {"name": name, "uscc": uscc, "region": region}, actor=actor)
    return enterprise


_UNSET: Any = object()


def update_enterprise(actor, enterprise: Enterprise, *, name: Any = _UNSET, uscc: Any = _UNSET, region: Any = _UNSET,
                      is_active: Any = _UNSET) -> Enterprise:
    """Change the given fields; fields left out stay as they are."""
    require_manager(actor)
    new: dict[str, Any] = {}
    if name is not _UNSET:
        new["name"] = _clean_name(name)
    if uscc is not _UNSET:
        new["uscc"] = _clean_uscc(uscc)
    if region is not _UNSET:
        new["region"] = _clean_region(region)
    if is_active is not _UNSET and is_active is not None:
        new["is_active"] = bool(is_active)
    changes = {k: [getattr(enterprise, k), v] for k, v in new.items() if getattr(enterprise, k) != v}
    if not changes:
        return enterprise
    _check_unique_enterprise(
        changes["name"][1] if "name" in changes else None, changes["uscc"][1] if "uscc" in changes else None, enterprise.id
    )
    for key, (_old, value) in changes.items():
        setattr(enterprise, key, value)
    db.session.flush()
    if "is_active" in changes and len(changes) == 1:
        record("enterprise_reactivated" if enterprise.is_active else "enterprise_deactivated", enterprise, actor=actor)
    else:
        record("enterprise_updated", enterprise, changes, actor=actor)
    return enterprise


def set_enterprise_active(actor, enterprise: Enterprise, active: bool) -> Enterprise:
    return update_enterprise(actor, enterprise, is_active=active)


# --- industry chains ----------------------------------------------------------------------------


def list_chains(actor, page: int = 1, per_page: int = 20, q: str = ""):
    require_manager(actor)
    stmt = select(IndustryChain).order_by(IndustryChain.name, IndustryChain.id)
    q = (q or "").strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(IndustryChain.name.ilike(like), IndustryChain.description.ilike(like)))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def get_chain(actor, chain_id: int) -> IndustryChain:
    require_manager(actor)
    chain = db.session.get(IndustryChain, chain_id)
    if chain is None:
        raise NotFound()
    return chain


def _check_unique_chain(name: str, exclude_id: int | None = None) -> None:
    stmt = select(IndustryChain.id).where(IndustryChain.name == name)
    if exclude_id is not None:
        stmt = stmt.where(IndustryChain.id != exclude_id)
    if db.session.execute(stmt).first():
        message = _l("An industry chain with this name already exists.")
        raise Conflict(message, code="duplicate_name", details={"name": [str(message)]})


def _clean_description(value: str | None) -> str:
    description = (value or "").strip()
    if len(description) > 2000:
        raise _invalid("description", _l("The description may have at most %(n)d characters.", n=2000), "description_too_long")
    return description


def create_chain(actor, name: str, description: str = "") -> IndustryChain:
    require_manager(actor)
    name, description = _clean_name(name), _clean_description(description)
    _check_unique_chain(name)
    chain = IndustryChain(name=name, description=description)
    db.session.add(chain)
    db.session.flush()
    record("chain_created", chain, {"name": name}, actor=actor)
    return chain


def update_chain(actor, chain: IndustryChain, *, name: Any = _UNSET, description: Any = _UNSET) -> IndustryChain:
    require_manager(actor)
    new: dict[str, Any] = {}
    if name is not _UNSET:
        new["name"] = _clean_name(name)
    if description is not _UNSET:
        new["description"] = _clean_description(description)
    changes = {k: [getattr(chain, k), v] for k, v in new.items() if getattr(chain, k) != v}
    if not changes:
        return chain
    if "name" in changes:
        _check_unique_chain(changes["name"][1], chain.id)
    for key, (_old, value) in changes.items():
        setattr(chain, key, value)
    db.session.flush()
    record("chain_updated", chain, changes, actor=actor)
    return chain


def set_chain_members(actor, chain: IndustryChain, enterprise_ids: Iterable[int]) -> IndustryChain:
    """Make the chain's members exactly ``enterprise_ids``. Newly added enterprises must be active."""
    require_manager(actor)
    wanted = list(dict.fromkeys(int(i) for i in enterprise_ids))
    found = {e.id: e for e in db.session.scalars(select(Enterprise).where(Enterprise.id.in_(wanted or [-1])))}
    unknown = [i for i in wanted if i not in found]
    if unknown:
        message = _l("Unknown enterprise: %(ids)s.", ids=", ".join(map(str, unknown)))
        raise DomainError(message, code="unknown_enterprise", status=422, details={"enterprise_ids": [str(message)]})
    current = {e.id for e in chain.members}
    added = [i for i in wanted if i not in current]
    removed = sorted(current - set(wanted))
    inactive = [found[i].name for i in added if not found[i].is_active]
    if inactive:
        message = _l("An inactive enterprise cannot join a chain: %(names)s.", names="、".join(inactive))
        raise DomainError(message, code="inactive_enterprise", status=422, details={"enterprise_ids": [str(message)]})
    if not added and not removed:
        return chain
    chain.members = sorted((found[i] for i in wanted), key=lambda e: e.name)
    db.session.flush()
    record("chain_members_changed", chain, {"added": added, "removed": removed}, actor=actor)
    return chain


def add_chain_member(actor, chain: IndustryChain, enterprise_id: int) -> IndustryChain:
    require_manager(actor)
    if any(e.id == enterprise_id for e in chain.members):
        message = _l("This enterprise is already a member of the chain.")
        raise Conflict(message, code="already_member")
    return set_chain_members(actor, chain, [e.id for e in chain.members] + [enterprise_id])


def remove_chain_member(actor, chain: IndustryChain, enterprise_id: int) -> IndustryChain:
    require_manager(actor)
    if not any(e.id == enterprise_id for e in chain.members):
        raise NotFound()
    return set_chain_members(actor, chain, [e.id for e in chain.members if e.id != enterprise_id])


def chain_candidates(chain: IndustryChain) -> list[tuple[int, str]]:
    """Active enterprises that could join the chain (for the add-member form)."""
    member_ids = {e.id for e in chain.members}
    return [(i, name) for i, name in enterprise_choices(active_only=True) if i not in member_ids]
