"""JSON API of competitions: setup — competitions, lifecycle, marking scheme (JSON and XLSX), difficulty
factors and rules.

Request bodies are read with exact decimals (a JSON number such as ``30.5`` is ``Decimal("30.5")``, never a
binary float); decimals in responses are strings. Validation errors are 422 with ``details.problems`` =
``[{"path", "code", "message"}]``, the path pointing into the body (``modules[1].criteria[0].aspects[2].scale_step``).
A refused lifecycle step or an edit the state does not allow is 409 with a translated message.
"""

from __future__ import annotations

import io

from flask import send_file
from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint, page_body
from app.auth import login_required, roles_required
from competitions.schemas.setup import (
    DecimalJsonParser,
    SetupCompetitionCreateSchema,
    SetupCompetitionInSchema,
    SetupCompetitionPageSchema,
    SetupCompetitionQuerySchema,
    SetupCompetitionSchema,
    SetupDifficultyItemSchema,
    SetupModulePatchSchema,
    SetupModuleSchema,
    SetupRulesSchema,
    SetupSchemeCheckSchema,
    SetupSchemeDocSchema,
    SetupSchemeUploadSchema,
    SetupTransitionInSchema,
    SetupTransitionResultSchema,
    SetupTransitionSchema,
)
from competitions.services import setup as services

ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)


class SetupBlueprint(Blueprint):
    ARGUMENTS_PARSER = DecimalJsonParser()


blp = SetupBlueprint("competitions_setup_api", __name__, url_prefix="/api/v1", description="Competitions: setup")


@blp.route("/competitions")
class Competitions(MethodView):
    @login_required
    @blp.arguments(SetupCompetitionQuerySchema, location="query")
    @blp.response(200, SetupCompetitionPageSchema)
    def get(self, args):
        """List competitions (organizers: all; others: those past the draft)"""
        return page_body(services.list_competitions(current_user, **args))

    @roles_required(*ORGANIZERS)
    @blp.arguments(SetupCompetitionCreateSchema)
    @blp.response(201, SetupCompetitionSchema)
    @blp.alt_response(422, description="Invalid fields (details.problems)")
    def post(self, data):
        """Create a competition (draft, with the Chinese default rules)"""
        return services.create_competition(current_user, data)


@blp.route("/competitions/<int:competition_id>")
class CompetitionItem(MethodView):
    @login_required
    @blp.response(200, SetupCompetitionSchema)
    @blp.alt_response(404, description="No such competition, or a draft and you are not an organizer")
    def get(self, competition_id: int):
        """One competition"""
        return services.visible_competition(current_user, competition_id)

    @roles_required(*ORGANIZERS)
    @blp.arguments(SetupCompetitionInSchema)
    @blp.response(200, SetupCompetitionSchema)
    @blp.alt_response(409, description="Published, or a setting that is fixed once the competition runs")
    @blp.alt_response(422, description="Invalid fields (details.problems)")
    def patch(self, data, competition_id: int):
        """Change some fields of a competition"""
        return services.update_competition(current_user, competition_id, data)


@blp.route("/competitions/<int:competition_id>/transitions")
class Transitions(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, SetupTransitionSchema(many=True))
    def get(self, competition_id: int):
        """The lifecycle history (who moved it from which state to which, and when)"""
        return services.transitions_of(current_user, competition_id)

    @roles_required(*ORGANIZERS)
    @blp.arguments(SetupTransitionInSchema)
    @blp.response(200, SetupTransitionResultSchema)
    @blp.alt_response(409, description="The step is not allowed now; the message says why")
    def post(self, data, competition_id: int):
        """Move the competition one step: open_registration, close_registration, start, close_scoring"""
        competition = services.managed_competition(current_user, competition_id)
        step = services.apply_transition(current_user, competition, data["event"], data["note"])
        return {"competition": competition, "transition": services.transition_dict(step, current_user.display_name)}


@blp.route("/competitions/<int:competition_id>/modules")
class Modules(MethodView):
    @login_required
    @blp.response(200, SetupModuleSchema(many=True))
    def get(self, competition_id: int):
        """The modules in order, with their end and lock times"""
        return services.list_modules(current_user, competition_id)


@blp.route("/competitions/<int:competition_id>/modules/<int:module_id>")
class ModuleItem(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(SetupModulePatchSchema)
    @blp.response(200, SetupModuleSchema)
    @blp.alt_response(409, description="The results are published")
    def patch(self, data, competition_id: int, module_id: int):
        """Record when a module ended (the appeal window runs from it)"""
        return services.set_module_end(current_user, competition_id, module_id, data["ends_at"])


@blp.route("/competitions/<int:competition_id>/scheme")
class SchemeDoc(MethodView):
    @login_required
    @blp.response(200, SetupSchemeDocSchema)
    def get(self, competition_id: int):
        """The marking scheme as a JSON document (the import shape, with ids)"""
        return services.get_scheme(current_user, competition_id)

    @roles_required(*ORGANIZERS)
    @blp.arguments(SetupSchemeDocSchema)
    @blp.response(200, SetupSchemeDocSchema)
    @blp.alt_response(409, description="The competition is running: the scheme is fixed")
    @blp.alt_response(422, description="Every problem with its path (details.problems); nothing was saved")
    def put(self, data, competition_id: int):
        """Replace the whole marking scheme (modules → criteria → aspects), all or nothing"""
        return services.replace_scheme(current_user, competition_id, data)


@blp.route("/competitions/<int:competition_id>/scheme/check")
class SchemeCheck(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, SetupSchemeCheckSchema)
    def get(self, competition_id: int):
        """Validate the stored scheme (registration can open only when it is valid)"""
        return services.check_scheme(current_user, competition_id)


@blp.route("/competitions/<int:competition_id>/scheme.xlsx")
class SchemeXlsx(MethodView):
    @login_required
    @blp.doc(responses={"200": {"description": "One sheet, a header row, one row per aspect",
                                "content": {services.XLSX_MIMETYPE: {}}}})
    def get(self, competition_id: int):
        """Download the marking scheme as XLSX"""
        content, filename = services.export_scheme_xlsx(current_user, competition_id)
        return send_file(io.BytesIO(content), mimetype=services.XLSX_MIMETYPE, as_attachment=True,
                         download_name=filename)

    @roles_required(*ORGANIZERS)
    @blp.arguments(SetupSchemeUploadSchema, location="files")
    @blp.response(200, SetupSchemeDocSchema)
    @blp.alt_response(400, description="Not an XLSX workbook")
    @blp.alt_response(409, description="The competition is running: the scheme is fixed")
    @blp.alt_response(422, description="Every problem with its path and row (details.problems); nothing was saved")
    def post(self, files, competition_id: int):
        """Replace the whole marking scheme from an XLSX sheet (the download's layout), all or nothing"""
        return services.import_scheme_xlsx(current_user, competition_id, files["file"].read())


@blp.route("/competitions/<int:competition_id>/difficulty")
class Difficulty(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, SetupDifficultyItemSchema(many=True))
    def get(self, competition_id: int):
        """The difficulty factors (难度系数) set for entries × aspects"""
        return services.list_difficulty(current_user, competition_id)

    @roles_required(*ORGANIZERS)
    @blp.arguments(SetupDifficultyItemSchema(many=True))
    @blp.response(200, SetupDifficultyItemSchema(many=True))
    @blp.alt_response(409, description="Scoring is closed")
    @blp.alt_response(422, description="A problem per item (details.problems); nothing was saved")
    def put(self, items, competition_id: int):
        """Set difficulty factors (0 < factor ≤ 10; null removes one); pairs not listed are kept"""
        return services.set_difficulty(current_user, competition_id, items)


@blp.route("/competitions/<int:competition_id>/rules")
class Rules(MethodView):
    @login_required
    @blp.response(200, SetupRulesSchema)
    def get(self, competition_id: int):
        """Tie-break chain, award rules and promotion bands"""
        return services.get_rules(current_user, competition_id)

    @roles_required(*ORGANIZERS)
    @blp.arguments(SetupRulesSchema)
    @blp.response(200, SetupRulesSchema)
    @blp.alt_response(422, description="Every problem with its path (details.problems); nothing was saved")
    def put(self, data, competition_id: int):
        """Set the rules; a key left out gets its default, an empty list means none"""
        return services.set_rules(current_user, competition_id, data)
