"""WTForms of the chief judge's page: divergence decisions, the lock (sign-off), changing a mark after the
lock, and double entry of paper score sheets (enter, then a different person confirms).

The judge's scoring page has no HTML form: its marks go to the JSON marks API (autosave, offline queue).
Values stay text here: the marks service parses them exactly (``Decimal``) and names what is wrong.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional

from app.forms import Form


class DivergenceForm(Form):
    code = HiddenField(validators=[DataRequired(), Length(max=16)])
    aspect_id = HiddenField(validators=[DataRequired()])
    decision = StringField(_l("Decision"), validators=[
        InputRequired(_l("Choose re-mark or accept.")),
        AnyOf(("remark", "accepted"), message=_l("Choose re-mark or accept."))])  # radio buttons in the template
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)],
                           render_kw={"rows": 2, "maxlength": 2000})


class LockForm(Form):
    """Signing the module off takes no input; the CSRF token is the form."""


class ConfirmForm(Form):
    """Confirming a paper mark takes no input besides the mark in the URL."""


def _int_choice(value):
    """SelectField coercion that leaves a bad value as None (a clear 'choose' error instead of a 500)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class ChiefChangeForm(Form):
    """After the lock: the chief judge changes one judge's mark, with a reason."""

    code = SelectField(_l("Entrant code"), choices=[], validators=[DataRequired(_l("Choose the entrant code."))])
    aspect_id = SelectField(_l("Aspect"), coerce=_int_choice, choices=[],
                            validators=[InputRequired(_l("Choose the aspect."))])
    judge_id = SelectField(_l("Judge"), coerce=_int_choice, choices=[],
                           validators=[InputRequired(_l("Choose the judge."))])
    value = StringField(_l("New mark"), validators=[DataRequired(_l("Enter the mark.")), Length(max=32)],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give the reason for the change.")),
                                                     Length(max=2000)], render_kw={"rows": 2, "maxlength": 2000})


class PaperMarkForm(Form):
    """Double entry: a clerk types in one mark of a judge's paper score sheet. The idempotency key is made
    when the form is shown, so submitting the same form twice (a double tap, a resent POST) stores it once."""

    judge_id = SelectField(_l("Judge (whose paper sheet)"), coerce=_int_choice, choices=[],
                           validators=[InputRequired(_l("Choose the judge."))])
    code = SelectField(_l("Entrant code"), choices=[], validators=[DataRequired(_l("Choose the entrant code."))])
    aspect_id = SelectField(_l("Aspect"), coerce=_int_choice, choices=[],
                            validators=[InputRequired(_l("Choose the aspect."))])
    value = StringField(_l("Mark on the paper sheet"), validators=[DataRequired(_l("Enter the mark.")), Length(max=32)],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    idempotency_key = HiddenField(validators=[DataRequired(), Length(min=1, max=64)])
