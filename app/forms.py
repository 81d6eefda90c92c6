"""The base of every HTML form: Flask-WTF's form whose fields take text and whole numbers by ``app.inputs``' rules
(``tests/app/test_input_fields.py`` checks that every form derives from it).

Each field gets one more filter when it is bound: text (``StringField`` and its kinds — a ``TextAreaField`` may hold
line breaks) is NFC-normalized or refused with a field error as in the API (control characters, direction
overrides, lone surrogates, only invisible characters); a whole number (``IntegerField``, a ``SelectField`` coerced to
int) past ±``MAX_INT`` is a field error. Passwords are taken as typed: they are never stored or shown; so are the
fields a form names in ``RAW_FIELDS`` (a login's ``next``, which the view checks itself).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, TextAreaField

from app.errors import TEXT_ERRORS
from app.inputs import TextRefused, clean_text, within_int


def _input_filter(multiline: bool):
    def clean(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return clean_text(value, multiline=multiline)
            except TextRefused as exc:
                raise ValueError(str(TEXT_ERRORS[exc.reason])) from None
        if isinstance(value, int) and not isinstance(value, bool) and not within_int(value):
            raise ValueError(str(_l("The number is too large.")))
        return value

    return clean


class Form(FlaskForm):
    RAW_FIELDS: tuple[str, ...] = ()

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if not issubclass(field_class, PasswordField) and options.get("name") not in form.RAW_FIELDS:
                filters = list(unbound_field.kwargs.get("filters") or ()) + list(options.pop("filters", None) or ())
                filters.append(_input_filter(multiline=issubclass(field_class, TextAreaField)))
                options["filters"] = filters
            return unbound_field.bind(form=form, **options)
