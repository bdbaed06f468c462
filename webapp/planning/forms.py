"""Forms of the planning pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from webapp.form_base import Form


class StartForm(Form):
    # The choices are set per request (the units the person may start a review for, in tree order); the view refuses
    # a code that is not one of them, the service checks the scope again.
    unit = SelectField(_l("Unit"), validate_choice=False, validators=[InputRequired(_l("Choose a unit."))])
    term = StringField(_l("Term"), validators=[InputRequired(_l("Enter the term, like 2026-2031.")), Length(max=9)])
    variant = RadioField(
        _l("Kind of review"),
        choices=[
            SelectChoice("annual", _l("Annual review (screening, removals, additions)")),
            SelectChoice("term", _l("Plan for the next term")),
        ],
        validators=[InputRequired(_l("Choose the kind of review."))],
    )
