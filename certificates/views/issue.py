"""Issuing pages for organizers, admins and HR (within their scope): the list of certificates with filters,
issuing one certificate, a certificate's detail (signed content, status, history, PDF), revoking and
superseding (correcting under a new serial). One service call per request (certificates.services.issuance).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Role
from app.auth import roles_required
from app.db import db
from app.errors import DomainError
from app.inputs import parse_id
from app.people.domain import mask_id, mask_name
from app.people.models import Worker
from certificates import domain
from certificates.forms import DETAIL_FIELDS, DETAIL_LABELS, IssueForm, RevokeForm, SupersedeForm
from certificates.models import Certificate, CertificateTemplate
from certificates.services import issuance
from certificates.services.verification import verify_serial

bp = Blueprint("certificates_issue", __name__, template_folder="../templates")

ROLES = (Role.ORGANIZER, Role.ADMIN, Role.HR)
WORKER_CHOICES_MAX = 200


@bp.context_processor
def _helpers():
    return {"mask_name": mask_name, "kind_label": issuance.kind_label, "status_label": issuance.status_label,
            "kinds": list(domain.CertificateKind), "statuses": list(domain.CertificateStatus),
            "detail_labels": {key: str(label) for key, label in DETAIL_LABELS.items()},
            "detail_names": [name for name, _label in DETAIL_FIELDS]}


def _int_arg(name: str) -> int | None:
    return parse_id(request.args.get(name, ""))


def _competition_choices() -> list[tuple[int, str]]:
    """Competitions that have certificates in the actor's scope (for the filter)."""
    from competitions.models import Competition

    stmt = select(Certificate.competition_id).where(Certificate.competition_id.is_not(None)).distinct()
    clause = issuance.scope_clause(current_user)
    if clause is not None:
        stmt = stmt.where(clause)
    ids = [i for i in db.session.scalars(stmt)]
    if not ids:
        return []
    rows = db.session.execute(select(Competition.id, Competition.name).where(Competition.id.in_(ids))
                              .order_by(Competition.id.desc()))
    return [(r.id, r.name) for r in rows]


@bp.route("/certificates")
@roles_required(*ROLES)
def index():
    kind = request.args.get("kind") or None
    kind = kind if kind in {k.value for k in domain.CertificateKind} else None
    status = request.args.get("status") or None
    status = status if status in {s.value for s in domain.CertificateStatus} else None
    competition_id = _int_arg("competition_id")
    q = (request.args.get("q") or "").strip()[:100]
    page = _int_arg("page") or 1
    pagination = issuance.list_certificates(current_user, kind=kind, status=status, competition_id=competition_id,
                                            q=q, page=page, per_page=20)
    return render_template("certificates/issue/index.html", pagination=pagination, kind=kind, status=status,
                           competition_id=competition_id, q=q, competitions=_competition_choices())


def _worker_choices(q: str, selected: int | None) -> list[tuple[int, str]]:
    stmt = select(Worker).where(Worker.is_active.is_(True))
    if not issuance.is_manager(current_user):
        stmt = stmt.where(Worker.enterprise_id.in_(current_user.hr_enterprise_ids))
    if q:
        stmt = stmt.where(Worker.name.icontains(q, autoescape=True) | (Worker.id_last4 == q.upper()))
    workers = list(db.session.scalars(stmt.order_by(Worker.name, Worker.id).limit(WORKER_CHOICES_MAX)))
    if selected and all(w.id != selected for w in workers):
        extra = db.session.get(Worker, selected)
        if extra is not None:
            workers.insert(0, extra)
    return [(w.id, f"{w.name} · {w.enterprise.name} · {mask_id(w.id_last4, w.id_type)}") for w in workers]


def _template_choices() -> list[tuple[int, str]]:
    stmt = select(CertificateTemplate).where(CertificateTemplate.is_active.is_(True))
    if not issuance.is_manager(current_user):
        stmt = stmt.where(CertificateTemplate.enterprise_id.in_(current_user.hr_enterprise_ids))
    return [(t.id, f"{t.name} ({issuance.kind_label(t.kind)})")
            for t in db.session.scalars(stmt.order_by(CertificateTemplate.kind, CertificateTemplate.name))]


def _field_errors(form, exc: DomainError) -> None:
    """Put a service's per-field messages on the form's fields (the rest as a flash)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    unplaced = []
    for name, messages in details.items():
        target = getattr(form, name, None)
        if name == "details":
            target = getattr(form, "note", None)
        msgs = messages if isinstance(messages, list) else [messages]
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + [str(m) for m in msgs]
        else:
            unplaced.extend(str(m) for m in msgs)
    flash(" ".join([str(exc.message)] + unplaced), "error")


@bp.route("/certificates/new", methods=["GET", "POST"])
@roles_required(*ROLES)
def new():
    q = (request.args.get("q") or "").strip()[:64]
    selected = _int_arg("worker_id")
    form = IssueForm(worker_choices=_worker_choices(q, selected or (request.form.get("worker_id", type=int))),
                     template_choices=_template_choices())
    if request.method == "GET" and selected:
        form.worker_id.data = selected
    status = 200
    if form.validate_on_submit():
        try:
            result = issuance.issue_certificate(
                current_user, kind=form.kind.data, worker_id=form.worker_id.data, template_id=form.template_id.data,
                achievement=form.achievement.data or "", details=form.details())
        except DomainError as exc:
            if exc.status >= 500 or exc.status in (401, 403):
                raise
            _field_errors(form, exc)
            status = exc.status if exc.status in (404, 409, 422) else 400
        else:
            cert = result.certificate
            if result.created:
                flash(_("Certificate %(serial)s issued.", serial=cert.serial), "success")
            else:
                flash(_("This certificate was already issued (%(serial)s); nothing new was issued.", serial=cert.serial),
                      "warning")
            return redirect(url_for(".detail", certificate_id=cert.id))
    elif request.method == "POST":
        status = 400
    return render_template("certificates/issue/new.html", form=form, q=q), status


def _detail(certificate: Certificate, *, revoke_form=None, supersede_form=None, status: int = 200):
    editable = {name for name, _label in DETAIL_FIELDS}
    details = certificate.details or {}
    if supersede_form is None:
        supersede_form = SupersedeForm(formdata=None, achievement=certificate.achievement,
                                       holder_name=certificate.holder_name,
                                       **{k: str(v) for k, v in details.items() if k in editable})
    return render_template(
        "certificates/issue/detail.html", c=certificate, history=issuance.history(certificate),
        kept_details={k: v for k, v in details.items() if k not in editable},
        verification=verify_serial(certificate.serial), revoke_form=revoke_form or RevokeForm(formdata=None),
        supersede_form=supersede_form, can_manage=issuance.can_manage_certificate(current_user, certificate),
    ), status


@bp.route("/certificates/<int:certificate_id>")
@roles_required(*ROLES)
def detail(certificate_id: int):
    certificate = issuance.get_certificate(current_user, certificate_id)
    if not issuance.can_issue(current_user):  # a worker who is also HR elsewhere reads their own in "My certificates"
        abort(404)
    return _detail(certificate)


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
@roles_required(*ROLES)
def revoke(certificate_id: int):
    certificate = issuance.get_manageable(current_user, certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason."), "error")
        return _detail(certificate, revoke_form=form, status=400)
    try:
        issuance.revoke_certificate(current_user, certificate_id, reason=form.reason.data)
    except DomainError as exc:
        if exc.status in (401, 403, 404) or exc.status >= 500:
            raise
        _field_errors(form, exc)
        return _detail(certificate, revoke_form=form, status=exc.status)
    flash(_("Certificate %(serial)s revoked.", serial=certificate.serial), "success")
    return redirect(url_for(".detail", certificate_id=certificate_id))


@bp.route("/certificates/<int:certificate_id>/supersede", methods=["POST"])
@roles_required(*ROLES)
def supersede(certificate_id: int):
    certificate = issuance.get_manageable(current_user, certificate_id)
    form = SupersedeForm()
    if not form.validate_on_submit():
        flash(_("Please correct the marked fields."), "error")
        return _detail(certificate, supersede_form=form, status=400)
    # The page edits the common detail fields; other details (e.g. a competition's rank) are kept as they are.
    editable = {name for name, _label in DETAIL_FIELDS}
    kept = {k: v for k, v in (certificate.details or {}).items() if k not in editable}
    changes = {"achievement": form.achievement.data, "details": kept | form.details()}
    if (form.holder_name.data or "").strip() and form.holder_name.data.strip() != certificate.holder_name:
        changes["holder_name"] = form.holder_name.data.strip()
    try:
        new_cert = issuance.supersede_certificate(current_user, certificate_id, reason=form.reason.data, **changes)
    except DomainError as exc:
        if exc.status in (401, 403, 404) or exc.status >= 500:
            raise
        db.session.rollback()
        certificate = issuance.get_manageable(current_user, certificate_id)
        _field_errors(form, exc)
        return _detail(certificate, supersede_form=form, status=exc.status)
    flash(_("Certificate %(old)s was replaced by %(new)s.", old=certificate.serial, new=new_cert.serial), "success")
    return redirect(url_for(".detail", certificate_id=new_cert.id))
