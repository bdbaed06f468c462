from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from webapp.form_base import Form
from webapp.text_fields import clean_text
from workflows.deployment.operations import RETIRE_REASON_MAX


class WithdrawForm(Form):
    reason = StringField(
        _l("Reason"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Say why the procedure is withdrawn; it is recorded in the audit log.")),
            Length(max=RETIRE_REASON_MAX, message=_l("At most %(max)d characters.", max=RETIRE_REASON_MAX)),
        ],
    )
