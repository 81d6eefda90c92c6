"""PLACEHOLDER — replaced by the page's owner (keeps the navigation's url_for working meanwhile)."""

from __future__ import annotations

from flask import Blueprint, render_template_string

from app.auth import roles_required

bp = Blueprint("competitions_setup", __name__, template_folder="../templates")


@bp.route("/competitions")
@roles_required("organizer", "admin")
def index():
    return render_template_string('{% extends "base.html" %}{% block content %}<h1>…</h1>{% endblock %}')
