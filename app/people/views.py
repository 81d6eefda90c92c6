"""HTML views: HR's workers, the trade catalogue (organizers, admins) and the worker's own profile.

Thin: parse the form, call one service, render or redirect. Service field errors (422/409 with
``details``) are shown next to the fields and the page is answered with that status, so the request
rolls back.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.auth import roles_required
from app.db import db
from app.errors import DomainError
from app.people import consents, employment, services
from app.people.domain import mask_id, mask_mobile, mask_name, validate_id_number
from app.people.forms import ConsentForm, TradeForm, WorkerForm
from app.people.labels import (
    CONSENT_EXPLANATIONS,
    CONSENT_FIELDS,
    CONSENT_LABELS,
    GENDER_LABELS,
    ID_TYPE_LABELS,
    SKILL_LEVEL_LABELS,
)
from app.people.models import ConsentPurpose
from app.people.transfers import services as transfers

bp = Blueprint("people", __name__, template_folder="templates")

MAX_PER_PAGE = 100


@bp.context_processor
def _people_labels():
    return {
        "mask_name": mask_name, "mask_mobile": mask_mobile, "mask_id": mask_id,
        "skill_labels": SKILL_LEVEL_LABELS, "gender_labels": GENDER_LABELS, "id_type_labels": ID_TYPE_LABELS,
        "consent_labels": CONSENT_LABELS, "consent_explanations": CONSENT_EXPLANATIONS, "consent_fields": CONSENT_FIELDS,
        "purposes": list(ConsentPurpose),
    }


def _page_args(default: int = 20) -> tuple[int, int]:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    per_page = min(max(request.args.get("per_page", default, type=int) or default, 1), MAX_PER_PAGE)
    return page, per_page


def _form_failed(form, exc: DomainError) -> int:
    """Put a service's field errors next to the fields (others as a flash); return the status to answer."""
    db.session.rollback()
    shown = False
    for name, messages in (exc.details or {}).items():
        if name in form and isinstance(messages, list):
            form[name].errors = list(form[name].errors) + [str(m) for m in messages]
            shown = True
    flash(str(exc.message), "error")
    return exc.status if shown or exc.status in (409, 422) else 400


def _forget_valid_id(form: WorkerForm) -> None:
    """Never send a valid ID number back in a page: a re-shown form asks for it again.

    An invalid entry is shown back so the typo can be found; it identifies nobody.
    """
    number = form.id_number.data or ""
    if number and validate_id_number(form.id_type.data or "resident", number) is None:
        form.id_number.data = ""
        note = _("For privacy the number is not shown again; please re-enter it.")
        form.id_number.errors = list(form.id_number.errors) + [note]


# --- workers (HR) ----------------------------------------------------------------------------------


@bp.route("/workers")
@roles_required(Role.HR)
def workers():
    page, per_page = _page_args()
    enterprises = services.hr_enterprises(current_user)
    enterprise_id = request.args.get("enterprise_id", type=int) or None
    q = request.args.get("q", "")
    if len(q.strip()) >= 15 and validate_id_number("resident", q) is None:
        flash(_("Search by the last 4 characters of the ID number; whole ID numbers are not searched or shown."), "warning")
        q = ""
    status = request.args.get("status", "active")
    if status not in services.STATUS_FILTERS:
        status = "active"
    trade_id = request.args.get("trade_id", type=int) or None
    pagination = services.list_workers(current_user, enterprise_id=enterprise_id, q=q, status=status,
                                       trade_id=trade_id, page=page, per_page=per_page)
    return render_template("people/workers.html", pagination=pagination, enterprises=enterprises,
                           enterprise_id=enterprise_id, q=q, status=status, trade_id=trade_id, per_page=per_page,
                           trades=services.trade_choices(trade_id))


def _enterprise_choices():
    return [(e.id, e.name) for e in services.hr_enterprises(current_user)]


@bp.route("/workers/new", methods=["GET", "POST"])
@roles_required(Role.HR)
def worker_new():
    enterprises = _enterprise_choices()
    form = WorkerForm(trade_choices=services.trade_choices(), enterprise_choices=enterprises)
    if request.method == "GET":
        form.enterprise_id.data = request.args.get("enterprise_id", type=int) or (enterprises[0][0] if enterprises else None)
    status = 200
    if form.validate_on_submit():
        try:
            worker = services.create_worker(current_user, form.enterprise_id.data, form.values())
        except DomainError as exc:
            status = _form_failed(form, exc)
        else:
            flash(_("Worker %(name)s was registered.", name=worker.name), "success")
            return redirect(url_for("people.worker", worker_id=worker.id))
    elif form.is_submitted():
        status = 422
    if status != 200:
        _forget_valid_id(form)
    return render_template("people/worker_form.html", form=form, worker=None, show_enterprise=len(enterprises) > 1), status


@bp.route("/workers/<int:worker_id>")
@roles_required(Role.HR)
def worker(worker_id: int):
    w = services.get_worker(current_user, worker_id)
    return render_template("people/worker.html", worker=w, empty=EmptyForm(), consents=consents.consent_state(w),
                           employments=employment.history(w))


@bp.route("/workers/<int:worker_id>/edit", methods=["GET", "POST"])
@roles_required(Role.HR)
def worker_edit(worker_id: int):
    w = services.get_worker(current_user, worker_id)
    choices = services.trade_choices(w.trade_id)
    if request.method == "GET":
        form = WorkerForm(obj=w, trade_choices=choices, editing=True)
        form.mobile.data = ""  # the stored number is shown masked; typing a new one replaces it
    else:
        form = WorkerForm(trade_choices=choices, editing=True)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_worker(current_user, w, form.values(editing=True))
        except DomainError as exc:
            status = _form_failed(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("people.worker", worker_id=w.id))
    elif form.is_submitted():
        status = 422
    if status != 200:
        _forget_valid_id(form)
    return render_template("people/worker_form.html", form=form, worker=w, show_enterprise=False), status


def _set_active(worker_id: int, active: bool):
    w = services.get_worker(current_user, worker_id)
    if EmptyForm().validate_on_submit():
        services.set_worker_active(current_user, w, active)
        flash(_("The worker was reactivated.") if active else _("The worker was deactivated."), "success")
    return redirect(url_for("people.worker", worker_id=w.id))


@bp.route("/workers/<int:worker_id>/deactivate", methods=["POST"])
@roles_required(Role.HR)
def worker_deactivate(worker_id: int):
    return _set_active(worker_id, False)


@bp.route("/workers/<int:worker_id>/reactivate", methods=["POST"])
@roles_required(Role.HR)
def worker_reactivate(worker_id: int):
    return _set_active(worker_id, True)


# --- trades (organizers, admins) ---------------------------------------------------------------------


@bp.route("/trades")
@roles_required(Role.ORGANIZER, Role.ADMIN)
def trades():
    page, per_page = _page_args(50)
    q = request.args.get("q", "")
    status = request.args.get("status", "active")
    if status not in services.STATUS_FILTERS:
        status = "active"
    pagination = services.list_trades(q=q, status=status, page=page, per_page=per_page)
    return render_template("people/trades.html", pagination=pagination, q=q, status=status, per_page=per_page,
                           empty=EmptyForm())


@bp.route("/trades/new", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def trade_new():
    form = TradeForm()
    status = 200
    if form.validate_on_submit():
        try:
            trade = services.create_trade(current_user, {"code": form.code.data, "name": form.name.data})
        except DomainError as exc:
            status = _form_failed(form, exc)
        else:
            flash(_("Trade %(code)s %(name)s was created.", code=trade.code, name=trade.name), "success")
            return redirect(url_for("people.trades", q=trade.code))
    elif form.is_submitted():
        status = 422
    return render_template("people/trade_form.html", form=form, trade=None), status


@bp.route("/trades/<int:trade_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def trade_edit(trade_id: int):
    trade = services.get_trade(trade_id)
    form = TradeForm(obj=trade) if request.method == "GET" else TradeForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.update_trade(current_user, trade, {"code": form.code.data, "name": form.name.data})
        except DomainError as exc:
            status = _form_failed(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("people.trades", q=trade.code))
    elif form.is_submitted():
        status = 422
    return render_template("people/trade_form.html", form=form, trade=trade, empty=EmptyForm()), status


def _set_trade_active(trade_id: int, active: bool):
    trade = services.get_trade(trade_id)
    if EmptyForm().validate_on_submit():
        services.set_trade_active(current_user, trade, active)
        flash(_("The trade was reactivated.") if active else _("The trade was deactivated."), "success")
    return redirect(url_for("people.trade_edit", trade_id=trade.id))


@bp.route("/trades/<int:trade_id>/deactivate", methods=["POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def trade_deactivate(trade_id: int):
    return _set_trade_active(trade_id, False)


@bp.route("/trades/<int:trade_id>/reactivate", methods=["POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def trade_reactivate(trade_id: int):
    return _set_trade_active(trade_id, True)


# --- the worker's own profile and consents ------------------------------------------------------------


@bp.route("/my/profile")
@roles_required(Role.WORKER)
def me():
    w = services.own_worker(current_user)
    return render_template("people/me.html", worker=w, consents=consents.consent_state(w),
                           history=consents.consent_history(w), form=ConsentForm(), employments=employment.history(w),
                           transfers=[transfers.view(current_user, t) for t in transfers.list_transfers(current_user)])


@bp.route("/my/consents", methods=["POST"])
@roles_required(Role.WORKER)
def consent():
    w = services.own_worker(current_user)
    form = ConsentForm()
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return redirect(url_for("people.me"))
    granted = form.granted.data == "1"
    purpose = ConsentPurpose(form.purpose.data)
    if consents.set_consent(current_user, w, purpose.value, granted):
        label = CONSENT_LABELS[purpose]
        flash(_("You gave your consent: %(what)s.", what=label) if granted
              else _("You withdrew your consent: %(what)s.", what=label), "success")
    return redirect(url_for("people.me"))
