"""The words and the form of a unit's voting bodies (decision 0122); the pages are `views.voting_bodies` and
`views.save_voting_body`, and the opening of a ballot names the body its step summons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp.ballots.forms import MultiCheckboxField
from webapp.form_base import Form
from workflows.states import BodyKind

BODY_LABELS = {
    BodyKind.LEADERSHIP: _l("Collective leadership"),
    BodyKind.EXPANDED_LEADERSHIP: _l("Expanded leadership conference"),
    BodyKind.KEY_CADRES: _l("Key cadres conference"),
    BodyKind.PARTY_COMMITTEE: _l("Party committee"),
}
BODY_HELP = {
    BodyKind.LEADERSHIP: _l(
        "The standing committee, the leadership of the department or the standing board of the people's committee: "
        "it votes at appointment steps 3 and 5, on re-appointment, rotation and the planning nominations."
    ),
    BodyKind.EXPANDED_LEADERSHIP: _l(
        "The collective with the party committee and the heads of the units below: appointment step 2."
    ),
    BodyKind.KEY_CADRES: _l(
        "Appointment step 4, the re-appointment confidence ballot and the planning's first ballot."
    ),
    BodyKind.PARTY_COMMITTEE: _l("Votes on the planning of the party committee's titles."),
}


class VotingBodyForm(Form):
    # The choices are the unit's active accounts; anything else is refused before the service is called.
    members = MultiCheckboxField(_l("Members"), coerce=int, validate_choice=True)
