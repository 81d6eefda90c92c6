"""HTML views of the worker import: upload, preview (paged, errors highlighted), confirm, discard,
the error file and the template.

Thin: parse the form, call one service, render or redirect. A file that cannot be imported is shown
on the upload page with its message (and that status, so the request rolls back); an upload over
MAX_CONTENT_LENGTH is answered 413 on the same page, before anything is read or stored.
"""

from __future__ import annotations

import io

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.auth import roles_required
from app.db import db
from app.errors import HTTP_MESSAGES, DomainError
from app.people.domain import mask_id, mask_mobile
from app.people.imports import services
from app.people.imports.forms import UploadForm
from app.people.imports.messages import (
    COLUMN_LABELS,
    ENCODING_LABELS,
    GENDER_LABELS,
    ID_TYPE_LABELS,
    SKILL_LEVEL_LABELS,
    STATUS_LABELS,
)

bp = Blueprint("imports", __name__, template_folder="templates")

PREVIEW_PER_PAGE = 100


@bp.context_processor
def _import_labels():
    return {
        "mask_id": mask_id, "mask_mobile": mask_mobile, "column_labels": COLUMN_LABELS,
        "encoding_labels": ENCODING_LABELS, "status_labels": STATUS_LABELS, "gender_labels": GENDER_LABELS,
        "id_type_labels": ID_TYPE_LABELS, "skill_labels": SKILL_LEVEL_LABELS,
    }


def _upload_page(form: UploadForm, enterprises, status: int = 200):
    return render_template(
        "imports/upload.html", form=form, enterprises=enterprises, recent=services.recent_imports(current_user),
        max_rows=current_app.config["IMPORT_MAX_ROWS"],
    ), status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    """Raised while the body is read (CSRF check or form): answer 413 on the upload page."""
    db.session.rollback()
    if not current_user.is_authenticated or not current_user.has_role(Role.HR):
        return render_template("error.html", status=413, message=str(HTTP_MESSAGES[413])), 413
    enterprises = services.hr_enterprises(current_user)
    form = UploadForm(formdata=None, enterprise_choices=[(e.id, e.name) for e in enterprises])
    form.file.errors = [str(HTTP_MESSAGES[413])]
    return _upload_page(form, enterprises, 413)


@bp.route("/workers/import", methods=["GET", "POST"])
@roles_required(Role.HR)
def upload():
    enterprises = services.hr_enterprises(current_user)
    form = UploadForm(enterprise_choices=[(e.id, e.name) for e in enterprises])
    if not form.validate_on_submit():
        return _upload_page(form, enterprises, 400 if request.method == "POST" else 200)
    upload_file = form.file.data
    enterprise_id = form.enterprise_id.data if len(enterprises) > 1 else None
    try:
        imp = services.preview_import(current_user, enterprise_id, upload_file.filename or "", upload_file.read())
    except DomainError as exc:
        db.session.rollback()
        form.file.errors = list(form.file.errors) + [str(exc.message)]
        return _upload_page(form, enterprises, exc.status)
    return redirect(url_for("imports.preview", import_id=imp.id))


@bp.route("/workers/import/template.xlsx")
@roles_required(Role.HR)
def template():
    content, mimetype, filename = services.template_file()
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=filename)


@bp.route("/workers/import/<import_id>")
@roles_required(Role.HR)
def preview(import_id: str):
    imp = services.get_import(current_user, import_id, with_rows=True)
    only_errors = request.args.get("only") == "errors"
    pg = None
    if imp.status == services.PREVIEW:
        pg = services.preview_page(imp, page=request.args.get("page", 1, type=int) or 1, per_page=PREVIEW_PER_PAGE,
                                   only_errors=only_errors)
    return render_template("imports/preview.html", imp=imp, pg=pg, only_errors=only_errors, empty=EmptyForm(),
                           error_total=len(imp.errors or []))


@bp.route("/workers/import/<import_id>/confirm", methods=["POST"])
@roles_required(Role.HR)
def confirm(import_id: str):
    imp = services.confirm_import(current_user, import_id)
    flash(_("%(n)d workers were imported.", n=imp.row_count), "success")
    return redirect(url_for("imports.preview", import_id=imp.id))


@bp.route("/workers/import/<import_id>/discard", methods=["POST"])
@roles_required(Role.HR)
def discard(import_id: str):
    services.discard_import(current_user, import_id)
    flash(_("The import was discarded; nothing was imported."), "success")
    return redirect(url_for("imports.upload"))


@bp.route("/workers/import/<import_id>/errors")
@roles_required(Role.HR)
def errors(import_id: str):
    imp = services.get_import(current_user, import_id)
    content, mimetype, filename = services.error_file(imp, "xlsx" if request.args.get("format") == "xlsx" else "csv")
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=filename)
