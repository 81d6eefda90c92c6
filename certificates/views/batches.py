"""HTML pages of bulk issuing: upload → preview (every row's errors) → confirm → progress (polled, no reload)
→ ZIP and error file; and "issue certificates for this competition" from its published results (organizer).

Thin: parse the form, call one service (``certificates.services.batches`` / ``from_results``), render or
redirect. Rows with errors are reported and skipped, not a reason to refuse the file (see the service's
docstring); the preview says so before the user confirms.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from app.accounts.forms import EmptyForm
from app.auth import roles_required
from app.db import db
from app.errors import HTTP_MESSAGES, DomainError
from app.forms import Form
from app.people.domain import mask_id
from app.people.forms import optional_int
from certificates.services import batches, from_results

bp = Blueprint("certificates_batches", __name__, template_folder="../templates")

ISSUERS = ("organizer", "admin", "hr")
ORGANIZERS = ("organizer", "admin")
PREVIEW_PER_PAGE = 100


def _optional_str(value):
    return value or None


class BatchUploadForm(Form):
    enterprise_id = SelectField(_l("Enterprise"), coerce=optional_int, choices=[], validate_choice=False)
    kind = SelectField(_l("Kind of certificate"), coerce=_optional_str, choices=[], validate_choice=False)
    template_id = SelectField(_l("Template"), coerce=optional_int, choices=[], validate_choice=False)
    subject = StringField(_l("Subject (when the file has no subject column)"),
                          validators=[Optional(), Length(max=batches.SUBJECT_MAX)])
    issued_on = DateField(_l("Issue date (when the file has none; default today)"), validators=[Optional()])
    file = FileField(_l("Certificate file (XLSX or CSV)"), validators=[FileRequired(_l("Choose a file to upload."))],
                     render_kw={"accept": ".xlsx,.csv,.txt"})


class CompetitionIssueForm(Form):
    template_id = SelectField(_l("Award certificate template"), coerce=optional_int, choices=[], validate_choice=False)


def _upload_form(formdata=None, **kw) -> BatchUploadForm:
    form = BatchUploadForm(**kw) if formdata is None else BatchUploadForm(formdata=formdata, **kw)
    form.enterprise_id.choices = [(e.id, e.name) for e in batches.hr_enterprises(current_user)]
    form.kind.choices = [("", _("From the file's 证书类型 column"))] + batches.kind_choices()
    form.template_id.choices = [("", _("Default template of the kind"))] + [
        (t.id, f"{t.name} ({_kind_label(t.kind)})") for t in batches.template_choices(current_user)]
    return form


def _kind_label(kind: str) -> str:
    from certificates.services.issuance import kind_label

    return kind_label(kind)


def _published_competitions() -> list:
    """Organizers: the published competitions (newest first), to issue their certificates in one action."""
    if not batches.is_manager(current_user):
        return []
    from competitions.services.setup import list_competitions

    return list(list_competitions(current_user, status="published", per_page=20).items)


def _upload_page(form: BatchUploadForm, status: int = 200):
    return render_template(
        "certificates/batches/upload.html", form=form, recent=batches.recent_batches(current_user),
        published=_published_competitions(),
        status_labels=batches.STATUS_LABELS, source_labels=batches.SOURCE_LABELS,
        max_rows=current_app.config.get("CERTIFICATE_BATCH_MAX_ROWS", batches.BATCH_MAX_ROWS),
        several_enterprises=len(form.enterprise_id.choices) > 1,
    ), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    db.session.rollback()
    if not current_user.is_authenticated or not current_user.has_role(*ISSUERS):
        return render_template("error.html", status=413, message=str(HTTP_MESSAGES[413])), 413
    form = _upload_form(formdata=None)
    form.file.errors = [str(HTTP_MESSAGES[413])]
    return _upload_page(form, 413)


@bp.route("/certificates/batches", methods=["GET", "POST"])
@roles_required(*ISSUERS)
def index():
    form = _upload_form()
    if not form.validate_on_submit():
        return _upload_page(form, 400 if request.method == "POST" else 200)
    upload_file = form.file.data
    try:
        batch = batches.preview_file(
            current_user, upload_file.filename or "", upload_file.read(),
            enterprise_id=form.enterprise_id.data if len(form.enterprise_id.choices) > 1 else None,
            kind=form.kind.data, template_id=form.template_id.data, subject=form.subject.data or "",
            issued_on=form.issued_on.data)
    except DomainError as exc:
        db.session.rollback()
        placed = False
        for name, messages in (exc.details or {}).items():
            field = getattr(form, name, None) if isinstance(messages, list) else None
            if field is not None:
                field.errors = list(field.errors) + [str(m) for m in messages]
                placed = True
        if not placed:
            form.file.errors = list(form.file.errors) + [str(exc.message)]
        return _upload_page(form, exc.status)
    return redirect(url_for("certificates_batches.show", batch_id=batch.id))


@bp.route("/certificates/batches/template.xlsx")
@roles_required(*ISSUERS)
def template():
    content, mimetype, filename = batches.template_file()
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=filename)


@bp.route("/certificates/batches/<batch_id>")
@roles_required(*ISSUERS)
def show(batch_id: str):
    batch = batches.get_batch(current_user, batch_id, with_rows=True)
    only_errors = request.args.get("only") == "errors"
    rows = batches.preview_rows(batch, only_errors=only_errors) if batch.status == batches.PREVIEW else []
    pages = max(1, -(-len(rows) // PREVIEW_PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    first = (page - 1) * PREVIEW_PER_PAGE
    shown = rows[first:first + PREVIEW_PER_PAGE]
    competition_url = None
    if batch.competition_id:
        from app import url_for_optional

        competition_url = url_for_optional("competitions_setup.detail", competition_id=batch.competition_id)
    return render_template(
        "certificates/batches/show.html", batch=batch, rows=shown, row_total=len(rows), first_row=first,
        page=page, pages=pages, only_errors=only_errors,
        counts=batches.summary(batch), progress=batches.progress(batch), empty=EmptyForm(),
        status_labels=batches.STATUS_LABELS, source_labels=batches.SOURCE_LABELS,
        column_labels=batches.COLUMN_LABELS, errors=batches.translated_errors(batch)[:200],
        error_total=len(batch.errors or []), mask_id=mask_id, competition_url=competition_url,
    )


@bp.route("/certificates/batches/<batch_id>/confirm", methods=["POST"])
@roles_required(*ISSUERS)
def confirm(batch_id: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    batch = batches.confirm_batch(current_user, batch_id)
    flash(_("Issuing has started (certificates: %(n)d). You may close this page; the job goes on.", n=batch.total),
          "success")
    return redirect(url_for("certificates_batches.show", batch_id=batch.id))


@bp.route("/certificates/batches/<batch_id>/discard", methods=["POST"])
@roles_required(*ISSUERS)
def discard(batch_id: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    batches.discard_batch(current_user, batch_id)
    flash(_("The batch was discarded; nothing was issued."), "success")
    return redirect(url_for("certificates_batches.index"))


@bp.route("/certificates/batches/<batch_id>/certificates.zip")
@roles_required(*ISSUERS)
def download_zip(batch_id: str):
    batch = batches.get_batch(current_user, batch_id)
    path = batches.zip_path(batch.id)
    if batch.status not in (batches.DONE, batches.FAILED) or not path.exists():
        raise DomainError(_l("The ZIP file is ready when the batch has finished."), code="batch_not_finished",
                          status=404)
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"certificates-{batch.id[:8]}.zip")


@bp.route("/certificates/batches/<batch_id>/errors")
@roles_required(*ISSUERS)
def errors(batch_id: str):
    batch = batches.get_batch(current_user, batch_id, with_rows=True)
    content, mimetype, filename = batches.error_file(batch, "xlsx" if request.args.get("format") == "xlsx" else "csv")
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=filename)


@bp.route("/certificates/competitions/<int:competition_id>/issue", methods=["GET", "POST"])
@roles_required(*ORGANIZERS)
def from_competition(competition_id: int):
    """One action: award certificates for the awardees and participation certificates for the rest."""
    form = CompetitionIssueForm()
    form.template_id.choices = [("", _("Default template of the kind"))] + [
        (t.id, t.name) for t in batches.template_choices(current_user, "award")]
    if form.validate_on_submit():
        batch = from_results.issue_for_competition(current_user, competition_id, template_id=form.template_id.data)
        flash(_("Issuing has started (certificates: %(n)d). You may close this page; the job goes on.", n=batch.total),
              "success")
        return redirect(url_for("certificates_batches.show", batch_id=batch.id))
    plan = from_results.plan(current_user, competition_id)
    return render_template("certificates/batches/competition.html", plan=plan, form=form,
                           kind_label=_kind_label), 400 if request.method == "POST" else 200
