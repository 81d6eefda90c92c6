"""Core pages: the start page (a dashboard per role), the language switch and health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth import public

bp = Blueprint("core", __name__)


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return render_template("index.html")


@bp.route("/lang/<code>")
@public
def set_language(code: str):
    target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else url_for("core.index")
    resp = make_response(redirect(target))
    if code in current_app.config["LANGUAGES"]:
        resp.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return resp


@bp.route("/healthz")
@public
def healthz():
    return jsonify(status="ok")
