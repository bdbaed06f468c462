"""The task pages' own forms besides the task's form (built from its JSON Schema in schema_forms.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField

from webapp.form_base import Form
from webapp.text_fields import clean_text


class ReassignForm(Form):
    """Handing an open task to another person (decision 0078). Checked by `operations.reassign_task`; the view puts
    its problems on these fields. The choices are the people the task may go to."""

    assignee = SelectField(_l("Reassign to"), validate_choice=False)
    reason = StringField(_l("Reason"), filters=[clean_text])
    # The account page a hand-on started from, to go back to (an id; anything else is ignored).
    from_user = HiddenField()
