"""JSON API of skill-level promotion decisions (竞赛晋级): organizers list the recommendations of the latest
published results version and confirm or decline each one (declining needs a reason). The same service as the
results review page (``competitions.services.promotions``)."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
from competitions.schemas.promotions import PromotionDecideSchema, PromotionListSchema, PromotionRowSchema
from competitions.services import promotions as services

blp = Blueprint("competitions_promotions_api", __name__, url_prefix="/api/v1",
                description="Competitions: skill-level promotion decisions")

ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)


@blp.route("/competitions/<int:competition_id>/promotions")
class Promotions(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, PromotionListSchema)
    def get(self, competition_id: int):
        """Promotion recommendations of the latest published version (a level, or a title), with names, level
        labels and the organizer's decision. A decision made on an older version is ``stale``; ``changed`` when
        the latest version recommends something else. Before publication: ``version`` null, no rows."""
        return services.list_promotions(current_user, competition_id)


@blp.route("/competitions/<int:competition_id>/promotions/<int:entry_id>")
class PromotionDecision(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(PromotionDecideSchema)
    @blp.response(200, PromotionRowSchema)
    def post(self, args, competition_id: int, entry_id: int):
        """Confirm or decline one recommendation (declining needs a ``note``: 422). Deciding again replaces the
        decision (audited). 409 ``results_not_published`` before publication; 404 ``no_recommendation`` when the
        latest version recommends nothing for the entry."""
        return services.decide_promotion(current_user, competition_id, entry_id, args["decision"], args.get("note"))
