"""WTForms for workers, trades and consents.

Forms only parse input into types; every rule (ID check characters, mobiles, trades, duplicates) is
checked by ``app.people.services`` so the HTML views and the API give the same, translated
per-field messages.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app.forms import Form
from app.people.labels import GENDER_LABELS, ID_TYPE_LABELS, SKILL_LEVEL_LABELS
from app.people.models import ConsentPurpose


def optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class WorkerForm(Form):
    enterprise_id = SelectField(_l("Enterprise"), coerce=optional_int, choices=[], validate_choice=False)
    name = StringField(_l("Full name"), validators=[Length(max=64)])
    id_type = SelectField(_l("Document type"), choices=[], validate_choice=False)
    id_number = StringField(_l("ID number"), validators=[Length(max=32)],
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    gender = SelectField(_l("Gender"), choices=[], validate_choice=False)
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    mobile = StringField(_l("Mobile"), validators=[Length(max=20)], render_kw={"type": "tel", "autocomplete": "off"})
    clear_mobile = BooleanField(_l("Remove the stored mobile"))  # editing only: an empty field keeps it
    trade_id = SelectField(_l("Trade"), coerce=optional_int, choices=[], validate_choice=False)
    skill_level = SelectField(_l("Skill level"), coerce=optional_int, choices=[], validate_choice=False)

    def __init__(self, *args, trade_choices=(), enterprise_choices=(), editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        empty = ("", "—")
        self.enterprise_id.choices = list(enterprise_choices)
        self.id_type.choices = [(k.value, str(v)) for k, v in ID_TYPE_LABELS.items()]
        self.gender.choices = [empty] + [(k, str(v)) for k, v in GENDER_LABELS.items()]
        self.trade_id.choices = [empty] + list(trade_choices)
        self.skill_level.choices = [empty] + [(k, str(v)) for k, v in SKILL_LEVEL_LABELS.items()]
        if editing:
            self.id_number.label.text = _l("New ID number (leave empty to keep)")
            self.mobile.label.text = _l("New mobile (leave empty to keep)")

    def values(self, editing: bool = False) -> dict:
        """The raw values for the service; when editing, an empty ID number or mobile keeps the stored one (the
        mobile is removed with ``clear_mobile``)."""
        data = {
            "name": self.name.data or "",
            "id_type": self.id_type.data or "",
            "id_number": (self.id_number.data or "").strip(),
            "gender": self.gender.data or "",
            "birth_date": self.birth_date.data,
            "mobile": (self.mobile.data or "").strip(),
            "trade_id": self.trade_id.data,
            "skill_level": self.skill_level.data,
        }
        if editing:
            for key in ("id_number", "mobile"):
                if not data[key]:
                    del data[key]
            if self.clear_mobile.data and "mobile" not in data:  # a new number typed as well: that one counts
                data["mobile"] = ""
        return data


class TradeForm(Form):
    code = StringField(_l("Occupational code"), validators=[Length(max=16)], render_kw={"placeholder": "6-31-01-03"})
    name = StringField(_l("Name"), validators=[Length(max=64)])


class ConsentForm(Form):
    purpose = HiddenField(validators=[DataRequired(), AnyOf([p.value for p in ConsentPurpose])])
    granted = HiddenField(validators=[DataRequired(), AnyOf(["1", "0"])])

