from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from workflows.inspection.notes import MAX_NOTE_LENGTH


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Inspection note"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Write the note.")),
            Length(max=MAX_NOTE_LENGTH, message=_l("At most %(max)d characters.", max=MAX_NOTE_LENGTH)),
        ],
    )


class DigestForm(FlaskForm):
    digest = FileField(_l("Anchor digest file (.json)"))
