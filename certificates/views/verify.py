"""Public verification pages: ``/v/<serial>`` (the QR code on a certificate opens it), the manual lookup by
serial + full name at ``/v``, and the public keys document at ``/.well-known/jiangxin-keys.json``.

Nothing here needs a login and nothing shows more than masked data (certificates.services.verification).
The manual lookup and the optional ID/PDF check are rate-limited (``VERIFY_RATE_LIMIT``, default
10 per minute per address), every page by serial too (``VERIFY_PAGE_RATE_LIMIT``, default 60 per minute: serials
are sequential); a wrong name and an unknown serial get the same answer. By serial alone a page confirms validity,
kind, issuer and dates; the holder (masked) and the achievement need the verification code of the QR address
(``?c=``) or the manual lookup with the full name.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from app.auth import public
from app.extensions import configured_limit, limiter
from certificates.forms import CheckForm, LookupForm
from certificates.services import keys, verification

bp = Blueprint("certificates_verify", __name__, template_folder="../templates")

KEYS_MAX_AGE = 3600


VERIFY_PAGE_LIMIT = configured_limit("VERIFY_PAGE_RATE_LIMIT")  # every answer by serial: serials are sequential
VERIFY_LIMIT = configured_limit("VERIFY_RATE_LIMIT")  # guesses of a name, an ID number or a PDF


def _render(v: verification.Verification, form: CheckForm | None = None, checked: bool = False, status: int = 200):
    return render_template("certificates/verify/page.html", v=v, body=v.public_dict(), form=form or CheckForm(),
                           checked=checked), status


@bp.route("/v/<serial>")
@limiter.limit(VERIFY_PAGE_LIMIT)
@public
def page(serial: str):
    code = request.args.get("c") or None
    v = verification.verify_serial(serial, code=code)
    if v.serial != serial and v.certificate is not None:  # c25-0001-… typed by hand: show the canonical address
        return redirect(url_for(".page", serial=v.serial, c=code))
    return _render(v)


@bp.route("/v/<serial>", methods=["POST"])
@limiter.limit(VERIFY_LIMIT)
@public
def check(serial: str):
    """The optional last steps: does a given ID number / PDF file match the certificate?"""
    form = CheckForm()
    if not form.validate_on_submit():
        return _render(verification.verify_serial(serial), form, status=400)
    id_number = (form.id_number.data or "").strip() or None
    pdf_sha256 = None
    upload = form.pdf.data
    if upload and getattr(upload, "filename", ""):
        pdf_sha256 = hashlib.sha256(upload.read()).hexdigest()
    v = verification.verify_serial(serial, code=request.args.get("c") or None, id_number=id_number,
                                   pdf_sha256=pdf_sha256)
    return _render(v, CheckForm(formdata=None), checked=id_number is not None or pdf_sha256 is not None)


@bp.route("/v", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT, methods=["POST"])
@public
def lookup():
    form = LookupForm()
    not_found = False
    if form.validate_on_submit():
        v = verification.lookup(form.serial.data, form.full_name.data)
        if v is not None:
            return _render(v)
        not_found = True
    elif request.method == "POST":
        return render_template("certificates/verify/lookup.html", form=form, not_found=False), 400
    if not_found:
        form.full_name.data = ""
    return render_template("certificates/verify/lookup.html", form=form, not_found=not_found)


@bp.route("/.well-known/jiangxin-keys.json")
@public
def keys_document():
    resp = jsonify(keys.keys_document())
    resp.headers["Cache-Control"] = f"public, max-age={KEYS_MAX_AGE}"
    resp.headers["Access-Control-Allow-Origin"] = "*"  # offline verifiers in a browser may fetch it
    return resp

