from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from webapp.form_base import Form
from webapp.number_fields import lazy_amount
from webapp.text_fields import MAX_COMMENT, clean_text

MAX_REASON = 2000


class CommentForm(Form):
    body = TextAreaField(
        _l("Comment"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Write a comment.")),
            Length(max=MAX_COMMENT, message=_l("At most %(max)s characters.", max=lazy_amount(MAX_COMMENT))),
        ],
    )


class CancelForm(Form):
    reason = TextAreaField(
        _l("Reason for cancelling"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Give the reason for cancelling; it is recorded in the history.")),
            Length(max=MAX_REASON, message=_l("At most %(max)s characters.", max=lazy_amount(MAX_REASON))),
        ],
    )


class StartForm(Form):
    """Choices are set per request: the deployed processes, and the units the person can see."""

    process_id = SelectField(_l("Procedure"), validators=[InputRequired(_l("Choose a procedure."))])
    subject = StringField(
        _l("Person concerned (cadre code)"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter the cadre code of the person concerned.")), Length(max=40)],
    )
    # Checked by the view against the units the person can see, with a message of our own.
    unit = SelectField(_l("Unit"), validate_choice=False)
