"""WTForms of the issuing and verification pages.

Forms only parse input into types; the rules (scope, font, lengths, idempotency) are checked by
``certificates.services.issuance`` so the pages and the API give the same translated per-field messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from certificates.domain import CertificateKind


def optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Kind-specific details a person can fill in on the page (the API takes any flat object).
DETAIL_FIELDS = (
    ("occupation", _l("Occupation")),
    ("direction", _l("Type of work / direction")),
    ("level", _l("Skill level (e.g. 三级/高级工)")),
    ("competition", _l("Competition")),
    ("award", _l("Award")),
    ("note", _l("Note")),
)


class IssueForm(FlaskForm):
    worker_id = SelectField(_l("Worker"), coerce=optional_int, choices=[], validate_choice=False)
    kind = SelectField(_l("Kind of certificate"), choices=[], validate_choice=False)
    template_id = SelectField(_l("Template"), coerce=optional_int, choices=[], validate_choice=False)
    achievement = TextAreaField(_l("Achievement (what the certificate certifies)"), validators=[Length(max=300)],
                                render_kw={"rows": 3})
    occupation = StringField(_l("Occupation"), validators=[Optional(), Length(max=200)])
    direction = StringField(_l("Type of work / direction"), validators=[Optional(), Length(max=200)])
    level = StringField(_l("Skill level (e.g. 三级/高级工)"), validators=[Optional(), Length(max=200)])
    competition = StringField(_l("Competition"), validators=[Optional(), Length(max=200)])
    award = StringField(_l("Award"), validators=[Optional(), Length(max=200)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])

    def __init__(self, *args, worker_choices=(), template_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        from certificates.services.issuance import KIND_LABELS

        self.worker_id.choices = [("", "—")] + list(worker_choices)
        self.kind.choices = [(k.value, str(KIND_LABELS[k])) for k in CertificateKind]
        self.template_id.choices = [("", _l("Default (newest template of the kind)"))] + list(template_choices)

    def details(self) -> dict[str, str]:
        return {name: getattr(self, name).data.strip() for name, _label in DETAIL_FIELDS
                if (getattr(self, name).data or "").strip()}


class RevokeForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)], render_kw={"rows": 2})


class SupersedeForm(FlaskForm):
    holder_name = StringField(_l("Name on the certificate"), validators=[Optional(), Length(max=100)])
    achievement = TextAreaField(_l("Achievement"), validators=[Length(max=300)], render_kw={"rows": 3})
    occupation = StringField(_l("Occupation"), validators=[Optional(), Length(max=200)])
    direction = StringField(_l("Type of work / direction"), validators=[Optional(), Length(max=200)])
    level = StringField(_l("Skill level (e.g. 三级/高级工)"), validators=[Optional(), Length(max=200)])
    competition = StringField(_l("Competition"), validators=[Optional(), Length(max=200)])
    award = StringField(_l("Award"), validators=[Optional(), Length(max=200)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    reason = TextAreaField(_l("Reason for the correction"), validators=[DataRequired(), Length(max=500)],
                           render_kw={"rows": 2})

    details = IssueForm.details


class LookupForm(FlaskForm):
    serial = StringField(_l("Serial number"), validators=[DataRequired(), Length(max=40)],
                         render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"})
    full_name = StringField(_l("Holder's full name"), validators=[DataRequired(), Length(max=100)],
                            render_kw={"autocomplete": "off"})


class CheckForm(FlaskForm):
    """Optional checks on the verification page: a visitor's ID number or the PDF they were given."""

    id_number = StringField(_l("Holder's ID number"), validators=[Optional(), Length(max=32)],
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    pdf = FileField(_l("PDF file"))
