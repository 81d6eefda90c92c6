"""JSON API of competitions: results, decoding, publication, exports and the live board.

Organizers (and admins) review computed results, decode codes to entries once every module is locked (逐层解密),
publish frozen versions (a correction needs a reason) and export XLSX. Anyone reads the latest published version
(names only with publicity consent, masked otherwise; enterprises only with consent) and the live board.
Before decoding no response carries a name, an enterprise or a worker id — only entrant codes.

Live board: ``GET …/board`` answers with an ``ETag``; send ``If-None-Match`` to get ``304`` while nothing changed;
it is public and may be cached for a second (``Cache-Control: public, max-age=1``).
``GET …/board/stream`` is a Server-Sent Events stream (``event: board``, the board JSON as ``data``) that sends
the board at once and again whenever it changes; it ends after about a minute and EventSource reconnects by
itself. Clients without EventSource poll ``…/board`` every 1–2 s with ``If-None-Match`` (polling fallback), and so
do clients whose stream was refused: a process keeps only a few streams open (503 or 429 with ``Retry-After``).
"""

from __future__ import annotations

import io
import weakref

from flask import Response, request, send_file, stream_with_context
from flask.views import MethodView
from flask_login import current_user

from app.accounts.models import Role
from app.api import Blueprint
from app.auth import public, roles_required
from app.extensions import unlimited_read
from app.tabular import XLSX_MIMETYPE
from competitions.schemas.results import (
    ResultsDecodedSchema,
    ResultsPublishedResultsSchema,
    ResultsPublishSchema,
    ResultsSchema,
    ResultsVersionDetailSchema,
    ResultsVersionListSchema,
    ResultsVersionSchema,
)
from competitions.services import board as board_services
from competitions.services import results as services

blp = Blueprint("competitions_results_api", __name__, url_prefix="/api/v1", description="Competitions: results")

ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)


@blp.route("/competitions/<int:competition_id>/results")
class Results(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, ResultsSchema)
    def get(self, competition_id: int):
        """Computed results: totals, module scores, ranks (shared ranks flagged), awards, promotion
        recommendations. Names, enterprises and ids appear only after decoding."""
        return services.review_results(current_user, competition_id)


@blp.route("/competitions/<int:competition_id>/decode")
class Decode(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, ResultsDecodedSchema)
    def post(self, competition_id: int):
        """Decode entrant codes to entries (逐层解密): only once every module is locked (409 ``modules_not_locked``)."""
        competition = services.decode(current_user, competition_id)
        return {"competition_id": competition.id, "decoded": competition.is_decoded}


@blp.route("/competitions/<int:competition_id>/results/publish")
class Publish(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.arguments(ResultsPublishSchema)
    @blp.response(201, ResultsVersionSchema)
    def post(self, args, competition_id: int):
        """Publish the computed results as a frozen version. The first version needs the competition scoring_closed
        (it becomes published); a correction (published already) needs a ``reason`` (422 ``reason_required``).
        409: ``not_decoded``, ``results_incomplete``, ``transition_not_allowed``."""
        version = services.publish(current_user, competition_id, args.get("reason", ""))
        return services.version_summary(version, current_user.display_name)


@blp.route("/competitions/<int:competition_id>/results/versions")
class Versions(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, ResultsVersionListSchema)
    def get(self, competition_id: int):
        """Every published version, newest first, with its reason (superseded versions stay visible)."""
        return {"versions": services.list_versions(current_user, competition_id)}


@blp.route("/competitions/<int:competition_id>/results/versions/<int:number>")
class Version(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, ResultsVersionDetailSchema)
    def get(self, competition_id: int, number: int):
        """One published version in full, as frozen (names and enterprises included)."""
        return services.get_version(current_user, competition_id, number)


@blp.route("/competitions/<int:competition_id>/results/published")
class Published(MethodView):
    @public
    @blp.response(200, ResultsPublishedResultsSchema)
    def get(self, competition_id: int):
        """The latest published results: names only with publicity consent (masked otherwise), enterprises only
        with consent. 404 while nothing is published."""
        return services.published_results(competition_id)


@blp.route("/competitions/<int:competition_id>/results.xlsx")
class ResultsXlsx(MethodView):
    @roles_required(*ORGANIZERS)
    @blp.response(200, content_type=XLSX_MIMETYPE)
    def get(self, competition_id: int):
        """The computed results as XLSX (names and enterprises only after decoding)."""
        content, filename = services.export_xlsx(current_user, competition_id)
        return send_file(io.BytesIO(content), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename)


@blp.route("/competitions/<int:competition_id>/board")
class Board(MethodView):
    @unlimited_read
    @public
    @blp.response(200, content_type="application/json")
    def get(self, competition_id: int):
        """The live board (public): entrant codes with running totals and ranks while the competition runs (never
        names); frozen at ``board_freeze_at`` until publication; the published public view afterwards.
        Served from a cache with an ETag: send ``If-None-Match`` to get 304 while nothing changed. Public: caches
        (a reverse proxy's micro-cache) may keep it for a second."""
        body, etag = board_services.get_board(competition_id)
        headers = {"ETag": etag, "Cache-Control": board_services.CACHE_CONTROL}
        if board_services.not_modified(etag, request.headers.get("If-None-Match")):
            return Response(status=304, mimetype="application/json", headers=headers)
        return Response(body, status=200, mimetype="application/json", headers=headers)


@blp.route("/competitions/<int:competition_id>/board/stream")
class BoardStream(MethodView):
    @unlimited_read
    @public
    @blp.response(200, content_type="text/event-stream")
    def get(self, competition_id: int):
        """Server-Sent Events: ``event: board`` with the board JSON now and whenever it changes (the version is
        polled every 0.5 s); the stream ends after about 60 s and EventSource reconnects. Each server process keeps
        only a few streams open (``BOARD_STREAMS_PER_PROCESS``, ``BOARD_STREAMS_PER_CLIENT`` per client address):
        over either cap the answer is 503 (``board_streams_busy``) or 429 (``board_streams_per_client``) with
        ``Retry-After`` and ``details.poll``, the board's URL. Fallback, for those and for clients without
        EventSource: poll ``…/board`` with ``If-None-Match``."""
        board_services.get_board(competition_id)  # 404 before the stream starts
        give_back = board_services.open_stream_slot(competition_id, request.remote_addr or "")
        try:
            resp = Response(stream_with_context(board_services.stream(competition_id)), mimetype="text/event-stream",
                            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        except BaseException:
            give_back()
            raise
        resp.call_on_close(give_back)  # when the stream ends or the client goes (the server closes the response)
        weakref.finalize(resp, give_back)  # or when the response is dropped unsent (an error after this view)
        return resp
