"""HTML views of the organizer's results: review, decoding (逐层解密), publication of frozen versions, the
versions and their exports (XLSX of the computed results, PDF results sheet of a published version), and the
organizer's decisions on skill-level promotion recommendations once published (竞赛晋级).

Thin: every page calls the results services (the same ones as the JSON API) and renders; service refusals
(``Conflict``/``DomainError``) become a flash message and a redirect back to the review page, so nothing is
written. Before decoding the services strip names, enterprises and ids: these pages show entrant codes only.
"""

from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, HiddenField, TextAreaField
from wtforms.validators import Length

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.auth import roles_required
from app.db import db
from app.errors import DomainError
from app.forms import Form
from app.people.labels import SKILL_LEVEL_LABELS
from app.tabular import XLSX_MIMETYPE
from competitions.labels import LEVEL_LABELS, MODULE_KIND_LABELS, state_label
from competitions.services import promotions as promotion_services
from competitions.services import results as services
from competitions.services import results_pdf
from competitions.services.promotions import TITLE_LABELS
from competitions.services.setup import managed_competition

bp = Blueprint("competitions_results", __name__, template_folder="../templates")

ORGANIZERS = (Role.ORGANIZER, Role.ADMIN)

STATUS_LABELS = {"ranked": _l("Ranked"), "absent": _l("Absent"), "disqualified": _l("Disqualified")}
PHASE_LABELS = {
    "not_started": _l("Not started"),
    "live": _l("Live"),
    "frozen": _l("Frozen"),
    "published": _l("Results published"),
    "unavailable": _l("Scores unavailable"),
}


def results_labels() -> dict:
    """Label helpers shared by the results and board templates (codes in, translated text out)."""
    def promotion_text(promotion: dict | None) -> str:
        if not promotion:
            return ""
        parts = []
        if promotion.get("outcome") == "promote" and promotion.get("recommended_level") is not None:
            level = promotion["recommended_level"]
            parts.append(_("Promote to %(level)s", level=str(SKILL_LEVEL_LABELS.get(level, level))))
        elif promotion.get("outcome") == "already_at_level":
            parts.append(_("Already at this level"))
        if promotion.get("title"):
            parts.append(str(TITLE_LABELS.get(promotion["title"], promotion["title"])))
        return " · ".join(parts)

    return {
        "award_label": services.award_label, "state_label": state_label, "promotion_text": promotion_text,
        "level_label": lambda code: str(LEVEL_LABELS.get(code, code)),
        "kind_label": lambda code: str(MODULE_KIND_LABELS.get(code, code)),
        "status_label": lambda code: str(STATUS_LABELS.get(code, code)),
        "phase_label": lambda code: str(PHASE_LABELS.get(code, code)),
    }


class PublishForm(Form):
    reason = TextAreaField(_l("Reason for the correction"), validators=[Length(max=2000)])
    # The organizer confirms the award counts shown beside the box (a publication cannot be taken back).
    awards_checked = BooleanField(_l("I have checked the award counts"))


class PromotionDecisionForm(Form):
    decision = HiddenField()
    note = TextAreaField(_l("Reason for declining"), validators=[Length(max=2000)])


@bp.context_processor
def _labels():
    return results_labels()


def _publish_blockers(competition, results: dict | None, problem: DomainError | None) -> list[str]:
    """Why the results cannot be published now (empty: they can). Mirrors the service's checks so the page can
    say it before the organizer clicks; the service still decides."""
    reasons: list[str] = []
    if problem is not None:
        reasons.append(str(problem.message))
        return reasons
    if competition.status not in ("scoring_closed", "published"):
        reasons.append(_("Close scoring first (the competition is %(state)s).",
                         state=str(state_label(competition.status))))
    if not competition.is_decoded:
        reasons.append(_("Decode the codes before publishing the results."))
    if results is not None and not results["complete"]:
        missing = [e["code"] for e in results["entries"] if e["rank"] is not None and not e["complete"]]
        reasons.append(_("Some entries lack marks: %(codes)s.", codes=", ".join(str(c) for c in missing[:20])))
    return reasons


@bp.route("/competitions/<int:competition_id>/results")
@roles_required(*ORGANIZERS)
def review(competition_id: int):
    competition = managed_competition(current_user, competition_id)
    problem: DomainError | None = None
    results = None
    try:
        results = services.review_results(current_user, competition_id)
    except DomainError as exc:  # e.g. an invalid scheme: say why instead of failing the page
        if exc.status in (401, 403, 404):
            raise
        db.session.rollback()
        problem = exc
    modules = results["modules"] if results else [
        {"id": m.id, "name": m.name, "kind": m.kind, "weight": None if m.weight is None else format(m.weight, "f"),
         "locked": m.locked_at is not None} for m in competition.modules]
    unlocked = [m for m in modules if not m["locked"]]
    versions = services.list_versions(current_user, competition_id)
    promotions = None
    if competition.status == "published" and versions:
        promotions = promotion_services.list_promotions(current_user, competition_id)
    return render_template(
        "competitions/results/review.html", competition=competition, results=results, problem=problem,
        modules=modules, unlocked=unlocked, versions=versions, promotions=promotions,
        blockers=_publish_blockers(competition, results, problem),
        awards=services.award_summary(competition, results) if results else None,
        form=PublishForm(), button_form=EmptyForm())


def _back(competition_id: int):
    return redirect(url_for("competitions_results.review", competition_id=competition_id))


def _valid(form):
    """The submitted form, or a translated 422 (the error handler flashes it and rolls back)."""
    if not form.validate_on_submit():
        if form.errors.get("reason"):
            raise DomainError(_("The reason is too long (at most 2000 characters)."), code="validation_error",
                              status=422)
        raise DomainError(_("The form has expired. Please try again."), code="csrf", status=400)
    return form


@bp.route("/competitions/<int:competition_id>/results/decode", methods=["POST"])
@roles_required(*ORGANIZERS)
def decode(competition_id: int):
    _valid(EmptyForm())
    services.decode(current_user, competition_id)  # refusals: the error handler flashes them (409) and rolls back
    flash(_("The codes are decoded: names and enterprises are now shown to organizers."), "success")
    return _back(competition_id)


@bp.route("/competitions/<int:competition_id>/results/publish", methods=["POST"])
@roles_required(*ORGANIZERS)
def publish(competition_id: int):
    form = _valid(PublishForm())
    if not form.awards_checked.data:
        raise DomainError(_("Check the award counts and tick the box before publishing."), code="awards_unchecked",
                          status=422)
    version = services.publish(current_user, competition_id, form.reason.data or "")
    flash(_("Version %(version)d of the results is published.", version=version.version), "success")
    return redirect(url_for("competitions_results.version", competition_id=competition_id, number=version.version))


@bp.route("/competitions/<int:competition_id>/results/promotions/<int:entry_id>", methods=["POST"])
@roles_required(*ORGANIZERS)
def decide_promotion(competition_id: int, entry_id: int):
    form = PromotionDecisionForm()
    if not form.validate_on_submit():
        if form.errors.get("note"):
            raise DomainError(_("The reason is too long (at most 2000 characters)."), code="validation_error",
                              status=422)
        raise DomainError(_("The form has expired. Please try again."), code="csrf", status=400)
    row = promotion_services.decide_promotion(current_user, competition_id, entry_id, form.decision.data or "",
                                              form.note.data or "")
    who = row["name"] or row["code"] or ""
    if row["decision"]["decision"] == promotion_services.CONFIRMED:
        flash(_("The promotion of %(name)s is confirmed.", name=who), "success")
    else:
        flash(_("The promotion of %(name)s is declined.", name=who), "success")
    return redirect(url_for("competitions_results.review", competition_id=competition_id) + "#promotions")


@bp.route("/competitions/<int:competition_id>/results/versions/<int:number>")
@roles_required(*ORGANIZERS)
def version(competition_id: int, number: int):
    competition = managed_competition(current_user, competition_id)
    data = services.get_version(current_user, competition_id, number)
    versions = services.list_versions(current_user, competition_id)
    latest = versions[0]["version"] if versions else None
    return render_template("competitions/results/version.html", competition=competition, data=data,
                           versions=versions, latest=latest)


@bp.route("/competitions/<int:competition_id>/results/export.xlsx")
@roles_required(*ORGANIZERS)
def export_xlsx(competition_id: int):
    content, filename = services.export_xlsx(current_user, competition_id)
    return send_file(io.BytesIO(content), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=filename)


@bp.route("/competitions/<int:competition_id>/results/versions/<int:number>/sheet.pdf")
@roles_required(*ORGANIZERS)
def sheet_pdf(competition_id: int, number: int):
    content, filename = results_pdf.version_sheet(current_user, competition_id, number)
    return send_file(io.BytesIO(content), mimetype="application/pdf", as_attachment=request.args.get("inline") != "1",
                     download_name=filename)
