"""HTML pages of competition setup for organizers and admins: the list, create/edit, the competition's home
page with its lifecycle, the marking scheme (tree, editor, JSON/XLSX import and export), difficulty factors
(难度系数), the rules and the judges (panels, chief judges, conflicts).

Thin: parse a form, call ``competitions.services.setup`` / ``judging`` (the same calls as the JSON API), render or
redirect. A refused request renders its page again with the translated reason and the status the API would give
(409 for a refused step, 422 for invalid input, 400 for an unreadable file); the request then rolls back, so
nothing is written.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.api import parse_json_exact
from app.auth import roles_required
from app.db import db
from app.errors import DomainError
from app.inputs import parse_id
from app.orgs.models import Enterprise
from app.orgs.services import enterprise_choices
from app.people.labels import SKILL_LEVEL_LABELS
from app.people.services import trade_choices
from competitions import labels
from competitions.domain import CompetitionEvent, allowed_events
from competitions.forms import setup as forms
from competitions.models import Entry
from competitions.schemas.setup import LEVELS, SETUP_EVENTS, STATES, SetupSchemeDocSchema, decimal_problem, format_decimal
from competitions.services import judging
from competitions.services import registration as registration_services
from competitions.services import setup as services
from competitions.services.results import AWARD_LABELS

bp = Blueprint("competitions_setup", __name__, template_folder="../templates")

ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)
MAX_PER_PAGE = 100
MAX_ENTRIES = 5000


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"state_label": labels.state_label, "event_label": labels.event_label,
            "level_labels": labels.LEVEL_LABELS, "kind_labels": labels.MODULE_KIND_LABELS,
            "aggregation_labels": labels.AGGREGATION_LABELS, "award_labels": AWARD_LABELS,
            "skill_labels": SKILL_LEVEL_LABELS, "dec": _dec}


def _dec(value: Any) -> str:
    return "" if value is None else format_decimal(Decimal(value))


def _failed(exc: DomainError) -> int:
    """Undo the request's writes and say why; the status to answer with."""
    db.session.rollback()
    flash(str(exc.message), "error")
    return exc.status


def _section_links(competition) -> list[tuple[str, str, bool]]:
    """(label, url, is_here) of every page of the competition; pages not in this build are left out."""
    cid = competition.id
    candidates = [
        (_("Overview"), "competitions_setup.detail"),
        (_("Marking scheme"), "competitions_setup.scheme"),
        (_("Rules"), "competitions_setup.rules"),
        (_("Judges"), "competitions_setup.judges"),
        (_("Difficulty factors"), "competitions_setup.difficulty"),
        (_("Registrations"), "competitions_registration.manage"),
        (_("Appeals"), "competitions_appeals.index"),
        (_("Results"), "competitions_results.review"),
        (_("Public board"), "competitions_board.board"),
    ]
    out = []
    for label, endpoint in candidates:
        url = _url_optional(endpoint, competition_id=cid)
        if url:
            out.append((label, url, request.endpoint == endpoint))
    at = next((i for i, (_label, url, _here) in enumerate(out) if "/appeals" in url or "/results" in url), len(out))
    out[at:at] = [(label, url, False) for label, url, module in judging_links(competition) if module is None]
    return out


def judging_links(competition) -> list[tuple[str, str, Any]]:
    """(label, url, module or None) of the judging area's pages an organizer may open for this competition.

    Found in the URL map (GET, ``competitions_judging.*``, arguments ``competition_id`` [+ ``module_id``], open to
    organizers), so the links follow whatever that area provides.
    """
    from flask import current_app

    out: list[tuple[str, str, Any]] = []
    for rule in current_app.url_map.iter_rules():
        if not rule.endpoint.startswith("competitions_judging.") or "GET" not in (rule.methods or ()):
            continue
        args = set(rule.arguments)
        if "competition_id" not in args or not args <= {"competition_id", "module_id"}:
            continue
        access = getattr(current_app.view_functions[rule.endpoint], "_access", None)
        if not access or (access[0] == "roles" and not set(access[1]) & set(ORGANIZERS)):
            continue
        if "module_id" in args:
            chief = rule.endpoint.endswith(".chief")
            for m in competition.modules:
                out.append((_("Chief judge: %(module)s", module=m.name) if chief else _("Judging: %(module)s", module=m.name),
                            url_for(rule.endpoint, competition_id=competition.id, module_id=m.id), m))
        else:
            out.append((_("Judging"), url_for(rule.endpoint, competition_id=competition.id), None))
    return out


def _url_optional(endpoint: str, **values) -> str | None:
    from app import url_for_optional

    return url_for_optional(endpoint, **values)


def _render(template: str, competition=None, status: int = 200, **context):
    if competition is not None:
        context["sections"] = _section_links(competition)
    return render_template(f"competitions/setup/{template}", competition=competition, **context), status


# --- the list -------------------------------------------------------------------------------------------


@bp.route("/competitions")
@roles_required(*ORGANIZERS)
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    per_page = min(max(request.args.get("per_page", 20, type=int) or 20, 1), MAX_PER_PAGE)
    status = request.args.get("status", "")
    status = status if status in STATES else ""
    level = request.args.get("level", "")
    level = level if level in LEVELS else ""
    trade_id = request.args.get("trade_id", type=int)  # anything but a number: no filter
    q = request.args.get("q", "").strip()[:100]
    pagination = services.list_competitions(current_user, status=status or None, level=level or None,
                                            trade_id=trade_id, q=q, page=page, per_page=per_page)
    return _render("index.html", pagination=pagination, status=200, filter_status=status, filter_level=level, q=q,
                   filter_trade=trade_id, trades=trade_choices(trade_id), per_page=per_page,
                   states=list(labels.iter_states()))


@bp.route("/competitions/new", methods=["GET", "POST"])
@roles_required(*ORGANIZERS)
def new():
    form = forms.CompetitionForm(trade_choices=trade_choices())
    status = 200
    if form.validate_on_submit():
        try:
            competition = services.create_competition(current_user, form.values())
        except DomainError as exc:
            status = _field_failed(form, exc)
        else:
            flash(_("Competition “%(name)s” was created as a draft. Next: build the marking scheme.",
                    name=competition.name), "success")
            return redirect(url_for(".detail", competition_id=competition.id))
    elif form.is_submitted():
        status = 422
    return _render("form.html", form=form, status=status)


def _field_failed(form, exc: DomainError) -> int:
    """Service problems (``details.problems`` with a field path) next to their fields; the rest as a flash."""
    db.session.rollback()
    shown = False
    for p in (exc.details or {}).get("problems", []) if isinstance(exc.details, dict) else []:
        name = p.get("path", "")
        if name in form:
            form[name].errors = list(form[name].errors) + [labels.translate_message(p.get("message", ""))]
            shown = True
    if not shown or exc.status != 422:
        flash(str(exc.message), "error")
    return exc.status


@bp.route("/competitions/<int:competition_id>/edit", methods=["GET", "POST"])
@roles_required(*ORGANIZERS)
def edit(competition_id: int):
    competition = services.managed_competition(current_user, competition_id)
    choices = trade_choices(competition.trade_id)
    form = forms.CompetitionForm(obj=competition if request.method == "GET" else None, trade_choices=choices)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_competition(current_user, competition_id, form.values())
        except DomainError as exc:
            status = _field_failed(form, exc)
        else:
            flash(_("The competition was saved."), "success")
            return redirect(url_for(".detail", competition_id=competition_id))
    elif form.is_submitted():
        status = 422
    return _render("form.html", competition=services.managed_competition(current_user, competition_id), form=form,
                   status=status)


# --- the competition's home page and its lifecycle ----------------------------------------------------------


def _detail(competition, status: int = 200, transition_form=None):
    events = [str(e) for e in allowed_events(competition.status) if str(e) in SETUP_EVENTS]
    publishes = any(e in (CompetitionEvent.PUBLISH, CompetitionEvent.PUBLISH_CORRECTION)
                    for e in allowed_events(competition.status))
    document = services.scheme_document(competition)
    problems = services.scheme_problems(competition)
    rows = db.session.execute(select(Entry.status, Entry.code.is_(None)).where(Entry.competition_id == competition.id)).all()
    entry_counts = Counter(status for status, _uncoded in rows)
    uncoded = sum(1 for status, no_code in rows if status == "approved" and no_code)
    modules = services.list_modules(current_user, competition.id)
    return _render(
        "detail.html", competition=competition, status=status, events=events, publishes=publishes,
        hints=_step_hints(events, problems, entry_counts, uncoded, modules), modules=modules,
        module_links=[(label, url) for label, url, module in judging_links(competition) if module is not None],
        local_input=forms.local_input,
        transitions=services.transitions_of(current_user, competition.id), document=document,
        scheme_problems=forms.problem_lines(problems, document), entry_counts=entry_counts,
        aspect_count=sum(len(c["aspects"]) for m in document["modules"] for c in m["criteria"]),
        transition_form=transition_form or forms.TransitionForm(),
        scheme_editable=competition.status in services.SCHEME_EDITABLE,
    )


def _step_hints(events, problems, entry_counts, uncoded: int, modules) -> dict[str, list[str]]:
    """Why a step that is offered would be refused now (the service decides; this only says it up front)."""
    hints: dict[str, list[str]] = {}
    if "open_registration" in events and problems:
        hints["open_registration"] = [_("The marking scheme is not valid yet.")]
    if "start" in events:
        out = []
        if problems:
            out.append(_("The marking scheme is not valid yet."))
        if not entry_counts["approved"]:
            out.append(_("No entry has been approved."))
        elif uncoded:
            out.append(_("Approved entries without an entrant code: %(count)d. Run the draw first.", count=uncoded))
        hints["start"] = out
    if "close_scoring" in events:
        open_modules = [m["name"] for m in modules if m["locked_at"] is None]
        if open_modules:
            hints["close_scoring"] = [_("Not every module is locked: %(modules)s.", modules=", ".join(open_modules))]
    return {event: messages for event, messages in hints.items() if messages}


@bp.route("/competitions/<int:competition_id>")
@roles_required(*ORGANIZERS)
def detail(competition_id: int):
    return _detail(services.managed_competition(current_user, competition_id))


@bp.route("/competitions/<int:competition_id>/modules/<int:module_id>/end", methods=["POST"])
@roles_required(*ORGANIZERS)
def module_end(competition_id: int, module_id: int):
    competition = services.managed_competition(current_user, competition_id)
    form = forms.ModuleEndForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
        return _detail(competition, 400 if form.csrf_token.errors else 422)
    try:
        module = services.set_module_end(current_user, competition_id, module_id, form.value())
    except DomainError as exc:
        if exc.status == 404:
            raise
        status = _failed(exc)
        return _detail(services.managed_competition(current_user, competition_id), status)
    flash(_("The end of “%(module)s” was saved: appeals can be filed until %(minutes)d min after it.",
            module=module["name"], minutes=competition.appeal_window_minutes) if module["ends_at"] else
          _("The end of “%(module)s” was cleared.", module=module["name"]), "success")
    return redirect(url_for(".detail", competition_id=competition_id))


@bp.route("/competitions/<int:competition_id>/transition", methods=["POST"])
@roles_required(*ORGANIZERS)
def transition(competition_id: int):
    competition = services.managed_competition(current_user, competition_id)
    form = forms.TransitionForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for e in errors:
                flash(str(e), "error")
        return _detail(competition, 422 if form.event.errors or form.note.errors else 400, form)
    try:
        step = services.apply_transition(current_user, competition, form.event.data, (form.note.data or "").strip())
    except DomainError as exc:
        status = _failed(exc)
        return _detail(services.managed_competition(current_user, competition_id), status, form)
    flash(_("Done: %(event)s. The competition is now %(state)s.", event=labels.event_label(step.event),
            state=labels.state_label(step.to_status)), "success")
    return redirect(url_for(".detail", competition_id=competition_id))


# --- the marking scheme -------------------------------------------------------------------------------------


def _scheme_page(competition, status: int = 200, import_form=None, import_problems=None):
    document = services.scheme_document(competition)
    problems = services.scheme_problems(competition)
    weights = [m["weight"] for m in document["modules"] if m["weight"] is not None]
    return _render(
        "scheme.html", competition=competition, status=status, document=document,
        problems=forms.problem_lines(problems, document), empty=not document["modules"],
        total_weight=sum(weights) if weights else None, editable=competition.status in services.SCHEME_EDITABLE,
        import_form=import_form or forms.SchemeImportForm(), import_problems=import_problems or [],
        problem_paths={p["path"] for p in problems},
    )


@bp.route("/competitions/<int:competition_id>/scheme")
@roles_required(*ORGANIZERS)
def scheme(competition_id: int):
    return _scheme_page(services.managed_competition(current_user, competition_id))


@bp.route("/competitions/<int:competition_id>/scheme/import", methods=["POST"])
@roles_required(*ORGANIZERS)
def scheme_import(competition_id: int):
    competition = services.managed_competition(current_user, competition_id)
    form = forms.SchemeImportForm()
    if not form.validate_on_submit():
        return _scheme_page(competition, 400, form)
    upload = form.file.data
    name = (upload.filename or "").lower()
    data = upload.read()
    raw: Any = None
    try:
        if name.endswith(".xlsx") or data[:2] == b"PK":
            result = services.import_scheme_xlsx(current_user, competition_id, data)
        elif name.endswith(".json") or data.lstrip()[:1] in (b"{", b"["):
            try:
                raw = parse_json_exact(data)
            except (ValueError, UnicodeDecodeError):
                raise DomainError(_("The file is not valid JSON (UTF-8). Export a scheme to see the expected layout."),
                                  code="bad_json") from None
            result = services.replace_scheme(current_user, competition_id, raw, source="json")
        else:
            raise DomainError(_("Choose a .json or an .xlsx file."), code="bad_file")
    except DomainError as exc:
        status = _failed(exc)
        problems = exc.details.get("problems", []) if isinstance(exc.details, dict) else []
        return _scheme_page(services.managed_competition(current_user, competition_id), status, form,
                            forms.problem_lines(problems, raw))
    aspects = sum(len(c["aspects"]) for m in result["modules"] for c in m["criteria"])
    flash(_("The marking scheme was imported (modules: %(modules)d, aspects: %(aspects)d).",
            modules=len(result["modules"]), aspects=aspects), "success")
    return redirect(url_for(".scheme", competition_id=competition_id))


@bp.route("/competitions/<int:competition_id>/scheme.json")
@roles_required(*ORGANIZERS)
def scheme_json(competition_id: int):
    competition = services.managed_competition(current_user, competition_id)
    body = json.dumps(SetupSchemeDocSchema().dump(services.scheme_document(competition)), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="scheme-{competition.id}.json"'})


@bp.route("/competitions/<int:competition_id>/scheme.xlsx")
@roles_required(*ORGANIZERS)
def scheme_xlsx(competition_id: int):
    import io

    content, filename = services.export_scheme_xlsx(current_user, competition_id)
    return send_file(io.BytesIO(content), mimetype=services.XLSX_MIMETYPE, as_attachment=True, download_name=filename)


@bp.route("/competitions/<int:competition_id>/scheme/edit", methods=["GET", "POST"])
@roles_required(*ORGANIZERS)
def scheme_edit(competition_id: int):
    competition = services.managed_competition(current_user, competition_id)
    editable = competition.status in services.SCHEME_EDITABLE
    form = EmptyForm()
    status, errors, problems, unsaved = 200, {}, [], False
    if request.method == "GET":
        modules = forms.editor_state(services.scheme_document(competition)) or [forms.new_module()]
        if not editable:
            flash(_("The marking scheme cannot change once the competition is running (it is %(state)s).",
                    state=labels.state_label(competition.status)), "warning")
    elif not form.validate_on_submit():
        modules, status = forms.parse_editor(request.form), 400
        flash(_("The form expired. Please try again."), "error")
    else:
        modules = forms.parse_editor(request.form)
        op = request.form.get("op", "save")
        if op != "save":
            if not forms.apply_op(modules, op):
                status = 400
            unsaved = True
        else:
            raw = forms.editor_document(modules)
            try:
                services.replace_scheme(current_user, competition_id, raw, source="form")
            except DomainError as exc:
                status = _failed(exc)
                problems = exc.details.get("problems", []) if isinstance(exc.details, dict) else []
                errors = forms.editor_errors(problems)
                problems = forms.problem_lines(problems, raw)
                competition = services.managed_competition(current_user, competition_id)
            else:
                flash(_("The marking scheme was saved."), "success")
                return redirect(url_for(".scheme", competition_id=competition_id))
    return _render("scheme_edit.html", competition=competition, status=status, modules=modules, errors=errors,
                   problems=problems, unsaved=unsaved, editable=editable, form=form,
                   error_prefixes=forms.error_prefixes(errors),
                   module_kinds=forms.MODULE_KINDS, aspect_kinds=forms.ASPECT_KINDS, aggregations=forms.AGGREGATIONS)


# --- difficulty factors -------------------------------------------------------------------------------------


def _difficulty_context(competition) -> dict[str, Any]:
    document = services.scheme_document(competition)
    aspects = [{"id": a["id"], "name": a["name"], "module": m["name"], "criterion": c["name"]}
               for m in document["modules"] for c in m["criteria"] for a in c["aspects"] if a["uses_difficulty"]]
    _competition, page = registration_services.list_entries(current_user, competition.id, status="approved",
                                                            per_page=MAX_ENTRIES)
    entries = sorted((e for e in page.items if e.code), key=lambda e: e.code)
    undrawn = sum(1 for e in page.items if not e.code)
    return {"aspects": aspects, "entries": entries, "undrawn": undrawn,
            "editable": competition.status in services.DIFFICULTY_EDITABLE}


@bp.route("/competitions/<int:competition_id>/difficulty", methods=["GET", "POST"])
@roles_required(*ORGANIZERS)
def difficulty(competition_id: int):
    competition = services.managed_competition(current_user, competition_id)
    context = _difficulty_context(competition)
    stored = {(f["entry_id"], f["aspect_id"]): f["factor"]
              for f in services.list_difficulty(current_user, competition_id)}
    values = {key: format_decimal(v) for key, v in stored.items()}
    errors: dict[tuple[int, int], list[str]] = {}
    status = 200
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("The form expired. Please try again."), "error")
            return _render("difficulty.html", competition=competition, status=400, values=values, errors=errors,
                           form=form, **context)
        items, keys = [], []
        for entry in context["entries"]:
            for aspect in context["aspects"]:
                key = (entry.id, aspect["id"])
                name = f"f-{entry.id}-{aspect['id']}"
                if name not in request.form:
                    continue
                text = request.form.get(name, "")
                values[key] = text.strip()
                factor = forms.parse_factor(text)
                if isinstance(factor, str):
                    errors[key] = [_("Enter a number.")]
                    continue
                if factor is not None and decimal_problem(factor):
                    errors[key] = [labels.translate_message(decimal_problem(factor))]
                    continue
                if factor == stored.get(key) or (factor is None and key not in stored):
                    continue
                items.append({"entry_id": entry.id, "aspect_id": aspect["id"], "factor": factor})
                keys.append(key)
        if errors:
            status = 422
            flash(_("Some factors are not valid: nothing was saved."), "error")
        else:
            try:
                services.set_difficulty(current_user, competition_id, items)
            except DomainError as exc:
                status = _failed(exc)
                for p in exc.details.get("problems", []) if isinstance(exc.details, dict) else []:
                    path = p.get("path", "")
                    index = path[1:path.find("]")] if path.startswith("[") else ""
                    if index.isdigit() and int(index) < len(keys):
                        errors.setdefault(keys[int(index)], []).append(labels.translate_message(p.get("message", "")))
                competition = services.managed_competition(current_user, competition_id)
            else:
                flash(_("Difficulty factors saved (%(count)d changed).", count=len(items)), "success")
                return redirect(url_for(".difficulty", competition_id=competition_id))
    return _render("difficulty.html", competition=competition, status=status, values=values, errors=errors, form=form,
                   **context)


# --- rules --------------------------------------------------------------------------------------------------


def _tie_break_options(competition) -> list[tuple[str, str]]:
    options = [("completion_time", _("Completion time"))]
    options += [(f"module_kind:{kind}", _("All %(kind)s modules", kind=str(labels.MODULE_KIND_LABELS[kind])))
                for kind in forms.TIE_BREAK_KINDS]
    options += [(f"module:{m.id}", _("Module: %(name)s", name=m.name)) for m in competition.modules]
    return options


def _rules_page(competition, settings, state, errors, status: int = 200):
    return _render("rules.html", competition=competition, status=status, settings=settings, state=state, errors=errors,
                   tie_break_options=_tie_break_options(competition), roundings=forms.ROUNDINGS,
                   band_actions=forms.BAND_ACTIONS, prize_codes=forms.PRIZE_CODES, title_labels=forms.TITLE_LABELS,
                   running=competition.status in ("running", "scoring_closed", "published"))


@bp.route("/competitions/<int:competition_id>/rules", methods=["GET", "POST"])
@roles_required(*ORGANIZERS)
def rules(competition_id: int):
    competition = services.managed_competition(current_user, competition_id)
    stored = forms.rules_state(services.rules_document(competition))
    if request.method == "GET":
        settings = forms.SettingsForm(formdata=None)
        settings.fill(competition)
        return _rules_page(competition, settings, stored, {})
    settings = forms.SettingsForm()
    state = forms.parse_rules_form(request.form, stored["kept"])
    values, errors, where = forms.rules_from_state(state, {k for k, _label in _tie_break_options(competition)})
    forms.pad_rules_state(state)
    if not settings.validate_on_submit() or errors:
        if settings.csrf_token.errors:
            flash(_("The form expired. Please try again."), "error")
            return _rules_page(competition, settings, state, errors, 400)
        flash(_("The rules are not valid: nothing was saved."), "error")
        return _rules_page(competition, settings, state, errors, 422)
    settings_values = settings.values()
    if competition.status in ("running", "scoring_closed", "published"):
        for key in services.FIXED_ONCE_RUNNING:  # shown disabled (so not posted): keep what is stored
            settings_values.pop(key, None)
    # Only what changed: a published competition refuses any update, but its rules may still change (corrections).
    settings_values = {k: v for k, v in settings_values.items() if getattr(competition, k) != v}
    try:
        if settings_values:
            services.update_competition(current_user, competition_id, settings_values)
        services.set_rules(current_user, competition_id, values)
    except DomainError as exc:
        status = _failed(exc)
        problems = exc.details.get("problems", []) if isinstance(exc.details, dict) else []
        if exc.code == "invalid_rules":
            errors = forms.rules_problem_errors(problems, where)
        else:
            for p in problems:
                if p.get("path") in settings:
                    settings[p["path"]].errors = list(settings[p["path"]].errors) + [labels.translate_message(p["message"])]
        return _rules_page(services.managed_competition(current_user, competition_id), settings, state, errors, status)
    flash(_("The rules were saved."), "success")
    return redirect(url_for(".rules", competition_id=competition_id))


# --- judges -------------------------------------------------------------------------------------------------


def _judges_page(competition, status: int = 200):
    judges = judging.list_judges(current_user)
    panels = judging.list_panels(current_user, competition.id)
    conflicts = judging.list_conflicts(current_user, competition.id)
    _competition, page = registration_services.list_entries(current_user, competition.id, status="approved",
                                                            per_page=MAX_ENTRIES)
    entries = page.items
    by_id = {e.id: e for e in entries}
    enterprises = {line.user.id: judging.judge_enterprises(line.user.id) for line in judges}
    known = {e for ids in enterprises.values() for e in ids}
    names = dict(db.session.execute(select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_(list(known)))).all()) if known else {}
    labels = judging.conflict_labels(competition)
    automatic = {}
    for judge_id, ids in enterprises.items():
        counts = judging.conflict_counts(judge_id, competition)
        automatic[judge_id] = {"enterprises": sorted(names.get(e, "") for e in ids),
                               "excluded": [(label, counts[code]) for code, label in labels if counts.get(code)]}
    judge_names = {line.user.id: line.user.display_name for line in judges}
    conflict_rows = [{"conflict": c, "judge": judge_names.get(c.judge_id, "—"), "entry": by_id.get(c.entry_id),
                      "codes": judging.conflict_codes(current_user, c)} for c in conflicts]
    coded = sorted((e for e in entries if e.code), key=lambda e: e.code)
    return _render("judges.html", competition=competition, status=status, judges=judges, panels=panels,
                   automatic=automatic, conflicts=conflict_rows, entries=coded, form=EmptyForm(),
                   enterprises=enterprise_choices(), closed=competition.status in judging.CLOSED_PHASES)


@bp.route("/competitions/<int:competition_id>/judges")
@roles_required(*ORGANIZERS)
def judges(competition_id: int):
    return _judges_page(services.managed_competition(current_user, competition_id))


def _judges_action(competition_id: int, action) -> Any:
    competition = services.managed_competition(current_user, competition_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return _judges_page(competition, 400)
    try:
        message = action()
    except DomainError as exc:
        status = _failed(exc)
        details = exc.details if isinstance(exc.details, dict) else {}
        for value in details.values():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
            for item in items:
                for text in item if isinstance(item, list) else [item]:
                    if isinstance(text, str):
                        flash(text, "error")
        return _judges_page(services.managed_competition(current_user, competition_id), status)
    flash(message, "success")
    return redirect(url_for(".judges", competition_id=competition_id))


def _bad_input(message: str) -> DomainError:
    return DomainError(message, code="validation_error", status=422)


@bp.route("/competitions/<int:competition_id>/modules/<int:module_id>/panel", methods=["POST"])
@roles_required(*ORGANIZERS)
def panel(competition_id: int, module_id: int):
    def action():
        judge_ids = [parse_id(v) for v in request.form.getlist("judge_ids")]
        if None in judge_ids:
            raise _bad_input(_("No such judge."))
        chief = request.form.get("chief_judge_id", "")
        chief_id = parse_id(chief)
        if chief and chief_id is None:
            raise _bad_input(_("No such judge."))
        module, _panel = judging.set_panel(current_user, competition_id, module_id, judge_ids, chief_id)
        return _("The panel of “%(module)s” was saved.", module=module.name)

    return _judges_action(competition_id, action)


@bp.route("/competitions/<int:competition_id>/judges/<int:user_id>/enterprise", methods=["POST"])
@roles_required(*ORGANIZERS)
def judge_enterprise(competition_id: int, user_id: int):
    def action():
        value = request.form.get("enterprise_id", "")
        enterprise_id = parse_id(value)
        if value and enterprise_id is None:
            raise _bad_input(_("No such enterprise."))
        line = judging.set_judge_profile(current_user, user_id, enterprise_id)
        return _("The enterprise of %(name)s was saved.", name=line.user.display_name)

    return _judges_action(competition_id, action)


@bp.route("/competitions/<int:competition_id>/conflicts", methods=["POST"])
@roles_required(*ORGANIZERS)
def conflict_add(competition_id: int):
    def action():
        entry = request.form.get("entry_id", "")
        judge_id, entry_id = parse_id(request.form.get("judge_id")), parse_id(entry)
        code = request.form.get("code", "").strip()
        if judge_id is None:
            raise _bad_input(_("Choose the judge."))
        if entry and entry_id is None:
            raise _bad_input(_("No such entry."))
        if not entry and not code:
            raise _bad_input(_("Choose the entrant."))
        judging.declare_conflict(current_user, competition_id, judge_id=judge_id,
                                 entry_id=entry_id, code=None if entry else code[:16],
                                 reason=request.form.get("reason", "").strip()[:2000])
        return _("The conflict was recorded: the judge will not see or mark this entrant.")

    return _judges_action(competition_id, action)


@bp.route("/competitions/<int:competition_id>/conflicts/remove", methods=["POST"])
@roles_required(*ORGANIZERS)
def conflict_remove(competition_id: int):
    def action():
        judge_id, entry_id = parse_id(request.form.get("judge_id")), parse_id(request.form.get("entry_id"))
        if judge_id is None or entry_id is None:
            raise _bad_input(_("No such conflict."))
        judging.remove_conflict(current_user, competition_id, judge_id, entry_id)
        return _("The conflict was lifted.")

    return _judges_action(competition_id, action)


@bp.route("/competitions/<int:competition_id>/judges/same-chain", methods=["POST"])
@roles_required(*ORGANIZERS)
def same_chain(competition_id: int):
    def action():
        on = request.form.get("conflict_same_chain") == "1"
        services.update_competition(current_user, competition_id, {"conflict_same_chain": on})
        return (_("Judges will not mark entrants from their own industry chain.") if on
                else _("Judges may mark entrants from their own industry chain (other enterprises)."))

    return _judges_action(competition_id, action)
