"""JSON API of competitions: appeals (申诉).

HR files appeals about approved entries of its own enterprises within a module's appeal window (409
``appeal_window_not_open`` / ``appeal_window_closed`` outside it, with ``details.opens_at``/``closes_at``) and
reads its enterprises' appeals; organizers (and admins) read every appeal and decide it once (uphold with a note,
reject with a reason). After upholding an appeal on published results, ``…/correction`` publishes a corrected
results version through the results service. Another enterprise's entry or appeal is 404.
"""

from __future__ import annotations

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
)
from competitions.services import appeals as services
from competitions.services.common import get_competition

blp = Blueprint("competitions_appeals_api", __name__, url_prefix="/api/v1", description="Competitions: appeals")

VIEWERS = (Role.ORGANIZER, Role.ADMIN, Role.HR)
ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)


def _dump(view) -> dict:
    return {**view.as_dict(), "next_step": services.next_step(view, get_competition(view.entry.competition_id))}


@blp.route("/competitions/<int:competition_id>/appeals")
class Appeals(MethodView):
    @roles_required(*VIEWERS)
    @blp.arguments(AppealQuerySchema, location="query")
    @blp.response(200, AppealListSchema)
    def get(self, args, competition_id: int):
        """Appeals, open ones first: organizers see all, HR its enterprises' only"""
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
    @blp.response(200, AppealSchema)
    @blp.alt_response(404, description="No such appeal (or not of your enterprises)")
    def get(self, competition_id: int, appeal_id: int):
        """One appeal with its outcome"""
        return _dump(services.get_appeal(current_user, competition_id, appeal_id))


@blp.route("/competitions/<int:competition_id>/appeals/<int:appeal_id>/decision")
class AppealDecision(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(AppealDecisionSchema)
    @blp.response(200, AppealSchema)
    @blp.alt_response(409, description="The appeal has already been decided")
    @blp.alt_response(422, description="Missing note or unknown decision")
    def post(self, data, competition_id: int, appeal_id: int):
        """Uphold (with a note on what will be corrected) or reject (with the reason) an open appeal"""
        view = services.decide_appeal(current_user, competition_id, appeal_id, data["decision"], data["note"])
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
