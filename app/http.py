"""Where input enters a request, checked in one place for every route (``app.inputs`` has the rules).

* **URL path** — the URL map's converters: ``<int:…>`` matches only ids up to ``MAX_INT`` (a bigger one finds no
  route: 404, never a database error), and no path segment matches a control character.
* **Query and form values** — ``Request``: a value with a control character (NUL…) is refused with a 400 before
  any view reads it, and ``.get(name, type=int)`` (``Params``) treats a number past ``MAX_INT`` like any other
  non-number (the default).
* **JSON bodies** — ``load_json``, used by Flask's ``request.get_json`` and by the API's argument parsers: a body
  nested deeper than Python's parser goes (its recursion limit, some 900 levels inside a request: a RecursionError,
  once a 500) or holding a lone UTF-16 surrogate (``"\\ud800"``: it cannot be stored, nor even written back in an
  error message) is refused with a 400. The check costs nothing for a body without a ``\\ud`` escape: a marks batch
  is not walked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask import Request as FlaskRequest
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, Map, PathConverter, UnicodeConverter
from werkzeug.utils import cached_property

from app.errors import DomainError
from app.inputs import MAX_INT, has_control, has_surrogate, whole_number

_NO_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"


class IdConverter(IntegerConverter):
    """``<int:…>``: a whole number from 0 to ``MAX_INT`` (the werkzeug converter with that bound by default; a
    segment of more digits than ``MAX_INT`` has does not even match)."""

    regex = rf"\d{{1,{len(str(MAX_INT))}}}"

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_INT,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_INT if max is None else max, signed=signed)


class TextConverter(UnicodeConverter):
    """The default converter: one path segment, without control characters."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", f"[^/{_NO_CONTROL}]", 1)


class PathTextConverter(PathConverter):
    """``<path:…>`` without control characters."""

    regex = f"[^/{_NO_CONTROL}][^{_NO_CONTROL}]*?"


class UrlMap(Map):
    default_converters = {**Map.default_converters, "default": TextConverter, "string": TextConverter,
                          "int": IdConverter, "path": PathTextConverter}


def _bounded(type_: Callable | None) -> Callable | None:
    return whole_number if type_ is int else type_


class Params(ImmutableMultiDict):
    """The query string's and a form's values: ``.get(name, type=int)`` takes only a whole number the database can
    hold (``app.inputs.whole_number``); any other value gives the default, as a non-number does."""

    def get(self, key: Any, default: Any = None, type: Callable | None = None) -> Any:  # type: ignore[override]
        return super().get(key, default, _bounded(type))

    def getlist(self, key: Any, type: Callable | None = None) -> list[Any]:  # type: ignore[override]
        return super().getlist(key, _bounded(type))


def _has_control(params: ImmutableMultiDict) -> bool:
    return any(isinstance(value, str) and has_control(value) for _key, values in params.lists() for value in values)


def _control_refused() -> BadRequest:
    return BadRequest(str(_l("The address or the form contains a character that is not allowed (a control character "
                             "such as NUL).")))


class JsonRefused(ValueError):
    """A JSON body that is not taken although it parses: ``reason`` is "depth" or "surrogate"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


JSON_MESSAGES = {
    "invalid": _l("The body is not valid JSON."),
    "depth": _l("The body is nested too deeply."),
    "surrogate": _l("The body contains an invalid character (a lone UTF-16 surrogate)."),
}


def json_refused(exc: JsonRefused) -> DomainError:
    """The 400 answer to a refused JSON body."""
    return DomainError(JSON_MESSAGES[exc.reason], code="invalid_json", status=400)


def load_json(data: bytes | str, **kwargs: Any) -> Any:
    """``json.loads`` (``kwargs`` passed on) that refuses, with ``JsonRefused``, a body too deep for the parser
    (instead of a RecursionError) and lone surrogates (an escape such as ``"\\udc00"``; valid UTF-8 has none).
    Not JSON: ``json.JSONDecodeError``; not UTF-8: ``UnicodeDecodeError`` (both ValueErrors)."""
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JsonRefused("depth") from None
    if ("\\ud" in text or "\\uD" in text) and _has_lone_surrogate(value):  # only an escape makes one
        raise JsonRefused("surrogate")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if has_surrogate(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies through ``load_json``."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return load_json(s, **kwargs)


class Request(FlaskRequest):
    """Flask's request with ``Params`` for the query and the form, both refused (400) when a value holds a control
    character: a query when it is first read, a form once it is parsed (its uploaded files closed, the form left
    empty, so nothing of it can be read afterwards)."""

    parameter_storage_class = Params

    @cached_property
    def args(self) -> Params:  # type: ignore[override]
        args = super().args
        if _has_control(args):
            self.__dict__["args"] = self.parameter_storage_class()
            raise _control_refused()
        return args

    def _load_form_data(self) -> None:
        super()._load_form_data()
        if _has_control(self.form):
            for upload in self.files.values():
                upload.close()
            self.__dict__["form"] = self.__dict__["files"] = self.parameter_storage_class()
            raise _control_refused()

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, JsonRefused):
            raise json_refused(e)
        raise json_refused(JsonRefused("invalid"))


class JiangxinFlask(Flask):
    url_map_class = UrlMap
    request_class = Request
    json_provider_class = JSONProvider
