"""WTForms for login, account settings and user administration."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import Form


class LoginForm(Form):
    RAW_FIELDS = ("next",)  # an unsafe or odd target only loses the redirect (accounts.views), never the login
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


class PasswordForm(Form):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=256)])


class TokenForm(Form):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=64)])


class UserCreateForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[Optional(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=10, max=256)])


class UserEditForm(Form):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=64)])
    is_enabled = BooleanField(_l("Enabled"))
    password = PasswordField(_l("New password (leave empty to keep)"), validators=[Optional(), Length(min=10, max=256)])


class RoleGrantForm(Form):
    role = SelectField(_l("Role"), choices=[])
    enterprise_id = SelectField(_l("Enterprise (for HR)"), coerce=int, choices=[], validate_choice=False)
    worker_id = IntegerField(_l("Worker record ID (for worker)"), validators=[Optional()])


class EmptyForm(Form):
    """Carries only the CSRF token, for POST buttons."""
