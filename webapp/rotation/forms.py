"""Forms of the rotation pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from webapp.form_base import Form
from webapp.number_fields import IdField, lazy_amount
from workflows.query_args import MAX_ID

MAX_GROUNDS = 4000
_GROUNDS_TOO_LONG = _l("At most %(max)s characters.", max=lazy_amount(MAX_GROUNDS))


class StartRotationForm(Form):
    cadre = StringField(_l("Cadre code"), validators=[InputRequired(_l("Enter the cadre's code.")), Length(max=40)])
    # <select>s of the units in scope and of the chosen unit's posts (templates/_post_picker.html); the ids they post
    # are checked by the service.
    to_unit = IdField(
        _l("Receiving unit"),
        validators=[InputRequired(_l("Choose the receiving unit.")), NumberRange(1, MAX_ID)],
    )
    position = IdField(
        _l("Post at the receiving unit"),
        validators=[InputRequired(_l("Choose the position.")), NumberRange(1, MAX_ID)],
    )
    starts_on = DateField(_l("First day of the rotation"), validators=[InputRequired(_l("Enter a date."))])
    planned_end_on = DateField(_l("Last day of the rotation"), validators=[InputRequired(_l("Enter a date."))])
    purpose = SelectField(_l("Purpose"), validators=[InputRequired(_l("Choose the purpose of the rotation."))])
    purpose_note = TextAreaField(
        _l("Grounds (decision of the competent authority)"),
        validators=[Optional(), Length(max=MAX_GROUNDS, message=_GROUNDS_TOO_LONG)],
    )
