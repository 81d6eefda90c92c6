"""Certificate templates (HTML): list, create, edit content (new version once used), preview as a PDF.

Organizers and admins manage union-wide templates (and may look after enterprises' ones); HR manage their
enterprise's and see the union-wide ones read-only. All rules live in ``certificates.services.templates``.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import BooleanField, ColorField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.auth import roles_required
from app.errors import DomainError
from app.forms import Form
from certificates.pdf import BORDER_STYLES, KIND_DETAIL_FIELDS
from certificates.services import render
from certificates.services import templates as services

bp = Blueprint("certificates_templates", __name__, template_folder="../templates")

STAFF = (Role.ORGANIZER, Role.ADMIN, Role.HR)


class ContentForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=services.TITLE_MAX)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=services.BODY_MAX)],
                         render_kw={"rows": 6})
    issuer_name = StringField(_l("Issuer"), validators=[DataRequired(), Length(max=services.ISSUER_MAX)])
    signatories = TextAreaField(_l("Signatories"), validators=[Optional(), Length(max=400)], render_kw={"rows": 3})
    primary_color = ColorField(_l("Colour"), default=services.DEFAULT_COLOR)
    border_style = SelectField(_l("Border"), choices=[], default=services.DEFAULT_BORDER)
    validity_months = IntegerField(_l("Valid for (months)"), validators=[
        Optional(), NumberRange(min=1, max=services.VALIDITY_MAX_MONTHS)])
    seal = FileField(_l("Seal (PNG)"), render_kw={"accept": "image/png"})
    remove_seal = BooleanField(_l("Remove the seal"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.border_style.choices = [(b, str(services.BORDER_LABELS[b])) for b in BORDER_STYLES]

    def content(self) -> dict:
        return {"title": self.title.data, "body": self.body.data, "issuer_name": self.issuer_name.data,
                "signatories": self.signatories.data or "", "primary_color": self.primary_color.data,
                "border_style": self.border_style.data, "validity_months": self.validity_months.data}

    def seal_value(self, keep=services.KEEP):
        """Uploaded bytes, None to remove the seal, or ``keep``."""
        upload = self.seal.data
        if upload is not None and getattr(upload, "filename", ""):
            return upload.read(services.SEAL_MAX_BYTES + 1)
        if self.remove_seal.data:
            return None
        return keep

    def fill_from(self, version) -> None:
        self.title.data = version.title
        self.body.data = version.body
        self.issuer_name.data = version.issuer_name
        self.signatories.data = services.signatories_text(version.signatories)
        self.primary_color.data = version.primary_color
        self.border_style.data = version.border_style
        self.validity_months.data = version.validity_months


class NewTemplateForm(ContentForm):
    kind = SelectField(_l("Kind"), choices=[], validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=services.NAME_MAX)])
    scope = SelectField(_l("For"), choices=[], coerce=int)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k, str(label)) for k, label in services.KIND_LABELS.items()]


class RenameForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=services.NAME_MAX)])


def _show_errors(form, exc: DomainError) -> None:
    shown = False
    for name, messages in (exc.details or {}).items():
        if name in form and isinstance(messages, list):
            form[name].errors = list(form[name].errors) + [str(m) for m in messages]
            shown = True
    if not shown:
        flash(str(exc.message), "error")


def _help() -> dict:
    return {"kind_fields": KIND_DETAIL_FIELDS, "placeholder_labels": services.PLACEHOLDER_LABELS,
            "kind_labels": services.KIND_LABELS, "seal_max_kb": services.SEAL_MAX_BYTES // 1024,
            "seal_min_px": services.SEAL_MIN_PX, "seal_max_px": services.SEAL_MAX_PX}


@bp.route("/certificate-templates")
@roles_required(*STAFF)
def index():
    services.seed_defaults_on_first_use()  # one union-wide template per kind
    kind = request.args.get("kind", "")
    if kind not in services.KIND_LABELS:
        kind = ""
    templates = services.list_templates(current_user, kind or None)
    counts = services.usage_counts(v.id for t in templates for v in t.versions)
    used = {t.id: sum(counts.get(v.id, 0) for v in t.versions) for t in templates}
    enterprise_names = dict(services.scope_choices(current_user)) if not services.is_manager(current_user) else {}
    return render_template("certificates/templates/index.html", templates=templates, used=used, kind=kind,
                           kind_labels=services.KIND_LABELS, can_manage=lambda t: services.can_manage(current_user, t),
                           enterprise_names=enterprise_names)


@bp.route("/certificate-templates/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def new():
    form = NewTemplateForm()
    form.scope.choices = services.scope_choices(current_user)
    if request.method == "GET":
        kind = request.args.get("kind") if request.args.get("kind") in services.DEFAULTS else "award"
        form.kind.data = kind
        defaults = services.DEFAULTS[kind]
        form.title.data, form.body.data = defaults["title"], defaults["body"]
        form.issuer_name.data = "" if not services.is_manager(current_user) else services.DEFAULT_ISSUER
        if not services.is_manager(current_user) and form.scope.choices:
            form.issuer_name.data = form.scope.choices[0][1]
    if form.validate_on_submit():
        try:
            template = services.create_template(
                current_user, kind=form.kind.data, name=form.name.data, enterprise_id=form.scope.data or None,
                seal=form.seal_value(keep=None), **form.content())
        except DomainError as exc:
            _show_errors(form, exc)
        else:
            flash(_("Template %(name)s was created. Check the preview before you issue with it.", name=template.name),
                  "success")
            return redirect(url_for("certificates_templates.detail", template_id=template.id))
    return render_template("certificates/templates/form.html", form=form, template=None, latest=None, **_help())


@bp.route("/certificate-templates/<int:template_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def detail(template_id: int):
    template = services.get_template(current_user, template_id)
    manageable = services.can_manage(current_user, template)
    latest = services.latest_version(template)
    form = ContentForm()
    if request.method == "GET" and latest is not None:
        form.fill_from(latest)
    if request.method == "POST":
        template = services.get_managed_template(current_user, template_id)
        if form.validate_on_submit():
            try:
                version, created = services.save_content(current_user, template, seal=form.seal_value(), **form.content())
            except DomainError as exc:
                _show_errors(form, exc)
            else:
                if created:
                    flash(_("Saved as version %(n)d; certificates already issued keep their version.", n=version.version),
                          "success")
                else:
                    flash(_("Version %(n)d was updated (no certificate uses it yet).", n=version.version), "success")
                return redirect(url_for("certificates_templates.detail", template_id=template.id))
    counts = services.usage_counts(v.id for v in template.versions)
    rename = RenameForm(name=template.name) if manageable else None
    return render_template("certificates/templates/detail.html", template=template, form=form, latest=latest,
                           counts=counts, manageable=manageable, rename=rename, empty=EmptyForm(),
                           latest_used=bool(latest and counts.get(latest.id)), **_help())


@bp.route("/certificate-templates/<int:template_id>/name", methods=["POST"])
@roles_required(*STAFF)
def rename(template_id: int):
    template = services.get_managed_template(current_user, template_id)
    form = RenameForm()
    if form.validate_on_submit():
        try:
            services.update_template(current_user, template, name=form.name.data)
        except DomainError as exc:
            flash(str(exc.message), "error")
        else:
            flash(_("Saved."), "success")
    else:
        flash(_("Please enter a name."), "error")
    return redirect(url_for("certificates_templates.detail", template_id=template.id))


def _set_active(template_id: int, active: bool):
    template = services.get_managed_template(current_user, template_id)
    if EmptyForm().validate_on_submit():
        services.update_template(current_user, template, is_active=active)
        flash(_("The template can be used again.") if active else
              _("The template was deactivated: it is no longer offered for issuing; issued certificates keep it."),
              "success")
    return redirect(url_for("certificates_templates.detail", template_id=template.id))


@bp.route("/certificate-templates/<int:template_id>/deactivate", methods=["POST"])
@roles_required(*STAFF)
def deactivate(template_id: int):
    return _set_active(template_id, False)


@bp.route("/certificate-templates/<int:template_id>/activate", methods=["POST"])
@roles_required(*STAFF)
def activate(template_id: int):
    return _set_active(template_id, True)


@bp.route("/certificate-templates/<int:template_id>/versions/<int:version>/preview.pdf")
@roles_required(*STAFF)
def preview(template_id: int, version: int):
    template = services.get_template(current_user, template_id)
    v = services.get_version(template, version)
    data = services.preview_pdf(template, v)
    resp = Response(data, mimetype="application/pdf")
    name = f"{template.name}-v{v.version}-样张.pdf"
    resp.headers["Content-Disposition"] = render.content_disposition(name, inline=True)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.route("/certificate-templates/<int:template_id>/versions/<int:version>/seal.png")
@roles_required(*STAFF)
def seal(template_id: int, version: int):
    template = services.get_template(current_user, template_id)
    v = services.get_version(template, version)
    if not v.seal_png:
        from app.errors import NotFound

        raise NotFound(_("This version has no seal."))
    resp = Response(v.seal_png, mimetype="image/png")
    resp.set_etag(v.seal_sha256 or "")
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp.make_conditional(request)
