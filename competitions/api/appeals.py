"""JSON API of competitions: appeals (申诉).

HR files appeals about approved entries of its own enterprises within a module's appeal window (409
``appeal_window_not_open`` / ``appeal_window_closed`` outside it, with ``details.opens_at``/``closes_at``) and
reads its enterprises' appeals; organizers (and admins) read every appeal and may decide any of them once (uphold
with a note, reject with a reason: arbitration, 仲裁). The chief judge of a module reads that module's appeals and
decides them too, **blind**: a judge who is neither organizer nor HR gets ``ChiefAppealSchema`` (the module's
entrant code, the text, status, times and decision — no worker, enterprise, worker or entry id, nor who filed it);
a judge who leads no module of the competition is 403, an appeal of another module 404. After upholding an appeal
on published results, ``…/correction`` publishes a corrected results version through the results service.
Another enterprise's entry or appeal is 404.
"""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
from competitions.schemas.appeals import (
    AppealCorrectionResultSchema,
    AppealCorrectionSchema,
    AppealDecisionSchema,
    AppealFileSchema,
    AppealListSchema,
    AppealQuerySchema,
    AppealSchema,
    ChiefAppealListSchema,
    ChiefAppealSchema,
)
from competitions.services import appeals as services
from competitions.services.common import get_competition

blp = Blueprint("competitions_appeals_api", __name__, url_prefix="/api/v1", description="Competitions: appeals")

VIEWERS = (Role.ORGANIZER, Role.ADMIN, Role.HR, Role.JUDGE)
DECIDERS = (Role.ORGANIZER, Role.ADMIN, Role.JUDGE)  # a judge: only as the chief judge of the appeal's module
ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)
BLIND = "For a chief judge (a judge who is neither organizer nor HR) the body is ChiefAppealSchema (blind)."


def _dump(view) -> dict:
    return {**view.as_dict(), "next_step": services.next_step(view, get_competition(view.entry.competition_id))}


def _blind(schema, data: dict):
    """The chief judge's answer, serialised with the blind schema (returned as a response, so the route's
    declared organizer/HR schema does not apply)."""
    return jsonify(schema().dump(data))


def _blind_one(view: services.ChiefAppealView):
    return _blind(ChiefAppealSchema, {**view.as_dict(),
                                      "next_step": services.next_step(view, get_competition(view.competition_id))})


@blp.route("/competitions/<int:competition_id>/appeals")
class Appeals(MethodView):
    @roles_required(*VIEWERS)
    @blp.arguments(AppealQuerySchema, location="query")
    @blp.response(200, AppealListSchema, description=BLIND.replace("ChiefAppealSchema", "ChiefAppealListSchema"))
    @blp.alt_response(403, description="A judge who is the chief judge of no module of this competition")
    def get(self, args, competition_id: int):
        """Appeals, open ones first: organizers see all, HR its enterprises' only, a chief judge their modules'
        (blind)"""
        if services.sees_blind(current_user):
            competition, chief_views = services.list_appeals_for_chief(current_user, competition_id,
                                                                       status=args["status"])
            return _blind(ChiefAppealListSchema, {"items": [
                {**v.as_dict(), "next_step": services.next_step(v, competition)} for v in chief_views]})
        competition, views = services.list_appeals(current_user, competition_id, status=args["status"])
        return {"items": [{**v.as_dict(), "next_step": services.next_step(v, competition)} for v in views]}

    @roles_required(Role.HR)
    @blp.arguments(AppealFileSchema)
    @blp.response(201, AppealSchema)
    @blp.alt_response(404, description="No such entry or module (or the entry is not of your enterprises)")
    @blp.alt_response(409, description="Outside the appeal window, not under way, entry not approved, or already open")
    @blp.alt_response(422, description="Empty or too long text")
    def post(self, data, competition_id: int):
        """File an appeal about an entry of your enterprise in one module (within the module's window)"""
        view = services.file_appeal(current_user, competition_id, data["entry_id"], data["module_id"], data["text"])
        return _dump(view)


@blp.route("/competitions/<int:competition_id>/appeals/<int:appeal_id>")
class AppealItem(MethodView):
    @roles_required(*VIEWERS)
    @blp.response(200, AppealSchema, description=BLIND)
    @blp.alt_response(404, description="No such appeal (or not of your enterprises, or not of your modules)")
    def get(self, competition_id: int, appeal_id: int):
        """One appeal with its outcome"""
        if services.sees_blind(current_user):
            return _blind_one(services.get_appeal_for_chief(current_user, competition_id, appeal_id))
        return _dump(services.get_appeal(current_user, competition_id, appeal_id))


@blp.route("/competitions/<int:competition_id>/appeals/<int:appeal_id>/decision")
class AppealDecision(MethodView):
    @roles_required(*DECIDERS)
    @blp.arguments(AppealDecisionSchema)
    @blp.response(200, AppealSchema, description=BLIND)
    @blp.alt_response(403, description="Neither organizer nor the chief judge of a module of this competition")
    @blp.alt_response(404, description="No such appeal (for a chief judge: not of a module they lead)")
    @blp.alt_response(409, description="The appeal has already been decided")
    @blp.alt_response(422, description="Missing note or unknown decision")
    def post(self, data, competition_id: int, appeal_id: int):
        """Uphold (with a note on what will be corrected) or reject (with the reason) an open appeal: the chief judge
        of its module or an organizer (arbitration)"""
        view = services.decide_appeal(current_user, competition_id, appeal_id, data["decision"], data["note"])
        if isinstance(view, services.ChiefAppealView):
            return _blind_one(view)
        return _dump(view)


@blp.route("/competitions/<int:competition_id>/appeals/<int:appeal_id>/correction")
class AppealCorrection(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(AppealCorrectionSchema)
    @blp.response(201, AppealCorrectionResultSchema)
    @blp.alt_response(409, description="The appeal is not upheld, or the results are not published (or incomplete)")
    def post(self, data, competition_id: int, appeal_id: int):
        """Publish a corrected results version for an upheld appeal (through the results service)"""
        version = services.publish_correction(current_user, competition_id, appeal_id, data["reason"])
        return {"appeal_id": appeal_id, "version": version.version, "reason": version.reason,
                "published_at": version.published_at}
