from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField

from webapp.form_base import Form
from webapp.text_fields import clean_text

# Everything is checked by the service (workflows/registry/units.py); the view puts its messages on these fields.


class UnitForm(Form):
    name = StringField(_l("Name"), filters=[clean_text])
    unit_type = SelectField(_l("Type"), validate_choice=False)


class NewUnitForm(UnitForm):
    parent_id = SelectField(_l("Unit above"), validate_choice=False)
    code = StringField(_l("Code"), filters=[clean_text])


class MergeForm(Form):
    into_id = SelectField(_l("Becomes part of"), validate_choice=False)
    merged_on = StringField(
        _l("From (the first day in the new unit)"), filters=[clean_text], render_kw={"type": "date"}
    )
    # A merger closes the unit at once and is not undone from this page: asked for explicitly, not by one click.
    confirm = BooleanField(_l("I confirm the merger: the unit closes now and cannot be reopened here."))
