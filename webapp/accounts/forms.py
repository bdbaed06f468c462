from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField

from webapp.form_base import Form
from webapp.text_fields import clean_text

# Everything is checked by the service (workflows/registry/accounts.py); the view puts its messages on these fields.


class RoleFields(Form):
    role = SelectField(_l("Role"), validate_choice=False)
    unit_id = SelectField(_l("Unit"), validate_choice=False)


class DetailsFields(Form):
    """Shared by creation and correction so both send the same fields to the same service checks."""

    username = StringField(_l("Username"), filters=[clean_text])
    full_name = StringField(_l("Full name"), filters=[clean_text])
    email = StringField(_l("E-mail address"), filters=[clean_text])


class NewUserForm(RoleFields, DetailsFields):
    cadre_code = StringField(_l("Cadre record code (optional)"), filters=[clean_text])
    reason = StringField(_l("Note for the audit log (optional)"), filters=[clean_text])


class GrantForm(RoleFields):
    reason = StringField(_l("Reason"), filters=[clean_text])


class ReasonForm(Form):
    """Revoking a role, deactivating, reactivating, resetting a password: each asks why (the audit log keeps it)."""

    reason = StringField(_l("Reason"), filters=[clean_text])


class DetailsForm(DetailsFields):
    reason = StringField(_l("Reason"), filters=[clean_text])


class HandOnForm(Form):
    """Handing every open task of the account to one person (decision 0078); each is checked on its own."""

    assignee = SelectField(_l("Reassign all to"), validate_choice=False)
    reason = StringField(_l("Reason"), filters=[clean_text])
