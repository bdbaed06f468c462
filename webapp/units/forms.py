from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

# Everything is checked by the service (workflows/registry/units.py); the view puts its messages on these fields.


class UnitForm(FlaskForm):
    name = StringField(_l("Name"))
    unit_type = SelectField(_l("Type"), validate_choice=False)


class NewUnitForm(UnitForm):
    code = StringField(_l("Code"))


class MergeForm(FlaskForm):
    into_id = SelectField(_l("Becomes part of"), validate_choice=False)
    merged_on = StringField(_l("From (the first day in the new unit)"), render_kw={"type": "date"})
