"""Appeals (申诉): HR files an appeal about one of its enterprise's entries in one module, within the appeal
window; the chief judge of that module (裁判长) — or the organizer, who keeps the power to arbitrate (仲裁) —
upholds it (with a note) or rejects it (with a reason), once. Every change is audited with its actor.

Who may do what:

* HR (the team leader, 领队) files appeals for approved entries of its own enterprises once the competition
  is under way, within the window of the module (``competitions.domain.appeals``: from the module's end, or
  from the first publication when the module has no recorded end, for ``appeal_window_minutes``). One open
  appeal per entry and module at a time. HR sees its enterprises' appeals and their outcome; another
  enterprise's appeal or entry is "not found".
* The chief judge of a module sees that module's appeals **blind** (``ChiefAppealView``: the entrant code the
  judges see in the module — the module code with 二次加密 — the text, status, times and decision; never the
  worker, the enterprise, their ids, the entry id or who filed it, whose name would give the enterprise away)
  and decides them. An appeal of another module, or of an entrant the chief judge is conflicted with (回避:
  ``judging.conflict_column``; the organizer decides those), is "not found" to them; a judge who is the chief of
  no module of the competition is refused. Upholding before publication asks the chief judge to correct the
  marks (changes after the lock, ``competitions.services.marks.chief_change_mark``).
* The organizer (or an admin) sees every appeal and may decide any open one: ``uphold`` (the note says what
  will be corrected; when the results are already published the correction is a new results version,
  published through ``competitions.services.results.publish`` with a reason — ``publish_correction`` below)
  or ``reject`` (with the reason).

Blind coding: an organizer/HR appeal view carries the entrant code only for viewers the registration service
lets see codes (organizers; HR once decoded) — and the pages show organizers the code only after decoding.
Writes lock the competition row first, so the window/duplicate checks and the insert (and two deciders)
cannot interleave. Services flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.accounts.models import Role, User
from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from competitions.domain import CompetitionState, DomainRuleError
from competitions.domain.appeals import AppealState, AppealWindow, WindowAnchor, WindowState, appeal_transition, appeal_window
from competitions.models import Appeal, Competition, Entry, Module, Panel, ResultVersion
from competitions.services.common import audit_stream, get_competition, is_organizer, require_organizer

OPEN = AppealState.OPEN.value
UPHELD = AppealState.UPHELD.value
REJECTED = AppealState.REJECTED.value
APPEAL_STATUSES = tuple(s.value for s in AppealState)
DECISIONS = ("uphold", "reject")
TEXT_MAX = 5000
NOTE_MAX = 2000

# Competition states in which appeals may be filed (the window decides within them).
FILING_PHASES = frozenset({CompetitionState.RUNNING.value, CompetitionState.SCORING_CLOSED.value,
                           CompetitionState.PUBLISHED.value})

STATUS_LABELS = {
    OPEN: _l("Pending"),
    UPHELD: _l("Upheld"),
    REJECTED: _l("Rejected"),
}
WINDOW_LABELS = {
    WindowState.NOT_OPEN.value: _l("Not open yet"),
    WindowState.OPEN.value: _l("Open now"),
    WindowState.CLOSED.value: _l("Closed"),
}
ANCHOR_LABELS = {
    WindowAnchor.MODULE_END.value: _l("from the end of the module"),
    WindowAnchor.PUBLICATION.value: _l("from the publication of the results"),
}


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status


# --- windows ---------------------------------------------------------------------------------------------


def first_published_at(competition_id: int) -> datetime | None:
    return db.session.scalar(select(func.min(ResultVersion.published_at))
                             .where(ResultVersion.competition_id == competition_id))


def module_window(competition: Competition, module: Module, published_at: datetime | None) -> AppealWindow:
    return appeal_window(module.ends_at, published_at, competition.appeal_window_minutes)


def _when(dt: datetime | None) -> str:
    return "" if dt is None else format_datetime(dt, "short")


def _window_refusal(competition: Competition, module: Module, window: AppealWindow, state: WindowState) -> Conflict:
    details = {"module_id": module.id, "opens_at": window.opens_at, "closes_at": window.closes_at,
               "window": state.value, "minutes": competition.appeal_window_minutes}
    if state is WindowState.CLOSED:
        return Conflict(_("The appeal window for %(module)s closed at %(time)s; appeals can no longer be filed.",
                          module=module.name, time=_when(window.closes_at)), code="appeal_window_closed", details=details)
    if window.opens_at is None:
        message = _("Appeals about %(module)s can be filed once the module has ended.", module=module.name)
    else:
        message = _("Appeals about %(module)s can be filed from %(time)s.", module=module.name,
                    time=_when(window.opens_at))
    return Conflict(message, code="appeal_window_not_open", details=details)


# --- reading ---------------------------------------------------------------------------------------------


@dataclass
class AppealView:
    """An appeal with what a page or the API shows of it (the code only where the viewer may see it)."""

    appeal: Appeal
    entry: Entry
    module_id: int
    module_name: str
    filed_by: str
    decided_by: str | None
    code: str | None

    @property
    def id(self) -> int:
        return self.appeal.id

    @property
    def status(self) -> str:
        return self.appeal.status

    def as_dict(self) -> dict[str, Any]:
        a, e = self.appeal, self.entry
        return {
            "id": a.id, "competition_id": e.competition_id, "entry_id": e.id, "status": a.status,
            "status_label": status_label(a.status),
            "worker": {"id": e.worker.id, "name": e.worker.name},
            "enterprise": {"id": e.enterprise.id, "name": e.enterprise.name},
            "code": self.code, "module": {"id": self.module_id, "name": self.module_name},
            "text": a.text, "filed_at": a.filed_at, "filed_by": self.filed_by,
            "decision": a.decision, "decided_at": a.decided_at, "decided_by": self.decided_by,
        }


def _require_viewer(actor) -> None:
    if not is_organizer(actor) and not actor.hr_enterprise_ids:
        raise PermissionDenied()


def _visible_competition(actor, competition_id: int) -> Competition:
    competition = get_competition(competition_id)
    if competition.status == CompetitionState.DRAFT.value and not is_organizer(actor):
        raise NotFound(_l("No such competition."))
    return competition


def _views(actor, competition: Competition, stmt) -> list[AppealView]:
    from competitions.services.registration import shows_codes

    filer = aliased(User)
    decider = aliased(User)
    rows = db.session.execute(
        stmt.add_columns(Module.name, filer.display_name, decider.display_name)
        .join(Module, Module.id == Appeal.module_id)
        .join(filer, filer.id == Appeal.filed_by_id)
        .outerjoin(decider, decider.id == Appeal.decided_by_id)
    ).unique().all()
    codes = shows_codes(actor, competition)
    return [AppealView(a, e, a.module_id, module_name, filed_by, decided_by, e.code if codes else None)
            for a, e, module_name, filed_by, decided_by in rows]


def _base(competition_id: int):
    return (select(Appeal, Entry).join(Entry, Entry.id == Appeal.entry_id)
            .where(Entry.competition_id == competition_id))


def _scoped(actor, stmt):
    if not is_organizer(actor):
        stmt = stmt.where(Entry.enterprise_id.in_(set(actor.hr_enterprise_ids)))
    return stmt


def list_appeals(actor, competition_id: int, *, status: str | None = None) -> tuple[Competition, list[AppealView]]:
    """Organizers: every appeal of the competition; HR: its enterprises' only. Open ones first, then newest."""
    _require_viewer(actor)
    competition = _visible_competition(actor, competition_id)
    stmt = _scoped(actor, _base(competition.id))
    if status:
        if status not in APPEAL_STATUSES:
            raise DomainError(_l("Unknown appeal status."), code="validation_error", status=422,
                              details={"status": list(APPEAL_STATUSES)})
        stmt = stmt.where(Appeal.status == status)
    stmt = stmt.order_by((Appeal.status != OPEN), Appeal.filed_at.desc(), Appeal.id.desc())
    return competition, _views(actor, competition, stmt)


def get_appeal(actor, competition_id: int, appeal_id: int) -> AppealView:
    _require_viewer(actor)
    competition = _visible_competition(actor, competition_id)
    views = _views(actor, competition, _scoped(actor, _base(competition.id).where(Appeal.id == appeal_id)))
    if not views:
        raise NotFound(_l("No such appeal."))
    return views[0]


# --- the chief judge's view (blind) ------------------------------------------------------------------------


@dataclass(frozen=True)
class ChiefAppealView:
    """What the chief judge of a module sees of an appeal: the entrant code of the module, never a name, an
    enterprise, a worker or entry id, or who filed it."""

    id: int
    competition_id: int
    module_id: int
    module_name: str
    code: str | None
    text: str
    status: str
    filed_at: datetime
    decision: str
    decided_at: datetime | None
    decided_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "competition_id": self.competition_id, "module_id": self.module_id,
            "module_name": self.module_name, "code": self.code, "status": self.status,
            "status_label": status_label(self.status), "text": self.text, "filed_at": self.filed_at,
            "decision": self.decision, "decided_at": self.decided_at, "decided_by": self.decided_by,
        }


def sees_blind(actor) -> bool:
    """Whether the actor reads appeals as a chief judge (blind): a judge who is neither organizer nor HR."""
    return not is_organizer(actor) and not actor.hr_enterprise_ids and actor.has_role(Role.JUDGE)


def chief_module_ids(actor, competition_id: int) -> set[int]:
    """The modules of the competition whose panel the actor leads (裁判长)."""
    return set(db.session.scalars(select(Panel.module_id).where(Panel.competition_id == competition_id,
                                                                Panel.chief_judge_id == actor.id)))


def _require_chief_of_some(actor, competition_id: int) -> set[int]:
    module_ids = chief_module_ids(actor, competition_id) if actor.has_role(Role.JUDGE) else set()
    if not module_ids:
        raise PermissionDenied(_l("Only the organizers or the chief judge of a module may do this."))
    return module_ids


def _chief_views(actor, competition: Competition, module_ids: set[int], *where) -> list[ChiefAppealView]:
    """The appeals of ``module_ids`` the chief judge may see, with the module's codes; entrants the judge is
    conflicted with are left out (as if there were no appeal). A fixed number of queries per module."""
    from competitions.services import judging

    if not module_ids:
        return []
    decider = aliased(User)
    rows = db.session.execute(
        select(Appeal, judging.conflict_column(actor.id, competition).label("conflict"), Module.name,
               decider.display_name)
        .join(Entry, Entry.id == Appeal.entry_id)
        .join(Module, Module.id == Appeal.module_id)
        .outerjoin(decider, decider.id == Appeal.decided_by_id)
        .where(Entry.competition_id == competition.id, Appeal.module_id.in_(module_ids), *where)
        .order_by((Appeal.status != OPEN), Appeal.filed_at.desc(), Appeal.id.desc())).all()
    if not rows:
        return []
    codes = {m: judging.codes_for_module(m) for m in {a.module_id for a, *_rest in rows}}
    return [ChiefAppealView(a.id, competition.id, a.module_id, module_name, codes[a.module_id].get(a.entry_id),
                            a.text, a.status, a.filed_at, a.decision or "", a.decided_at, decided_by)
            for a, conflict, module_name, decided_by in rows if conflict is None]


def list_appeals_for_chief(actor, competition_id: int, *, module_id: int | None = None, status: str | None = None
                           ) -> tuple[Competition, list[ChiefAppealView]]:
    """A chief judge: the appeals of the modules they lead (or of one of them), blind, open ones first.
    Refused for anyone who leads no module of the competition; another module is "not found"."""
    module_ids = _require_chief_of_some(actor, competition_id)
    competition = _visible_competition(actor, competition_id)
    if module_id is not None:
        if module_id not in module_ids:
            raise NotFound(_l("No such module in this competition."))
        module_ids = {module_id}
    where = []
    if status:
        if status not in APPEAL_STATUSES:
            raise DomainError(_l("Unknown appeal status."), code="validation_error", status=422,
                              details={"status": list(APPEAL_STATUSES)})
        where.append(Appeal.status == status)
    return competition, _chief_views(actor, competition, module_ids, *where)


def get_appeal_for_chief(actor, competition_id: int, appeal_id: int) -> ChiefAppealView:
    """One appeal of a module the actor leads, blind; any other appeal is "not found"."""
    module_ids = _require_chief_of_some(actor, competition_id)
    competition = _visible_competition(actor, competition_id)
    views = _chief_views(actor, competition, module_ids, Appeal.id == appeal_id)
    if not views:
        raise NotFound(_l("No such appeal."))
    return views[0]


@dataclass
class AppealOption:
    """One (entry, module) an HR may appeal about, with its window."""

    entry: Entry
    module: Module
    window: AppealWindow
    state: WindowState
    has_open_appeal: bool

    @property
    def can_file(self) -> bool:
        return self.state is WindowState.OPEN and not self.has_open_appeal


def appeal_options(actor, competition_id: int, *, now: datetime | None = None) -> list[AppealOption]:
    """HR: every approved entry of its enterprises × every module, with the window's state (for the form)."""
    ids = set(actor.hr_enterprise_ids)
    if not ids:
        raise PermissionDenied()
    competition = _visible_competition(actor, competition_id)
    if competition.status not in FILING_PHASES:
        return []
    now = now or utcnow()
    entries = list(db.session.scalars(select(Entry).where(
        Entry.competition_id == competition.id, Entry.enterprise_id.in_(ids), Entry.status == "approved")
        .order_by(Entry.id)).unique())
    modules = list(db.session.scalars(select(Module).where(Module.competition_id == competition.id)
                                      .order_by(Module.position, Module.id)))
    published_at = first_published_at(competition.id)
    open_pairs = set(db.session.execute(
        select(Appeal.entry_id, Appeal.module_id).join(Entry, Entry.id == Appeal.entry_id)
        .where(Entry.competition_id == competition.id, Entry.enterprise_id.in_(ids), Appeal.status == OPEN)).all())
    windows = {m.id: module_window(competition, m, published_at) for m in modules}
    return [AppealOption(e, m, windows[m.id], windows[m.id].state(now), (e.id, m.id) in open_pairs)
            for e in entries for m in modules]


def module_windows(competition: Competition, *, now: datetime | None = None) -> list[tuple[Module, AppealWindow, WindowState]]:
    """Every module of the competition with its appeal window and the window's state now."""
    now = now or utcnow()
    published_at = first_published_at(competition.id)
    out = []
    for m in db.session.scalars(select(Module).where(Module.competition_id == competition.id)
                                .order_by(Module.position, Module.id)):
        w = module_window(competition, m, published_at)
        out.append((m, w, w.state(now)))
    return out


# --- writing ---------------------------------------------------------------------------------------------


def _clean_text(value: Any, field_name: str, maximum: int, missing: Any) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        raise DomainError(missing, code="validation_error", status=422, details={field_name: [str(missing)]})
    if len(text) > maximum:
        message = _("At most %(n)d characters.", n=maximum)
        raise DomainError(message, code="validation_error", status=422, details={field_name: [message]})
    return text


def file_appeal(actor, competition_id: int, entry_id: int, module_id: int, text: str, *,
                now: datetime | None = None) -> AppealView:
    """HR files an appeal about an approved entry of its enterprises in one module, within the window."""
    ids = set(actor.hr_enterprise_ids)
    if not ids:
        raise PermissionDenied(_l("Only the HR of the entrant's enterprise may file an appeal."))
    text = _clean_text(text, "text", TEXT_MAX, _l("Describe what the appeal is about."))
    competition = get_competition(competition_id, for_update=True)
    if competition.status == CompetitionState.DRAFT.value:
        raise NotFound(_l("No such competition."))
    entry = db.session.execute(select(Entry).where(Entry.id == entry_id, Entry.competition_id == competition.id)
                               ).unique().scalar_one_or_none()
    if entry is None or entry.enterprise_id not in ids:
        raise NotFound(_l("No such entry."))
    module = db.session.get(Module, module_id)
    if module is None or module.competition_id != competition.id:
        raise NotFound(_l("No such module in this competition."))
    if competition.status not in FILING_PHASES:
        raise Conflict(_l("Appeals can be filed only once the competition is under way."), code="wrong_phase",
                       details={"status": competition.status})
    if entry.status != "approved":
        raise Conflict(_l("Only approved entries can appeal."), code="wrong_entry_status",
                       details={"status": entry.status})
    now = now or utcnow()
    window = module_window(competition, module, first_published_at(competition.id))
    state = window.state(now)
    if state is not WindowState.OPEN:
        raise _window_refusal(competition, module, window, state)
    duplicate = db.session.scalar(select(Appeal.id).where(Appeal.entry_id == entry.id, Appeal.module_id == module.id,
                                                          Appeal.status == OPEN).limit(1))
    if duplicate is not None:
        raise Conflict(_l("An appeal about this entry and module is already open."), code="appeal_open",
                       details={"appeal_id": duplicate})
    appeal = Appeal(entry_id=entry.id, module_id=module.id, filed_by_id=actor.id, filed_at=now, text=text, status=OPEN)
    db.session.add(appeal)
    db.session.flush()
    record("competition_appeal_filed", appeal, {"competition_id": competition.id, "entry_id": entry.id,
                                                "module_id": module.id, "text": text,
                                                "window_closes_at": window.closes_at}, stream=audit_stream(competition.id))
    return get_appeal(actor, competition.id, appeal.id)


DECISION_REFUSALS = {
    "already_decided": _l("This appeal has already been decided."),
}


def decide_appeal(actor, competition_id: int, appeal_id: int, decision: str, note: str
                  ) -> AppealView | ChiefAppealView:
    """The chief judge of the appeal's module, or the organizer (arbitration, 仲裁), upholds (note: what will be
    corrected) or rejects (note: the reason) an open appeal, once. The organizer gets the full view back, a chief
    judge the blind one; to a chief judge an appeal of another module (or of an entrant they are conflicted with)
    is "not found"."""
    organizer = is_organizer(actor)
    chief_modules: set[int] = set()
    if not organizer:
        chief_modules = _require_chief_of_some(actor, competition_id)
    if decision not in DECISIONS:
        raise DomainError(_l("Choose to uphold or reject the appeal."), code="validation_error", status=422,
                          details={"decision": list(DECISIONS)})
    missing = _l("Say what will be corrected.") if decision == "uphold" else _l("Give the reason for the rejection.")
    note = _clean_text(note, "note", NOTE_MAX, missing)
    competition = get_competition(competition_id, for_update=True)
    if not organizer:
        # The same visibility as the chief judge's list (module led, entrant not conflicted), then the row lock.
        visible = _chief_views(actor, competition, chief_modules, Appeal.id == appeal_id)
        if not visible:
            raise NotFound(_l("No such appeal."))
    appeal = db.session.execute(select(Appeal).join(Entry, Entry.id == Appeal.entry_id).where(
        Appeal.id == appeal_id, Entry.competition_id == competition.id).with_for_update(of=Appeal)).scalar_one_or_none()
    if appeal is None:
        raise NotFound(_l("No such appeal."))
    try:
        to = appeal_transition(appeal.status, decision)
    except DomainRuleError as exc:
        raise Conflict(DECISION_REFUSALS.get(exc.reason or "", DECISION_REFUSALS["already_decided"]),
                       code="appeal_decided", details={"status": appeal.status}) from None
    appeal.status = to.value
    appeal.decision = note
    appeal.decided_by_id = actor.id
    appeal.decided_at = utcnow()
    db.session.flush()
    record(f"competition_appeal_{to.value}", appeal, {"competition_id": competition.id, "entry_id": appeal.entry_id,
                                                       "module_id": appeal.module_id, "note": note,
                                                       "decided_as": "organizer" if organizer else "chief_judge"},
           actor=actor, stream=audit_stream(competition.id))
    if organizer:
        return get_appeal(actor, competition.id, appeal.id)
    return get_appeal_for_chief(actor, competition.id, appeal.id)


def correction_reason(view: AppealView) -> str:
    return _("Appeal %(id)d upheld: %(note)s", id=view.id, note=view.appeal.decision)


def publish_correction(actor, competition_id: int, appeal_id: int, reason: str = ""):
    """After upholding an appeal on published results: publish a corrected results version through the results
    service (its checks: decoded, complete marks, a reason). Returns the new ``ResultVersion``."""
    from competitions.services import results

    require_organizer(actor)
    view = get_appeal(actor, competition_id, appeal_id)
    if view.status != UPHELD:
        raise Conflict(_l("Only an upheld appeal leads to a corrected version."), code="appeal_not_upheld",
                       details={"status": view.status})
    competition = get_competition(competition_id)
    if competition.status != CompetitionState.PUBLISHED.value:
        raise Conflict(_l("The results are not published yet: the correction will be part of the first publication."),
                       code="not_published")
    version = results.publish(actor, competition_id, (reason or "").strip() or correction_reason(view))
    record("competition_appeal_correction_published", view.appeal,
           {"competition_id": competition_id, "version": version.version}, stream=audit_stream(competition_id))
    return version


def versions_since(competition_id: int) -> list[tuple[int, datetime]]:
    """(version, published_at) of every published results version, oldest first (for "corrected since")."""
    rows = db.session.execute(select(ResultVersion.version, ResultVersion.published_at)
                              .where(ResultVersion.competition_id == competition_id).order_by(ResultVersion.version))
    return [(n, at) for n, at in rows]


def corrected_by(view: AppealView, versions: list[tuple[int, datetime]]) -> tuple[int, datetime] | None:
    """The first correction (version ≥ 2) published after the appeal was upheld, if any."""
    if view.status != UPHELD or view.appeal.decided_at is None:
        return None
    return next(((n, at) for n, at in versions if n > 1 and at >= view.appeal.decided_at), None)


def next_step(view: AppealView | ChiefAppealView, competition: Competition) -> str | None:
    """What an upheld appeal asks for next: a corrected version (published results) or a correction of the
    marks by the chief judge before the first publication."""
    if view.status != UPHELD:
        return None
    return "publish_correction" if competition.status == CompetitionState.PUBLISHED.value else "correct_marks"


__all__ = [
    "APPEAL_STATUSES",
    "AppealOption",
    "AppealView",
    "ChiefAppealView",
    "appeal_options",
    "decide_appeal",
    "file_appeal",
    "get_appeal",
    "get_appeal_for_chief",
    "list_appeals",
    "list_appeals_for_chief",
    "module_windows",
    "next_step",
    "publish_correction",
]
