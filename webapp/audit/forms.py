from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from webapp.form_base import Form
from webapp.number_fields import lazy_amount
from webapp.text_fields import clean_text
from workflows.inspection.notes import MAX_NOTE_LENGTH


class NoteForm(Form):
    body = TextAreaField(
        _l("Inspection note"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Write the note.")),
            Length(max=MAX_NOTE_LENGTH, message=_l("At most %(max)s characters.", max=lazy_amount(MAX_NOTE_LENGTH))),
        ],
    )


class DigestForm(Form):
    digest = FileField(_l("Anchor digest file (.json)"))


class ExportCheckForm(Form):
    export = FileField(_l("Exported history (.json or .html)"))
