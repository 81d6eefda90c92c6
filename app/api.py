"""The JSON API shell: flask-smorest with our error envelope, token auth and CSRF for cookie clients.

Errors are ``{"error": {"code", "message", "details"}}`` (the app-wide handler in ``app.errors``),
so flask-smorest's own HTTP error handler is not registered. Browser clients authenticate with the
session cookie and must send the CSRF token in ``X-CSRFToken`` for unsafe methods; scripts send
``Authorization: Bearer <token>`` and need no CSRF token; an unsafe call without any credentials is answered 401.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask import Flask, g, request
from flask_login import current_user
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request

from app.auth import public
from app.extensions import csrf
from app.fields import Int
from app.http import JsonRefused, json_refused, load_json
from app.inputs import MAX_INT

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    details = ma.fields.Raw()


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


class JiangxinApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):  # the app-wide handler renders the envelope
        return None


class PageQuerySchema(ma.Schema):
    page = Int(load_default=1, validate=ma.validate.Range(min=1, max=MAX_INT))
    per_page = Int(load_default=20, validate=ma.validate.Range(min=1, max=200))


def decimal_as_string(converter, field, **kwargs) -> dict:
    """OpenAPI for a marshmallow ``Decimal(as_string=True)``: what the API returns is a JSON string, so the document
    says so (apispec would call every Decimal a number). Such fields also take a JSON number on input."""
    if isinstance(field, ma.fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    return {}


def init_api(app: Flask) -> JiangxinApi:
    api = JiangxinApi(
        app,
        spec_kwargs={
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer"},
                    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            },
            "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        },
    )
    # The OpenAPI document is public; declare it like every other route.
    for endpoint in [e for e in app.view_functions if e.startswith("api-docs.")]:
        app.view_functions[endpoint] = public(app.view_functions[endpoint])
    api.ma_plugin.converter.add_attribute_function(decimal_as_string)
    app.extensions["jiangxin_api"] = api

    @app.before_request
    def _api_csrf():
        if request.path.startswith("/api/") and request.method not in SAFE_METHODS:
            user = current_user._get_current_object()  # resolves a Bearer token first, if any
            # CSRF guards what a browser's cookies authenticate. A request without a user (no session, or an unknown
            # or revoked token) carries no credentials a forged request could use, and no API route that writes is
            # public: the view answers it (401 "Please log in.", in the error envelope) rather than a misleading
            # "CSRF token missing".
            if user.is_authenticated and not g.get("api_token_id"):
                csrf.protect()

    return api


def page_body(pagination, items=None) -> dict:
    """The JSON shape of every paginated list: items plus page, per_page, total and pages."""
    return {"items": pagination.items if items is None else items, "page": pagination.page,
            "per_page": pagination.per_page, "total": pagination.total, "pages": pagination.pages}


def _json_int(text: str) -> int | Decimal:
    # Very long integers stay Decimal: int() refuses more than 4300 digits, which would be a 500.
    return int(text) if len(text) <= 64 else Decimal(text)


def _reject_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not a number", name, 0)


def parse_json_exact(data: bytes | str, *, constants_as_decimal: bool = False) -> Any:
    """JSON whose numbers are exact: a fraction or exponent becomes ``Decimal`` read from its text, never a float.

    NaN/Infinity literals are invalid JSON, unless ``constants_as_decimal`` lets them through as non-finite
    Decimals for a validator to refuse item by item (the marks API reports every bad item of a batch). Like every
    JSON the app reads, it goes through ``app.http.load_json`` (``JsonRefused``, a ValueError, when refused).
    """
    return load_json(data, parse_float=Decimal, parse_int=_json_int,
                     parse_constant=Decimal if constants_as_decimal else _reject_constant)


class Parser(FlaskParser):
    """webargs' parser for every API blueprint: JSON bodies through ``app.http.load_json`` (too deep or a lone
    surrogate: 400 ``invalid_json``; not JSON or not UTF-8: webargs' own 400, "Invalid JSON body.")."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        try:
            return self._decode(req.get_data(cache=True))
        except JsonRefused as exc:
            raise json_refused(exc) from None

    def _decode(self, data: bytes) -> Any:
        return load_json(data)


class ExactJsonParser(Parser):
    """The parser for APIs that take marks, weights or factors: request JSON numbers as ``Decimal``."""

    constants_as_decimal = False

    def _decode(self, data: bytes) -> Any:
        return parse_json_exact(data, constants_as_decimal=self.constants_as_decimal)


class Blueprint(SmorestBlueprint):
    """flask-smorest's blueprint with the app's argument parser (every domain's API module uses this one)."""

    ARGUMENTS_PARSER = Parser()
