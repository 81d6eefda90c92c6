"""HTML views of transfers: HR asks to take over a person and answers requests for its workers; the worker answers
on their profile page (``people.me`` lists the requests waiting for them)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.auth import roles_required
from app.errors import DomainError
from app.people import services as people
from app.people.labels import TRANSFER_STATUS_LABELS
from app.people.transfers import services
from app.people.transfers.forms import TransferRequestForm
from app.people.views import _forget_valid_id, _form_failed

bp = Blueprint("transfers", __name__, template_folder="templates")



@bp.app_context_processor  # the worker's profile page (people.me) lists transfers too
def _labels():
    return {"transfer_status": TRANSFER_STATUS_LABELS}


def _page(form: TransferRequestForm, status: int = 200):
    enterprises = people.hr_enterprises(current_user)
    transfers = [services.view(current_user, t) for t in services.list_transfers(current_user)]
    return render_template("transfers/index.html", form=form, show_enterprise=len(enterprises) > 1,
                           incoming=[t for t in transfers if t.incoming], outgoing=[t for t in transfers if not t.incoming],
                           empty=EmptyForm()), status


@bp.route("/workers/transfers", methods=["GET", "POST"])
@roles_required(Role.HR)
def index():
    choices = [(e.id, e.name) for e in people.hr_enterprises(current_user)]
    form = TransferRequestForm(enterprise_choices=choices)
    if request.method == "GET":
        form.enterprise_id.data = choices[0][0] if choices else None
        return _page(form)
    status = 422
    if form.validate_on_submit():
        try:
            services.request_transfer(current_user, form.enterprise_id.data, form.values())
        except DomainError as exc:
            status = _form_failed(form, exc)
        else:
            flash(_("The request was sent. The person moves to your enterprise when they or the HR of their current "
                    "enterprise confirm it."), "success")
            return redirect(url_for("transfers.index"))
    _forget_valid_id(form)
    return _page(form, status)


def _back():
    if current_user.has_role(Role.HR):
        return redirect(url_for("transfers.index"))
    return redirect(url_for("people.me"))


def _decide(transfer_id: int, action, message: str):
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return _back()
    transfer = action(current_user, transfer_id)
    flash(message, "success")
    if transfer.status == "confirmed" and transfer.to_enterprise_id in current_user.hr_enterprise_ids:
        return redirect(url_for("people.worker", worker_id=transfer.worker_id))
    return _back()


@bp.route("/transfers/<int:transfer_id>/confirm", methods=["POST"])
@roles_required(Role.HR, Role.WORKER)
def confirm(transfer_id: int):
    return _decide(transfer_id, services.confirm_transfer, _("The transfer was confirmed."))


@bp.route("/transfers/<int:transfer_id>/decline", methods=["POST"])
@roles_required(Role.HR, Role.WORKER)
def decline(transfer_id: int):
    return _decide(transfer_id, services.decline_transfer, _("The transfer was declined."))


@bp.route("/transfers/<int:transfer_id>/cancel", methods=["POST"])
@roles_required(Role.HR)
def cancel(transfer_id: int):
    return _decide(transfer_id, services.cancel_transfer, _("The request was cancelled."))
