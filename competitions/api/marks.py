"""JSON API of competitions: marks.

Judges submit batches of their own marks (idempotent: each mark carries a client-made key), read their
current marks, and hand in score sheets. The chief judge of a module reads the completeness matrix and the
judge statistics, decides on divergences, locks the module and — after the lock only — changes a mark with
a reason. Clerks (organizers, the chief judge) type in paper score sheets; a different person confirms them.

Request bodies are parsed with JSON numbers as ``Decimal`` (``MarksBlueprint``), so ``0.30000000000000004``
stays exactly that (and is off the step) instead of becoming a binary float. Entries are named by their
entrant code only; no response has a name, an enterprise, a worker id or an entry id.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint, ExactJsonParser
from app.auth import roles_required
from competitions.schemas.marks import (
    MarksBatchResultSchema,
    MarksChiefChangeSchema,
    MarksCompletenessSchema,
    MarksConfirmedSchema,
    MarksDivergenceDecisionSchema,
    MarksDivergenceResultSchema,
    MarksItemSchema,
    MarksJudgeStatsQuerySchema,
    MarksJudgeStatsSchema,
    MarksLockResultSchema,
    MarksOwnListSchema,
    MarksOwnQuerySchema,
    MarksPaperSchema,
    MarksResultSchema,
    MarksSheetResultSchema,
    MarksSheetSchema,
)
from competitions.services import marks as services
from competitions.services.marks import fraction_text, text_of


class DecimalJSONParser(ExactJsonParser):
    constants_as_decimal = True  # NaN/Infinity reach the per-item checks, which name the bad items


class MarksBlueprint(Blueprint):
    ARGUMENTS_PARSER = DecimalJSONParser()


blp = MarksBlueprint("competitions_marks_api", __name__, url_prefix="/api/v1", description="Competitions: marks")

JUDGES = (Role.JUDGE,)
CLERKS = (Role.ORGANIZER, Role.ADMIN, Role.JUDGE)  # organizers, and chief judges (checked by the service)


def _inputs(items) -> list[services.MarkInput]:
    return [services.MarkInput(i["code"], i["aspect_id"], i["value"], i["idempotency_key"]) for i in items]


def _result(r: services.MarkResult) -> dict:
    return {"index": r.index, "code": r.code, "aspect_id": r.aspect_id, "judge_id": r.judge_id, "status": r.status,
            "mark_id": r.mark_id, "revision": r.revision, "value": text_of(r.value), "confirmed": r.confirmed}


def _batch(results) -> dict:
    out = [_result(r) for r in results]
    counts = {s: sum(1 for r in results if r.status == s) for s in (services.STORED, services.DUPLICATE, services.UNCHANGED)}
    return {"results": out, **counts}


@blp.route("/competitions/<int:competition_id>/marks")
class Marks(MethodView):
    @roles_required(*JUDGES)
    @blp.arguments(MarksOwnQuerySchema, location="query")
    @blp.response(200, MarksOwnListSchema)
    def get(self, args, competition_id: int):
        """The judge's own current marks (by entrant code), with re-mark requests."""
        marks = services.my_marks(current_user, competition_id, args.get("module_id"))
        return {"marks": [{"module_id": m.module_id, "code": m.code, "aspect_id": m.aspect_id, "mark_id": m.mark_id,
                           "revision": m.revision, "value": text_of(m.value), "confirmed": m.confirmed,
                           "remark_requested": m.remark_requested} for m in marks]}

    @roles_required(*JUDGES)
    @blp.arguments(MarksItemSchema(many=True))
    @blp.response(200, MarksBatchResultSchema)
    def post(self, items, competition_id: int):
        """Submit a batch of the judge's own marks: all stored, or none (a 4xx lists every problem by index).

        Per mark: ``stored`` (a new revision), ``duplicate`` (the key was stored before: nothing written) or
        ``unchanged`` (same value as the current mark: nothing written), with the current revision and value."""
        return _batch(services.submit_marks(current_user, competition_id, _inputs(items)))


@blp.route("/competitions/<int:competition_id>/marks/paper")
class PaperMarks(MethodView):
    @roles_required(*CLERKS)
    @blp.arguments(MarksPaperSchema)
    @blp.response(200, MarksBatchResultSchema)
    def post(self, data, competition_id: int):
        """Double entry: a clerk (organizer or the module's chief judge) types in a judge's paper score sheet.
        The marks count only after a different person confirms each (``…/marks/<id>/confirm``)."""
        return _batch(services.submit_marks(current_user, competition_id, _inputs(data["marks"]),
                                                     judge_id=data["judge_id"]))


@blp.route("/competitions/<int:competition_id>/marks/<int:mark_id>/confirm")
class ConfirmMark(MethodView):
    @roles_required(*CLERKS)
    @blp.response(200, MarksConfirmedSchema)
    def post(self, competition_id: int, mark_id: int):
        """Confirm a paper mark; the person who typed it in cannot (409)."""
        mark = services.confirm_mark(current_user, competition_id, mark_id)
        return {"mark_id": mark.id, "revision": mark.revision, "value": text_of(mark.value), "judge_id": mark.judge_id,
                "entered_by_id": mark.entered_by_id, "confirmed_by_id": mark.confirmed_by_id}


@blp.route("/competitions/<int:competition_id>/marks/chief")
class ChiefMark(MethodView):
    @roles_required(*JUDGES)
    @blp.arguments(MarksChiefChangeSchema)
    @blp.response(200, MarksResultSchema)
    def put(self, data, competition_id: int):
        """After the lock: the chief judge changes a judge's mark, with a reason (a new revision, audited)."""
        return _result(services.chief_change_mark(current_user, competition_id, data["code"], data["aspect_id"],
                                                  data["judge_id"], data["value"], data["reason"]))


@blp.route("/competitions/<int:competition_id>/sheets")
class Sheets(MethodView):
    @roles_required(*JUDGES)
    @blp.arguments(MarksSheetSchema)
    @blp.response(200, MarksSheetResultSchema)
    def post(self, data, competition_id: int):
        """Hand in the score sheet of one entrant in one module (409 listing missing aspects if incomplete)."""
        sheet = services.submit_sheet(current_user, competition_id, data["module_id"], data["code"])
        return {"module_id": sheet.module_id, "code": sheet.code, "submitted_at": sheet.submitted_at,
                "created": sheet.created}


def _cell_mark(m) -> dict:
    return {"judge_id": m.judge_id, "mark_id": m.mark_id, "revision": m.revision, "value": text_of(m.value),
            "entered_by_id": m.entered_by_id}


def _cell(c) -> dict:
    d = c.divergence
    return {"aspect_id": c.aspect_id, "marks": [_cell_mark(m) for m in c.marks],
            "unconfirmed": [_cell_mark(m) for m in c.unconfirmed], "missing": c.missing,
            "pending_judge_ids": c.pending_judges,
            "divergence": None if d is None else {
                "spread": fraction_text(d.spread), "threshold": text_of(d.threshold), "state": d.state,
                "reason": d.reason, "decided_by_id": d.decided_by_id, "decided_at": d.decided_at}}


@blp.route("/competitions/<int:competition_id>/modules/<int:module_id>/completeness")
class Completeness(MethodView):
    @roles_required(*CLERKS)
    @blp.response(200, MarksCompletenessSchema)
    def get(self, competition_id: int, module_id: int):
        """Entries (by code) × aspects × judges: counted marks, unconfirmed paper marks, missing marks and
        divergence flags with their review state (the module's chief judge, or an organizer)."""
        state = services.completeness(current_user, competition_id, module_id)
        problems = state.lock_problems()
        return {
            "module_id": state.module.id, "locked_at": state.module.locked_at, "locked_by_id": state.module.locked_by_id,
            "chief_judge_id": state.panel.chief_judge_id if state.panel else None,
            "judges": [{"id": u.id, "display_name": u.display_name} for u in state.judges],
            "aspects": [{"id": a.id, "name": a.name, "kind": a.kind, "judges_required": a.judges_required,
                         "scale_min": text_of(a.scale_min), "scale_max": text_of(a.scale_max),
                         "scale_step": text_of(a.scale_step), "divergence_threshold": text_of(a.divergence_threshold)}
                        for a in state.aspects],
            "entries": [{"code": r.code, "cells": [_cell(c) for c in r.cells], "sheet_judge_ids": r.sheets}
                        for r in state.entries],
            "missing": state.missing, "unconfirmed": state.unconfirmed, "open_divergences": state.open_divergences,
            "can_lock": not state.locked and not problems, "lock_problems": problems,
        }


@blp.route("/competitions/<int:competition_id>/modules/<int:module_id>/judge-stats")
class JudgeStats(MethodView):
    @roles_required(*CLERKS)
    @blp.arguments(MarksJudgeStatsQuerySchema, location="query")
    @blp.response(200, MarksJudgeStatsSchema)
    def get(self, args, competition_id: int, module_id: int):
        """Per judge: leniency/severity, mean absolute deviation from the panel median, divergences, marks."""
        lines = services.judge_stats(current_user, competition_id, module_id, relative=args["relative"])
        return {"module_id": module_id, "relative": args["relative"], "judges": [
            {"judge_id": s.judge.id, "display_name": s.judge.display_name, "marks": s.marks, "compared": s.compared,
             "leniency": fraction_text(s.leniency), "mean_abs_deviation": fraction_text(s.mean_abs_deviation),
             "divergences": s.divergences} for s in lines]}


@blp.route("/competitions/<int:competition_id>/divergences")
class Divergences(MethodView):
    @roles_required(*JUDGES)
    @blp.arguments(MarksDivergenceDecisionSchema)
    @blp.response(200, MarksDivergenceResultSchema)
    def post(self, data, competition_id: int):
        """The chief judge asks for a re-mark of a flagged cell, or accepts its marks with a reason."""
        review = services.decide_divergence(current_user, competition_id, data["code"], data["aspect_id"],
                                            data["decision"], data["reason"])
        return {"code": data["code"], "aspect_id": review.aspect_id, "decision": review.decision,
                "reason": review.reason, "decided_by_id": review.decided_by_id, "decided_at": review.decided_at}


@blp.route("/competitions/<int:competition_id>/modules/<int:module_id>/lock")
class Lock(MethodView):
    @roles_required(*JUDGES)
    @blp.response(200, MarksLockResultSchema)
    def post(self, competition_id: int, module_id: int):
        """The chief judge signs the module off (409 with the reasons while marks are missing or unconfirmed, or
        divergences unresolved)."""
        state = services.lock_module(current_user, competition_id, module_id)
        return {"module_id": state.module.id, "locked_at": state.module.locked_at, "locked_by_id": state.module.locked_by_id}

