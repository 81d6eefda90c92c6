"""WTForms for enterprises and industry chains (HTML views)."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.forms import Form


def _uscc_valid(form, field) -> None:
    from app.orgs.services import normalize_uscc, uscc_error

    message = uscc_error(field.data)
    if message:
        raise ValidationError(str(message))
    field.data = normalize_uscc(field.data)


class EnterpriseForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    uscc = StringField(_l("Unified social credit code"), validators=[DataRequired(), _uscc_valid])
    region = StringField(_l("Region"), validators=[Optional(), Length(max=64)])


class ChainForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=128)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class MemberAddForm(Form):
    enterprise_id = SelectField(_l("Enterprise"), coerce=int, choices=[], validators=[DataRequired()])
