"""Issuing, superseding and revoking certificates; issuers and their serial sequences; who sees what.

Public use cases (services flush, never commit; the request or job commits)::

    issue_certificate(actor, *, kind, worker_id=None, holder_key=None, holder_name=None, id_number=None,
                      subject_key=None, achievement, details=None, template_id=None, issuer_id=None,
                      competition_id=None, batch_id=None, issued_on=None, enterprise_id=None)
        -> IssueResult(certificate, created: bool)
    supersede_certificate(actor, certificate_id, *, reason, **changes) -> Certificate   # the new one
    revoke_certificate(actor, certificate_id, *, reason) -> Certificate
    issuer_for(who) -> CertificateIssuer          # who: a User, an enterprise id, or None (the union)
    get_certificate(actor, certificate_id) / list_certificates(actor, ...) / certificate_by_serial(serial)

**Holder.** ``worker_id`` (a worker of the registry: holder_key ``worker:<id>``, the name from the registry
unless ``holder_name`` is given, the ID number decrypted from the worker's encrypted copy) or ``holder_key``
+ ``holder_name`` (+ optional ``id_number`` and ``enterprise_id``) for other holders such as a studio
(``studio:<id>``). Only the SHA-256 of ``serial:ID`` goes into the signed payload; the ID itself is never
stored, audited or shown.

**Subject.** ``subject_key`` says what is certified, e.g. ``competition:12:entry:34``; without one, a
manual certificate's subject is derived from its achievement and details (``manual:<hash>``), so the same
form sent twice issues once.

**Idempotent.** At most one live (``issued``) certificate per holder, subject and kind: issuing again
returns the live one with ``created=False``. Two concurrent issuers of the same certificate race on the
partial unique index ``uq_certificate_live``; the loser's insert is rolled back to a savepoint and it
returns the winner's certificate.

**Serials.** ``{K}{YY}{ORG4}{SEQ6}{C}`` (certificates.domain). SEQ6 comes from ``serial_sequence`` (per
issuer and year, shared by all kinds), taken by one conditional ``UPDATE … SET last_seq = last_seq + 1 …
RETURNING`` — a row lock on PostgreSQL held to the end of the transaction; on SQLite the write transaction
already began with ``BEGIN IMMEDIATE`` (app.db), so two writers never interleave. A number is never given
to two certificates; a rolled-back issue may leave a gap.

**Template.** ``template_id`` picks a template (its latest version: title, issuer name on the certificate,
validity months → ``valid_until``); without one, the newest active template of the kind in the issuer's
scope is used when there is one, else none (issuer name from the issuer, no expiry).

**Issuer.** Organizers/admins issue as the union (or any issuer via ``issuer_id``); HR issues as the
holder's enterprise (each enterprise gets its own issuer with a 4-digit code on first use).

**Checks before anything is written** (a ``ValidationFailed`` with per-field translated messages): kind,
holder, achievement (≤ 300 characters), details (flat, ≤ 20 text/integer values), issue date (not in the
future, not before the signing key's start), and every text that is printed on the PDF against the
certificate font (``app.pdf.missing_glyphs``): a character the font cannot draw (e.g. 𠮷 with some fonts)
is a field error, never a blank box.

**Scope.** Organizer/admin: every certificate. HR: sees the certificates of their enterprises' holders and
revokes/corrects those their enterprises issued (not the union's); HR of another enterprise gets ``NotFound``.
Worker: their own certificates, read only. Everything that
changes a certificate is audited (``certificate.issue``, ``certificate.supersede``, ``certificate.revoke``).
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import Role
from app.audit.services import record
from app.crypto import id_cipher
from app.db import db, utcnow
from app.errors import TEXT_ERRORS, Conflict, DomainError, NotFound, PermissionDenied
from app.inputs import TextRefused, clean_text
from app.orgs.models import Enterprise
from app.people.models import Worker
from app.people.services import ValidationFailed
from certificates import domain
from certificates.models import (
    Certificate,
    CertificateIssuer,
    CertificateTemplate,
    CertificateTemplateVersion,
    SerialSequence,
)
from certificates.services import keys

MANAGERS = (Role.ORGANIZER, Role.ADMIN)
ISSUERS = (Role.ORGANIZER, Role.ADMIN, Role.HR)
ACHIEVEMENT_MAX = 300
HOLDER_NAME_MAX = 100
REASON_MAX = 500
DETAILS_MAX_ITEMS = 20
DETAIL_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DETAIL_VALUE_MAX = 200
HOLDER_KEY_RE = re.compile(r"^[a-z][a-z_]{0,23}:[A-Za-z0-9_.:-]{1,39}$")
SUBJECT_KEY_RE = re.compile(r"^[a-z][a-z_]{0,23}:[A-Za-z0-9_.:\-]{1,95}$")
DEFAULT_UNION_ISSUER_NAME = "市总工会"

KIND_LABELS = {
    domain.CertificateKind.AWARD: _l("Award certificate"),
    domain.CertificateKind.PARTICIPATION: _l("Participation certificate"),
    domain.CertificateKind.SKILL_LEVEL: _l("Skill level certificate"),
    domain.CertificateKind.APPRENTICE_GRADUATION: _l("Apprentice graduation certificate"),
    domain.CertificateKind.CRAFTSMAN_TITLE: _l("Craftsman title"),
    domain.CertificateKind.STUDIO_HONOR: _l("Studio honor"),
}
STATUS_LABELS = {
    domain.CertificateStatus.ISSUED: _l("Valid"),
    domain.CertificateStatus.REVOKED: _l("Revoked"),
    domain.CertificateStatus.SUPERSEDED: _l("Superseded by a correction"),
}


def kind_label(kind: str) -> str:
    try:
        return str(KIND_LABELS[domain.CertificateKind(kind)])
    except ValueError:
        return kind


def status_label(status: str) -> str:
    try:
        return str(STATUS_LABELS[domain.CertificateStatus(status)])
    except ValueError:
        return status


@dataclass(frozen=True)
class IssueResult:
    certificate: Certificate
    created: bool


def today() -> date:
    """Issue dates are calendar days in the installation's time zone (BABEL_DEFAULT_TIMEZONE, Asia/Shanghai)."""
    return keys.today()


# --- scope -----------------------------------------------------------------------------------------------


def is_manager(actor) -> bool:
    return bool(actor and actor.is_authenticated and actor.has_role(*MANAGERS))


def can_issue(actor) -> bool:
    return bool(actor and actor.is_authenticated and (actor.has_role(*MANAGERS) or actor.hr_enterprise_ids))


def _require_issuer_role(actor) -> None:
    if not can_issue(actor):
        raise PermissionDenied()


def scope_clause(actor):
    """A WHERE clause limiting certificates to the actor's scope (None: everything)."""
    if is_manager(actor):
        return None
    clauses = []
    ent_ids = actor.hr_enterprise_ids if actor.is_authenticated else set()
    if ent_ids:
        clauses.append(Certificate.enterprise_id.in_(ent_ids))
    if actor.is_authenticated and actor.has_role(Role.WORKER) and actor.worker_id:
        clauses.append(Certificate.worker_id == actor.worker_id)
    if not clauses:
        raise PermissionDenied()
    return or_(*clauses)


def can_manage_certificate(actor, certificate: Certificate) -> bool:
    """May revoke or supersede: managers everything, HR what their enterprises issued (not, say, the union's
    award to one of their workers, which HR sees but cannot revoke)."""
    if is_manager(actor):
        return True
    issuer_enterprise = certificate.issuer.enterprise_id if certificate.issuer is not None else None
    return issuer_enterprise is not None and issuer_enterprise in actor.hr_enterprise_ids


def can_see_certificate(actor, certificate: Certificate) -> bool:
    """Managers everything; HR the certificates of their enterprises' holders; a worker their own."""
    if is_manager(actor) or can_manage_certificate(actor, certificate):
        return True
    if certificate.enterprise_id is not None and certificate.enterprise_id in actor.hr_enterprise_ids:
        return True
    return bool(actor.has_role(Role.WORKER) and actor.worker_id and certificate.worker_id == actor.worker_id)


def get_certificate(actor, certificate_id: int) -> Certificate:
    """A certificate the actor may see; anything else is NotFound (no hint that it exists)."""
    if not actor.is_authenticated:
        raise PermissionDenied()
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not can_see_certificate(actor, certificate):
        raise NotFound(_l("This certificate does not exist or is not yours to see."))
    return certificate


def get_manageable(actor, certificate_id: int, *, for_update: bool = False) -> Certificate:
    _require_issuer_role(actor)
    stmt = select(Certificate).where(Certificate.id == certificate_id)
    if for_update and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Certificate)
    certificate = db.session.scalars(stmt).unique().one_or_none()
    if certificate is None or not can_see_certificate(actor, certificate):
        raise NotFound(_l("This certificate does not exist or is not yours to manage."))
    if not can_manage_certificate(actor, certificate):
        raise PermissionDenied(_l("Only its issuer can revoke or correct this certificate."))
    return certificate


def certificate_by_serial(serial: str) -> Certificate | None:
    """Public lookup (verification); ``serial`` must be normalized."""
    return db.session.scalars(select(Certificate).where(Certificate.serial == serial)).unique().one_or_none()


def list_certificates(actor, *, kind: str | None = None, status: str | None = None,
                      competition_id: int | None = None, worker_id: int | None = None, q: str = "",
                      page: int = 1, per_page: int = 20):
    """One page of the actor's certificates, newest first (two queries whatever the page size)."""
    stmt = select(Certificate).options(joinedload(Certificate.issuer))
    clause = scope_clause(actor)
    if clause is not None:
        stmt = stmt.where(clause)
    if kind:
        stmt = stmt.where(Certificate.kind == kind)
    if status:
        stmt = stmt.where(Certificate.status == status)
    if competition_id:
        stmt = stmt.where(Certificate.competition_id == competition_id)
    if worker_id:
        stmt = stmt.where(Certificate.worker_id == worker_id)
    q = (q or "").strip()
    if q:
        serial = domain.normalize_serial(q)
        stmt = stmt.where(or_(Certificate.holder_name.icontains(q, autoescape=True),
                              Certificate.achievement.icontains(q, autoescape=True),
                              Certificate.serial.startswith(serial, autoescape=True) if serial else False))
    stmt = stmt.order_by(Certificate.created_at.desc(), Certificate.id.desc())
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def history(certificate: Certificate) -> list[Certificate]:
    """The supersede chain the certificate belongs to, oldest first (each link one query; chains are short)."""
    chain = [certificate]
    seen = {certificate.id}
    current = certificate
    while current.supersedes_id and current.supersedes_id not in seen:
        current = db.session.get(Certificate, current.supersedes_id)
        if current is None:
            break
        seen.add(current.id)
        chain.insert(0, current)
    current = certificate
    while True:
        nxt = superseded_by(current)
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        chain.append(nxt)
        current = nxt
    return chain


def superseded_by(certificate: Certificate) -> Certificate | None:
    return db.session.scalars(select(Certificate).where(Certificate.supersedes_id == certificate.id)).unique().one_or_none()


# --- issuers ---------------------------------------------------------------------------------------------


def _union_name() -> str:
    return current_app.config.get("CERTIFICATE_UNION_ISSUER_NAME") or DEFAULT_UNION_ISSUER_NAME


def _next_issuer_code() -> str:
    codes = db.session.scalars(select(CertificateIssuer.code)).all()
    used = {int(c) for c in codes if domain.is_issuer_code(c)}
    for n in range(1, 10_000):
        if n not in used:
            return f"{n:04d}"
    raise Conflict(_l("All 9,999 issuer codes are in use."), code="issuer_codes_exhausted")


ISSUER_LOCK_KEY = 0x4A58_4953  # "JXIS": pg_advisory_xact_lock key of issuer creation


def _get_or_create_issuer(enterprise_id: int | None) -> CertificateIssuer:
    def find() -> CertificateIssuer | None:
        cond = (CertificateIssuer.enterprise_id.is_(None) if enterprise_id is None
                else CertificateIssuer.enterprise_id == enterprise_id)
        return db.session.scalars(select(CertificateIssuer).where(cond).order_by(CertificateIssuer.id).limit(1)).first()

    issuer = find()
    if issuer is not None:
        return issuer
    if db.session.get_bind().dialect.name == "postgresql":
        # The union's issuer has no enterprise id, so no unique key stops two first issuings from each creating
        # one (each with its own ORG4 code, each counting serials from 1). Creators take turns (the lock lasts
        # until the transaction ends) and look again once it is their turn. SQLite's writers already take turns.
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ISSUER_LOCK_KEY})
        issuer = find()
        if issuer is not None:
            return issuer
    if enterprise_id is None:
        name = _union_name()
    else:
        enterprise = db.session.get(Enterprise, enterprise_id)
        if enterprise is None:
            raise NotFound()
        name = enterprise.name
    for _attempt in range(5):
        try:
            with db.session.begin_nested():
                issuer = CertificateIssuer(code=_next_issuer_code(), name=name, enterprise_id=enterprise_id)
                db.session.add(issuer)
                db.session.flush()
            record("certificate.issuer_create", issuer, {"code": issuer.code, "name": name})
            return issuer
        except IntegrityError:
            found = find()  # created by a concurrent request (enterprise) or the code was just taken: retry
            if found is not None:
                return found
    raise Conflict(_l("The certificate issuer could not be created. Please try again."))


def issuer_for(who) -> CertificateIssuer:
    """The issuer of a User (organizer/admin: the union; HR of one enterprise: that enterprise), of an
    enterprise id, or of the union (``None``). Created with the next free 4-digit code on first use."""
    if who is None or isinstance(who, int):
        return _get_or_create_issuer(who)
    if is_manager(who):
        return _get_or_create_issuer(None)
    ids = sorted(who.hr_enterprise_ids)
    if len(ids) == 1:
        return _get_or_create_issuer(ids[0])
    if not ids:
        raise PermissionDenied()
    raise ValidationFailed({"issuer_id": [_l("Please choose the enterprise that issues the certificate.")]})


def issuer_choices(actor) -> list[CertificateIssuer]:
    if is_manager(actor):
        return list(db.session.scalars(select(CertificateIssuer).order_by(CertificateIssuer.code)))
    return list(db.session.scalars(select(CertificateIssuer).where(
        CertificateIssuer.enterprise_id.in_(actor.hr_enterprise_ids)).order_by(CertificateIssuer.code)))


# --- serials ---------------------------------------------------------------------------------------------


def allocate_seq(issuer_id: int, year: int) -> int:
    """The next SEQ6 of an issuer in a year; never the same number twice (see module docstring)."""
    bump = (update(SerialSequence)
            .where(SerialSequence.issuer_id == issuer_id, SerialSequence.year == year)
            .values(last_seq=SerialSequence.last_seq + 1)
            .returning(SerialSequence.last_seq)
            .execution_options(synchronize_session=False))
    seq = db.session.execute(bump).scalar_one_or_none()
    if seq is None:
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:  # pragma: no cover - other backends are not supported
            dialect_insert = insert
        stmt = dialect_insert(SerialSequence).values(issuer_id=issuer_id, year=year, last_seq=0)
        if hasattr(stmt, "on_conflict_do_nothing"):
            stmt = stmt.on_conflict_do_nothing()
        db.session.execute(stmt)
        seq = db.session.execute(bump).scalar_one()
    if seq > domain.SEQ_MAX:
        raise Conflict(_l("This issuer has used all serial numbers of the year."), code="serials_exhausted")
    return seq


def next_serial(kind: str, issuer: CertificateIssuer, issued_on: date) -> str:
    return domain.make_serial(kind, issued_on.year, issuer.code, allocate_seq(issuer.id, issued_on.year))


# --- validation helpers ----------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def valid_until_for(version: CertificateTemplateVersion | None, issued_on: date) -> date | None:
    if version is None or not version.validity_months:
        return None
    # Valid for N months: the last valid day is the day before the same date N months later.
    return date.fromordinal(add_months(issued_on, version.validity_months).toordinal() - 1)


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` the certificate font cannot draw ([] when app.pdf is not in this build)."""
    try:
        from app.pdf import missing_glyphs as font_missing
    except ImportError:
        return []
    return list(font_missing(text))


def font_error(text: str) -> str | None:
    missing = missing_glyphs(text)
    if not missing:
        return None
    chars = "、".join(dict.fromkeys(missing))
    return str(_l("The certificate font cannot print these characters: %(chars)s. Please correct the text "
                  "or ask the administrator for a font that has them.", chars=chars))


def _clean_details(details: Any, errors: dict[str, list[Any]]) -> dict[str, Any]:
    if details is None:
        return {}
    if not isinstance(details, dict):
        errors.setdefault("details", []).append(_l("Details must be a list of named values."))
        return {}
    if len(details) > DETAILS_MAX_ITEMS:
        errors.setdefault("details", []).append(_l("At most %(n)d details.", n=DETAILS_MAX_ITEMS))
        return {}
    out: dict[str, Any] = {}
    for key, value in details.items():
        if not isinstance(key, str) or not DETAIL_KEY_RE.match(key):
            errors.setdefault("details", []).append(
                _l("Detail names use lower-case letters, digits and _ (at most 40 characters)."))
            continue
        if isinstance(value, bool) or value is None:
            out[key] = value
        elif isinstance(value, int):
            if abs(value) > domain.MAX_SAFE_INTEGER:
                errors.setdefault("details", []).append(_l("A detail number is too large."))
            out[key] = value
        elif isinstance(value, str):
            try:
                text = clean_text(value).strip()
            except TextRefused as exc:
                errors.setdefault("details", []).append(TEXT_ERRORS[exc.reason])
                continue
            if len(text) > DETAIL_VALUE_MAX:
                errors.setdefault("details", []).append(
                    _l("A detail is longer than %(n)d characters.", n=DETAIL_VALUE_MAX))
            elif (msg := font_error(text)) is not None:
                errors.setdefault("details", []).append(msg)
            out[key] = text
        else:
            errors.setdefault("details", []).append(_l("Details are text or whole numbers."))
    return out


def manual_subject_key(kind: str, achievement: str, details: dict[str, Any]) -> str:
    material = domain.canonical_json({"kind": kind, "achievement": achievement.strip(), "details": details})
    return "manual:" + hashlib.sha256(material).hexdigest()[:40]


@dataclass
class _Holder:
    key: str
    name: str
    id_number: str | None
    worker_id: int | None
    enterprise_id: int | None


def _resolve_holder(actor, errors, *, worker_id, holder_key, holder_name, id_number, enterprise_id) -> _Holder | None:
    manager = is_manager(actor)
    if worker_id is not None:
        worker = db.session.get(Worker, worker_id)
        if worker is None or not (manager or worker.enterprise_id in actor.hr_enterprise_ids):
            errors.setdefault("worker_id", []).append(_l("Please choose a worker of your enterprise."))
            return None
        number = None
        if worker.id_encrypted:
            number = id_cipher().decrypt(worker.id_encrypted)
        name = (holder_name or "").strip() or worker.name
        return _Holder(f"worker:{worker.id}", name, number, worker.id, worker.enterprise_id)
    if not holder_key:
        errors.setdefault("worker_id", []).append(_l("Please choose who receives the certificate."))
        return None
    if not isinstance(holder_key, str) or not HOLDER_KEY_RE.match(holder_key) or holder_key.startswith("worker:"):
        errors.setdefault("holder_key", []).append(_l("The holder is not valid."))
        return None
    if enterprise_id is not None and db.session.get(Enterprise, enterprise_id) is None:
        errors.setdefault("enterprise_id", []).append(_l("Unknown enterprise."))
        return None
    if not manager and (enterprise_id is None or enterprise_id not in actor.hr_enterprise_ids):
        errors.setdefault("enterprise_id", []).append(_l("Please choose one of your enterprises."))
        return None
    name = (holder_name or "").strip()
    number = (id_number or "").strip() or None
    return _Holder(holder_key, name, number, None, enterprise_id)


def _template_version(actor, kind: str, template_id: int | None, scope_enterprise_id: int | None,
                      errors) -> CertificateTemplateVersion | None:
    if template_id is None:
        stmt = (select(CertificateTemplate).where(CertificateTemplate.kind == kind, CertificateTemplate.is_active.is_(True))
                .where(CertificateTemplate.enterprise_id.is_(None) if scope_enterprise_id is None
                       else CertificateTemplate.enterprise_id == scope_enterprise_id)
                .order_by(CertificateTemplate.id.desc()).limit(1))
        template = db.session.scalars(stmt).first()
        if template is None:
            return None
    else:
        template = db.session.get(CertificateTemplate, template_id)
        visible = template is not None and (
            is_manager(actor) or (template.enterprise_id is not None and template.enterprise_id in actor.hr_enterprise_ids))
        if not visible:
            errors.setdefault("template_id", []).append(_l("Please choose one of your templates."))
            return None
        if template.kind != kind:
            errors.setdefault("template_id", []).append(_l("The template is for another kind of certificate."))
            return None
        if not template.is_active:
            errors.setdefault("template_id", []).append(_l("This template is archived."))
            return None
    version = db.session.scalars(select(CertificateTemplateVersion)
                                 .where(CertificateTemplateVersion.template_id == template.id)
                                 .order_by(CertificateTemplateVersion.version.desc()).limit(1)).first()
    if version is None:
        errors.setdefault("template_id", []).append(_l("The template has no version yet."))
    return version


def _resolve_issuer(actor, issuer_id: int | None, holder: _Holder | None, template: CertificateTemplateVersion | None,
                    errors) -> CertificateIssuer | None:
    if issuer_id is not None:
        issuer = db.session.get(CertificateIssuer, issuer_id)
        if issuer is None or not (is_manager(actor) or issuer.enterprise_id in actor.hr_enterprise_ids):
            errors.setdefault("issuer_id", []).append(_l("Please choose one of your issuers."))
            return None
        return issuer
    if template is not None and template.template.enterprise_id is not None:
        return _get_or_create_issuer(template.template.enterprise_id)
    if is_manager(actor):
        return _get_or_create_issuer(None)
    if holder is not None and holder.enterprise_id in actor.hr_enterprise_ids:
        return _get_or_create_issuer(holder.enterprise_id)
    return issuer_for(actor)


# --- issuing ---------------------------------------------------------------------------------------------


def _find_live(holder_key: str, subject_key: str, kind: str) -> Certificate | None:
    return db.session.scalars(select(Certificate).where(
        Certificate.holder_key == holder_key, Certificate.subject_key == subject_key, Certificate.kind == kind,
        Certificate.status == domain.CertificateStatus.ISSUED)).unique().one_or_none()


def issue_certificate(actor, *, kind: str, worker_id: int | None = None, holder_key: str | None = None,
                      holder_name: str | None = None, id_number: str | None = None, subject_key: str | None = None,
                      achievement: str, details: dict[str, Any] | None = None, template_id: int | None = None,
                      issuer_id: int | None = None, competition_id: int | None = None, batch_id: str | None = None,
                      issued_on: date | None = None, enterprise_id: int | None = None,
                      supersedes: Certificate | None = None) -> IssueResult:
    """Issue one signed certificate, or return the live one for the same holder, subject and kind."""
    _require_issuer_role(actor)
    errors: dict[str, list[Any]] = {}
    try:
        kind = str(domain.CertificateKind(kind))
    except ValueError:
        errors["kind"] = [_l("Please choose the kind of certificate.")]
    holder = _resolve_holder(actor, errors, worker_id=worker_id, holder_key=holder_key, holder_name=holder_name,
                             id_number=id_number, enterprise_id=enterprise_id)
    if holder is not None:
        if not holder.name:
            errors.setdefault("holder_name", []).append(_l("Please enter the holder's name."))
        elif len(holder.name) > HOLDER_NAME_MAX:
            errors.setdefault("holder_name", []).append(_l("The name is too long."))
        elif (msg := font_error(holder.name)) is not None:
            errors.setdefault("holder_name", []).append(msg)
    achievement = (achievement or "").strip()
    if not achievement:
        errors.setdefault("achievement", []).append(_l("Please enter what the certificate certifies."))
    elif len(achievement) > ACHIEVEMENT_MAX:
        errors.setdefault("achievement", []).append(_l("At most %(n)d characters.", n=ACHIEVEMENT_MAX))
    elif (msg := font_error(achievement)) is not None:
        errors.setdefault("achievement", []).append(msg)
    details = _clean_details(details, errors)
    if subject_key is not None and (not isinstance(subject_key, str) or not SUBJECT_KEY_RE.match(subject_key)):
        errors.setdefault("subject_key", []).append(_l("The subject is not valid."))
    if competition_id is not None:
        from competitions.models import Competition

        if db.session.get(Competition, competition_id) is None:
            errors.setdefault("competition_id", []).append(_l("Unknown competition."))
    if errors:
        raise ValidationFailed(errors)

    subject_key = subject_key or manual_subject_key(kind, achievement, details)
    existing = _find_live(holder.key, subject_key, kind)
    if existing is not None and supersedes is None:
        return IssueResult(existing, False)

    scope_enterprise = None if is_manager(actor) else holder.enterprise_id
    version = _template_version(actor, kind, template_id, scope_enterprise, errors)
    issuer = _resolve_issuer(actor, issuer_id, holder, version, errors) if not errors else None
    signing = keys.active_key()
    day = issued_on or today()
    if day > today():
        errors.setdefault("issued_on", []).append(_l("The issue date cannot be in the future."))
    elif day < signing.record.valid_from or not 2000 <= day.year <= 2099:
        errors.setdefault("issued_on", []).append(
            _l("The issue date cannot be before %(day)s (the signing key's start).", day=signing.record.valid_from.isoformat()))
    if errors:
        raise ValidationFailed(errors)

    valid_until = valid_until_for(version, day)
    issuer_name = (version.issuer_name if version is not None and version.issuer_name.strip() else issuer.name)
    serial = next_serial(kind, issuer, day)
    payload = domain.certificate_payload(
        serial=serial, holder_name=holder.name, holder_id_number=holder.id_number, achievement=achievement,
        issuer_name=issuer_name, issued_at=day, key_id=signing.key_id, valid_until=valid_until, details=details,
    )
    signature = domain.sign(domain.canonical_json(payload), signing.private_key)
    certificate = Certificate(
        serial=serial, kind=kind, issuer_id=issuer.id, template_version_id=version.id if version else None,
        worker_id=holder.worker_id, enterprise_id=holder.enterprise_id, holder_key=holder.key,
        holder_name=payload["holder_name"], subject_key=subject_key, competition_id=competition_id,
        achievement=payload["achievement"], details=payload["details"], payload=payload, signature=signature,
        key_id=signing.key_id, issued_on=day, valid_until=valid_until, status=domain.CertificateStatus.ISSUED,
        supersedes_id=supersedes.id if supersedes is not None else None, batch_id=batch_id,
        created_by_id=getattr(actor, "id", None),
    )
    try:
        with db.session.begin_nested():
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError:
        # A concurrent request issued the same certificate first (uq_certificate_live).
        existing = _find_live(holder.key, subject_key, kind)
        if existing is not None and supersedes is None:
            return IssueResult(existing, False)
        raise Conflict(_l("This certificate was changed at the same time by someone else. Please reload.")) from None
    record("certificate.issue", certificate, {
        "serial": serial, "kind": kind, "holder_key": holder.key, "subject_key": subject_key,
        "issuer_code": issuer.code, "key_id": signing.key_id, "batch_id": batch_id,
        "supersedes": supersedes.serial if supersedes is not None else None,
    }, actor=actor)
    return IssueResult(certificate, True)


# --- revoke / supersede ----------------------------------------------------------------------------------


def _clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": [_l("Please give a reason.")]})
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": [_l("At most %(n)d characters.", n=REASON_MAX)]})
    return reason


def _close(certificate: Certificate, status: str, actor, reason: str) -> None:
    """Move a live certificate to revoked/superseded with a conditional UPDATE (no lost race)."""
    done = db.session.execute(
        update(Certificate)
        .where(Certificate.id == certificate.id, Certificate.status == domain.CertificateStatus.ISSUED)
        .values(status=status, revoked_at=utcnow(), revoked_reason=reason, revoked_by_id=getattr(actor, "id", None))
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        db.session.refresh(certificate)
        raise Conflict(_l("This certificate is no longer valid (revoked or superseded already)."),
                       code="not_live", details={"status": certificate.status})
    db.session.refresh(certificate)


def revoke_certificate(actor, certificate_id: int, *, reason: str) -> Certificate:
    """Revoke with a reason; the record stays (verification then says "revoked")."""
    certificate = get_manageable(actor, certificate_id, for_update=True)
    reason = _clean_reason(reason)
    _close(certificate, domain.CertificateStatus.REVOKED, actor, reason)
    record("certificate.revoke", certificate, {"serial": certificate.serial, "reason": reason}, actor=actor)
    return certificate


SUPERSEDE_FIELDS = frozenset({"holder_name", "achievement", "details", "template_id", "issued_on", "id_number"})


def supersede_certificate(actor, certificate_id: int, *, reason: str, **changes: Any) -> Certificate:
    """Issue a corrected certificate under a new serial (``supersedes_id`` → the old one) and mark the old
    one superseded. ``changes``: holder_name, achievement, details, template_id, issued_on (default today),
    id_number (non-worker holders). Returns the new certificate."""
    unknown = set(changes) - SUPERSEDE_FIELDS
    if unknown:
        raise DomainError(_l("These fields cannot be changed: %(fields)s", fields=", ".join(sorted(unknown))))
    old = get_manageable(actor, certificate_id, for_update=True)
    reason = _clean_reason(reason)
    if old.status != domain.CertificateStatus.ISSUED:
        raise Conflict(_l("This certificate is no longer valid (revoked or superseded already)."), code="not_live")
    template_id = changes.get("template_id")
    if "template_id" not in changes and old.template_version is not None:
        template_id = old.template_version.template_id
    details = changes["details"] if "details" in changes else dict(old.details or {})
    achievement = changes.get("achievement") or old.achievement
    # A worker's name comes from the registry (where a misspelt name is corrected) unless given here.
    holder_name = changes.get("holder_name") or (None if old.worker_id else old.holder_name)
    id_number = changes.get("id_number")
    if old.worker_id is None and id_number is None and old.payload.get("holder_id_sha256"):
        raise ValidationFailed({"id_number": [_l("Please enter the holder's ID number again (it is not stored).")]})
    # One savepoint: when the correction cannot be issued, the old certificate stays live.
    with db.session.begin_nested():
        _close(old, domain.CertificateStatus.SUPERSEDED, actor, reason)
        new = issue_certificate(
            actor, kind=old.kind, worker_id=old.worker_id,
            holder_key=None if old.worker_id else old.holder_key, holder_name=holder_name, id_number=id_number,
            subject_key=old.subject_key, achievement=achievement, details=details, template_id=template_id,
            issuer_id=old.issuer_id, competition_id=old.competition_id, issued_on=changes.get("issued_on"),
            enterprise_id=old.enterprise_id if not old.worker_id else None, supersedes=old,
        ).certificate
    record("certificate.supersede", old, {"serial": old.serial, "new_serial": new.serial, "reason": reason},
           actor=actor)
    return new


def live_count(holder_key: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Certificate).where(
        Certificate.holder_key == holder_key, Certificate.status == domain.CertificateStatus.ISSUED)) or 0
