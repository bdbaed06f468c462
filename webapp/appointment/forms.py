"""Forms of the appointment pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.form_base import Form
from webapp.number_fields import IdField, WholeNumberField, lazy_amount
from workflows.models import BallotMode
from workflows.query_args import MAX_ID

MAX_MEMBERS = 10_000
MAX_NOMINATED = 2000
_NOMINATED_TOO_LONG = _l("At most %(max)s characters.", max=lazy_amount(MAX_NOMINATED))
_MEMBERS_RANGE = _l("Enter a whole number from %(min)s to %(max)s.", min=lazy_amount(1), max=lazy_amount(MAX_MEMBERS))


class StartForm(Form):
    cadre = StringField(_l("Cadre code"), validators=[InputRequired(_l("Enter the cadre's code.")), Length(max=40)])
    # Only narrows the posts offered: the post decides the unit (and the service checks the scope over it).
    unit = IdField(_l("Unit of the post"), validators=[Optional()])
    # A <select> of the chosen unit's posts (templates/_post_picker.html); the id it posts is checked by the service.
    position = IdField(_l("Post"), validators=[InputRequired(_l("Choose the position.")), NumberRange(1, MAX_ID)])
    source = RadioField(
        _l("Source of the candidate"),
        choices=[
            SelectChoice("internal", _l("Local source (5 steps)")),
            SelectChoice("external", _l("From elsewhere (3 steps)")),
        ],
        validators=[InputRequired(_l("Choose the source."))],
    )


class OpenBodyBallotForm(Form):
    """Opening the ballot of a step whose voting body the unit keeps (decision 0122): the body summons, so the
    secretary chooses only how the ballot is cast and who else is nominated."""

    mode = RadioField(
        _l("Ballots"),
        choices=[SelectChoice(BallotMode.ONLINE, _l("Online")), SelectChoice(BallotMode.PAPER, _l("Paper ballots"))],
        default=BallotMode.ONLINE,
        validators=[InputRequired()],
    )
    more_candidates = StringField(
        _l("Other people nominated (cadre codes, comma-separated)"),
        validators=[Optional(), Length(max=MAX_NOMINATED, message=_NOMINATED_TOO_LONG)],
    )


class OpenBallotForm(OpenBodyBallotForm):
    electors = SelectMultipleField(
        _l("Members summoned"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[InputRequired(_l("Summon at least one member."))],
    )
    # Typed as people write it ("1.000" is a thousand), as the paper counts are.
    members_count = WholeNumberField(
        _l("Members of the collective"),
        validators=[InputRequired(_l("Enter the number of members.")), NumberRange(1, MAX_MEMBERS, _MEMBERS_RANGE)],
        message=_MEMBERS_RANGE,
    )
