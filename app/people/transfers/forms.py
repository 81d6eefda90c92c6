"""The HTML form of a transfer request; the service checks every rule (as for the API)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import Length

from app.forms import Form
from app.people.forms import optional_int
from app.people.labels import ID_TYPE_LABELS


class TransferRequestForm(Form):
    enterprise_id = SelectField(_l("Enterprise"), coerce=optional_int, choices=[], validate_choice=False)
    id_type = SelectField(_l("Document type"), choices=[], validate_choice=False)
    id_number = StringField(_l("ID number"), validators=[Length(max=32)],
                            render_kw={"autocomplete": "off", "spellcheck": "false"})
    name = StringField(_l("Full name"), validators=[Length(max=64)], render_kw={"autocomplete": "off"})

    def __init__(self, *args, enterprise_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise_id.choices = list(enterprise_choices)
        self.id_type.choices = [(k.value, str(v)) for k, v in ID_TYPE_LABELS.items()]

    def values(self) -> dict:
        return {"id_type": self.id_type.data or "", "id_number": (self.id_number.data or "").strip(),
                "name": self.name.data or ""}
