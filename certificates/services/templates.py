"""Certificate templates: who manages which, validated and versioned content, seals, previews, defaults.

Scope: a template with ``enterprise_id`` NULL is union-wide; organizers and admins create and manage
those, and may also look after any enterprise's templates (they oversee what the union's members print).
HR manage the templates of their own enterprise(s) and may view and use the union-wide ones. A template
of another enterprise does not exist for HR (404).

Versions: a template's content lives in numbered versions. A version that a certificate uses is frozen
(its PDFs must render the same forever); saving changes creates version *n+1*, while the latest version can
still be corrected in place as long as no certificate uses it. Templates are deactivated, never deleted.

Validation (all problems at once, as ``details = {field: [messages]}``, status 422, nothing written): title
and issuer required; the body's placeholders must be known for the kind (``certificates.pdf``);
every character of the texts must be drawable by the PDF font (:func:`app.pdf.missing_glyphs`), never a
blank box; colour ``#rrggbb``; border one of :data:`certificates.pdf.BORDER_STYLES`; validity 1–600 months
or none; at most three signatories. The seal is a PNG of at most :data:`SEAL_MAX_BYTES` bytes and
:data:`SEAL_MIN_PX`–:data:`SEAL_MAX_PX` pixels a side, checked by its signature and by decoding it with
Pillow (the pixel size is read from the header before decoding, so a decompression bomb is refused cheaply).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import defer, selectinload

from app.accounts.models import Role
from app.audit.services import record
from app.db import db
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.orgs.models import Enterprise
from app.pdf import missing_glyphs
from certificates.domain import CertificateKind, make_serial
from certificates.looks import DEFAULT_BORDER, DEFAULT_COLOR, DEFAULT_ISSUER, DEFAULTS, default_border, look_of
from certificates.models import Certificate, CertificateTemplate, CertificateTemplateVersion
from certificates.pdf import (
    BORDER_STYLES,
    COLOR_RE,
    KIND_DETAIL_FIELDS,
    CertificateContent,
    allowed_placeholders,
    fill_placeholders,
    placeholder_problems,
    render_certificate,
)
from certificates.services.render import verification_url

log = logging.getLogger(__name__)

MANAGERS = (Role.ORGANIZER, Role.ADMIN)
SEAL_MAX_BYTES = 512 * 1024
SEAL_MIN_PX, SEAL_MAX_PX = 100, 2000
VALIDITY_MAX_MONTHS = 600
MAX_SIGNATORIES = 3
NAME_MAX, TITLE_MAX, BODY_MAX, ISSUER_MAX, SIGNATORY_MAX = 200, 100, 2000, 200, 50
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEEP = object()  # "keep the previous version's seal"

KIND_LABELS = {
    "award": _l("Award"),
    "participation": _l("Participation"),
    "skill_level": _l("Skill level"),
    "apprentice_graduation": _l("Apprentice graduation"),
    "craftsman_title": _l("Craftsman title"),
    "studio_honor": _l("Studio honor"),
}
BORDER_LABELS = {"none": _l("No border"), "single": _l("Single line"), "double": _l("Double line"),
                 "ornate": _l("Ornate (double line with corner ornaments)")}
PLACEHOLDER_LABELS = {
    "holder_name": _l("the holder's name"), "achievement": _l("the achievement, e.g. 一等奖"),
    "subject": _l("what it is for, e.g. the competition's name"), "issued_on": _l("the issue date"),
    "valid_until": _l("the end of validity"), "serial": _l("the certificate number"),
    "issuer_name": _l("the issuer"),
}

#: Sample data of previews, per kind.
SAMPLE_ACHIEVEMENT = {"award": "一等奖", "participation": "参赛", "skill_level": "三级/高级工",
                      "apprentice_graduation": "优秀", "craftsman_title": "金牌工匠",
                      "studio_honor": "市级劳模和工匠人才创新工作室"}
SAMPLE_DETAILS = {"competition": "2026年全市职工职业技能大赛", "trade": "焊工", "rank": 1,
                  "occupation": "焊工", "direction": "电焊工", "skill_level": "三级/高级工", "evaluator": "市职业技能鉴定中心",
                  "master_name": "李师傅", "period": "一年", "title_name": "金牌工匠", "year": "2026",
                  "studio_name": "王建国劳模创新工作室"}


# --- validation --------------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.details: dict[str, list[str]] = {}

    def add(self, field_name: str, message: Any) -> None:
        self.details.setdefault(field_name, []).append(str(message))

    def raise_if_any(self) -> None:
        if self.details:
            first = next(iter(self.details.values()))[0]
            raise DomainError(first, code="invalid_template", status=422, details=self.details)


def _clean_text(value: Any, limit: int, *, multiline: bool = False) -> str:
    text = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        text = re.sub(r"\s+", " ", text)
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    return text


def _glyph_problem(problems: _Problems, field_name: str, text: str) -> None:
    missing = missing_glyphs(text)
    if missing:
        problems.add(field_name, _l("The certificate font cannot draw these characters: %(chars)s. Please write "
                                    "them differently.", chars=" ".join(missing)))


def check_seal(data: bytes | None) -> tuple[bytes, str]:
    """The seal PNG and its SHA-256; ``DomainError`` (422, details ``seal``) for anything else."""
    def bad(message: Any) -> DomainError:
        return DomainError(message, code="invalid_seal", status=422, details={"seal": [str(message)]})

    if not data:
        raise bad(_l("The seal file is empty."))
    if len(data) > SEAL_MAX_BYTES:
        raise bad(_l("The seal image is too large: at most %(kb)d KB.", kb=SEAL_MAX_BYTES // 1024))
    if not data.startswith(PNG_SIGNATURE):
        raise bad(_l("The seal must be a PNG image."))
    if len(data) >= 24 and data[12:16] == b"IHDR":  # the size from the header, before Pillow sees the file
        width, height = struct.unpack(">II", data[16:24])
        if not (SEAL_MIN_PX <= width <= SEAL_MAX_PX and SEAL_MIN_PX <= height <= SEAL_MAX_PX):
            raise bad(_l("The seal image must be %(min)d to %(max)d pixels wide and high (this one is "
                         "%(w)d × %(h)d).", min=SEAL_MIN_PX, max=SEAL_MAX_PX, w=width, h=height))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format != "PNG":
                    raise bad(_l("The seal must be a PNG image."))
                width, height = img.size
                if not (SEAL_MIN_PX <= width <= SEAL_MAX_PX and SEAL_MIN_PX <= height <= SEAL_MAX_PX):
                    raise bad(_l("The seal image must be %(min)d to %(max)d pixels wide and high (this one is "
                                 "%(w)d × %(h)d).", min=SEAL_MIN_PX, max=SEAL_MAX_PX, w=width, h=height))
                img.verify()  # checksums of every chunk
            with Image.open(io.BytesIO(data)) as img:
                img.load()  # the pixel data decodes (verify() does not decode)
    except DomainError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise bad(_l("The seal file is not a valid PNG image.")) from None
    return data, hashlib.sha256(data).hexdigest()


def parse_signatories(text: str) -> list[dict[str, str]]:
    """``主任：王建国`` per line → ``[{"title": "主任", "name": "王建国"}]`` (a line without a colon is a name)."""
    out = []
    for line in (text or "").replace("\r", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        parts = re.split(r"[:：]", line, maxsplit=1)
        title, name = (parts[0], parts[1]) if len(parts) == 2 else ("", line)
        out.append({"title": title.strip(), "name": name.strip()})
    return out


def signatories_text(signatories: Iterable[Mapping[str, str]]) -> str:
    return "\n".join(f"{s.get('title', '')}：{s.get('name', '')}" if s.get("title") else s.get("name", "")
                     for s in signatories or ())


def clean_version(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """Validated version fields from ``data`` (title, body, issuer_name, signatories (list or text),
    primary_color, border_style, validity_months); raises one DomainError listing every problem."""
    problems = _Problems()
    title = _clean_text(data.get("title"), TITLE_MAX)
    if not title:
        problems.add("title", _l("Please enter a title."))
    elif len(title) > TITLE_MAX:
        problems.add("title", _l("The title may have at most %(n)d characters.", n=TITLE_MAX))
    else:
        _glyph_problem(problems, "title", title)

    body = _clean_text(data.get("body"), BODY_MAX, multiline=True)
    if not body:
        problems.add("body", _l("Please enter the text of the certificate."))
    elif len(body) > BODY_MAX:
        problems.add("body", _l("The text may have at most %(n)d characters.", n=BODY_MAX))
    else:
        for code, token in placeholder_problems(body, kind):
            if code == "brace":
                problems.add("body", _l("A lone brace %(token)s: write {{ or }} to print a brace.", token=token))
            else:
                problems.add("body", _l("Unknown placeholder %(token)s. Allowed: %(allowed)s.", token=token,
                                        allowed=", ".join("{" + p + "}" for p in allowed_placeholders(kind))))
        _glyph_problem(problems, "body", fill_placeholders(body, {}))

    issuer = _clean_text(data.get("issuer_name"), ISSUER_MAX)
    if not issuer:
        problems.add("issuer_name", _l("Please enter the issuer."))
    elif len(issuer) > ISSUER_MAX:
        problems.add("issuer_name", _l("The issuer may have at most %(n)d characters.", n=ISSUER_MAX))
    else:
        _glyph_problem(problems, "issuer_name", issuer)

    raw_signatories = data.get("signatories") or []
    if isinstance(raw_signatories, str):
        raw_signatories = parse_signatories(raw_signatories)
    signatories: list[dict[str, str]] = []
    if not isinstance(raw_signatories, list) or not all(isinstance(s, Mapping) for s in raw_signatories):
        problems.add("signatories", _l("Signatories must be a list of titles and names."))
    else:
        for s in raw_signatories:
            entry = {"title": _clean_text(s.get("title"), SIGNATORY_MAX), "name": _clean_text(s.get("name"), SIGNATORY_MAX)}
            if not entry["name"]:
                problems.add("signatories", _l("Every signatory needs a name."))
            elif len(entry["name"]) > SIGNATORY_MAX or len(entry["title"]) > SIGNATORY_MAX:
                problems.add("signatories", _l("A signatory's title and name may have at most %(n)d characters each.",
                                               n=SIGNATORY_MAX))
            else:
                _glyph_problem(problems, "signatories", entry["title"] + entry["name"])
            signatories.append(entry)
        if len(signatories) > MAX_SIGNATORIES:
            problems.add("signatories", _l("At most %(n)d signatories fit on a certificate.", n=MAX_SIGNATORIES))

    color = str(data.get("primary_color") or DEFAULT_COLOR).strip()
    if not COLOR_RE.match(color):
        problems.add("primary_color", _l("The colour must be written as #rrggbb, e.g. #b22222."))
    border = str(data.get("border_style") or DEFAULT_BORDER)
    if border not in BORDER_STYLES:
        problems.add("border_style", _l("Unknown border style."))

    validity = data.get("validity_months")
    if validity in ("", None):
        validity = None
    else:
        try:
            validity = int(str(validity).strip())
            if isinstance(data.get("validity_months"), float | bool) or not 1 <= validity <= VALIDITY_MAX_MONTHS:
                raise ValueError
        except (TypeError, ValueError):
            problems.add("validity_months", _l("The validity must be a whole number of months from 1 to %(n)d, or "
                                               "empty for no expiry.", n=VALIDITY_MAX_MONTHS))
            validity = None
    problems.raise_if_any()
    return {"title": title, "body": body, "issuer_name": issuer, "signatories": signatories,
            "primary_color": color.lower(), "border_style": border, "validity_months": validity}


def _clean_name(name: Any) -> str:
    text = _clean_text(name, NAME_MAX)
    problems = _Problems()
    if not text:
        problems.add("name", _l("Please enter a name."))
    elif len(text) > NAME_MAX:
        problems.add("name", _l("The name may have at most %(n)d characters.", n=NAME_MAX))
    problems.raise_if_any()
    return text


# --- access ------------------------------------------------------------------------------------------


def is_manager(user) -> bool:
    return user.has_role(*MANAGERS)


def can_manage(user, template: CertificateTemplate) -> bool:
    if is_manager(user):
        return True
    return template.enterprise_id is not None and template.enterprise_id in user.hr_enterprise_ids


def _visible_clause(user):
    if is_manager(user):
        return None
    ids = sorted(user.hr_enterprise_ids)
    return or_(CertificateTemplate.enterprise_id.is_(None), CertificateTemplate.enterprise_id.in_(ids))


def scope_choices(user) -> list[tuple[int, str]]:
    """Where ``user`` may create templates: 0 = union-wide (managers), else an enterprise of their HR role."""
    if is_manager(user):
        return [(0, str(_l("Union-wide")))]
    ids = sorted(user.hr_enterprise_ids)
    rows = db.session.execute(select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(ids)).order_by(Enterprise.id))
    return [(i, n) for i, n in rows]


def list_templates(user, kind: str | None = None, include_inactive: bool = True) -> list[CertificateTemplate]:
    """Templates ``user`` can see (versions loaded without their seal images), by kind and name."""
    stmt = (select(CertificateTemplate)
            .options(selectinload(CertificateTemplate.versions).options(defer(CertificateTemplateVersion.seal_png)))
            .order_by(CertificateTemplate.kind, CertificateTemplate.enterprise_id.is_not(None),
                      CertificateTemplate.name, CertificateTemplate.id))
    clause = _visible_clause(user)
    if clause is not None:
        stmt = stmt.where(clause)
    if kind:
        stmt = stmt.where(CertificateTemplate.kind == kind)
    if not include_inactive:
        stmt = stmt.where(CertificateTemplate.is_active.is_(True))
    return list(db.session.scalars(stmt))


def get_template(user, template_id: int) -> CertificateTemplate:
    template = db.session.get(CertificateTemplate, template_id)
    if template is None:
        raise NotFound(_l("No such certificate template."))
    if not is_manager(user) and template.enterprise_id is not None and template.enterprise_id not in user.hr_enterprise_ids:
        raise NotFound(_l("No such certificate template."))
    return template


def get_managed_template(user, template_id: int) -> CertificateTemplate:
    template = get_template(user, template_id)
    if not can_manage(user, template):
        raise PermissionDenied(_l("Union-wide templates are managed by the organizers."))
    return template


def get_version(template: CertificateTemplate, number: int) -> CertificateTemplateVersion:
    for version in template.versions:
        if version.version == number:
            return version
    raise NotFound(_l("No such template version."))


def latest_version(template: CertificateTemplate) -> CertificateTemplateVersion | None:
    return template.versions[-1] if template.versions else None


def usage_counts(version_ids: Iterable[int]) -> dict[int, int]:
    """Certificates issued with each version (one grouped query)."""
    ids = list(version_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Certificate.template_version_id, func.count())
                              .where(Certificate.template_version_id.in_(ids))
                              .group_by(Certificate.template_version_id))
    counts = dict.fromkeys(ids, 0)
    counts.update({vid: n for vid, n in rows})
    return counts


def is_used(version: CertificateTemplateVersion) -> bool:
    return usage_counts([version.id]).get(version.id, 0) > 0


# --- changes -----------------------------------------------------------------------------------------


def _check_kind(kind: Any) -> str:
    if kind not in KIND_LABELS:
        raise DomainError(_l("Unknown certificate kind."), code="invalid_template", status=422,
                          details={"kind": [str(_l("Unknown certificate kind."))]})
    return str(kind)


def _check_unique_name(name: str, kind: str, enterprise_id: int | None, exclude_id: int | None = None) -> None:
    stmt = select(CertificateTemplate.id).where(
        func.lower(CertificateTemplate.name) == name.lower(), CertificateTemplate.kind == kind,
        CertificateTemplate.enterprise_id.is_(None) if enterprise_id is None
        else CertificateTemplate.enterprise_id == enterprise_id)
    if exclude_id is not None:
        stmt = stmt.where(CertificateTemplate.id != exclude_id)
    if db.session.scalar(stmt.limit(1)) is not None:
        message = _l("A template of this kind with this name already exists here.")
        raise Conflict(message, code="duplicate_name", details={"name": [str(message)]})


def _seal_fields(seal: Any, previous: CertificateTemplateVersion | None) -> dict[str, Any]:
    if seal is KEEP:
        if previous is None:
            return {"seal_png": None, "seal_sha256": None}
        return {"seal_png": previous.seal_png, "seal_sha256": previous.seal_sha256}
    if seal is None:
        return {"seal_png": None, "seal_sha256": None}
    data, sha = check_seal(seal)
    return {"seal_png": data, "seal_sha256": sha}


def create_template(user, *, kind: str, name: str, enterprise_id: int | None, seal: Any = None,
                    **fields: Any) -> CertificateTemplate:
    """A template with its version 1. ``enterprise_id`` None: union-wide (managers only)."""
    kind = _check_kind(kind)
    if enterprise_id in (0, None):
        if not is_manager(user):
            raise PermissionDenied(_l("Union-wide templates are managed by the organizers."))
        enterprise_id = None
    elif not is_manager(user) and enterprise_id not in user.hr_enterprise_ids:
        raise PermissionDenied(_l("You may create templates only for your own enterprise."))
    elif db.session.get(Enterprise, enterprise_id) is None:
        message = _l("No such enterprise.")
        raise DomainError(message, code="invalid_template", status=422, details={"enterprise_id": [str(message)]})
    problems: dict[str, list[str]] = {}
    try:
        name = _clean_name(name)
    except DomainError as exc:
        problems.update(exc.details)
    try:
        values = clean_version(kind, fields)
    except DomainError as exc:
        problems.update(exc.details)
    if problems:
        raise DomainError(next(iter(problems.values()))[0], code="invalid_template", status=422, details=problems)
    seal_values = _seal_fields(seal, None)
    _check_unique_name(name, kind, enterprise_id)
    template = CertificateTemplate(kind=kind, name=name, enterprise_id=enterprise_id, created_by_id=user.id)
    template.versions.append(CertificateTemplateVersion(version=1, created_by_id=user.id, **values, **seal_values))
    db.session.add(template)
    db.session.flush()
    record("certificate_template.create", template, {"kind": kind, "name": name, "enterprise_id": enterprise_id})
    return template


def add_version(user, template: CertificateTemplate, *, seal: Any = KEEP, **fields: Any) -> CertificateTemplateVersion:
    """Version n+1 with the given content (``seal``: bytes, None to remove, KEEP for the previous one)."""
    if not can_manage(user, template):
        raise PermissionDenied(_l("Union-wide templates are managed by the organizers."))
    values = clean_version(template.kind, fields)
    previous = latest_version(template)
    seal_values = _seal_fields(seal, previous)
    number = (previous.version if previous else 0) + 1
    version = CertificateTemplateVersion(version=number, created_by_id=user.id, **values, **seal_values)
    template.versions.append(version)
    db.session.flush()
    record("certificate_template.version", template, {"version": number})
    return version


def update_version(user, template: CertificateTemplate, number: int, *, seal: Any = KEEP,
                   **fields: Any) -> CertificateTemplateVersion:
    """Correct a version in place: only the latest one, and only while no certificate uses it (else 409)."""
    if not can_manage(user, template):
        raise PermissionDenied(_l("Union-wide templates are managed by the organizers."))
    version = get_version(template, number)
    if version is not latest_version(template):
        raise Conflict(_l("Only the latest version can be changed."), code="not_latest")
    if is_used(version):
        raise Conflict(_l("Certificates were issued with this version, so it cannot change any more; save a new "
                          "version instead."), code="version_in_use")
    values = clean_version(template.kind, fields)
    values.update(_seal_fields(seal, version))
    for key, value in values.items():
        setattr(version, key, value)
    db.session.flush()
    record("certificate_template.version_update", template, {"version": number})
    return version


def save_content(user, template: CertificateTemplate, *, seal: Any = KEEP,
                 **fields: Any) -> tuple[CertificateTemplateVersion, bool]:
    """What the edit page does: correct the latest version while unused, else add a version.

    Returns ``(version, created)``."""
    latest = latest_version(template)
    if latest is not None and not is_used(latest):
        return update_version(user, template, latest.version, seal=seal, **fields), False
    return add_version(user, template, seal=seal, **fields), True


def update_template(user, template: CertificateTemplate, *, name: Any = None, is_active: Any = None) -> CertificateTemplate:
    if not can_manage(user, template):
        raise PermissionDenied(_l("Union-wide templates are managed by the organizers."))
    if name is not None:
        name = _clean_name(name)
        _check_unique_name(name, template.kind, template.enterprise_id, exclude_id=template.id)
        template.name = name
    if is_active is not None:
        template.is_active = bool(is_active)
    db.session.flush()
    record("certificate_template.update", template, {"name": template.name, "is_active": template.is_active})
    return template


# --- defaults and lookup -------------------------------------------------------------------------------


def ensure_default_templates() -> dict[str, CertificateTemplate]:
    """One union-wide template per kind (created when the kind has none yet); returns them by kind.

    Idempotent; flushes (the caller commits). The demo and first use of the templates page call it."""
    existing: dict[str, CertificateTemplate] = {}
    for template in db.session.scalars(select(CertificateTemplate).where(CertificateTemplate.enterprise_id.is_(None))
                                       .order_by(CertificateTemplate.id)):
        existing.setdefault(template.kind, template)
    created = False
    for kind in CertificateKind:
        if kind.value in existing:
            continue
        d = DEFAULTS[kind.value]
        template = CertificateTemplate(kind=kind.value, name=d["name"], enterprise_id=None)
        template.versions.append(CertificateTemplateVersion(
            version=1, title=d["title"], body=d["body"], signatories=[], issuer_name=DEFAULT_ISSUER,
            primary_color=DEFAULT_COLOR, border_style=default_border(kind.value),
            validity_months=None))
        db.session.add(template)
        existing[kind.value] = template
        created = True
    if created:
        db.session.flush()
    return existing


def seed_defaults_on_first_use() -> None:
    """:func:`ensure_default_templates` from a page (a GET): in a savepoint, and a lost race for SQLite's write
    lock only postpones it to the next visit."""
    if db.session.scalar(select(CertificateTemplate.id).where(CertificateTemplate.enterprise_id.is_(None)).limit(1)):
        return
    try:
        with db.session.begin_nested():
            ensure_default_templates()
    except OperationalError as exc:
        log.warning("default certificate templates not created now: %s", exc)


def template_for(kind: str, enterprise_id: int | None = None) -> CertificateTemplateVersion | None:
    """The version to issue with by default: the latest of the enterprise's active template of the kind (oldest
    template first), else of the union's; None when there is none."""
    scopes = ([enterprise_id] if enterprise_id is not None else []) + [None]
    for scope in scopes:
        stmt = (select(CertificateTemplate).where(CertificateTemplate.kind == kind, CertificateTemplate.is_active.is_(True))
                .order_by(CertificateTemplate.id).limit(1))
        stmt = stmt.where(CertificateTemplate.enterprise_id.is_(None) if scope is None
                          else CertificateTemplate.enterprise_id == scope)
        template = db.session.scalar(stmt)
        if template is not None and template.versions:
            return template.versions[-1]
    return None


# --- preview -----------------------------------------------------------------------------------------


def sample_content(kind: str, issuer_name: str = "", today: date | None = None) -> CertificateContent:
    today = today or date.today()
    serial = make_serial(kind, today.year, "0000", 1)
    fields = {name for name, _ in KIND_DETAIL_FIELDS.get(kind, ())}
    return CertificateContent(
        kind=kind, serial=serial, holder_name="张三", achievement=SAMPLE_ACHIEVEMENT.get(kind, "一等奖"),
        issued_on=today, verification_url=verification_url(serial), subject=SAMPLE_DETAILS["competition"],
        valid_until=None, issuer_name=issuer_name,
        details={k: v for k, v in SAMPLE_DETAILS.items() if k in fields},
    )


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    import calendar

    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def preview_pdf(template: CertificateTemplate, version: CertificateTemplateVersion) -> bytes:
    """A real PDF of the version with sample data, marked 样张 SPECIMEN across the page."""
    content = sample_content(template.kind)
    if version.validity_months:
        content = replace(content, valid_until=add_months(content.issued_on, version.validity_months))
    return render_certificate(content, look_of(version, template.kind), specimen=True)
