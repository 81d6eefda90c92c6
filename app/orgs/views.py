"""HTML views for enterprises and industry chains: organizers and admins only."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.auth import roles_required
from app.errors import DomainError
from app.orgs import services
from app.orgs.forms import ChainForm, EnterpriseForm, MemberAddForm

bp = Blueprint("orgs", __name__, template_folder="templates")

STATUS_FILTERS = {"active": True, "inactive": False, "all": None}
MAX_PER_PAGE = 100


def _page_args() -> tuple[int, int]:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    per_page = min(max(request.args.get("per_page", 20, type=int) or 20, 1), MAX_PER_PAGE)
    return page, per_page


def _form_failed(form, exc: DomainError) -> None:
    """Show a service's field errors next to the fields; anything else as a flash message.

    The services validate before they change anything, so there is nothing to roll back here.
    """
    shown = False
    for name, messages in (exc.details or {}).items():
        if name in form and isinstance(messages, list):
            form[name].errors = list(form[name].errors) + [str(m) for m in messages]
            shown = True
    if not shown:
        flash(str(exc.message), "error")


# --- enterprises --------------------------------------------------------------------------------


@bp.route("/enterprises")
@roles_required(Role.ORGANIZER, Role.ADMIN)
def enterprises():
    page, per_page = _page_args()
    q = request.args.get("q", "")
    status = request.args.get("status", "all")
    if status not in STATUS_FILTERS:
        status = "all"
    result = services.list_enterprises(current_user, page, per_page, q, STATUS_FILTERS[status])
    return render_template("orgs/enterprises.html", result=result, pagination=result.pagination, q=q, status=status,
                           per_page=per_page)


@bp.route("/enterprises/new", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def enterprise_new():
    form = EnterpriseForm()
    if form.validate_on_submit():
        try:
            ent = services.create_enterprise(current_user, form.name.data, form.uscc.data, form.region.data or "")
        except DomainError as exc:
            _form_failed(form, exc)
        else:
            flash(_("Enterprise %(name)s was created.", name=ent.name), "success")
            return redirect(url_for("orgs.enterprise_edit", enterprise_id=ent.id))
    return render_template("orgs/enterprise_form.html", form=form, enterprise=None)


@bp.route("/enterprises/<int:enterprise_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def enterprise_edit(enterprise_id: int):
    ent = services.get_enterprise(current_user, enterprise_id)
    form = EnterpriseForm(obj=ent) if request.method == "GET" else EnterpriseForm()
    if form.validate_on_submit():
        try:
            services.update_enterprise(current_user, ent, name=form.name.data, uscc=form.uscc.data,
                                       region=form.region.data or "")
        except DomainError as exc:
            _form_failed(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("orgs.enterprise_edit", enterprise_id=ent.id))
    counts = services.active_worker_counts([ent.id])
    return render_template("orgs/enterprise_form.html", form=form, enterprise=ent, active_workers=counts[ent.id],
                           empty=EmptyForm())


def _set_active(enterprise_id: int, active: bool):
    ent = services.get_enterprise(current_user, enterprise_id)
    if EmptyForm().validate_on_submit():
        services.set_enterprise_active(current_user, ent, active)
        flash(_("The enterprise was reactivated.") if active else _("The enterprise was deactivated."), "success")
    return redirect(url_for("orgs.enterprise_edit", enterprise_id=ent.id))


@bp.route("/enterprises/<int:enterprise_id>/deactivate", methods=["POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def enterprise_deactivate(enterprise_id: int):
    return _set_active(enterprise_id, False)


@bp.route("/enterprises/<int:enterprise_id>/reactivate", methods=["POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def enterprise_reactivate(enterprise_id: int):
    return _set_active(enterprise_id, True)


# --- industry chains ----------------------------------------------------------------------------


@bp.route("/chains")
@roles_required(Role.ORGANIZER, Role.ADMIN)
def chains():
    page, per_page = _page_args()
    q = request.args.get("q", "")
    pagination = services.list_chains(current_user, page, per_page, q)
    return render_template("orgs/chains.html", pagination=pagination, q=q)


@bp.route("/chains/new", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def chain_new():
    form = ChainForm()
    if form.validate_on_submit():
        try:
            chain = services.create_chain(current_user, form.name.data, form.description.data or "")
        except DomainError as exc:
            _form_failed(form, exc)
        else:
            flash(_("Industry chain %(name)s was created.", name=chain.name), "success")
            return redirect(url_for("orgs.chain_edit", chain_id=chain.id))
    return render_template("orgs/chain_form.html", form=form, chain=None)


def _member_form(chain) -> MemberAddForm:
    form = MemberAddForm()
    form.enterprise_id.choices = services.chain_candidates(chain)
    return form


@bp.route("/chains/<int:chain_id>", methods=["GET", "POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def chain_edit(chain_id: int):
    chain = services.get_chain(current_user, chain_id)
    form = ChainForm(obj=chain) if request.method == "GET" else ChainForm()
    if form.validate_on_submit():
        try:
            services.update_chain(current_user, chain, name=form.name.data, description=form.description.data or "")
        except DomainError as exc:
            _form_failed(form, exc)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("orgs.chain_edit", chain_id=chain.id))
    return render_template("orgs/chain_form.html", form=form, chain=chain, member_form=_member_form(chain),
                           empty=EmptyForm())


@bp.route("/chains/<int:chain_id>/members", methods=["POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def chain_member_add(chain_id: int):
    chain = services.get_chain(current_user, chain_id)
    form = _member_form(chain)
    if form.validate_on_submit():
        services.add_chain_member(current_user, chain, form.enterprise_id.data)
        flash(_("The enterprise joined the chain."), "success")
    else:
        flash(_("Choose an enterprise."), "error")
    return redirect(url_for("orgs.chain_edit", chain_id=chain.id))


@bp.route("/chains/<int:chain_id>/members/<int:enterprise_id>/remove", methods=["POST"])
@roles_required(Role.ORGANIZER, Role.ADMIN)
def chain_member_remove(chain_id: int, enterprise_id: int):
    chain = services.get_chain(current_user, chain_id)
    if EmptyForm().validate_on_submit():
        services.remove_chain_member(current_user, chain, enterprise_id)
        flash(_("The enterprise left the chain."), "success")
    return redirect(url_for("orgs.chain_edit", chain_id=chain.id))
