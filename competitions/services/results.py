"""Results (成绩): computing, decoding (逐层解密), reviewing, publishing frozen versions and exporting.

* ``compute_results(competition_id)`` loads everything scoring needs in a fixed number of queries (the
  competition, its modules, its aspects, the approved entries with their workers and enterprises, the counted
  marks, the difficulty factors: six queries whatever the number of entries), then runs the engine: scores →
  ranking with the competition's tie-break chain → awards → promotion recommendations. Totals stay exact
  (``Fraction``) for ranking; published figures are 2-decimal half-up strings (``quantize_total``).
* **Blind until decoded.** ``Competition.is_decoded`` is set by the organizer (``decode``) only once every module
  is locked. Before that no view of the results carries a name, an enterprise or a worker id — only codes.
* **Publication** freezes a ``ResultVersion`` (n+1). The first version moves the competition from
  scoring_closed to published; a later one is a correction and needs a reason. The snapshot keeps the full rows
  (organizers). Its public view (``public_rows``) is made when it is read, with the publicity consent as it is
  then: a worker's name only with consent (masked otherwise), the enterprise name only with consent, so a
  withdrawal takes effect on every public surface at once. Consent is ``app.people.consents``' answer for the
  competition's scope ("competition:<id>", else the worker's general consent), one query for a whole version.

Services load, check permissions, call the engine and flush — never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.services import record
from app.db import db, utcnow
from app.errors import Conflict, DomainError, NotFound, PermissionDenied
from app.orgs.models import Enterprise
from app.people import consents
from app.people.consents import consent_since, scope_of
from app.people.domain import mask_name
from app.people.models import ConsentPurpose, Worker
from app.tabular import Sheet, xlsx_bytes
from competitions.domain import (
    DomainRuleError,
    ModuleSpec,
    RankedEntry,
    ResultStatus,
    Scheme,
    Standing,
    assign_awards,
    award_codes,
    award_rules_from_json,
    empty_tiers,
    promotion_bands_from_json,
    quantize_total,
    rank,
    recommend_promotions,
    score_entries,
    tie_break_from_json,
)
from competitions.models import (
    Aspect,
    Competition,
    Criterion,
    DifficultyFactor,
    Entry,
    Mark,
    Module,
    ResultVersion,
)
from competitions.services.common import audit_stream, is_organizer, require_organizer
from competitions.services.marks import current_marks

AWARD_LABELS = {
    "first_prize": _l("First prize"),
    "second_prize": _l("Second prize"),
    "third_prize": _l("Third prize"),
    "gold": _l("Gold medal"),
    "silver": _l("Silver medal"),
    "bronze": _l("Bronze medal"),
    "medallion_for_excellence": _l("Medallion for excellence"),
}
IDENTITY_KEYS = ("entry_id", "worker_id", "name", "enterprise_id", "enterprise_name", "publicity_consent")


def award_label(code: str) -> str:
    label = AWARD_LABELS.get(code)
    return str(label) if label is not None else code


def fraction_text(value: Fraction | None) -> str | None:
    """An exact value as text: "85" or "253/3" (what ranking compares)."""
    if value is None:
        return None
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def published(value: Fraction | None) -> str | None:
    return None if value is None else format(quantize_total(value), "f")


# --- loading ---------------------------------------------------------------------------------------------


@dataclass
class Loaded:
    """What scoring needs, loaded in a fixed number of queries."""

    competition: Competition
    modules: list[Module]
    scheme: Scheme
    entries: list[dict[str, Any]]  # approved entries with their identities
    marks: dict[int, dict[int, list[Decimal]]]
    difficulty: dict[int, dict[int, Decimal]]


def _load_scheme(competition_id: int) -> tuple[list[Module], Scheme]:
    from competitions.services.specs import aspect_spec

    modules = list(db.session.scalars(
        select(Module).where(Module.competition_id == competition_id).order_by(Module.position)))
    rows = db.session.execute(
        select(Aspect, Criterion.module_id).join(Criterion, Criterion.id == Aspect.criterion_id)
        .join(Module, Module.id == Criterion.module_id).where(Module.competition_id == competition_id)
        .order_by(Module.position, Criterion.position, Aspect.position)).all()
    scheme = Scheme(modules=tuple(ModuleSpec(id=m.id, kind=m.kind, weight=m.weight) for m in modules),
                    aspects=tuple(aspect_spec(a, module_id) for a, module_id in rows))
    return modules, scheme


def _load_entries(competition_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Entry.id, Entry.code, Entry.completion_seconds, Entry.worker_id, Entry.enterprise_id, Worker.name,
               Worker.skill_level, consent_since(Worker.id, ConsentPurpose.PUBLICITY, scope_of("competition", competition_id)),
               Enterprise.name)
        .select_from(Entry).join(Worker, Worker.id == Entry.worker_id)
        .join(Enterprise, Enterprise.id == Entry.enterprise_id)
        .where(Entry.competition_id == competition_id, Entry.status == "approved")
        .order_by(Entry.code, Entry.id))
    return [
        {"entry_id": eid, "code": code, "completion_seconds": seconds, "worker_id": wid, "enterprise_id": ent_id,
         "name": name, "skill_level": level, "publicity_consent": consent is not None, "enterprise_name": ent_name}
        for eid, code, seconds, wid, ent_id, name, level, consent, ent_name in rows
    ]


def counted_marks(competition_id: int) -> dict[int, dict[int, list[Decimal]]]:
    """``{entry_id: {aspect_id: [values]}}`` of the counted marks: the marks area's own definition and query
    (``competitions.services.marks.current_marks``), kept under this name for callers of the results area."""
    return current_marks(competition_id)


def marks_as_of(competition_id: int, moment) -> dict[int, dict[int, list[Decimal]]]:
    """The counted marks as they stood at ``moment`` (board freeze): per (entry, aspect, judge) the latest
    confirmed revision created at or before it. One query."""
    rows = db.session.execute(
        select(Mark.entry_id, Mark.aspect_id, Mark.judge_id, Mark.revision, Mark.value)
        .join(Entry, Entry.id == Mark.entry_id)
        .where(Entry.competition_id == competition_id, Mark.created_at <= moment, Mark.confirmed_by_id.is_not(None))
        .order_by(Mark.entry_id, Mark.aspect_id, Mark.judge_id, Mark.revision))
    latest: dict[tuple[int, int, int], Decimal] = {}
    for entry_id, aspect_id, judge_id, _rev, value in rows:
        latest[(entry_id, aspect_id, judge_id)] = value  # ordered by revision: the last one wins
    out: dict[int, dict[int, list[Decimal]]] = {}
    for (entry_id, aspect_id, _judge), value in latest.items():
        out.setdefault(entry_id, {}).setdefault(aspect_id, []).append(value)
    return out


def _load_difficulty(competition_id: int) -> dict[int, dict[int, Decimal]]:
    out: dict[int, dict[int, Decimal]] = {}
    rows = db.session.execute(
        select(DifficultyFactor.entry_id, DifficultyFactor.aspect_id, DifficultyFactor.factor)
        .join(Entry, Entry.id == DifficultyFactor.entry_id).where(Entry.competition_id == competition_id))
    for entry_id, aspect_id, factor in rows:
        out.setdefault(entry_id, {})[aspect_id] = factor
    return out


def load(competition: Competition, *, as_of=None) -> Loaded:
    modules, scheme = _load_scheme(competition.id)
    entries = _load_entries(competition.id)
    marks = counted_marks(competition.id) if as_of is None else marks_as_of(competition.id, as_of)
    return Loaded(competition, modules, scheme, entries, marks, _load_difficulty(competition.id))


# --- computing -------------------------------------------------------------------------------------------


@dataclass
class Results:
    competition_id: int
    decoded: bool
    complete: bool  # every ranked entry has every mark
    weighted: bool
    modules: list[dict[str, Any]]
    entries: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self, *, identities: bool) -> dict[str, Any]:
        rows = self.entries if identities else [strip_identity(e) for e in self.entries]
        return {"competition_id": self.competition_id, "decoded": self.decoded, "complete": self.complete,
                "weighted": self.weighted, "modules": self.modules, "entries": rows}


def strip_identity(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in IDENTITY_KEYS}
    if out.get("promotion"):
        out["promotion"] = {k: v for k, v in out["promotion"].items() if k != "current_level"}
    return out


def _engine_error(exc: DomainRuleError, loaded: Loaded) -> DomainError:
    codes = {e["entry_id"]: e["code"] for e in loaded.entries}
    details = {k: (codes.get(v, v) if k in ("entry", "entry_id") else v) for k, v in exc.details.items()}
    details = {k: v if isinstance(v, str | int | type(None)) else str(v) for k, v in details.items()}
    details["reason"] = exc.reason
    if exc.code == "invalid_scheme":
        message = _("The marking scheme is invalid; results cannot be computed.")
    elif exc.code == "difficulty_missing":
        message = _("A difficulty factor is missing (entry %(code)s).", code=details.get("entry", "?"))
    elif exc.code == "invalid_config":
        message = _("The award, tie-break or promotion rules are invalid.")
    else:
        message = _("The results cannot be computed from the current data.")
    return Conflict(message, code=f"results_{exc.code}", details=details)


def score_loaded(loaded: Loaded, *, partial: bool, aspect_detail: bool = False) -> dict:
    entry_ids = [e["entry_id"] for e in loaded.entries]
    marks = {eid: loaded.marks[eid] for eid in entry_ids if eid in loaded.marks}
    try:
        return score_entries(loaded.scheme, marks, loaded.difficulty, partial=partial, aspect_detail=aspect_detail)
    except DomainRuleError as exc:
        if exc.code == "difficulty_missing" and "entry" not in exc.details:
            for eid in marks:  # find the entry for the message
                try:
                    score_entries(loaded.scheme, {eid: marks[eid]}, loaded.difficulty, partial=partial,
                                  aspect_detail=False)
                except DomainRuleError:
                    exc.details["entry"] = eid
                    break
        raise _engine_error(exc, loaded) from None


def build_results(loaded: Loaded) -> Results:
    competition = loaded.competition
    try:
        tie_break = tie_break_from_json(competition.tie_break or [])
        strategies = award_rules_from_json(competition.award_rules or [])
        bands = promotion_bands_from_json(competition.promotion_bands or [])
    except DomainRuleError as exc:
        raise _engine_error(exc, loaded) from None
    scores = score_loaded(loaded, partial=True)
    by_id = {e["entry_id"]: e for e in loaded.entries}
    standings = []
    for e in loaded.entries:
        score = scores.get(e["entry_id"])
        if score is None:
            standings.append(Standing.unranked(e["entry_id"], ResultStatus.ABSENT))
        else:
            standings.append(Standing.from_score(score, e["completion_seconds"]))
    try:
        ranking: list[RankedEntry] = rank(standings, tie_break)
        awards = assign_awards(ranking, strategies)
        promotions = {p.entry_id: p for p in recommend_promotions(
            ranking, {e["entry_id"]: e["skill_level"] for e in loaded.entries}, bands)}
    except DomainRuleError as exc:
        raise _engine_error(exc, loaded) from None
    modules = [{"id": m.id, "name": m.name, "kind": m.kind, "weight": None if m.weight is None else format(m.weight, "f"),
                "locked": m.locked_at is not None} for m in loaded.modules]
    out = Results(competition.id, competition.is_decoded, True, loaded.scheme.weighted, modules)
    labels: dict[str, str] = {}
    texts: dict[Fraction, str | None] = {}

    def published(value: Fraction | None) -> str | None:  # many totals repeat: round each distinct one once
        if value is None:
            return None
        text = texts.get(value)
        if text is None:
            text = texts[value] = format(quantize_total(value), "f")
        return text

    def award(code: str) -> dict[str, str]:
        label = labels.get(code)
        if label is None:
            label = labels[code] = award_label(code)
        return {"code": code, "label": label}

    for r in ranking:
        e = by_id[r.entry_id]
        score = scores.get(r.entry_id)
        promo = promotions.get(r.entry_id)
        complete = score is not None and score.complete
        if r.rank is not None and not complete:
            out.complete = False
        out.entries.append({
            "entry_id": e["entry_id"], "code": e["code"],
            "worker_id": e["worker_id"], "name": e["name"], "enterprise_id": e["enterprise_id"],
            "enterprise_name": e["enterprise_name"], "publicity_consent": e["publicity_consent"],
            "status": str(r.status), "rank": r.rank, "shared": r.shared,
            "total": published(r.total), "total_exact": fraction_text(r.total),
            "complete": complete,
            "completion_seconds": e["completion_seconds"],
            "modules": [] if score is None else [
                {"module_id": m.id, "score": published(score.module_scores[m.id]),
                 "contribution": published(score.module_contributions[m.id]),
                 "score_exact": fraction_text(score.module_scores[m.id])} for m in loaded.modules],
            "awards": [award(c) for c in awards.get(r.entry_id, ())],
            "promotion": None if promo is None else {
                "outcome": str(promo.outcome), "current_level": promo.current_level,
                "recommended_level": promo.recommended_level, "title": promo.title},
        })
    return out


def compute_results(competition_id: int) -> Results:
    """The computed results of a competition (no permission check: callers check). Six queries, whatever the
    number of entries. Entries without any counted mark are ``absent`` (unranked)."""
    competition = db.session.get(Competition, competition_id)
    if competition is None:
        raise NotFound(_("No such competition."))
    return build_results(load(competition))


def review_results(actor: User, competition_id: int) -> dict[str, Any]:
    """Organizers: the computed results; names, enterprises and worker ids only once decoded."""
    require_organizer(actor)
    results = compute_results(competition_id)
    return results.as_dict(identities=results.decoded)


def award_summary(competition: Competition, results: dict[str, Any]) -> dict[str, Any]:
    """What ``results`` (``review_results``) award, for the organizer to check before publishing: how many entries
    get each award (in the order of the rules), and the count-based tiers that should give one yet give none
    (``empty_tiers``: e.g. strict shares of a small field, or a tie before a one-place tier)."""
    strategies = award_rules_from_json(competition.award_rules or [])
    given = {i: [a["code"] for a in e["awards"]] for i, e in enumerate(results["entries"])}  # (ids: once decoded)
    counts = dict.fromkeys(award_codes(strategies), 0)
    for codes in given.values():
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
    field_size = sum(1 for e in results["entries"] if e["rank"] is not None)
    return {"counts": [{"code": c, "label": award_label(c), "entries": n} for c, n in counts.items()],
            "empty": [{"code": c, "label": award_label(c)} for c in empty_tiers(strategies, given, field_size)]}


# --- decoding --------------------------------------------------------------------------------------------


def _managed(actor: User, competition_id: int) -> Competition:
    from competitions.services.common import get_competition

    require_organizer(actor)
    return get_competition(competition_id, for_update=True)


def decode(actor: User, competition_id: int) -> Competition:
    """逐层解密: the organizer links codes to entries — only after every module is locked. Audited."""
    competition = _managed(actor, competition_id)
    if competition.is_decoded:
        raise Conflict(_("The codes are already decoded."), code="already_decoded")
    modules = list(db.session.scalars(select(Module).where(Module.competition_id == competition.id)
                                      .order_by(Module.position)))
    if not modules:
        raise Conflict(_("The competition has no modules."), code="no_modules")
    unlocked = [m for m in modules if m.locked_at is None]
    if unlocked:
        raise Conflict(_("Codes can be decoded only after every module is locked. Not locked: %(modules)s.",
                         modules=", ".join(m.name for m in unlocked)), code="modules_not_locked",
                       details={"modules": [{"id": m.id, "name": m.name} for m in unlocked]})
    competition.is_decoded = True
    db.session.flush()
    record("competition_decode", competition, {"modules": [m.id for m in modules]}, stream=audit_stream(competition.id))
    return competition


# --- publishing ------------------------------------------------------------------------------------------


def public_row(row: dict[str, Any], consent: bool) -> dict[str, Any]:
    """What may be public of one result row: the name only with publicity consent (masked otherwise), the
    enterprise only with consent; never worker or entry ids, levels or exact fractions."""
    return {
        "code": row["code"], "rank": row["rank"], "shared": row["shared"], "status": row["status"],
        "total": row["total"], "name": row["name"] if consent else mask_name(row["name"] or ""),
        "name_masked": not consent, "enterprise_name": row["enterprise_name"] if consent else None,
        "modules": [{"module_id": m["module_id"], "score": m["score"]} for m in row["modules"]],
        "awards": row["awards"],
    }


def public_rows(competition_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The public view of result rows (full rows of a published version), with the publicity consent as it is
    **now** — asked in the competition's scope, for all the rows in one query: a withdrawal takes effect on every
    public surface (board, results page, JSON, PDF) at the next request, a consent given after publication too."""
    consenting = consents.consenting((r["worker_id"] for r in rows if r.get("worker_id") is not None),
                                     ConsentPurpose.PUBLICITY.value, scope_of("competition", competition_id))
    return [public_row(r, r.get("worker_id") in consenting) for r in rows]


def _transition(actor: User, competition: Competition, event: str, note: str) -> None:
    from competitions.services.setup import apply_transition

    apply_transition(actor, competition, event, note)


def publish(actor: User, competition_id: int, reason: str = "") -> ResultVersion:
    """Freeze the computed results as version n+1. First version: the competition must be scoring_closed (it
    becomes published); a correction (already published) needs a reason. Requires decoding and complete marks."""
    competition = _managed(actor, competition_id)
    reason = (reason or "").strip()
    if not competition.is_decoded:
        raise Conflict(_("Decode the codes before publishing the results."), code="not_decoded")
    correction = competition.status == "published"
    if correction and not reason:
        raise DomainError(_("A correction needs a reason."), code="reason_required", status=422,
                          details={"reason": [_("A correction needs a reason.")]})
    results = compute_results(competition.id)
    if not results.complete:
        missing = [e["code"] for e in results.entries if e["rank"] is not None and not e["complete"]]
        raise Conflict(_("Some entries lack marks: %(codes)s.", codes=", ".join(str(c) for c in missing[:20])),
                       code="results_incomplete", details={"codes": missing})
    _transition(actor, competition, "publish_correction" if correction else "publish", reason)
    last = db.session.scalar(select(func.max(ResultVersion.version))
                             .where(ResultVersion.competition_id == competition.id)) or 0
    now = utcnow()
    snapshot = {
        "competition": {"id": competition.id, "name": competition.name, "level": competition.level},
        "published_at": now.isoformat(), "modules": results.modules, "weighted": results.weighted,
        "entries": results.entries,  # (each with its consent at publication; the public view asks again: public_rows)
    }
    version = ResultVersion(competition_id=competition.id, version=last + 1, published_at=now,
                            published_by_id=actor.id, reason=reason, snapshot=snapshot)
    db.session.add(version)
    db.session.flush()
    record("results_publish", competition, {"version": version.version, "reason": reason,
                                            "entries": len(results.entries)}, stream=audit_stream(competition.id))
    return version  # (the live board learns of the new version from its commit: competitions.services.board)


def version_summary(v: ResultVersion, publisher: str | None = None) -> dict[str, Any]:
    return {"version": v.version, "published_at": v.published_at, "published_by": publisher, "reason": v.reason}


def list_versions(actor: User, competition_id: int) -> list[dict[str, Any]]:
    """Organizers: every published version, newest first, with its reason."""
    require_organizer(actor)
    rows = db.session.execute(
        select(ResultVersion, User.display_name).join(User, User.id == ResultVersion.published_by_id)
        .where(ResultVersion.competition_id == competition_id).order_by(ResultVersion.version.desc())).all()
    if not rows and db.session.get(Competition, competition_id) is None:
        raise NotFound(_("No such competition."))
    return [version_summary(v, name) for v, name in rows]


def get_version(actor: User, competition_id: int, number: int) -> dict[str, Any]:
    """Organizers: one version in full (names, enterprises), as frozen."""
    require_organizer(actor)
    v = db.session.scalar(select(ResultVersion).where(ResultVersion.competition_id == competition_id,
                                                      ResultVersion.version == number))
    if v is None:
        raise NotFound(_("No such results version."))
    snap = v.snapshot
    return {**version_summary(v), "modules": snap.get("modules", []), "entries": snap.get("entries", [])}


def latest_version(competition_id: int) -> ResultVersion | None:
    return db.session.scalar(select(ResultVersion).where(ResultVersion.competition_id == competition_id)
                             .order_by(ResultVersion.version.desc()).limit(1))


def published_results(competition_id: int) -> dict[str, Any]:
    """Anyone: the latest published version's public view (names per consent as it is now, masked otherwise)."""
    competition = db.session.get(Competition, competition_id)
    v = None if competition is None else latest_version(competition_id)
    if v is None:
        raise NotFound(_("No results have been published."))
    snap = v.snapshot
    return {"competition": snap.get("competition"), "version": v.version, "published_at": v.published_at,
            "corrected": v.version > 1, "reason": v.reason if v.version > 1 else "",
            "modules": [{"id": m["id"], "name": m["name"], "kind": m["kind"], "weight": m["weight"]}
                        for m in snap.get("modules", [])],
            "entries": public_rows(competition_id, snap.get("entries", []))}


# --- export ----------------------------------------------------------------------------------------------


def export_xlsx(actor: User, competition_id: int) -> tuple[bytes, str]:
    """Organizers: the computed results as XLSX (names and enterprises only once decoded)."""
    require_organizer(actor)
    results = compute_results(competition_id)
    competition = db.session.get(Competition, competition_id)
    header = [_("Rank"), _("Code")]
    if results.decoded:
        header += [_("Full name"), _("Enterprise")]
    header += [m["name"] for m in results.modules] + [_("Total"), _("Awards"), _("Recommended level")]
    rows: list[list[Any]] = [header]
    for e in results.entries:
        row: list[Any] = [e["rank"], e["code"]]
        if results.decoded:
            row += [e["name"], e["enterprise_name"]]
        scores = {m["module_id"]: m["score"] for m in e["modules"]}
        row += [None if scores.get(m["id"]) is None else Decimal(scores[m["id"]]) for m in results.modules]
        row += [None if e["total"] is None else Decimal(e["total"]),
                "、".join(a["label"] for a in e["awards"]),
                None if not e["promotion"] else e["promotion"]["recommended_level"]]
        rows.append(row)
    # names come from users: app.tabular escapes every cell, so none becomes a formula in the sheet
    content = xlsx_bytes([Sheet("results", rows)])
    return content, f"results-{competition.id if competition else competition_id}.xlsx"


def require_results_reader(actor: User) -> None:
    if not is_organizer(actor):
        raise PermissionDenied()


__all__ = [
    "Results",
    "compute_results",
    "counted_marks",
    "decode",
    "export_xlsx",
    "get_version",
    "list_versions",
    "load",
    "marks_as_of",
    "public_row",
    "public_rows",
    "publish",
    "published_results",
    "review_results",
]
