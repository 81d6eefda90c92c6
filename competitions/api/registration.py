"""JSON API of competitions: registration (entries, decisions, quotas, registration file, the draw).

HR registers and withdraws its own enterprises' workers; organizers (and admins) see every entry with
names, approve or reject, set quotas and run the draw. An entry or worker of another enterprise is 404.
All-or-nothing writes report every refused item in ``details`` (``items`` for worker ids, ``errors``
for file rows).

Registration file: ``POST …/entries/file?dry_run=1`` checks the file and returns the preview (matched
rows, per-row errors) without writing; the same request without ``dry_run`` registers every row, or —
if any row has an error — nothing (422 with the errors). No preview is stored: HR sends the file again
to confirm, and the second check runs against the data as it is then.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import roles_required
from app.db import db
from competitions.models import ModuleCode
from competitions.schemas.registration import (
    RegistrationDecisionSchema,
    RegistrationDrawRequestSchema,
    RegistrationDrawResultSchema,
    RegistrationEntryDecisionSchema,
    RegistrationEntryPageSchema,
    RegistrationEntryQuerySchema,
    RegistrationEntrySchema,
    RegistrationFileQuerySchema,
    RegistrationFileResultSchema,
    RegistrationFileUploadSchema,
    RegistrationQuotasSchema,
    RegistrationQuotaStatesSchema,
    RegistrationRequestSchema,
)
from competitions.services import registration as services
from competitions.services.common import get_competition, is_organizer

blp = Blueprint("competitions_registration_api", __name__, url_prefix="/api/v1", description="Competitions: registration")

VIEWERS = (Role.ORGANIZER, Role.ADMIN, Role.HR)
ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)


def _dump_entries(entries, competition) -> list[dict]:
    organizer = is_organizer(current_user)
    show_codes = services.shows_codes(current_user, competition)
    module_codes: dict[int, dict[str, str]] = {}
    if organizer and competition.uses_module_codes and entries:
        for entry_id, module_id, code in db.session.execute(select(
                ModuleCode.entry_id, ModuleCode.module_id, ModuleCode.code).where(
                ModuleCode.entry_id.in_([e.id for e in entries]))):
            module_codes.setdefault(entry_id, {})[str(module_id)] = code
    out = []
    for e in entries:
        item = {
            "id": e.id, "competition_id": e.competition_id, "status": e.status,
            "status_label": str(services.STATUS_LABELS.get(e.status, e.status)),
            "worker": {"id": e.worker.id, "name": e.worker.name, "id_last4": e.worker.id_last4},
            "enterprise": {"id": e.enterprise.id, "name": e.enterprise.name},
            "code": e.code if show_codes else None,
            "registered_at": e.registered_at, "decided_at": e.decided_at,
        }
        if organizer:
            item["module_codes"] = module_codes.get(e.id, {})
        out.append(item)
    return out


def _competition(competition_id: int):
    return get_competition(competition_id)


@blp.route("/competitions/<int:competition_id>/entries")
class Entries(MethodView):
    @roles_required(*VIEWERS)
    @blp.arguments(RegistrationEntryQuerySchema, location="query")
    @blp.response(200, RegistrationEntryPageSchema)
    def get(self, args, competition_id: int):
        """Entries by registration order: organizers see all (with names and codes), HR its enterprises' only"""
        competition, page = services.list_entries(current_user, competition_id, **args)
        return {"items": _dump_entries(page.items, competition), "page": page.page, "per_page": page.per_page,
                "total": page.total, "pages": page.pages}

    @roles_required(Role.HR)
    @blp.arguments(RegistrationRequestSchema)
    @blp.response(201, RegistrationEntrySchema(many=True))
    @blp.alt_response(404, description="A worker is not in your enterprises (details.items)")
    @blp.alt_response(409, description="Not open, already registered, or the quota would be exceeded")
    @blp.alt_response(422, description="Inactive or duplicate workers (details.items)")
    def post(self, data, competition_id: int):
        """Register workers of your enterprises (all or none)"""
        entries = services.register_workers(current_user, competition_id, data["worker_ids"])
        return _dump_entries(entries, _competition(competition_id))


@blp.route("/competitions/<int:competition_id>/entries/file")
class EntriesFile(MethodView):
    @roles_required(Role.HR)
    @blp.arguments(RegistrationFileQuerySchema, location="query")
    @blp.arguments(RegistrationFileUploadSchema, location="files")
    @blp.response(200, RegistrationFileResultSchema)
    @blp.alt_response(400, description="The file cannot be read (empty, no 证件号码 column, not a spreadsheet, …)")
    @blp.alt_response(409, description="Registration is not open")
    @blp.alt_response(413, description="The upload is larger than 10 MB")
    @blp.alt_response(422, description="Some rows have errors (details.errors); nothing was registered")
    def post(self, query, files, competition_id: int):
        """Register the workers listed in an XLSX/CSV file, matched by ID number (dry_run=1: preview only)"""
        upload = files["file"]
        result = services.register_from_file(current_user, competition_id, upload.filename or "", upload.read(),
                                              dry_run=query["dry_run"])
        competition = _competition(competition_id)
        return {"dry_run": result.dry_run, "row_count": result.row_count, "valid_count": result.valid_count,
                "rows": result.rows, "errors": result.errors, "entries": _dump_entries(result.entries, competition)}


@blp.route("/competitions/<int:competition_id>/entries/decisions")
class EntryDecisions(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(RegistrationDecisionSchema)
    @blp.response(200, RegistrationEntrySchema(many=True))
    @blp.alt_response(404, description="An entry is not in this competition")
    @blp.alt_response(409, description="Wrong phase or an entry's status does not allow the decision")
    def post(self, data, competition_id: int):
        """Approve or reject several entries (all or none)"""
        entries = services.decide_entries(current_user, competition_id, data["entry_ids"], data["decision"],
                                          data["reason"])
        return _dump_entries(entries, _competition(competition_id))


@blp.route("/competitions/<int:competition_id>/entries/<int:entry_id>")
class EntryItem(MethodView):
    @roles_required(*VIEWERS)
    @blp.response(200, RegistrationEntrySchema)
    @blp.alt_response(404, description="No such entry (or not of your enterprises)")
    def get(self, competition_id: int, entry_id: int):
        """One entry"""
        entry = services.get_entry(current_user, competition_id, entry_id)
        return _dump_entries([entry], _competition(competition_id))[0]


@blp.route("/competitions/<int:competition_id>/entries/<int:entry_id>/decision")
class EntryDecision(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(RegistrationEntryDecisionSchema)
    @blp.response(200, RegistrationEntrySchema)
    @blp.alt_response(409, description="Wrong phase or the entry's status does not allow the decision")
    def post(self, data, competition_id: int, entry_id: int):
        """Approve or reject one entry"""
        entries = services.decide_entries(current_user, competition_id, [entry_id], data["decision"], data["reason"])
        return _dump_entries(entries, _competition(competition_id))[0]


@blp.route("/competitions/<int:competition_id>/entries/<int:entry_id>/withdraw")
class EntryWithdraw(MethodView):
    @roles_required(*VIEWERS)
    @blp.response(200, RegistrationEntrySchema)
    @blp.alt_response(404, description="No such entry (or not of your enterprises)")
    @blp.alt_response(409, description="The competition has started, or the entry is rejected/withdrawn")
    def post(self, competition_id: int, entry_id: int):
        """Withdraw an entry (HR of its enterprise, or an organizer) until the competition runs"""
        entry = services.withdraw_entry(current_user, competition_id, entry_id)
        return _dump_entries([entry], _competition(competition_id))[0]


@blp.route("/competitions/<int:competition_id>/quotas")
class Quotas(MethodView):
    @roles_required(*VIEWERS)
    @blp.response(200, RegistrationQuotaStatesSchema)
    def get(self, competition_id: int):
        """Quotas per enterprise with the places used (HR: its own enterprises)"""
        return {"quotas": services.list_quotas(current_user, competition_id)}

    @roles_required(*ORGANIZERS)
    @blp.arguments(RegistrationQuotasSchema)
    @blp.response(200, RegistrationQuotaStatesSchema)
    @blp.alt_response(422, description="Unknown or repeated enterprises (details.quotas by index)")
    def put(self, data, competition_id: int):
        """Replace the quotas: enterprises not listed have no limit"""
        return {"quotas": services.set_quotas(current_user, competition_id, data["quotas"])}


@blp.route("/competitions/<int:competition_id>/draw")
class Draw(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(RegistrationDrawRequestSchema)
    @blp.response(200, RegistrationDrawResultSchema)
    @blp.alt_response(409, description="Wrong phase, undecided entries, codes already drawn, or marks exist (redraw)")
    def post(self, data, competition_id: int):
        """Draw a random entrant code for every approved entry (and second codes per module if configured)"""
        result = services.draw(current_user, competition_id, redraw=data["redraw"])
        return {"competition_id": result.competition.id, "drawn": result.drawn, "module_codes": result.module_codes,
                "redraw": result.redraw}
