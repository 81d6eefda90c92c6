"""JSON API of competitions: judging assignment (judge pool, panels, conflicts, a judge's assignments).

Organizers (and admins) manage judges' enterprises, panels per module with their chief judge, and
declared conflicts. A judge declares their own conflicts (by code) and reads their assignments: the
modules whose panel they sit on, the aspects to mark and the entrant codes — never names,
enterprises, worker ids or entry ids.
"""

from __future__ import annotations

from decimal import Decimal

from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
from competitions.schemas.judging import (
    JudgingAssignmentsSchema,
    JudgingConflictCreateSchema,
    JudgingConflictDeleteQuerySchema,
    JudgingConflictSchema,
    JudgingConflictsSchema,
    JudgingJudgeProfileSchema,
    JudgingJudgeSchema,
    JudgingPanelSchema,
    JudgingPanelsSchema,
    JudgingPanelUpdateSchema,
)
from competitions.services import judging as services
from competitions.services.common import is_organizer

blp = Blueprint("competitions_judging_api", __name__, url_prefix="/api/v1", description="Competitions: judging")

ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)
ORGANIZERS_AND_JUDGES = (Role.ORGANIZER, Role.ADMIN, Role.JUDGE)


def _plain(value: Decimal | None) -> str | None:
    """A Decimal as plain text without trailing zeros: 0.5000 (PostgreSQL NUMERIC) → "0.5", 10 → "10"."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _judge(line) -> dict:
    e = line.enterprise
    return {"id": line.user.id, "username": line.user.username, "display_name": line.user.display_name,
            "is_enabled": line.user.is_enabled, "enterprise": {"id": e.id, "name": e.name} if e else None}


def _panel(module, panel) -> dict:
    members = sorted(panel.members, key=lambda m: m.id) if panel else []
    return {"module_id": module.id, "module_name": module.name,
            "chief_judge_id": panel.chief_judge_id if panel else None,
            "judges": [{"id": m.judge.id, "username": m.judge.username, "display_name": m.judge.display_name}
                       for m in members]}


def _conflict(conflict) -> dict:
    code, module_codes = services.conflict_codes(current_user, conflict)
    out = {"id": conflict.id, "code": code, "module_codes": module_codes, "reason": conflict.reason,
           "created_at": conflict.created_at}
    if is_organizer(current_user):  # a judge never receives entry ids (they leak the registration order)
        out.update(judge_id=conflict.judge_id, entry_id=conflict.entry_id)
    return out


@blp.route("/judges")
class Judges(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, JudgingJudgeSchema(many=True))
    def get(self):
        """The judge pool: every user with the judge role, with their enterprise"""
        return [_judge(line) for line in services.list_judges(current_user)]


@blp.route("/judges/<int:user_id>/profile")
class JudgeProfileItem(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(JudgingJudgeProfileSchema)
    @blp.response(200, JudgingJudgeSchema)
    @blp.alt_response(404, description="No such judge")
    @blp.alt_response(422, description="No such enterprise")
    def put(self, data, user_id: int):
        """Set the enterprise a judge belongs to (null: none), used by the conflict checks"""
        return _judge(services.set_judge_profile(current_user, user_id, data["enterprise_id"]))


@blp.route("/competitions/<int:competition_id>/panels")
class Panels(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, JudgingPanelsSchema)
    def get(self, competition_id: int):
        """Every module of the competition with its panel and chief judge"""
        return {"panels": [_panel(m, p) for m, p in services.list_panels(current_user, competition_id)]}


@blp.route("/competitions/<int:competition_id>/modules/<int:module_id>/panel")
class PanelItem(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, JudgingPanelSchema)
    @blp.alt_response(404, description="No such module in this competition")
    def get(self, competition_id: int, module_id: int):
        """The panel of one module"""
        return _panel(*services.panel_of(current_user, competition_id, module_id))

    @roles_required(*ORGANIZERS)
    @blp.arguments(JudgingPanelUpdateSchema)
    @blp.response(200, JudgingPanelSchema)
    @blp.alt_response(404, description="No such module in this competition")
    @blp.alt_response(409, description="The module is locked or scoring has closed")
    @blp.alt_response(422, description="Unknown or repeated judges, or a chief judge outside the panel")
    def put(self, data, competition_id: int, module_id: int):
        """Replace the module's panel and chief judge"""
        return _panel(*services.set_panel(current_user, competition_id, module_id, data["judge_ids"],
                                          data["chief_judge_id"]))


@blp.route("/competitions/<int:competition_id>/conflicts")
class Conflicts(MethodView):
    @roles_required(*ORGANIZERS_AND_JUDGES)
    @blp.response(200, JudgingConflictsSchema)
    def get(self, competition_id: int):
        """Declared conflicts: organizers see all, a judge their own (codes only)"""
        return {"conflicts": [_conflict(c) for c in services.list_conflicts(current_user, competition_id)]}

    @roles_required(*ORGANIZERS_AND_JUDGES)
    @blp.arguments(JudgingConflictCreateSchema)
    @blp.response(201, JudgingConflictSchema)
    @blp.alt_response(403, description="A judge declaring for another judge")
    @blp.alt_response(404, description="No such judge or entrant")
    @blp.alt_response(409, description="Already declared, or scoring has closed")
    def post(self, data, competition_id: int):
        """Declare a conflict of interest (回避): the judge will not see or mark the entrant"""
        return _conflict(services.declare_conflict(current_user, competition_id, **data))

    @roles_required(*ORGANIZERS)
    @blp.arguments(JudgingConflictDeleteQuerySchema, location="query")
    @blp.response(204)
    @blp.alt_response(404, description="No such conflict")
    def delete(self, args, competition_id: int):
        """Lift a declared conflict (organizers only)"""
        services.remove_conflict(current_user, competition_id, args["judge_id"], args["entry_id"])


@blp.route("/judging/assignments")
class Assignments(MethodView):
    @roles_required(Role.JUDGE)
    @blp.response(200, JudgingAssignmentsSchema)
    def get(self):
        """Your modules, their aspects and the entrant codes you may mark (no names, enterprises or ids)"""
        out = []
        for a in services.assignments(current_user):
            out.append({
                "competition_id": a.competition.id, "competition_name": a.competition.name,
                "competition_status": a.competition.status, "module_id": a.module.id, "module_name": a.module.name,
                "module_kind": a.module.kind, "locked": a.module.locked_at is not None, "is_chief": a.is_chief,
                "uses_module_codes": a.competition.uses_module_codes,
                "criteria": [{"id": c.id, "name": c.name, "aspects": [{
                    "id": s.id, "name": s.name, "kind": s.kind, "max_mark": _plain(s.max_mark),
                    "scale_min": _plain(s.scale_min), "scale_max": _plain(s.scale_max),
                    "scale_step": _plain(s.scale_step), "judges_required": s.judges_required,
                    "level_words": list(s.level_words or []),
                } for s in c.aspects]} for c in a.module.criteria],
                "codes": a.codes,
            })
        return {"assignments": out}
