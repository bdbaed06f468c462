from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

MAX_COMMENT = 2000
MAX_REASON = 2000


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class CommentForm(FlaskForm):
    body = TextAreaField(
        _l("Comment"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Write a comment.")),
            Length(max=MAX_COMMENT, message=_l("At most %(max)d characters.", max=MAX_COMMENT)),
        ],
    )


class CancelForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason for cancelling"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Give the reason for cancelling; it is recorded in the history.")),
            Length(max=MAX_REASON, message=_l("At most %(max)d characters.", max=MAX_REASON)),
        ],
    )


class StartForm(FlaskForm):
    """Choices are set per request: the deployed processes, and the units the person can see."""

    process_id = SelectField(_l("Procedure"), validators=[InputRequired(_l("Choose a procedure."))])
    subject = StringField(
        _l("Person concerned (cadre code)"),
        filters=[_strip],
        validators=[DataRequired(_l("Enter the cadre code of the person concerned.")), Length(max=40)],
    )
    # Checked by the view against the units the person can see, with a message of our own.
    unit = SelectField(_l("Unit"), validate_choice=False)
