"""HTML pages of appeals (申诉): ``/competitions/<id>/appeals``.

HR: files an appeal about an approved entry of its own enterprise in one module — only the (entry, module)
pairs whose window is open can be chosen; the window of every module is listed — and follows its appeals'
outcome. Organizer: every appeal, open ones first, with the module windows; may uphold (note: what will be
corrected) or reject (the reason) any open one (arbitration, 仲裁) — the chief judge of the module decides them on
the chief judge's page (``competitions.views.judging.decide_appeal``, by entrant code only); after upholding an
appeal on published results, publishes the corrected version through the results service. Entrant codes appear
only once decoded (the mapping is sealed before).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import Role
from app.auth import roles_required
from app.db import db
from app.errors import DomainError, NotFound, PermissionDenied
from app.inputs import parse_id
from competitions.forms.registration import AppealDecisionForm, AppealForm, DecisionForm
from competitions.labels import state_label
from competitions.services import appeals as services
from competitions.services.common import get_competition, is_organizer

bp = Blueprint("competitions_appeals", __name__, template_folder="../templates")

VIEWERS = (Role.ORGANIZER, Role.ADMIN, Role.HR)
ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)


def _target_choices(options) -> list[tuple[str, str]]:
    return [(f"{o.entry.id}:{o.module.id}", f"{o.entry.worker.name} · {o.module.name}") for o in options if o.can_file]


def _page(competition_id: int, *, form=None, decision_forms=None, status: int = 200):
    actor = current_user
    competition, appeals = services.list_appeals(actor, competition_id)
    organizer = is_organizer(actor)
    options = services.appeal_options(actor, competition.id) if actor.hr_enterprise_ids else []
    windows = services.module_windows(competition)
    decision_forms = decision_forms or {}
    return render_template(
        "competitions/appeals/index.html", competition=competition, appeals=appeals, organizer=organizer,
        options=options, windows=windows, is_hr=bool(actor.hr_enterprise_ids),
        form=form or AppealForm(formdata=None, target_choices=_target_choices(options)),
        decision_forms={v.id: decision_forms.get(v.id) or AppealDecisionForm(formdata=None, prefix=f"a{v.id}")
                        for v in appeals if v.status == services.OPEN},
        correction_form=DecisionForm(formdata=None), next_step=lambda v: services.next_step(v, competition),
        corrected_by=lambda v, _versions=services.versions_since(competition.id): services.corrected_by(v, _versions),
        status_labels=services.STATUS_LABELS, window_labels=services.WINDOW_LABELS,
        anchor_labels=services.ANCHOR_LABELS, state_label=state_label,
        show_codes=competition.is_decoded, filing_phase=competition.status in services.FILING_PHASES,
    ), status


def _refused(exc: DomainError) -> int:
    if isinstance(exc, NotFound | PermissionDenied):
        raise exc
    db.session.rollback()
    flash(str(exc.message), "error")
    return exc.status


@bp.route("/competitions/<int:competition_id>/appeals")
@roles_required(*VIEWERS)
def index(competition_id: int):
    return _page(competition_id)


@bp.route("/competitions/<int:competition_id>/appeals", methods=["POST"])
@roles_required(Role.HR)
def file(competition_id: int):
    options = services.appeal_options(current_user, competition_id)
    form = AppealForm(target_choices=_target_choices(options))
    if not form.validate_on_submit():
        return _page(competition_id, form=form, status=422 if form.is_submitted() else 400)
    entry, _sep, module = (form.target.data or "").partition(":")
    entry_id, module_id = parse_id(entry), parse_id(module)
    if entry_id is None or module_id is None:
        form.target.errors = [_("Choose the entrant and the module.")]
        return _page(competition_id, form=form, status=422)
    try:
        view = services.file_appeal(current_user, competition_id, entry_id, module_id, form.text.data)
    except DomainError as exc:
        return _page(competition_id, form=form, status=_refused(exc))
    flash(_("Your appeal about %(name)s (%(module)s) was filed. The chief judge of the module decides it (or the "
            "organizer).",
            name=view.entry.worker.name, module=view.module_name), "success")
    return redirect(url_for(".index", competition_id=competition_id))


@bp.route("/competitions/<int:competition_id>/appeals/<int:appeal_id>/decision", methods=["POST"])
@roles_required(*ORGANIZERS)
def decide(competition_id: int, appeal_id: int):
    form = AppealDecisionForm(prefix=f"a{appeal_id}")
    if not form.validate_on_submit():
        services.get_appeal(current_user, competition_id, appeal_id)  # 404 first for an unknown appeal
        return _page(competition_id, decision_forms={appeal_id: form}, status=422 if form.is_submitted() else 400)
    try:
        view = services.decide_appeal(current_user, competition_id, appeal_id, form.decision.data, form.note.data)
    except DomainError as exc:
        return _page(competition_id, decision_forms={appeal_id: form}, status=_refused(exc))
    if view.status == services.UPHELD:
        competition = get_competition(competition_id)
        if services.next_step(view, competition) == "publish_correction":
            flash(_("The appeal was upheld. Have the chief judge correct the marks, then publish the corrected "
                    "results version."), "success")
        else:
            flash(_("The appeal was upheld. Have the chief judge correct the marks before the results are "
                    "published."), "success")
    else:
        flash(_("The appeal was rejected."), "success")
    return redirect(url_for(".index", competition_id=competition_id))


@bp.route("/competitions/<int:competition_id>/appeals/<int:appeal_id>/correction", methods=["POST"])
@roles_required(*ORGANIZERS)
def correction(competition_id: int, appeal_id: int):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        version = services.publish_correction(current_user, competition_id, appeal_id, form.reason.data or "")
    except DomainError as exc:
        return _page(competition_id, status=_refused(exc))
    flash(_("Corrected results published as version %(n)d.", n=version.version), "success")
    return redirect(url_for(".index", competition_id=competition_id))
