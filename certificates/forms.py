"""WTForms of the issuing and verification pages.

Forms only parse input into types; the rules (scope, font, lengths, idempotency) are checked by
``certificates.services.issuance`` so the pages and the API give the same translated per-field messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import Form
from certificates.domain import CertificateKind


def optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Details a person can fill in on the page (the API takes any flat object); the keys are the PDF template's
# placeholders (certificates.pdf: subject, trade, occupation, direction, level, evaluator).
DETAIL_FIELDS = (
    ("subject", _l("Subject (e.g. the competition)")),
    ("trade", _l("Trade (type of work)")),
    ("occupation", _l("Occupation")),
    ("direction", _l("Type of work / direction")),
    ("level", _l("Skill level (e.g. 三级/高级工)")),
    ("evaluator", _l("Evaluation body")),
)
#: Labels of every detail key the package writes (pages show details with these, unknown keys as they are).
DETAIL_LABELS = dict(DETAIL_FIELDS) | {
    "competition": _l("Competition"),
    "rank": _l("Rank"),
    "competition_version": _l("Results version"),
    "skill_level": _l("Skill level"),
    "master_name": _l("Master"),
    "period": _l("Apprenticeship period"),
    "title_name": _l("Title"),
    "year": _l("Year"),
    "studio_name": _l("Studio"),
}


def _detail_fields(cls):
    for name, label in DETAIL_FIELDS:
        setattr(cls, name, StringField(label, validators=[Optional(), Length(max=200)]))
    return cls


class _DetailsMixin:
    def details(self) -> dict[str, str]:
        """The filled-in detail fields (empty ones left out)."""
        return {name: getattr(self, name).data.strip() for name, _label in DETAIL_FIELDS
                if (getattr(self, name).data or "").strip()}


@_detail_fields
class IssueForm(_DetailsMixin, Form):
    worker_id = SelectField(_l("Worker"), coerce=optional_int, choices=[], validate_choice=False)
    kind = SelectField(_l("Kind of certificate"), choices=[], validate_choice=False)
    template_id = SelectField(_l("Template"), coerce=optional_int, choices=[], validate_choice=False)
    achievement = TextAreaField(_l("Achievement (what the certificate certifies)"), validators=[Length(max=300)],
                                render_kw={"rows": 3})

    def __init__(self, *args, worker_choices=(), template_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        from certificates.services.issuance import KIND_LABELS

        self.worker_id.choices = [("", "—")] + list(worker_choices)
        self.kind.choices = [(k.value, str(KIND_LABELS[k])) for k in CertificateKind]
        self.template_id.choices = [("", _l("Default (newest template of the kind)"))] + list(template_choices)


class RevokeForm(Form):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)], render_kw={"rows": 2})


@_detail_fields
class SupersedeForm(_DetailsMixin, Form):
    holder_name = StringField(_l("Name on the certificate"), validators=[Optional(), Length(max=100)])
    achievement = TextAreaField(_l("Achievement"), validators=[Length(max=300)], render_kw={"rows": 3})
    reason = TextAreaField(_l("Reason for the correction"), validators=[DataRequired(), Length(max=500)],
                           render_kw={"rows": 2})


class LookupForm(Form):
    serial = StringField(_l("Serial number"), validators=[DataRequired(), Length(max=40)],
                         render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"})
    full_name = StringField(_l("Holder's full name"), validators=[DataRequired(), Length(max=100)],
                            render_kw={"autocomplete": "off"})


class CheckForm(Form):
    """Optional checks on the verification page: a visitor's ID number or the PDF they were given."""

    id_number = StringField(_l("Holder's ID number"), validators=[Optional(), Length(max=32)],
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    pdf = FileField(_l("PDF file"))
