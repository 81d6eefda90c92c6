"""Errors raised by services, and the one place that turns them into HTTP responses.

Services raise ``DomainError`` (or its subclasses) with a stable ``code`` and a translated message;
views never build (message, status) tuples. For ``/api/`` paths the response is the JSON envelope
``{"error": {"code", "message", "details"}}``; for HTML the message is flashed (POST) or an error page
is rendered.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: Any = None, *, code: str | None = None, details: Any = None, status: int | None = None):
        super().__init__(str(message) if message is not None else self.code)
        self.message = message if message is not None else _l("The request could not be processed.")
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"

    def __init__(self, message: Any = None, **kw):
        super().__init__(message or _l("You are not allowed to do this."), **kw)


class NotFound(DomainError):
    status = 404
    code = "not_found"

    def __init__(self, message: Any = None, **kw):
        super().__init__(message or _l("Not found."), **kw)


class Conflict(DomainError):
    status = 409
    code = "conflict"


HTTP_MESSAGES = {
    400: _l("Bad request."),
    401: _l("Please log in."),
    403: _l("You are not allowed to do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    409: _l("Conflict with the current state."),
    413: _l("The upload is too large (at most 10 MB)."),
    422: _l("The request contains invalid data."),
    429: _l("Too many attempts. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. Nothing was changed."),
}

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 422: "validation_error", 429: "rate_limited", 500: "server_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, code: str, message: Any, details: Any = None):
    if wants_json():
        resp = jsonify({"error": {"code": code, "message": str(message), "details": details or {}}})
        resp.status_code = status
        return resp
    if request.method == "POST" and status in (400, 409, 413, 422) and request.referrer:
        flash(str(message), "error")
        if request.referrer.startswith(request.host_url):
            return redirect(request.referrer)
    return render_template("error.html", status=status, message=str(message), details=details), status


def register_error_handlers(app: Flask) -> None:
    from app.extensions import db

    @app.errorhandler(DomainError)
    def handle_domain_error(exc: DomainError):
        db.session.rollback()
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        status = exc.code or 500
        db.session.rollback()
        details: Any = {}
        # flask-smorest/webargs put validation messages here
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and "messages" in data:
            details = data["messages"]
        message = HTTP_MESSAGES.get(status) or exc.description or _("Error")
        if status in (400, 409) and exc.description and not exc.description.startswith("The browser"):
            message = exc.description if isinstance(exc.description, str) and not details else message
        resp = error_response(status, HTTP_CODES.get(status, "error"), message, details)
        if hasattr(exc, "get_headers") and status in (405, 429):
            headers = dict(exc.get_headers())
            headers.pop("Content-Type", None)
            if isinstance(resp, tuple):
                return resp[0], resp[1], headers
            resp.headers.extend(headers)
        return resp

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return handle_http(exc)
        app.logger.exception("unhandled error")
        db.session.rollback()
        return error_response(500, "server_error", HTTP_MESSAGES[500])
