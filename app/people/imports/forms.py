"""WTForms of the worker import: the upload form (file, and the enterprise when HR of several)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from app.forms import Form
from app.people.forms import optional_int


class UploadForm(Form):
    enterprise_id = SelectField(_l("Enterprise"), coerce=optional_int, choices=[], validate_choice=False)
    file = FileField(_l("Worker file (XLSX or CSV)"), validators=[FileRequired(_l("Choose a file to upload."))],
                     render_kw={"accept": ".xlsx,.csv,.txt"})

    def __init__(self, *args, enterprise_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise_id.choices = list(enterprise_choices)
