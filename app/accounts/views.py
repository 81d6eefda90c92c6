"""HTML views: login/logout, own account (password, API tokens), user and role administration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts import services, sessions
from app.accounts.forms import EmptyForm, LoginForm, PasswordForm, RoleGrantForm, TokenForm, UserCreateForm, UserEditForm
from app.accounts.models import Role
from app.auth import login_required, public, roles_required
from app.extensions import configured_limit, limiter

bp = Blueprint("accounts", __name__, template_folder="templates")

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.ORGANIZER: _l("Organizer"),
    Role.HR: _l("HR"),
    Role.JUDGE: _l("Judge"),
    Role.WORKER: _l("Worker"),
}


def _safe_next(target: str | None) -> str:
    """Only a path on this site: browsers read "/\\host" as "//host", so backslashes and controls are refused."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 32 or ord(c) == 127 for c in target)
        and urlsplit(target).netloc == ""
        and urlsplit(target).scheme == ""
    ):
        return target
    return url_for("core.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"), methods=["POST"])
@public
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is not None:
            sessions.log_in(user)
            return redirect(_safe_next(form.next.data))
        flash(_("Wrong username or password."), "error")
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if EmptyForm().validate_on_submit():
        sessions.log_out()
    return redirect(url_for("accounts.login"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    if EmptyForm().validate_on_submit():
        services.end_all_sessions(current_user)
        sessions.log_out()
        flash(_("You were logged out everywhere. Log in again here."), "success")
        return redirect(url_for("accounts.login"))
    return redirect(url_for("accounts.account"))


@bp.route("/account", methods=["GET"])
@login_required
def account():
    return render_template(
        "accounts/account.html", password_form=PasswordForm(), token_form=TokenForm(),
        tokens=services.list_tokens(current_user), empty=EmptyForm(), role_labels=ROLE_LABELS,
    )


@bp.route("/account/password", methods=["POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        services.change_own_password(current_user, form.current.data, form.new.data)
        sessions.renew(current_user)
        flash(_("Your password was changed. Your other sessions have ended."), "success")
    else:
        flash(_("Please check the form."), "error")
    return redirect(url_for("accounts.account"))


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        flash(_("Give the token a name."), "error")
        return redirect(url_for("accounts.account"))
    new = services.create_token(current_user, form.name.data)
    return render_template("accounts/token_created.html", secret=new.secret, token=new.token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    if EmptyForm().validate_on_submit():
        services.revoke_token(current_user, token_id)
        flash(_("The token was revoked."), "success")
    return redirect(url_for("accounts.account"))


@bp.route("/admin/users", methods=["GET"])
@roles_required(Role.ADMIN)
def users():
    page = request.args.get("page", 1, type=int)
    q = request.args.get("q", "")
    pagination = services.list_users(page, 20, q)
    return render_template("accounts/users.html", pagination=pagination, q=q, role_labels=ROLE_LABELS)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    form = UserCreateForm()
    if form.validate_on_submit():
        user = services.create_user(current_user, form.username.data, form.display_name.data or "", form.password.data)
        flash(_("User %(name)s was created.", name=user.username), "success")
        return redirect(url_for("accounts.user_edit", user_id=user.id))
    return render_template("accounts/user_new.html", form=form)


def _role_form() -> RoleGrantForm:
    from app.orgs.services import enterprise_choices

    form = RoleGrantForm()
    form.role.choices = [(r.value, str(label)) for r, label in ROLE_LABELS.items()]
    form.enterprise_id.choices = [(0, "—")] + enterprise_choices()
    return form


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    user = services.get_user(user_id)
    form = UserEditForm(obj=user) if request.method == "GET" else UserEditForm()
    if form.validate_on_submit():
        services.update_user(current_user, user, form.display_name.data, form.is_enabled.data, form.password.data or None)
        sessions.renew(user)  # an admin who set their own new password stays logged in here
        flash(_("Saved."), "success")
        return redirect(url_for("accounts.user_edit", user_id=user.id))
    return render_template("accounts/user_edit.html", user=user, form=form, role_form=_role_form(),
                           empty=EmptyForm(), role_labels=ROLE_LABELS)


@bp.route("/admin/users/<int:user_id>/roles", methods=["POST"])
@roles_required(Role.ADMIN)
def role_grant(user_id: int):
    user = services.get_user(user_id)
    form = _role_form()
    if form.validate_on_submit():
        services.grant_role(current_user, user, form.role.data, form.enterprise_id.data or None, form.worker_id.data)
        flash(_("Role granted."), "success")
    else:
        flash(_("Please check the form."), "error")
    return redirect(url_for("accounts.user_edit", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/roles/<int:role_id>/revoke", methods=["POST"])
@roles_required(Role.ADMIN)
def role_revoke(user_id: int, role_id: int):
    user = services.get_user(user_id)
    if EmptyForm().validate_on_submit():
        services.revoke_role(current_user, user, role_id)
        sessions.renew(user)  # an admin who dropped one of their own roles stays logged in here
        flash(_("Role removed."), "success")
    return redirect(url_for("accounts.user_edit", user_id=user.id))
