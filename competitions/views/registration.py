"""HTML pages of registration (报名).

HR (``/registrations``): the competitions open for registration and its own entries with their status; per
competition, picking active workers of its own enterprises from the registry (search by name, mobile or the last 4
characters of the ID number; the quota shown), registering from a file exactly like the foundation's worker
import (preview with every row's errors, all-or-nothing confirmation, error file), withdrawing an entry while
allowed, and the way to the appeals page once the competition is under way.

Organizer (``/competitions/<id>/registrations``): every entry with its status, approve/reject one or many, the
quotas per enterprise, and the draw (抽签). Blind coding (docs/domain.md, 2.5): the code ↔ entrant mapping is sealed until
the organizer decodes the competition — the entry list shows names without codes, and the code list
(``…/registrations/codes``) opens it only on purpose, each time written to the audit log, and never for someone
who judges in this competition.

The file flow stores nothing between preview and confirmation: the checked file travels back in the confirmation
form and is checked again when confirmed (the data may have changed meanwhile), as the JSON API does.
Thin views: parse the form, call one service, render or redirect; a refused request re-renders the page with the
message and the 4xx status (nothing written: the request rolls back).
"""

from __future__ import annotations

import base64
import binascii
import io
from collections import Counter

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.services import record
from app.auth import roles_required
from app.db import db
from app.errors import DomainError, NotFound, PermissionDenied
from app.inputs import parse_id
from app.orgs.models import Enterprise
from app.people import services as people_services
from app.people.domain import mask_id
from app.people.labels import SKILL_LEVEL_LABELS
from competitions.domain import CompetitionState
from competitions.forms.registration import (
    DecisionForm,
    DrawForm,
    QuotaForm,
    RegisterWorkersForm,
    RegistrationFileConfirmForm,
    RegistrationFileForm,
)
from competitions.labels import LEVEL_LABELS, state_label
from competitions.models import Competition, Entry, ModuleCode, Panel, PanelJudge
from competitions.services import registration as services
from competitions.services.appeals import FILING_PHASES
from competitions.services.common import audit_stream, get_competition, is_organizer

bp = Blueprint("competitions_registration", __name__, template_folder="../templates")

ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)
ENTRIES_PER_PAGE = 100
PICKER_PER_PAGE = 50


# The pages' own words for an entry's status ("Registered" alone reads like a date column).
ENTRY_STATUS_LABELS = {
    services.REGISTERED: _l("Awaiting decision"),
    services.APPROVED: _l("Approved"),
    services.REJECTED: _l("Rejected"),
    services.WITHDRAWN: _l("Withdrawn"),
}


@bp.context_processor
def _labels():
    return {"status_labels": ENTRY_STATUS_LABELS, "state_label": state_label, "level_labels": LEVEL_LABELS,
            "mask_id": mask_id, "skill_labels": SKILL_LEVEL_LABELS, "file_column_labels": services.FILE_COLUMN_LABELS}


def _refused(exc: DomainError) -> int:
    """Flash a refusal (with its per-item details) and give the status the re-rendered page answers with."""
    if isinstance(exc, NotFound | PermissionDenied):
        raise exc
    db.session.rollback()
    flash(str(exc.message), "error")
    items = exc.details.get("items") if isinstance(exc.details, dict) else None
    for item in (items or [])[:20]:
        if item.get("message"):
            flash(str(item["message"]), "error")
    return exc.status


# --- HR ------------------------------------------------------------------------------------------------


def _hr_overview(actor) -> tuple[list[Competition], list[tuple[Competition, Counter]], dict[int, tuple]]:
    """Open competitions; competitions with the HR's entries (counts by status); quota lines of open ones."""
    ids = set(actor.hr_enterprise_ids)
    open_comps = list(db.session.scalars(select(Competition).where(
        Competition.status == CompetitionState.REGISTRATION_OPEN.value).order_by(Competition.starts_on, Competition.id)))
    counts = db.session.execute(
        select(Entry.competition_id, Entry.status, func.count()).where(Entry.enterprise_id.in_(ids))
        .group_by(Entry.competition_id, Entry.status)).all()
    by_comp: dict[int, Counter] = {}
    for comp_id, status, n in counts:
        by_comp.setdefault(comp_id, Counter())[status] = n
    comps = {c.id: c for c in db.session.scalars(select(Competition).where(Competition.id.in_(list(by_comp))))}
    mine = sorted(((comps[i], c) for i, c in by_comp.items() if i in comps), key=lambda x: -x[0].id)
    quotas: dict[int, tuple] = {}
    if open_comps:
        from competitions.models import EnterpriseQuota

        rows = db.session.execute(select(EnterpriseQuota.competition_id, func.sum(EnterpriseQuota.max_entries))
                                  .where(EnterpriseQuota.competition_id.in_([c.id for c in open_comps]),
                                         EnterpriseQuota.enterprise_id.in_(ids))
                                  .group_by(EnterpriseQuota.competition_id)).all()
        for comp_id, max_entries in rows:
            used = sum(n for s, n in by_comp.get(comp_id, Counter()).items() if s in services.COUNTED)
            quotas[comp_id] = (int(max_entries), used)
    return open_comps, mine, quotas


@bp.route("/registrations")
@roles_required(Role.HR)
def index():
    open_comps, mine, quotas = _hr_overview(current_user)
    return render_template("competitions/registration/index.html", open_comps=open_comps, mine=mine, quotas=quotas)


def _hr_competition(competition_id: int) -> Competition:
    competition = get_competition(competition_id)
    if competition.status == CompetitionState.DRAFT.value:
        raise NotFound(_l("No such competition."))
    return competition


def _hr_page(competition: Competition, *, register_form=None, file_form=None, status: int = 200):
    actor = current_user
    page = request.args.get("page", 1, type=int) or 1
    _comp, entries = services.list_entries(actor, competition.id, page=page, per_page=ENTRIES_PER_PAGE)
    quotas = services.list_quotas(actor, competition.id)
    q = request.args.get("q", "").strip()
    picker = None
    registered: dict[int, str] = {}
    is_open = competition.status == CompetitionState.REGISTRATION_OPEN.value
    if is_open:
        if len(q) >= 15:  # whole ID numbers are neither searched nor echoed back
            flash(_("Search by the last 4 characters of the ID number; whole ID numbers are not searched or shown."),
                  "warning")
            q = ""
        picker = people_services.list_workers(actor, q=q, status="active", page=request.args.get("wpage", 1, type=int)
                                              or 1, per_page=PICKER_PER_PAGE)
        wids = [w.id for w in picker.items]
        if wids:
            registered = dict(db.session.execute(select(Entry.worker_id, Entry.status).where(
                Entry.competition_id == competition.id, Entry.worker_id.in_(wids))).all())
    can_withdraw = competition.status in services.EVENT_PHASES["withdraw"]
    return render_template(
        "competitions/registration/hr_competition.html", competition=competition, entries=entries, quotas=quotas,
        picker=picker, q=q, registered=registered, is_open=is_open, can_withdraw=can_withdraw,
        withdrawable=(services.REGISTERED, services.APPROVED), show_codes=services.shows_codes(actor, competition),
        register_form=register_form or RegisterWorkersForm(formdata=None),
        file_form=file_form or RegistrationFileForm(formdata=None),
        appeals_open=competition.status in FILING_PHASES, many_enterprises=len(actor.hr_enterprise_ids) > 1,
    ), status


@bp.route("/registrations/<int:competition_id>")
@roles_required(Role.HR)
def hr_competition(competition_id: int):
    return _hr_page(_hr_competition(competition_id))


@bp.route("/registrations/<int:competition_id>/register", methods=["POST"])
@roles_required(Role.HR)
def register(competition_id: int):
    competition = _hr_competition(competition_id)
    form = RegisterWorkersForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
        return _hr_page(competition, register_form=form, status=400)
    try:
        entries = services.register_workers(current_user, competition.id, form.worker_ids.data)
    except DomainError as exc:
        return _hr_page(get_competition(competition_id), register_form=form, status=_refused(exc))
    flash(_("Registered: %(n)d. The organizer will review the entries.", n=len(entries)), "success")
    return redirect(url_for(".hr_competition", competition_id=competition.id))


def _file_preview(competition: Competition, filename: str, data: bytes, *, status: int = 200, result=None,
                  refused: list | None = None):
    if result is None:
        result = services.register_from_file(current_user, competition.id, filename, data, dry_run=True)
    errors = refused if refused is not None else result.errors
    by_row: dict[int | None, list] = {}
    for e in errors:
        by_row.setdefault(e["row"], []).append(e)
    names = {r["row"]: r["name"] for r in result.rows}
    lines = [(row, names.get(row), by_row.get(row, [])) for row in sorted(set(names) | {r for r in by_row if r is not None})]
    confirm = RegistrationFileConfirmForm(formdata=None, filename=filename,
                                          content=base64.b64encode(data).decode("ascii"))
    return render_template("competitions/registration/file_preview.html", competition=competition, result=result,
                           errors=errors, by_row=by_row, lines=lines, error_rows=len({e["row"] for e in errors if e["row"]}),
                           filename=filename, confirm=confirm), status


@bp.route("/registrations/<int:competition_id>/file", methods=["POST"])
@roles_required(Role.HR)
def file_upload(competition_id: int):
    competition = _hr_competition(competition_id)
    form = RegistrationFileForm()
    if not form.validate_on_submit():
        return _hr_page(competition, file_form=form, status=400)
    upload = form.file.data
    data = upload.read()
    try:
        return _file_preview(competition, upload.filename or "", data)
    except DomainError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        db.session.rollback()
        form.file.errors = list(form.file.errors) + [str(exc.message)]
        return _hr_page(get_competition(competition_id), file_form=form, status=exc.status)


def _posted_file(form: RegistrationFileConfirmForm) -> tuple[str, bytes]:
    if not form.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(form.content.data.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        abort(400)
    return form.filename.data or "upload", data


@bp.route("/registrations/<int:competition_id>/file/confirm", methods=["POST"])
@roles_required(Role.HR)
def file_confirm(competition_id: int):
    competition = _hr_competition(competition_id)
    filename, data = _posted_file(RegistrationFileConfirmForm())
    try:
        result = services.register_from_file(current_user, competition.id, filename, data, dry_run=False)
    except services.RegistrationRefused as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        competition = get_competition(competition_id)
        preview = services.FileResult(dry_run=True, row_count=exc.details.get("row_count", 0))
        return _file_preview(competition, filename, data, status=exc.status, result=preview,
                             refused=exc.details.get("errors", []))
    except DomainError as exc:
        return _hr_page(get_competition(competition_id), status=_refused(exc))
    flash(_("Registered from the file: %(n)d. The organizer will review the entries.", n=len(result.entries)),
          "success")
    return redirect(url_for(".hr_competition", competition_id=competition.id))


@bp.route("/registrations/<int:competition_id>/file/errors", methods=["POST"])
@roles_required(Role.HR)
def file_errors(competition_id: int):
    """The errors of a checked registration file (CSV or XLSX), or the file itself with an error column."""
    competition = _hr_competition(competition_id)
    form = RegistrationFileConfirmForm()
    filename, data = _posted_file(form)
    content, mimetype, download = services.file_errors(current_user, competition.id, filename, data, form.format.data)
    return send_file(io.BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=download)


@bp.route("/registrations/<int:competition_id>/entries/<int:entry_id>/withdraw", methods=["POST"])
@roles_required(Role.HR, *ORGANIZERS)
def withdraw(competition_id: int, entry_id: int):
    form = DecisionForm()
    organizer_page = is_organizer(current_user) and not current_user.hr_enterprise_ids
    back = url_for(".manage" if organizer_page else ".hr_competition", competition_id=competition_id)
    if not form.validate_on_submit():
        abort(400)
    try:
        entry = services.withdraw_entry(current_user, competition_id, entry_id)
    except DomainError as exc:
        status = _refused(exc)
        if organizer_page:
            return _manage_page(get_competition(competition_id), status=status)
        return _hr_page(_hr_competition(competition_id), status=status)
    flash(_("%(name)s was withdrawn.", name=entry.worker.name), "success")
    return redirect(back)


# --- organizer -----------------------------------------------------------------------------------------


def judges_in(user_id: int, competition_id: int) -> bool:
    """Whether the user sits on a panel of the competition (member or chief judge)."""
    member = db.session.scalar(select(func.count()).select_from(PanelJudge).join(Panel, Panel.id == PanelJudge.panel_id)
                               .where(Panel.competition_id == competition_id, PanelJudge.judge_id == user_id))
    chief = db.session.scalar(select(func.count()).select_from(Panel).where(
        Panel.competition_id == competition_id, Panel.chief_judge_id == user_id))
    return bool(member or chief)


def codes_visible(competition: Competition) -> bool:
    """The list pages show codes next to names only after decoding (the mapping is sealed until then)."""
    return competition.is_decoded


def _enterprise_choices() -> list[tuple[int, str]]:
    return [(e.id, e.name) for e in db.session.execute(select(Enterprise.id, Enterprise.name)
                                                       .order_by(Enterprise.name, Enterprise.id)).all()]


def _manage_page(competition: Competition, *, quota_form=None, decision_form=None, status: int = 200):
    actor = current_user
    status_filter = request.args.get("status") or None
    if status_filter not in services.ENTRY_STATUSES:
        status_filter = None
    enterprise_id = request.args.get("enterprise_id", type=int) or None
    page = request.args.get("page", 1, type=int) or 1
    _comp, entries = services.list_entries(actor, competition.id, status=status_filter, enterprise_id=enterprise_id,
                                           page=page, per_page=ENTRIES_PER_PAGE)
    counts = dict(db.session.execute(select(Entry.status, func.count()).where(Entry.competition_id == competition.id)
                                     .group_by(Entry.status)).all())
    entry_enterprises = db.session.execute(
        select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(
            select(Entry.enterprise_id).where(Entry.competition_id == competition.id))).order_by(Enterprise.name)).all()
    drawn = db.session.scalar(select(func.count()).select_from(Entry).where(
        Entry.competition_id == competition.id, Entry.code.is_not(None)))
    module_codes = 0
    if competition.uses_module_codes and drawn:
        module_codes = db.session.scalar(select(func.count()).select_from(ModuleCode).join(
            Entry, Entry.id == ModuleCode.entry_id).where(Entry.competition_id == competition.id))
    choices = _enterprise_choices()
    return render_template(
        "competitions/registration/manage.html", competition=competition, entries=entries, counts=counts,
        status_filter=status_filter, enterprise_id=enterprise_id, entry_enterprises=entry_enterprises,
        quotas=services.list_quotas(actor, competition.id),
        quota_form=quota_form or QuotaForm(formdata=None, enterprise_choices=choices),
        decision_form=decision_form or DecisionForm(formdata=None), draw_form=DrawForm(formdata=None),
        can_decide=competition.status in services.EVENT_PHASES["approve"],
        can_withdraw=competition.status in services.EVENT_PHASES["withdraw"],
        can_draw=competition.status in services.EVENT_PHASES["draw"], drawn=drawn, module_codes=module_codes,
        show_codes=codes_visible(competition), statuses=services.ENTRY_STATUSES,
        appeals_open=competition.status in FILING_PHASES,
    ), status


@bp.route("/competitions/<int:competition_id>/registrations")
@roles_required(*ORGANIZERS)
def manage(competition_id: int):
    return _manage_page(get_competition(competition_id))


@bp.route("/competitions/<int:competition_id>/registrations/decide", methods=["POST"])
@roles_required(*ORGANIZERS)
def decide(competition_id: int):
    competition = get_competition(competition_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _manage_page(competition, decision_form=form, status=400)
    decision, ids = form.decision.data, list(form.entry_ids.data or [])
    if form.one.data:  # a row's own button: "approve:12" / "reject:12"
        decision, _sep, one = form.one.data.partition(":")
        ids = [entry_id] if (entry_id := parse_id(one)) is not None else []
    if decision not in ("approve", "reject") or not ids:
        flash(_("Tick at least one entry, then approve or reject.") if decision in ("approve", "reject")
              else _("Choose to approve or reject."), "error")
        return _manage_page(competition, decision_form=form, status=400 if decision in ("approve", "reject") else 422)
    try:
        entries = services.decide_entries(current_user, competition.id, ids, decision, form.reason.data or "")
    except DomainError as exc:
        return _manage_page(get_competition(competition_id), decision_form=form, status=_refused(exc))
    flash((_("Approved: %(n)d.", n=len(entries)) if decision == "approve" else _("Rejected: %(n)d.", n=len(entries))),
          "success")
    return redirect(url_for(".manage", competition_id=competition.id, **{
        k: v for k, v in request.args.items() if k in ("status", "enterprise_id", "page")}))


@bp.route("/competitions/<int:competition_id>/registrations/quotas", methods=["POST"])
@roles_required(*ORGANIZERS)
def quotas(competition_id: int):
    competition = get_competition(competition_id)
    form = QuotaForm(enterprise_choices=_enterprise_choices())
    current = {q.enterprise_id: q.max_entries for q in services.list_quotas(current_user, competition.id)}
    if form.remove.data:
        try:
            current.pop(int(form.remove.data), None)
        except ValueError:
            abort(400)
        if not form.validate_on_submit() and "csrf_token" in form.errors:
            abort(400)
    elif not form.validate_on_submit():
        return _manage_page(competition, quota_form=form, status=422)
    else:
        current[form.enterprise_id.data] = form.max_entries.data
    try:
        services.set_quotas(current_user, competition.id, [{"enterprise_id": k, "max_entries": v}
                                                            for k, v in current.items()])
    except DomainError as exc:
        return _manage_page(get_competition(competition_id), quota_form=form, status=_refused(exc))
    flash(_("The quotas were saved."), "success")
    return redirect(url_for(".manage", competition_id=competition.id) + "#quotas")


@bp.route("/competitions/<int:competition_id>/registrations/draw", methods=["POST"])
@roles_required(*ORGANIZERS)
def draw(competition_id: int):
    competition = get_competition(competition_id)
    form = DrawForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = services.draw(current_user, competition.id, redraw=bool(form.redraw.data))
    except DomainError as exc:
        return _manage_page(get_competition(competition_id), status=_refused(exc))
    flash(_("Codes were drawn for %(n)d approved entries. The code list stays sealed until decoding.",
            n=result.drawn), "success")
    return redirect(url_for(".manage", competition_id=competition.id) + "#draw")


@bp.route("/competitions/<int:competition_id>/registrations/codes")
@roles_required(*ORGANIZERS)
def codes(competition_id: int):
    """The sealed code list (code ↔ entrant), e.g. for the entrant slips. Opening it is audited; a user who
    judges in this competition may not open it before decoding."""
    competition = get_competition(competition_id)
    if not competition.is_decoded and judges_in(current_user.id, competition.id):
        raise PermissionDenied(_l("You judge in this competition: the code list stays sealed for you until decoding."))
    entries = list(db.session.scalars(select(Entry).where(Entry.competition_id == competition.id,
                                                          Entry.code.is_not(None)).order_by(Entry.code)).unique())
    module_codes: dict[int, dict[int, str]] = {}
    modules = list(competition.modules) if competition.uses_module_codes else []
    if modules and entries:
        for entry_id, module_id, code in db.session.execute(select(
                ModuleCode.entry_id, ModuleCode.module_id, ModuleCode.code).where(
                ModuleCode.entry_id.in_([e.id for e in entries]))):
            module_codes.setdefault(entry_id, {})[module_id] = code
    if not competition.is_decoded:
        record("competition_codes_viewed", competition, {"entries": len(entries)}, stream=audit_stream(competition.id))
    return render_template("competitions/registration/codes.html", competition=competition, entries=entries,
                           modules=modules, module_codes=module_codes)
