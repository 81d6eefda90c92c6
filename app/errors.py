"""Errors raised by services, and the one place that turns them into HTTP responses.

Services raise ``DomainError`` (or its subclasses) with a stable ``code`` and a translated message;
views never build (message, status) tuples. For ``/api/`` paths the response is the JSON envelope
``{"error": {"code", "message", "details"}}``; for HTML the message is flashed (POST) or an error page
is rendered.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, flash, g, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException


def keep_refusal() -> None:
    """This request's refusal (its error answer) is itself a fact to keep: what it wrote commits, where every other
    error answer rolls back (``app._commit``) — a wrong password's failed attempt, audited and counted by the login
    throttle, must stay counted however the refusal is answered."""
    g.keep_refusal = True


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: Any = None, *, code: str | None = None, details: Any = None, status: int | None = None,
                 retry_after: int | None = None):
        super().__init__(str(message) if message is not None else self.code)
        self.message = message if message is not None else _l("The request could not be processed.")
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details or {}
        self.retry_after = retry_after  # seconds: sent as the Retry-After header (429, 503)


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


class TooManyAttempts(DomainError):
    """Refused for now: the response says when to try again (``Retry-After``, in whole seconds, rounded up)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: Any = None, *, retry_after: timedelta, **kw):
        super().__init__(message or _l("Too many attempts. Please wait a moment and try again."),
                         retry_after=max(1, math.ceil(retry_after.total_seconds())), **kw)


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
    503: _l("The server is busy. Nothing was changed; please send it again in a moment."),
}

HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "too_large", 422: "validation_error", 429: "rate_limited", 500: "server_error",
    503: "busy",
}


# Flask-WTF's reasons for refusing a form or an unsafe API call (CSRFError.description), in the user's language.
CSRF_MESSAGES = {
    "The CSRF token is missing.": _l("The form's security token is missing. Reload the page and try again."),
    "The CSRF session token is missing.": _l("Your session has no security token. Reload the page and try again."),
    "The CSRF token has expired.": _l("The form's security token has expired. Reload the page and try again."),
    "The CSRF token is invalid.": _l("The form's security token is invalid. Reload the page and try again."),
    "The CSRF tokens do not match.": _l("The form's security token does not match. Reload the page and try again."),
    "The referrer header is missing.": _l("The request has no referrer. Reload the page and try again."),
    "The referrer does not match the host.": _l("The request came from another site."),
}

# Why a text is refused (the reason codes of ``app.inputs``), in the user's language: the HTML forms, the API's
# fields (through SCHEMA_MESSAGES below) and services that read text themselves give these.
TEXT_ERRORS = {
    "control": _l("Remove the control characters (such as NUL) from this text."),
    "bidi": _l("Remove the text-direction override characters from this text."),
    "surrogate": _l("The text contains an invalid character."),
    "invisible": _l("Enter visible text, not only invisible characters."),
}

# marshmallow's and webargs' own (English) messages, as they arrive in a 422's details, in the user's language.
SCHEMA_MESSAGES = {
    "Missing data for required field.": _l("Required."),
    "Field may not be null.": _l("A value is required here."),
    "Unknown field.": _l("Unknown field."),
    "Invalid input type.": _l("Invalid input type."),
    "Invalid type.": _l("Invalid input type."),
    "Invalid value.": _l("Invalid value."),
    "Not a valid string.": _l("Enter text."),
    "Not a valid utf-8 string.": _l("Enter text."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid number.": _l("Enter a number."),
    "Number too large.": _l("The number is too large."),
    "Special numeric values (nan or infinity) are not permitted.": _l("Enter a finite number."),
    "Not a valid boolean.": _l("Choose yes or no."),
    "Not a valid date.": _l("Enter a date as YYYY-MM-DD."),
    "Not a valid datetime.": _l("Enter a date and time (ISO 8601)."),
    "Not a valid time.": _l("Enter a time as HH:MM."),
    "Not a valid list.": _l("A list is expected here."),
    "Not a valid mapping type.": _l("An object is expected here."),
    "Not a valid email address.": _l("Enter a valid e-mail address."),
    "Not a valid URL.": _l("Enter a valid web address."),
    "String does not match expected pattern.": _l("The format is not valid."),
    "Invalid JSON body.": _l("The body is not valid JSON."),
    # app.fields.TEXT_MESSAGES
    "Remove the control characters (such as NUL) from this text.": TEXT_ERRORS["control"],
    "Remove the text-direction override characters from this text.": TEXT_ERRORS["bidi"],
    "The text contains an invalid character.": TEXT_ERRORS["surrogate"],
    "Enter visible text, not only invisible characters.": TEXT_ERRORS["invisible"],
}
SCHEMA_PATTERNS = (
    (re.compile(r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\."),
     _l("Must be between %(min)s and %(max)s.")),
    (re.compile(r"Must be greater than or equal to (?P<min>\S+)\."), _l("At least %(min)s.")),
    (re.compile(r"Must be less than or equal to (?P<max>\S+)\."), _l("At most %(max)s.")),
    (re.compile(r"Must be greater than (?P<min>\S+)\."), _l("Must be greater than %(min)s.")),
    (re.compile(r"Must be less than (?P<max>\S+)\."), _l("Must be less than %(max)s.")),
    (re.compile(r"Shorter than minimum length (?P<min>\d+)\."), _l("At least %(min)s characters.")),
    (re.compile(r"Longer than maximum length (?P<max>\d+)\."), _l("At most %(max)s characters.")),
    (re.compile(r"Length must be between (?P<min>\d+) and (?P<max>\d+)\."),
     _l("Between %(min)s and %(max)s characters or items.")),
    (re.compile(r"Must be one of: (?P<choices>.*)\."), _l("Must be one of: %(choices)s.")),
    (re.compile(r"At most (?P<max>\d+) items\."), _l("At most %(max)s items.")),  # app.fields.List
)


def translate_schema_messages(details: Any) -> Any:
    """A webargs/marshmallow error tree (field → messages, nested for nested fields and list indices) with its
    library messages in the user's language; our own (already translated) messages pass through unchanged."""
    if isinstance(details, dict):
        return {k: translate_schema_messages(v) for k, v in details.items()}
    if isinstance(details, list | tuple):
        return [translate_schema_messages(v) for v in details]
    if isinstance(details, str):
        known = SCHEMA_MESSAGES.get(details)
        if known is not None:
            return str(known)
        for pattern, message in SCHEMA_PATTERNS:
            found = pattern.fullmatch(details)
            if found:
                return str(message) % found.groupdict()
    return details


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


BUSY_PGCODES = frozenset({"55P03", "40001", "40P01"})  # lock_not_available, serialization_failure, deadlock_detected
# admin_shutdown, crash_shutdown, cannot_connect_now (a server stopping, restarting or starting up)
UNAVAILABLE_PGCODES = frozenset({"57P01", "57P02", "57P03"})


def is_busy(exc: OperationalError) -> bool:
    """Whether a database error means "busy, try again" rather than a fault."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in BUSY_PGCODES:
        return True
    return type(orig).__module__.startswith("sqlite3") and "locked" in str(orig)


def is_unavailable(exc: OperationalError) -> bool:
    """Whether the database server could not be reached or went away (a restart, a failover): the connection was
    lost (SQLAlchemy then discards the pool's connections, so the next request connects afresh), refused, or the
    server says it is shutting down or starting. Nothing of the request was kept, or — a lost COMMIT — it was and a
    resend with the same idempotency keys is answered as a duplicate."""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if type(orig).__module__.startswith("sqlite3"):
        return False
    code = getattr(orig, "sqlstate", None)
    return code is None or code.startswith("08") or code in UNAVAILABLE_PGCODES


def retry_later(exc: OperationalError):
    """The answer to a database that is busy or unavailable, or None for any other database error: the request is
    rolled back and answered 503 with ``Retry-After`` (1 s when busy, 5 s when unavailable), in the error envelope
    or on the error page, translated. The one place for it: the error handler and the request's commit use it."""
    from app.extensions import db

    if is_busy(exc):
        wait = "1"
    elif is_unavailable(exc):
        wait = "5"
    else:
        return None
    current_app.logger.warning("database %s: %s", "busy" if wait == "1" else "unavailable", exc.orig)
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the pool has already discarded it
        db.session.close()
    resp = error_response(503, HTTP_CODES[503], HTTP_MESSAGES[503])
    if isinstance(resp, tuple):
        return resp[0], resp[1], {"Retry-After": wait}
    resp.headers["Retry-After"] = wait
    return resp


def register_error_handlers(app: Flask) -> None:
    from app.extensions import db

    @app.errorhandler(DomainError)
    def handle_domain_error(exc: DomainError):
        if not g.get("keep_refusal"):  # a kept refusal commits after the answer (app._commit)
            db.session.rollback()
        resp = error_response(exc.status, exc.code, exc.message, exc.details)
        if exc.retry_after is None:
            return resp
        if isinstance(resp, tuple):  # a page: (body, status)
            return resp[0], resp[1], {"Retry-After": str(exc.retry_after)}
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        status = exc.code or 500
        db.session.rollback()
        details: Any = {}
        # flask-smorest/webargs put validation messages here
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and "messages" in data:
            details = translate_schema_messages(data["messages"])
        message = HTTP_MESSAGES.get(status) or exc.description or _("Error")
        code = HTTP_CODES.get(status, "error")
        if isinstance(exc, CSRFError):
            message = CSRF_MESSAGES.get(exc.description, HTTP_MESSAGES[400])
        elif status in (400, 409) and exc.description and not exc.description.startswith("The browser"):
            message = exc.description if isinstance(exc.description, str) and not details else message
        resp = error_response(status, code, message, details)
        if hasattr(exc, "get_headers") and status in (405, 429):
            headers = dict(exc.get_headers())
            headers.pop("Content-Type", None)
            if isinstance(resp, tuple):
                return resp[0], resp[1], headers
            resp.headers.extend(headers)
        return resp

    @app.errorhandler(OperationalError)
    def handle_database_error(exc: OperationalError):
        # The database could not take the request now: busy (SQLite's lock past its busy timeout; PostgreSQL's lock
        # timeout, a deadlock or a serialization failure) or unavailable (restarting, unreachable). Nothing was
        # stored, and the same request sent again will go through — a judge's page and scripts resend with the same
        # idempotency keys. Anything else is a 500.
        resp = retry_later(exc)
        return handle_unexpected(exc) if resp is None else resp

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return handle_http(exc)
        app.logger.exception("unhandled error")
        db.session.rollback()
        return error_response(500, "server_error", HTTP_MESSAGES[500])
