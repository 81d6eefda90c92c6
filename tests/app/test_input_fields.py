"""Every way in takes text and whole numbers by one set of rules (``app.inputs``): each field of every API argument
schema is an ``app.fields`` field (text ``Text``, whole numbers ``Int``, lists ``List`` with a bound), every HTML form
derives from ``app.forms.Form``."""

from __future__ import annotations

import importlib
import pkgutil

import marshmallow as ma
from flask_wtf import FlaskForm

from app import fields
from app.forms import Form


def _argument_schemas(app):
    for view in app.view_functions.values():
        view_class = getattr(view, "view_class", None)
        functions = [getattr(view_class, m) for m in ("get", "post", "put", "patch", "delete")
                     if hasattr(view_class, m)] if view_class else [view]
        for function in functions:
            for parameter in getattr(function, "_apidoc", {}).get("arguments", {}).get("parameters", []):
                schema = parameter["schema"]
                yield schema() if isinstance(schema, type) else schema


def _loaded_fields(schema, path):
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        yield f"{path}.{name}", field
        inner = field.inner if isinstance(field, ma.fields.List) else field
        if inner is not field:
            yield f"{path}.{name}[]", inner
        if isinstance(inner, ma.fields.Nested):
            yield from _loaded_fields(inner.schema, f"{path}.{name}")


def test_every_api_argument_takes_text_numbers_and_lists_through_app_fields(app):
    checked, wrong = 0, []
    for schema in _argument_schemas(app):
        for path, field in _loaded_fields(schema, type(schema).__name__):
            checked += 1
            if isinstance(field, ma.fields.String) and not isinstance(field, fields.Text):
                wrong.append(f"{path}: {type(field).__name__}, not app.fields.Text")
            if isinstance(field, ma.fields.Integer) and not isinstance(field, fields.Int):
                wrong.append(f"{path}: {type(field).__name__}, not app.fields.Int")
            if isinstance(field, ma.fields.List) and not (isinstance(field, fields.List) and field.max_items):
                wrong.append(f"{path}: a list without app.fields.List's bound")
    assert checked > 250
    assert wrong == []


def _import_all() -> None:
    for package in ("app", "competitions", "certificates"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            importlib.import_module(info.name)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_form_derives_from_the_app_form(app):
    _import_all()
    forms = [f for f in _subclasses(FlaskForm) if f.__module__.split(".")[0] in ("app", "competitions", "certificates")]
    assert len(forms) > 40
    assert [f"{f.__module__}.{f.__name__}" for f in forms if f is not Form and not issubclass(f, Form)] == []
