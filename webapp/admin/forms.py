from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from webapp.form_base import Form
from webapp.number_fields import IdField, lazy_amount
from webapp.text_fields import clean_text
from workflows.deployment.operations import RETIRE_REASON_MAX
from workflows.query_args import MAX_ID

_REASON_TOO_LONG = _l("At most %(max)s characters.", max=lazy_amount(RETIRE_REASON_MAX))


def _reason_field(required: str) -> StringField:
    """The reason a change of a procedure's use is recorded with in the audit log: required, at most
    RETIRE_REASON_MAX characters (the service checks the same)."""
    return StringField(
        _l("Reason"),
        filters=[clean_text],
        validators=[DataRequired(required), Length(max=RETIRE_REASON_MAX, message=_REASON_TOO_LONG)],
    )


class WithdrawForm(Form):
    reason = _reason_field(_l("Say why the procedure is withdrawn; it is recorded in the audit log."))


class ReinstateForm(Form):
    """Putting a withdrawn procedure back in use asks why, as withdrawing it does (decision 0059)."""

    reason = _reason_field(_l("Say why the procedure is put back in use; it is recorded in the audit log."))


class RollbackForm(Form):
    """Use an earlier version again (decision 0055): each earlier version's row posts its number and a reason."""

    version = IdField(
        _l("Version"),
        validators=[
            InputRequired(_l("Choose one of the procedure's versions.")),
            NumberRange(1, MAX_ID, message=_l("Choose one of the procedure's versions.")),
        ],
    )
    reason = StringField(
        _l("Reason"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Say why the earlier version is used again; it is recorded in the audit log.")),
            Length(max=RETIRE_REASON_MAX, message=_REASON_TOO_LONG),
        ],
    )
