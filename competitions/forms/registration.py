"""WTForms of the registration and appeal pages: picking workers, the registration file (upload, confirm,
error file), the organizer's decisions, quotas and the draw, filing and deciding appeals."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import Form
from app.people.forms import optional_int


class RegisterWorkersForm(Form):
    worker_ids = SelectMultipleField(_l("Workers"), coerce=int, validate_choice=False,
                                     validators=[DataRequired(_l("Choose at least one worker."))])


class RegistrationFileForm(Form):
    file = FileField(_l("Registration file (XLSX or CSV)"), validators=[FileRequired(_l("Choose a file to upload."))],
                     render_kw={"accept": ".xlsx,.csv,.txt"})


class RegistrationFileConfirmForm(Form):
    """The checked file travels back with the confirmation (nothing is stored between preview and confirm)."""

    filename = HiddenField(validators=[Length(max=255)])
    content = HiddenField(validators=[DataRequired(_l("The file is missing: upload it again."))])
    format = HiddenField(default="csv")


class DecisionForm(Form):
    entry_ids = SelectMultipleField(_l("Entries"), coerce=int, validate_choice=False)
    decision = HiddenField()
    one = HiddenField()
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=2000)])


class QuotaForm(Form):
    enterprise_id = SelectField(_l("Enterprise"), coerce=optional_int, choices=[], validate_choice=False,
                                validators=[InputRequired(_l("Choose an enterprise."))])
    max_entries = IntegerField(_l("Maximum entries"), validators=[
        InputRequired(_l("Enter a number.")), NumberRange(min=0, max=100_000)])
    remove = HiddenField()

    def __init__(self, *args, enterprise_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise_id.choices = list(enterprise_choices)


class DrawForm(Form):
    redraw = BooleanField(_l("Draw every code again (only while no mark has been entered)"))


class AppealForm(Form):
    target = SelectField(_l("Entrant and module"), choices=[], validate_choice=False,
                         validators=[DataRequired(_l("Choose the entrant and the module."))])
    text = TextAreaField(_l("What is the appeal about?"), validators=[
        DataRequired(_l("Describe what the appeal is about.")), Length(max=5000)], render_kw={"rows": 5})

    def __init__(self, *args, target_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.target.choices = list(target_choices)


class AppealDecisionForm(Form):
    decision = SelectField(_l("Decision"), choices=[])
    note = TextAreaField(_l("Note (uphold: what will be corrected; reject: the reason)"), validators=[
        DataRequired(_l("Write the note or the reason.")), Length(max=2000)], render_kw={"rows": 3})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = [("uphold", _l("Uphold")), ("reject", _l("Reject"))]
