"""The task pages' own forms besides the task's form (built from its JSON Schema in schema_forms.py)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField

from webapp.form_base import Form
from webapp.text_fields import clean_text
from workflows.registry.models import User


class ReassignForm(Form):
    """Handing an open task to another person (decision 0078). Checked by `operations.reassign_task`; the view puts
    its problems on these fields. The choices are the people the task may go to."""

    assignee = SelectField(_l("Reassign to"), validate_choice=False)
    reason = StringField(_l("Reason"), filters=[clean_text])
    # The account page a hand-on started from, to go back to (an id; anything else is ignored).
    from_user = HiddenField()


def receiver_choices(people: Iterable[User]) -> list[tuple[str, str]]:
    """The person picker of a hand-on (a task's page, an account's "hand all to one person"): name and user name."""
    return [("", _("Choose a person"))] + [
        (str(person.id), f"{person.full_name} ({person.username})") for person in people
    ]
