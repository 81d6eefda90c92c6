"""The library messages of a 422 (marshmallow, webargs) reach API clients in the user's language."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app.errors import translate_schema_messages


@pytest.mark.parametrize(("english", "en", "zh"), [
    ("Missing data for required field.", "Required.", "必填。"),
    ("Not a valid integer.", "Enter a whole number.", None),
    ("Must be greater than or equal to 1 and less than or equal to 100.", "Must be between 1 and 100.", None),
    ("Must be greater than or equal to 1.", "At least 1.", None),
    ("Longer than maximum length 200.", "At most 200 characters.", None),
    ("Must be one of: mean, median.", "Must be one of: mean, median.", None),
    ("某某企业已存在。", "某某企业已存在。", "某某企业已存在。"),  # our own messages pass through
])
def test_table(app, english, en, zh):
    with app.test_request_context("/"):
        with force_locale("en"):
            assert translate_schema_messages({"f": [english]}) == {"f": [en]}
        with force_locale("zh_CN"):
            out = translate_schema_messages({"f": [english]})["f"][0]
            if zh is not None:
                assert out == zh
            else:
                assert out != english and not any("a" <= c <= "z" for c in out.replace("mean", "").replace("median", ""))


def test_nested_trees_keep_their_shape(app):
    tree = {"json": {"items": {"0": {"value": ["Not a valid number."]}}, "_schema": ["Invalid input type."]}}
    with app.test_request_context("/"), force_locale("en"):
        assert translate_schema_messages(tree) == {
            "json": {"items": {"0": {"value": ["Enter a number."]}}, "_schema": ["Invalid input type."]}}
