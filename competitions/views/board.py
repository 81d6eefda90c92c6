"""Public HTML pages of competitions: the list of boards, the live board (venue screen) and the published results.

The board page renders the board JSON of ``competitions.services.board`` (the same cached payload as
``GET /api/v1/competitions/<id>/board``), so what the page shows and what the API serves can never differ: entrant
codes and running totals while the competition runs, the board as of the freeze time once frozen, and after
publication the public view (names only with publicity consent, masked otherwise; enterprises only with consent).
``app/static/js/board.js`` keeps it live through the SSE stream (``…/board/stream``) and falls back to polling
``…/board`` with ``If-None-Match`` when EventSource is missing or keeps failing. ``?screen=1`` is the big-screen
mode of a venue: no navigation, large type, full width, auto-scroll of long lists.
"""

from __future__ import annotations

import io
import json
from datetime import datetime

from flask import Blueprint, current_app, make_response, render_template, request, send_file, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app import Anonymous
from app.auth import public
from app.db import db
from app.errors import NotFound
from competitions.services import board as board_services
from competitions.services import results as results_services
from competitions.services import results_pdf
from competitions.services.setup import list_competitions, visible_competition
from competitions.views.results import PHASE_LABELS, results_labels

bp = Blueprint("competitions_board", __name__, template_folder="../templates")

LIVE = ("running", "scoring_closed")


@bp.context_processor
def _labels():
    return results_labels()


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    return format_datetime(datetime.fromisoformat(iso), "yyyy-MM-dd HH:mm")


NOTES = {
    "not_started": _l("The competition has not started yet: the board goes live when it starts."),
    "live": _l("Entrant codes and running totals, updated as marks arrive. Names are shown only once the results "
               "are published."),
    "frozen": _l("The board is frozen since %(time)s: it shows the standings at that moment. Updates resume when "
                 "the results are published."),
    "published": _l("Published results (version %(version)s). Names appear only with the worker's publicity consent "
                    "(masked otherwise); enterprises only with consent."),
    "unavailable": _l("The scores cannot be shown right now."),
}


def phase_note(data: dict, *, time: str = "", version: str = "") -> str:
    note = NOTES.get(data.get("phase", ""), NOTES["unavailable"])
    return str(note) % {"time": time, "version": version} if "%(" in str(note) else str(note)


def _js_labels() -> dict:
    """Every text board.js shows, translated here (no strings in the script)."""
    from competitions.services.results import AWARD_LABELS

    return {
        "rank": _("Rank"), "code": _("Code"), "name": _("Full name"), "enterprise": _("Enterprise"), "total": _("Total"),
        "awards": _("Awards"), "progress": _("Progress"), "shared": _("Shared rank"),
        "masked": _("Masked: no publicity consent"), "complete": _("complete"), "in_progress": _("in progress"),
        "waiting": _("waiting"), "empty": _("No entries yet."),
        "phases": {code: str(label) for code, label in PHASE_LABELS.items()},
        "notes": {code: phase_note({"phase": code}, time="{time}", version="{version}") for code in NOTES},
        "transport": {"sse": _("Updating automatically"), "poll": _("Updating automatically (polling)"),
                      "offline": _("Connection lost — retrying…"), "connecting": _("Connecting…")},
        "updated": _("Updated %(time)s", time="{time}"),
        "awards_by_code": {code: str(label) for code, label in AWARD_LABELS.items()},
        "fullscreen": _("Full screen"),
    }


@bp.route("/boards")
@public
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    # The public list whoever asks: an organizer's drafts have no public board.
    pagination = list_competitions(Anonymous(), page=page, per_page=50)
    items = list(pagination.items)
    groups = {
        "live": [c for c in items if c.status in LIVE],
        "published": [c for c in items if c.status == "published"],
        "upcoming": [c for c in items if c.status in ("registration_open", "registration_closed")],
    }
    return render_template("competitions/board/index.html", groups=groups, pagination=pagination)


def _public_competition(competition_id: int):
    competition = visible_competition(Anonymous(), competition_id)  # drafts are 404 for everyone here
    db.session.rollback()  # reads only: hold no transaction open
    return competition


@bp.route("/board/<int:competition_id>")
@public
def board(competition_id: int):
    body, etag = board_services.get_board(competition_id)  # 404 for unknown and draft competitions
    competition = _public_competition(competition_id)
    data = json.loads(body)
    screen = request.args.get("screen") == "1"
    frozen_text = _when(data.get("frozen_at"))
    note = phase_note(data, time=frozen_text, version=str(data.get("version", "")))
    config = {
        "labels": _js_labels(),
        "timezone": current_app.config.get("BABEL_DEFAULT_TIMEZONE", "UTC"),
        "stream": url_for("competitions_results_api.BoardStream", competition_id=competition_id),
        "poll": url_for("competitions_results_api.Board", competition_id=competition_id),
        "etag": etag,
        "screen": screen,
    }
    resp = make_response(render_template("competitions/board/board.html", competition=competition, data=data,
                                         etag=etag, screen=screen, config=config, note=note,
                                         freeze_ahead=_freeze_ahead(competition, data)))
    if screen:
        # Nothing of the visitor's own on the big screen (no header, no user, no CSRF token): the same page for
        # everyone who asks in that language, so caches may keep it as briefly as the board's JSON.
        resp.headers["Cache-Control"] = board_services.CACHE_CONTROL
        resp.vary.update(("Accept-Language", "Cookie"))  # the language: Accept-Language, or the "lang" cookie
    return resp


def _freeze_ahead(competition, data: dict) -> str:
    """The announced freeze time while the board is still live (empty otherwise)."""
    freeze = competition.board_freeze_at
    if data.get("phase") != "live" or freeze is None:
        return ""
    return format_datetime(freeze, "yyyy-MM-dd HH:mm")


@bp.route("/board/<int:competition_id>/results")
@public
def results(competition_id: int):
    competition = _public_competition(competition_id)
    try:
        data = results_services.published_results(competition_id)
    except NotFound:
        return render_template("competitions/board/results.html", competition=competition, data=None), 404
    return render_template("competitions/board/results.html", competition=competition, data=data)


@bp.route("/board/<int:competition_id>/results.pdf")
@public
def results_pdf_sheet(competition_id: int):
    _public_competition(competition_id)
    content, filename = results_pdf.published_sheet(competition_id)
    return send_file(io.BytesIO(content), mimetype="application/pdf", download_name=filename,
                     as_attachment=request.args.get("download") == "1")
