"""JSON API of transfers between employers: the same service calls as the HTML views."""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
from app.people.transfers import services
from app.people.transfers.schemas import TransferListSchema, TransferRequestSchema, TransferSchema

blp = Blueprint("transfers_api", __name__, url_prefix="/api/v1", description="Transfers of workers between employers")


@blp.route("/transfers")
class Transfers(MethodView):
    @roles_required(Role.HR, Role.WORKER)
    @blp.response(200, TransferListSchema)
    def get(self):
        """Transfers you are a side of: HR of either enterprise, or the worker; pending first"""
        return {"items": [services.view(current_user, t) for t in services.list_transfers(current_user)]}

    @roles_required(Role.HR)
    @blp.arguments(TransferRequestSchema)
    @blp.response(201, TransferSchema)
    @blp.alt_response(404, description="No registered person has this number and name")
    @blp.alt_response(409, description="Already your worker, or a transfer is already pending")
    @blp.alt_response(422, description="Invalid fields")
    def post(self, data):
        """Ask to take over a person registered by another enterprise"""
        enterprise_id = data.pop("enterprise_id", None)
        return services.view(current_user, services.request_transfer(current_user, enterprise_id, data))


@blp.route("/transfers/<int:transfer_id>")
class TransferItem(MethodView):
    @roles_required(Role.HR, Role.WORKER)
    @blp.response(200, TransferSchema)
    @blp.alt_response(404, description="Not a transfer you are a side of")
    def get(self, transfer_id: int):
        """One transfer"""
        return services.view(current_user, services.get_transfer(current_user, transfer_id))


@blp.route("/transfers/<int:transfer_id>/confirm")
class TransferConfirm(MethodView):
    @roles_required(Role.HR, Role.WORKER)
    @blp.response(200, TransferSchema)
    @blp.alt_response(403, description="Not your decision (the requesting HR)")
    @blp.alt_response(404, description="Not a transfer you are a side of")
    @blp.alt_response(409, description="Already decided")
    def post(self, transfer_id: int):
        """Confirm: the worker moves to the requesting enterprise (the worker or the HR of their current enterprise)"""
        return services.view(current_user, services.confirm_transfer(current_user, transfer_id))


@blp.route("/transfers/<int:transfer_id>/decline")
class TransferDecline(MethodView):
    @roles_required(Role.HR, Role.WORKER)
    @blp.response(200, TransferSchema)
    @blp.alt_response(403, description="Not your decision (the requesting HR)")
    @blp.alt_response(404, description="Not a transfer you are a side of")
    @blp.alt_response(409, description="Already decided")
    def post(self, transfer_id: int):
        """Decline (the worker or the HR of their current enterprise)"""
        return services.view(current_user, services.decline_transfer(current_user, transfer_id))


@blp.route("/transfers/<int:transfer_id>/cancel")
class TransferCancel(MethodView):
    @roles_required(Role.HR)
    @blp.response(200, TransferSchema)
    @blp.alt_response(403, description="Not your request")
    @blp.alt_response(404, description="Not a transfer you are a side of")
    @blp.alt_response(409, description="Already decided")
    def post(self, transfer_id: int):
        """Cancel your request (the requesting HR)"""
        return services.view(current_user, services.cancel_transfer(current_user, transfer_id))
