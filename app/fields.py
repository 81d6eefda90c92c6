"""The API's input fields: every schema takes text, whole numbers and lists through these (``app.inputs`` has the
rules; ``tests/app/test_input_fields.py`` checks that no argument schema takes a plain marshmallow one).

* ``Text`` — a string, NFC-normalized, refused with control characters (line breaks only when ``multiline``),
  bidirectional overrides, lone surrogates or nothing but invisible characters; ``strip`` trims white space around
  it first.
* ``Int`` — a whole number within ±``MAX_INT`` (the database's INTEGER), whatever else its validators allow.
* ``List`` — refused as a whole when longer than ``max_items``, before a single item is read.

Their messages are in English like marshmallow's; ``app.errors.SCHEMA_MESSAGES`` translates them.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from app.inputs import BIDI, CONTROL, INVISIBLE, SURROGATE, TextRefused, clean_text, within_int

TEXT_MESSAGES = {
    CONTROL: "Remove the control characters (such as NUL) from this text.",
    BIDI: "Remove the text-direction override characters from this text.",
    SURROGATE: "The text contains an invalid character.",
    INVISIBLE: "Enter visible text, not only invisible characters.",
}
TOO_MANY = "At most {max} items."


class Text(ma.fields.String):
    default_error_messages = TEXT_MESSAGES

    def __init__(self, *, multiline: bool = False, strip: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = multiline
        self.strip = strip

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self.strip:  # white space around (a tab, a line break) is trimmed, not refused
            text = text.strip()
        try:
            return clean_text(text, multiline=self.multiline)
        except TextRefused as exc:
            raise self.make_error(exc.reason) from None


class Int(ma.fields.Integer):
    def _validated(self, value: Any) -> int:
        number = super()._validated(value)
        if not within_int(number):
            raise self.make_error("too_large", input=value)
        return number


class List(ma.fields.List):
    """``max_items`` defaults to the bound of a ``Length`` validator; a list that is read needs one or the other."""

    def __init__(self, cls_or_instance: Any, *, max_items: int | None = None, **kwargs: Any) -> None:
        validate = kwargs.pop("validate", None)
        validators = [] if validate is None else list(validate) if isinstance(validate, list | tuple) else [validate]
        lengths = [v for v in validators if isinstance(v, ma.validate.Length)]
        bound = next((v.max if v.max is not None else v.equal for v in lengths if (v.max or v.equal) is not None), None)
        if max_items is None:
            max_items = bound
        elif bound is None:
            validators.append(ma.validate.Length(max=max_items))  # documents maxItems in the OpenAPI document
        if max_items is None and not kwargs.get("dump_only"):
            raise TypeError("a List that is read needs max_items (or a Length validator with a maximum)")
        super().__init__(cls_or_instance, validate=validators, **kwargs)
        self.max_items = max_items

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if self.max_items is not None and isinstance(value, list | tuple) and len(value) > self.max_items:
            raise ma.ValidationError(TOO_MANY.format(max=self.max_items))
        return super()._deserialize(value, attr, data, **kwargs)
