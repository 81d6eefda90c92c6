"""HTML pages of judging: the judge's modules (/judging), the judge's scoring page per module (tablet/phone,
autosave through the JSON marks API with an offline queue: ``static/js/judge.js``) and the chief judge's page
per module (completeness matrix, divergence decisions, the lock, changes after the lock, double entry of paper
score sheets, judge statistics with a server-rendered SVG chart, and the module's appeals, which the chief judge
upholds or rejects — by entrant code only).

Thin: every page calls the judging and marks services (the same ones as the JSON API). Blind: a judge's pages
carry entrant codes only — no names, enterprises, worker ids or entry ids. Service refusals on the chief
judge's forms are shown next to the form and answered with their 4xx status, so the request rolls back and
nothing is stored.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Role, User
from app.auth import roles_required
from app.db import db
from app.errors import DomainError, NotFound
from competitions.forms.judging import ChiefChangeForm, ConfirmForm, DivergenceForm, LockForm, PaperMarkForm
from competitions.forms.registration import AppealDecisionForm
from competitions.labels import MODULE_KIND_LABELS, state_label
from competitions.models import ScoreSheet
from competitions.services import appeals as appeal_services
from competitions.services import judging as judging_services
from competitions.services import marks as marks_services
from competitions.services.common import get_competition
from competitions.services.marks import fraction_text, text_of

bp = Blueprint("competitions_judging", __name__, template_folder="../templates")

JUDGES = (Role.JUDGE,)
CHIEF_PAGE = (Role.JUDGE, Role.ORGANIZER, Role.ADMIN)  # organizers read it and enter/confirm paper sheets
RUNNING = "running"
MAX_CHOICES = 11  # up to this many allowed values an aspect gets one big button per value; beyond, a number field

DIVERGENCE_STATES = {"open": _l("Open"), "remark": _l("Re-mark requested"), "accepted": _l("Accepted")}
DECISION_LABELS = {"remark": _l("Re-mark requested"), "accepted": _l("Accepted")}
LOCK_PROBLEMS = {
    "panel": _l("The module has no panel."),
    "missing": _l("Cells (entrant × aspect) still missing marks"),
    "unconfirmed": _l("Cells with paper marks waiting for confirmation"),
    "divergences": _l("Divergent cells without a decision"),
}


@bp.context_processor
def _labels():
    return {"state_label": state_label, "kind_label": lambda code: str(MODULE_KIND_LABELS.get(code, code)),
            "divergence_labels": DIVERGENCE_STATES, "text_of": text_of,
            "stat_text": lambda value, places=2: fraction_text(value, places)}


# --- helpers ---------------------------------------------------------------------------------------------------


def _assignment(competition_id: int, module_id: int) -> judging_services.Assignment:
    """The actor's assignment for this module, or one uniform NotFound (not on the panel, unknown, draft)."""
    for a in judging_services.assignments(current_user):
        if a.competition.id == competition_id and a.module.id == module_id:
            return a
    raise NotFound(_l("This module is not assigned to you."))


def _sheets(judge_id: int, module_ids: list[int]) -> dict[int, set[int]]:
    """Module id → entry ids the judge handed a score sheet in for (read only; the marks services have no
    reader for a judge's own sheets)."""
    out: dict[int, set[int]] = defaultdict(set)
    if module_ids:
        for module_id, entry_id in db.session.execute(select(ScoreSheet.module_id, ScoreSheet.entry_id).where(
                ScoreSheet.judge_id == judge_id, ScoreSheet.module_id.in_(module_ids))):
            out[module_id].add(entry_id)
    return out


def _plain(value: Decimal) -> str:
    return text_of(value) or "0"


def allowed_values(scale_min: Decimal, scale_max: Decimal, step: Decimal, limit: int = MAX_CHOICES) -> list[str] | None:
    """Every value on the scale (exact decimals, as text), or None when there are more than ``limit``."""
    if step <= 0 or scale_max < scale_min:
        return None
    count = int((scale_max - scale_min) / step) + 1
    if count > limit:
        return None
    return [_plain(scale_min + step * i) for i in range(count) if scale_min + step * i <= scale_max]


def aspect_controls(aspect) -> dict[str, Any]:
    """What the scoring page needs of an aspect: its scale as text, and the buttons (value, word) when few."""
    values = allowed_values(aspect.scale_min, aspect.scale_max, aspect.scale_step)
    words = list(aspect.level_words or [])
    choices = None
    if values is not None:
        choices = [(v, words[i] if len(words) == len(values) else "") for i, v in enumerate(values)]
    return {"id": aspect.id, "name": aspect.name, "kind": aspect.kind, "min": _plain(aspect.scale_min),
            "max": _plain(aspect.scale_max), "step": _plain(aspect.scale_step), "max_mark": _plain(aspect.max_mark),
            "choices": choices}


# --- the judge's modules ------------------------------------------------------------------------------------------


def _filled(a) -> int:
    """How many of the judge's places in the module other judges' marks already fill (the scoring page shows them
    without controls, and the score sheet does not need them): not counted among the marks the judge owes."""
    if not a.codes:
        return 0
    codes = judging_services.codes_for_module(a.module.id)
    mine = set(a.codes)
    return sum(1 for code, _aspect in marks_services.filled_places(current_user.id, a.module.id, codes) if code in mine)


@bp.route("/judging")
@roles_required(*JUDGES)
def index():
    assignments = judging_services.assignments(current_user)
    sheets = _sheets(current_user.id, [a.module.id for a in assignments])
    marked: dict[int, int] = defaultdict(int)
    for competition_id in {a.competition.id for a in assignments}:
        for m in marks_services.my_marks(current_user, competition_id):
            marked[m.module_id] += 1
    groups: list[dict[str, Any]] = []
    for a in assignments:
        if not groups or groups[-1]["competition"].id != a.competition.id:
            groups.append({"competition": a.competition, "modules": []})
        aspects = sum(len(c.aspects) for c in a.module.criteria)
        owed = aspects * len(a.codes) - _filled(a)
        groups[-1]["modules"].append({
            "assignment": a, "aspects": aspects, "expected": owed, "marked": marked[a.module.id],
            "sheets": len(sheets[a.module.id]), "codes": len(a.codes),
        })
    # Open appeals a chief judge has to decide, per module they lead (as blind as the chief page's list).
    open_appeals: dict[int, int] = defaultdict(int)
    for competition_id in {a.competition.id for a in assignments if a.is_chief}:
        _competition, views = appeal_services.list_appeals_for_chief(current_user, competition_id,
                                                                      status=appeal_services.OPEN)
        for v in views:
            open_appeals[v.module_id] += 1
    for g in groups:
        for m in g["modules"]:
            m["open_appeals"] = open_appeals[m["assignment"].module.id]
    # Running competitions first: that is where a judge has work to do.
    groups.sort(key=lambda g: g["competition"].status != RUNNING)
    return render_template("competitions/judging/index.html", groups=groups)


@bp.route("/judging/sw.js")
@roles_required(*JUDGES)
def service_worker():
    """The scoring pages' service worker, served from /judging/ so its scope covers them (offline reloads)."""
    resp = send_from_directory(current_app.static_folder, "js/judge-sw.js", mimetype="text/javascript", max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Service-Worker-Allowed"] = "/judging/"
    return resp


@bp.route("/judging/competitions/<int:competition_id>/modules/<int:module_id>")
@roles_required(*JUDGES)
def score(competition_id: int, module_id: int):
    a = _assignment(competition_id, module_id)
    competition, module = a.competition, a.module
    own = marks_services.my_marks(current_user, competition.id, module.id)
    marks = {f"{m.code}|{m.aspect_id}": {"value": text_of(m.value), "revision": m.revision,
                                         "remark": m.remark_requested} for m in own}
    codes = judging_services.codes_for_module(module.id)
    submitted = sorted(codes[e] for e in _sheets(current_user.id, [module.id])[module.id] if e in codes)
    # Aspects other judges have already fully marked for an entrant: shown, but not the judge's to mark.
    filled = {f"{code}|{aspect}" for code, aspect in marks_services.filled_places(current_user.id, module.id, codes)}
    criteria = [{"name": c.name, "aspects": [aspect_controls(s) for s in c.aspects]} for c in module.criteria]
    aspect_ids = [s["id"] for c in criteria for s in c["aspects"]]
    running = competition.status == RUNNING
    locked = module.locked_at is not None
    config = {
        "user": current_user.id, "competition": competition.id, "module": module.id,
        "marks_url": url_for("competitions_marks_api.Marks", competition_id=competition.id),
        "sheets_url": url_for("competitions_marks_api.Sheets", competition_id=competition.id),
        "login_url": url_for("accounts.login", next=request.full_path),
        "sw_url": url_for("competitions_judging.service_worker"),
        "codes": a.codes, "aspects": {s["id"]: {"min": s["min"], "max": s["max"], "step": s["step"]}
                                      for c in criteria for s in c["aspects"]},
        "aspect_order": aspect_ids, "marks": marks, "sheets": submitted, "editable": running and not locked,
        "strings": {
            "saved": _("Saved"), "unsynced": _("Not yet sent"), "sending": _("Sending…"),
            "all_saved": _("All marks saved on the server."),
            "pending": _("Marks not yet on the server: %(n)s"),
            "offline": _("No network: marks are kept on this device and sent when the network returns."),
            "retry": _("The server could not be reached; trying again shortly."),
            "login": _("Your session has ended: log in again (the marks kept on this device are not lost)."),
            "csrf": _("The page is out of date: reload it (the marks kept on this device are not lost)."),
            "forbidden": _("The server refused the marks: %(message)s"),
            "not_number": _("Enter a number."),
            "below": _("The lowest mark is %(min)s."), "above": _("The highest mark is %(max)s."),
            "step": _("The mark must be on the steps of %(step)s from %(min)s."),
            "sheet_ready": _("Every aspect has a saved mark: you can submit the score sheet."),
            "sheet_missing": _("Aspects without a saved mark: %(n)s"),
            "sheet_done": _("Score sheet submitted."),
            "sheet_queued": _("The score sheet will be submitted when the network returns."),
            "progress": _("%(done)s of %(total)s"),
        },
    }
    return render_template("competitions/judging/score.html", competition=competition, module=module,
                           assignment=a, criteria=criteria, codes=a.codes, marks=marks, submitted=set(submitted),
                           filled=filled,
                           config=config, running=running, locked=locked, aspect_count=len(aspect_ids))


# --- the chief judge's page ---------------------------------------------------------------------------------------


def _chart(lines) -> dict[str, Any] | None:
    """Geometry of the statistics chart (server-rendered SVG): per judge a diverging leniency bar around zero
    and a mean-absolute-deviation bar, on one scale. Floats here are pixels only; the figures shown are exact."""
    rows = [line for line in lines if line.leniency is not None]
    if not rows:
        return None
    biggest = max(max(abs(line.leniency), line.mean_abs_deviation or Fraction(0)) for line in rows) or Fraction(1)
    label_w, half, gap, row_h = 150, 170, 40, 30
    mad_x = label_w + 2 * half + gap
    out = []
    for i, line in enumerate(rows):
        y = 30 + i * row_h
        len_w = float(abs(line.leniency) / biggest) * half
        mad_w = float((line.mean_abs_deviation or 0) / biggest) * half
        zero = label_w + half
        out.append({
            "y": y, "name": line.judge.display_name, "lenient": line.leniency > 0,
            "len_x": zero if line.leniency >= 0 else zero - len_w, "len_w": max(len_w, 1), "mad_w": max(mad_w, 1),
            "leniency": fraction_text(line.leniency, 2), "mad": fraction_text(line.mean_abs_deviation, 2),
            "divergences": line.divergences,
        })
    return {"rows": out, "width": mad_x + half + 60, "height": 40 + len(rows) * row_h, "label_w": label_w,
            "zero": label_w + half, "half": half, "mad_x": mad_x, "scale": fraction_text(biggest, 2)}


def _signature(state) -> str:
    """What the chief judge's page shows, in a few figures; chief.js compares it with the completeness API's
    answer to say that new marks have arrived (the same formula in both places)."""
    marks = sum(len(c.marks) + len(c.unconfirmed) for r in state.entries for c in r.cells)
    revisions = sum(m.revision for r in state.entries for c in r.cells for m in c.marks + c.unconfirmed)
    return f"{marks}:{revisions}:{state.missing}:{state.unconfirmed}:{state.open_divergences}:{int(state.locked)}"


def _chief_context(competition_id: int, module_id: int, *, divergence_error=None, change: ChiefChangeForm | None = None,
                   paper: PaperMarkForm | None = None, appeal_forms: dict[int, Any] | None = None) -> dict[str, Any]:
    state = marks_services.completeness(current_user, competition_id, module_id)
    competition, module = state.competition, state.module
    is_chief = judging_services.is_chief_judge(current_user.id, module.id)
    organizer = current_user.has_role(Role.ORGANIZER, Role.ADMIN)
    running = competition.status == RUNNING
    relative = request.args.get("relative") == "1"
    stats = marks_services.judge_stats(current_user, competition.id, module.id, relative=relative)
    signature = _signature(state)
    judges = {u.id: u for u in state.judges}
    labels = {u.id: f"J{i + 1}" for i, u in enumerate(state.judges)}
    aspects = {a.id: a for a in state.aspects}
    codes = [r.code for r in state.entries]

    people_ids = {m.entered_by_id for r in state.entries for c in r.cells for m in c.unconfirmed} - set(judges)
    people = dict(judges)
    if people_ids:
        people.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(people_ids)))})
    unconfirmed = [{"code": r.code, "aspect": aspects[c.aspect_id], "mark": m} for r in state.entries for c in r.cells
                   for m in c.unconfirmed]
    divergences = [{"code": r.code, "aspect": aspects[c.aspect_id], "cell": c} for r in state.entries for c in r.cells
                   if c.divergence is not None]

    judge_choices = [(u.id, f"{labels[u.id]} · {u.display_name}") for u in state.judges]
    code_choices = [(c, c) for c in codes]
    aspect_choices = [(a.id, a.name) for a in state.aspects]
    can_change = is_chief and state.locked and competition.status in marks_services.CORRECTION_PHASES
    can_enter_paper = (is_chief or organizer) and running and not state.locked and bool(state.judges)
    if can_change:
        change = change or ChiefChangeForm(prefix="change")
        change.judge_id.choices, change.code.choices, change.aspect_id.choices = judge_choices, code_choices, aspect_choices
    if can_enter_paper:
        if paper is None:
            paper = PaperMarkForm(prefix="paper")
            paper.idempotency_key.data = f"paper-{secrets.token_hex(16)}"
        paper.judge_id.choices, paper.code.choices, paper.aspect_id.choices = judge_choices, code_choices, aspect_choices
    problems = state.lock_problems()
    return {
        "state": state, "competition": competition, "module": module, "is_chief": is_chief, "organizer": organizer,
        "running": running, "judges": judges, "labels": labels, "people": people, "aspects": aspects,
        "unconfirmed": unconfirmed, "divergences": divergences, "stats": stats, "chart": _chart(stats),
        "can_decide": is_chief and running and not state.locked, "can_lock": is_chief and running and not state.locked,
        "lock_ready": not problems, "problems": problems, "problem_labels": LOCK_PROBLEMS,
        "can_change": can_change, "change_form": change if can_change else None,
        "paper_form": paper if can_enter_paper else None, "lock_form": LockForm(), "confirm_form": ConfirmForm(),
        "divergence_error": divergence_error, "decision_labels": DECISION_LABELS,
        "user_id": current_user.id, "relative": relative, "signature": signature,
        "completeness_url": url_for("competitions_marks_api.Completeness", competition_id=competition.id,
                                    module_id=module.id),
        **_appeals_context(competition, module, is_chief, appeal_forms or {}),
    }


def _appeals_context(competition, module, is_chief: bool, forms: dict[int, Any]) -> dict[str, Any]:
    """The module's appeals for its chief judge (blind: codes only) with a decision form per open one."""
    appeals = []
    if is_chief:
        appeals = appeal_services.list_appeals_for_chief(current_user, competition.id, module_id=module.id)[1]
    return {
        "appeals": appeals,
        "appeal_forms": {v.id: forms.get(v.id) or AppealDecisionForm(formdata=None, prefix=f"a{v.id}")
                         for v in appeals if v.status == appeal_services.OPEN},
        "appeal_status_labels": appeal_services.STATUS_LABELS,
        "appeal_next_step": lambda v: appeal_services.next_step(v, competition),
    }


@bp.route("/judging/competitions/<int:competition_id>/modules/<int:module_id>/chief")
@roles_required(*CHIEF_PAGE)
def chief(competition_id: int, module_id: int):
    return render_template("competitions/judging/chief.html", **_chief_context(competition_id, module_id))


def _chief_url(competition_id: int, module_id: int, anchor: str | None = None) -> str:
    return url_for("competitions_judging.chief", competition_id=competition_id, module_id=module_id, _anchor=anchor)


def _failed(exc: DomainError) -> int:
    db.session.rollback()
    flash(str(exc.message), "error")
    return exc.status if exc.status >= 400 else 400


def _field_errors(form, exc: DomainError, mapping: dict[str, str] | None = None) -> None:
    """A service's field errors next to the form's fields: ``details`` as {field: [messages]} or as
    ``items`` (the marks batch: [{field, message}])."""
    mapping = mapping or {}
    details = exc.details or {}
    pairs: list[tuple[str, str]] = []
    for item in details.get("items", []) if isinstance(details.get("items"), list) else []:
        pairs.append((item.get("field") or "value", item.get("message", "")))
    for name, messages in details.items():
        if isinstance(messages, list) and name != "items":
            pairs += [(name, str(m)) for m in messages]
    for name, message in pairs:
        name = mapping.get(name, name)
        if name in form and message:
            form[name].errors = list(form[name].errors) + [message]


def _render_chief(competition_id: int, module_id: int, status: int, **kw):
    return render_template("competitions/judging/chief.html", **_chief_context(competition_id, module_id, **kw)), status


@bp.route("/judging/competitions/<int:competition_id>/modules/<int:module_id>/chief/divergence", methods=["POST"])
@roles_required(*JUDGES)
def decide(competition_id: int, module_id: int):
    form = DivergenceForm()
    if not form.validate_on_submit():
        errors = [str(e) for errors in form.errors.values() for e in errors]
        flash(_("The decision was not recorded: %(problems)s", problems=" ".join(errors)), "error")
        return _render_chief(competition_id, module_id, 422 if form.is_submitted() else 400,
                             divergence_error=(form.code.data, form.aspect_id.data, errors))
    try:
        aspect_id = int(form.aspect_id.data)
    except ValueError:
        aspect_id = -1
    try:
        marks_services.decide_divergence(current_user, competition_id, form.code.data, aspect_id, form.decision.data,
                                         form.reason.data or "")
    except DomainError as exc:
        status = _failed(exc)
        messages = [str(m) for v in (exc.details or {}).values() if isinstance(v, list) for m in v] or [str(exc.message)]
        return _render_chief(competition_id, module_id, status,
                             divergence_error=(form.code.data, form.aspect_id.data, messages))
    flash(_("Decision recorded for %(code)s.", code=form.code.data), "success")
    return redirect(_chief_url(competition_id, module_id, "divergences"))


@bp.route("/judging/competitions/<int:competition_id>/modules/<int:module_id>/chief/lock", methods=["POST"])
@roles_required(*JUDGES)
def lock(competition_id: int, module_id: int):
    if not LockForm().validate_on_submit():
        flash(_("The form has expired: please try again."), "error")
        return _render_chief(competition_id, module_id, 400)
    try:
        marks_services.lock_module(current_user, competition_id, module_id)
    except DomainError as exc:
        return _render_chief(competition_id, module_id, _failed(exc))
    flash(_("The module is locked (signed off). Marks can now only be changed by you, with a reason."), "success")
    return redirect(_chief_url(competition_id, module_id))


@bp.route("/judging/competitions/<int:competition_id>/modules/<int:module_id>/chief/change", methods=["POST"])
@roles_required(*JUDGES)
def change(competition_id: int, module_id: int):
    form = ChiefChangeForm(prefix="change")
    ctx = _chief_context(competition_id, module_id)  # fills the choices (and checks who may see the page)
    if ctx["change_form"] is None:
        flash(_("Marks can be changed here only by the chief judge, after the lock."), "error")
        return render_template("competitions/judging/chief.html", **ctx), 409
    form.judge_id.choices = ctx["change_form"].judge_id.choices
    form.code.choices = ctx["change_form"].code.choices
    form.aspect_id.choices = ctx["change_form"].aspect_id.choices
    if not form.validate_on_submit():
        flash(_("The mark was not changed: please correct the form."), "error")
        return _render_chief(competition_id, module_id, 422 if form.is_submitted() else 400, change=form)
    try:
        result = marks_services.chief_change_mark(current_user, competition_id, form.code.data, form.aspect_id.data,
                                                  form.judge_id.data, form.value.data.strip(), form.reason.data)
    except DomainError as exc:
        status = _failed(exc)
        _field_errors(form, exc)
        return _render_chief(competition_id, module_id, status, change=form)
    if result.status == marks_services.UNCHANGED:
        flash(_("The mark already had this value: nothing changed."), "warning")
    else:
        flash(_("The mark of %(code)s was changed to %(value)s.", code=result.code, value=text_of(result.value)), "success")
    return redirect(_chief_url(competition_id, module_id, "change"))


@bp.route("/judging/competitions/<int:competition_id>/modules/<int:module_id>/chief/paper", methods=["POST"])
@roles_required(*CHIEF_PAGE)
def paper(competition_id: int, module_id: int):
    form = PaperMarkForm(prefix="paper")
    ctx = _chief_context(competition_id, module_id)
    if ctx["paper_form"] is None:
        flash(_("Paper score sheets can be entered only while the module is open and the competition running."), "error")
        return render_template("competitions/judging/chief.html", **ctx), 409
    for name in ("judge_id", "code", "aspect_id"):
        form[name].choices = ctx["paper_form"][name].choices
    if not form.validate_on_submit():
        flash(_("The paper mark was not stored: please correct the form."), "error")
        return _render_chief(competition_id, module_id, 422 if form.is_submitted() else 400, paper=form)
    item = marks_services.MarkInput(form.code.data, form.aspect_id.data, form.value.data.strip(),
                                    form.idempotency_key.data)
    try:
        result = marks_services.submit_marks(current_user, competition_id, [item], judge_id=form.judge_id.data)[0]
    except DomainError as exc:
        status = _failed(exc)
        _field_errors(form, exc)
        return _render_chief(competition_id, module_id, status, paper=form)
    if result.status == marks_services.DUPLICATE:
        flash(_("This paper mark was already stored (sent twice): nothing changed."), "warning")
    elif result.status == marks_services.UNCHANGED:
        flash(_("The judge's mark already has this value: nothing changed."), "warning")
    elif result.confirmed:
        flash(_("The mark was stored."), "success")
    else:
        flash(_("The paper mark of %(code)s was stored. It counts once a different person confirms it.",
                code=result.code), "success")
    return redirect(_chief_url(competition_id, module_id, "paper"))


@bp.route("/judging/competitions/<int:competition_id>/modules/<int:module_id>/chief/marks/<int:mark_id>/confirm",
          methods=["POST"])
@roles_required(*CHIEF_PAGE)
def confirm(competition_id: int, module_id: int, mark_id: int):
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired: please try again."), "error")
        return _render_chief(competition_id, module_id, 400)
    state = marks_services.completeness(current_user, competition_id, module_id)  # who may see this module's marks
    if mark_id not in {m.mark_id for r in state.entries for c in r.cells for m in c.marks + c.unconfirmed}:
        raise NotFound(_l("No such mark in this module."))
    try:
        marks_services.confirm_mark(current_user, competition_id, mark_id)
    except DomainError as exc:
        return _render_chief(competition_id, module_id, _failed(exc))
    flash(_("The paper mark is confirmed and now counts."), "success")
    return redirect(_chief_url(competition_id, module_id, "paper"))


@bp.route("/judging/competitions/<int:competition_id>/modules/<int:module_id>/chief/appeals/<int:appeal_id>/decision",
          methods=["POST"])
@roles_required(*JUDGES)
def decide_appeal(competition_id: int, module_id: int, appeal_id: int):
    """The chief judge upholds (note: what will be corrected) or rejects (the reason) an appeal of the module."""
    view = appeal_services.get_appeal_for_chief(current_user, competition_id, appeal_id)  # 403/404 for anyone else
    if view.module_id != module_id:
        raise NotFound(_l("No such appeal."))
    form = AppealDecisionForm(prefix=f"a{appeal_id}")
    if not form.validate_on_submit():
        flash(_("The appeal was not decided: please correct the form."), "error")
        return _render_chief(competition_id, module_id, 422 if form.is_submitted() else 400,
                             appeal_forms={appeal_id: form})
    try:
        view = appeal_services.decide_appeal(current_user, competition_id, appeal_id, form.decision.data,
                                             form.note.data)
    except DomainError as exc:
        status = _failed(exc)
        _field_errors(form, exc)
        return _render_chief(competition_id, module_id, status, appeal_forms={appeal_id: form})
    step = appeal_services.next_step(view, get_competition(competition_id))
    if step == "publish_correction":
        flash(_("The appeal about %(code)s was upheld. Correct the marks (changes after the lock, with a reason); "
                "the organizer then publishes the corrected results version.", code=view.code or "—"), "success")
    elif step == "correct_marks":
        flash(_("The appeal about %(code)s was upheld. Correct the marks (changes after the lock, with a reason) "
                "before the results are published.", code=view.code or "—"), "success")
    else:
        flash(_("The appeal about %(code)s was rejected.", code=view.code or "—"), "success")
    return redirect(_chief_url(competition_id, module_id, "appeals"))
