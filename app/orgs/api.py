"""JSON API for enterprises and industry chains under /api/v1.

Organizers and admins read and change everything; HR reads only its own enterprises (others are 404);
judges and workers get 403. Validation errors of the service come back in the error envelope with the
offending field in ``details``.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import MANAGERS, Role
from app.api import Blueprint, page_body
from app.auth import roles_required
from app.orgs import services
from app.orgs.schemas import (
    ChainPageSchema,
    ChainPatchSchema,
    ChainQuerySchema,
    ChainSchema,
    EnterprisePageSchema,
    EnterprisePatchSchema,
    EnterpriseQuerySchema,
    EnterpriseSchema,
    MembersSchema,
)

blp = Blueprint("orgs_api", __name__, url_prefix="/api/v1", description="Enterprises and industry chains")

READERS = (Role.ORGANIZER, Role.ADMIN, Role.HR)


def _enterprise_out(ent, counts: dict[int, int] | None = None) -> dict:
    if counts is None:
        counts = services.active_worker_counts([ent.id])
    return {"id": ent.id, "name": ent.name, "uscc": ent.uscc, "region": ent.region, "is_active": ent.is_active,
            "created_at": ent.created_at, "chains": ent.chains, "active_workers": counts.get(ent.id, 0)}


@blp.route("/enterprises")
class Enterprises(MethodView):
    @roles_required(*READERS)
    @blp.arguments(EnterpriseQuerySchema, location="query")
    @blp.response(200, EnterprisePageSchema)
    def get(self, args):
        """List enterprises (HR: only its own), paginated."""
        result = services.list_enterprises(current_user, args["page"], args["per_page"], args["q"], args["is_active"])
        return page_body(result.pagination, [_enterprise_out(e, result.counts) for e in result.items])

    @roles_required(*MANAGERS)
    @blp.arguments(EnterpriseSchema)
    @blp.response(201, EnterpriseSchema)
    def post(self, data):
        """Create an enterprise."""
        ent = services.create_enterprise(current_user, data["name"], data["uscc"], data.get("region", ""))
        return _enterprise_out(ent)


@blp.route("/enterprises/<int:enterprise_id>")
class EnterpriseItem(MethodView):
    @roles_required(*READERS)
    @blp.response(200, EnterpriseSchema)
    def get(self, enterprise_id: int):
        """One enterprise (HR: only its own; others are 404)."""
        return _enterprise_out(services.get_enterprise(current_user, enterprise_id))

    @roles_required(*MANAGERS)
    @blp.arguments(EnterprisePatchSchema)
    @blp.response(200, EnterpriseSchema)
    def patch(self, data, enterprise_id: int):
        """Change name, USCC, region, or deactivate/reactivate with is_active."""
        ent = services.get_enterprise(current_user, enterprise_id)
        services.update_enterprise(current_user, ent, **data)
        return _enterprise_out(ent)


@blp.route("/chains")
class Chains(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(ChainQuerySchema, location="query")
    @blp.response(200, ChainPageSchema)
    def get(self, args):
        """List industry chains with their members, paginated."""
        pagination = services.list_chains(current_user, args["page"], args["per_page"], args["q"])
        return page_body(pagination, list(pagination.items))

    @roles_required(*MANAGERS)
    @blp.arguments(ChainSchema)
    @blp.response(201, ChainSchema)
    def post(self, data):
        """Create an industry chain."""
        return services.create_chain(current_user, data["name"], data.get("description", ""))


@blp.route("/chains/<int:chain_id>")
class ChainItem(MethodView):
    @roles_required(*MANAGERS)
    @blp.response(200, ChainSchema)
    def get(self, chain_id: int):
        """One industry chain with its members."""
        return services.get_chain(current_user, chain_id)

    @roles_required(*MANAGERS)
    @blp.arguments(ChainPatchSchema)
    @blp.response(200, ChainSchema)
    def patch(self, data, chain_id: int):
        """Change the name or description."""
        chain = services.get_chain(current_user, chain_id)
        return services.update_chain(current_user, chain, **data)


@blp.route("/chains/<int:chain_id>/members")
class ChainMembers(MethodView):
    @roles_required(*MANAGERS)
    @blp.arguments(MembersSchema)
    @blp.response(200, ChainSchema)
    def put(self, data, chain_id: int):
        """Replace the member enterprises with the given list of ids."""
        chain = services.get_chain(current_user, chain_id)
        return services.set_chain_members(current_user, chain, data["enterprise_ids"])
