from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from webapp.form_base import Form
from webapp.text_fields import clean_text


class OpenMonthForm(Form):
    """The unit's choices are set per request (the units the person may open for); the month and the unit are
    checked by the service (`plan_month`), whose messages the view puts on these fields."""

    month = StringField(
        _l("Month"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter the month (YYYY-MM).")), Length(max=7, message=_l("Use the form YYYY-MM."))],
    )
    unit = SelectField(_l("Unit"), validate_choice=False, validators=[DataRequired(_l("Choose a unit."))])
    include_subunits = BooleanField(_l("Include the units below"), default=True)
    # Optional: the month's assigned work products (read by workflows.evaluation.products; every cell checked).
    products = FileField(_l("Assigned work products (.xlsx or .csv, optional)"))
    # Cadres with no login: their self-assessment would reach nobody's inbox. Skipped by default (decision 0065): a
    # later opening of the same month starts them once the administrator has given them an account.
    without_account = RadioField(
        _l("Cadres without a login"),
        choices=[
            SelectChoice("skip", _l("Skip them for now; open the month again once they have a login")),
            SelectChoice("open", _l("Open theirs too; the administrator assigns them from the unassigned list")),
        ],
        default="skip",
    )
    # "1" from the preview's confirm button: only then is anything opened; otherwise the page shows what would be.
    confirm = HiddenField()


class AnnualRunForm(Form):
    """Start the annual grading run of a unit; the year and the unit are checked by the service."""

    year = StringField(
        _l("Year"),
        filters=[clean_text],
        validators=[DataRequired(_l("Enter the year (YYYY).")), Length(max=4, message=_l("Use the form YYYY."))],
    )
    unit = SelectField(_l("Unit"), validate_choice=False, validators=[DataRequired(_l("Choose a unit."))])
    include_subunits = BooleanField(_l("Include the units below"), default=True)
