"""JSON API for workers (HR-scoped), the worker's own consents and the trade catalogue.

The same service functions as the HTML views; a worker of another enterprise is 404 with the error
envelope. Worker output never contains an ID number (see ``app.people.schemas``).
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint, page_body
from app.auth import login_required, roles_required
from app.people import consents, services
from app.people.models import ConsentPurpose
from app.people.schemas import (
    ConsentsSchema,
    ConsentsUpdateSchema,
    TradePageSchema,
    TradePatchSchema,
    TradeQuerySchema,
    TradeSchema,
    WorkerCreateSchema,
    WorkerPageSchema,
    WorkerPatchSchema,
    WorkerQuerySchema,
    WorkerSchema,
)

blp = Blueprint("people_api", __name__, url_prefix="/api/v1", description="Workers, consents and trades")


# --- workers ---------------------------------------------------------------------------------------


@blp.route("/workers")
class Workers(MethodView):
    @roles_required(Role.HR)
    @blp.arguments(WorkerQuerySchema, location="query")
    @blp.response(200, WorkerPageSchema)
    @blp.alt_response(403, description="Not HR")
    def get(self, args):
        """List the workers of your enterprises (masked names, IDs and mobiles)"""
        return page_body(services.list_workers(current_user, **args))

    @roles_required(Role.HR)
    @blp.arguments(WorkerCreateSchema)
    @blp.response(201, WorkerSchema)
    @blp.alt_response(409, description="The ID number is already registered")
    @blp.alt_response(422, description="Invalid fields, with a message per field in details")
    def post(self, data):
        """Register a worker"""
        enterprise_id = data.pop("enterprise_id", None)
        return services.create_worker(current_user, enterprise_id, data)


@blp.route("/workers/<int:worker_id>")
class WorkerItem(MethodView):
    @roles_required(Role.HR)
    @blp.response(200, WorkerSchema)
    @blp.alt_response(404, description="No such worker in your enterprises")
    def get(self, worker_id: int):
        """One worker of your enterprises"""
        return services.get_worker(current_user, worker_id)

    @roles_required(Role.HR)
    @blp.arguments(WorkerPatchSchema)
    @blp.response(200, WorkerSchema)
    @blp.alt_response(404, description="No such worker in your enterprises")
    @blp.alt_response(409, description="The ID number is already registered")
    @blp.alt_response(422, description="Invalid fields")
    def patch(self, data, worker_id: int):
        """Change some fields of a worker (leave id_number out to keep the stored ID)"""
        worker = services.get_worker(current_user, worker_id)
        if not data.get("id_number"):
            data.pop("id_number", None)
        return services.update_worker(current_user, worker, data)


@blp.route("/workers/<int:worker_id>/deactivate")
class WorkerDeactivate(MethodView):
    @roles_required(Role.HR)
    @blp.response(200, WorkerSchema)
    @blp.alt_response(404, description="No such worker in your enterprises")
    def post(self, worker_id: int):
        """Deactivate a worker (workers are never deleted)"""
        return services.set_worker_active(current_user, services.get_worker(current_user, worker_id), False)


@blp.route("/workers/<int:worker_id>/reactivate")
class WorkerReactivate(MethodView):
    @roles_required(Role.HR)
    @blp.response(200, WorkerSchema)
    @blp.alt_response(404, description="No such worker in your enterprises")
    def post(self, worker_id: int):
        """Reactivate a worker"""
        return services.set_worker_active(current_user, services.get_worker(current_user, worker_id), True)


# --- the worker's own consents -------------------------------------------------------------------------


def _consents(worker) -> dict:
    state = consents.consent_state(worker)
    out: dict = {p: {"granted": at is not None, "at": at} for p, at in state.items()}
    out["history"] = consents.consent_history(worker)
    return out


@blp.route("/me/consents")
class MyConsents(MethodView):
    @roles_required(Role.WORKER)
    @blp.response(200, ConsentsSchema)
    def get(self):
        """Your consents (publicity, talent pool) and their history"""
        return _consents(services.own_worker(current_user))

    @roles_required(Role.WORKER)
    @blp.arguments(ConsentsUpdateSchema)
    @blp.response(200, ConsentsSchema)
    def put(self, data):
        """Give or withdraw your consents; purposes left out stay as they are"""
        worker = services.own_worker(current_user)
        consents.set_consents(current_user, worker, {ConsentPurpose(k).value: v for k, v in data.items()})
        return _consents(worker)


# --- trades ------------------------------------------------------------------------------------------


@blp.route("/trades")
class Trades(MethodView):
    @login_required
    @blp.arguments(TradeQuerySchema, location="query")
    @blp.response(200, TradePageSchema)
    def get(self, args):
        """The trade catalogue (active trades by default)"""
        return page_body(services.list_trades(**args))

    @roles_required(Role.ORGANIZER, Role.ADMIN)
    @blp.arguments(TradeSchema)
    @blp.response(201, TradeSchema)
    @blp.alt_response(422, description="Invalid or duplicate code or name")
    def post(self, data):
        """Add a trade (organizers and admins)"""
        return services.create_trade(current_user, data)


@blp.route("/trades/<int:trade_id>")
class TradeItem(MethodView):
    @login_required
    @blp.response(200, TradeSchema)
    def get(self, trade_id: int):
        """One trade"""
        return services.get_trade(trade_id)

    @roles_required(Role.ORGANIZER, Role.ADMIN)
    @blp.arguments(TradePatchSchema)
    @blp.response(200, TradeSchema)
    @blp.alt_response(422, description="Invalid or duplicate code or name")
    def patch(self, data, trade_id: int):
        """Change a trade; is_active false deactivates it (organizers and admins)"""
        return services.update_trade(current_user, services.get_trade(trade_id), data)
