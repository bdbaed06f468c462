"""Forms of the ballot pages. The voting form has one field per candidate, so its class is built per box."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.form_base import Form
from webapp.number_fields import WholeNumberField, lazy_amount
from workflows.rules.ballots import Mark

MARK_LABELS = {Mark.YES: _l("Agree"), Mark.NO: _l("Disagree"), Mark.ABSTAIN: _l("Abstain")}
MAX_COUNT = 100_000


def candidate_field(index: int) -> str:
    """Field names are positions, never the candidate keys chosen by whoever opened the box."""
    return f"candidate_{index}"


def vote_form(candidates: list[dict[str, Any]], is_signable: bool, **kwargs: Any) -> Form:
    class VoteForm(Form):
        pass

    for index, candidate in enumerate(candidates):
        setattr(
            VoteForm,
            candidate_field(index),
            RadioField(
                candidate["name"],
                choices=[SelectChoice(str(mark), label) for mark, label in MARK_LABELS.items()],
                validators=[InputRequired(_l("Mark this candidate."))],
            ),
        )
    if is_signable:
        VoteForm.sign = BooleanField(_l("Sign my ballot (my name is kept with it)"))  # type: ignore[attr-defined]
    # A ballot is sent once and cannot be changed: the voter says they checked it, without JavaScript (the pages'
    # policy allows no inline script); the view refuses the form unticked (422) and stores nothing.
    VoteForm.confirm = BooleanField(  # type: ignore[attr-defined]
        _l("I have checked my ballot and want to send it; it cannot be changed afterwards.")
    )
    return VoteForm(**kwargs)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AttendanceForm(Form):
    present = MultiCheckboxField(_l("Present"), coerce=int, validate_choice=True)


class CloseForm(Form):
    """Closing cannot be undone, so the secretary ticks a box saying so; it works without JavaScript (the page's
    policy allows no inline script) and the view refuses the form unticked (422)."""

    confirm = BooleanField(_l("I confirm closing the ballot; it cannot be reopened."))


class NobodyAttendedForm(Form):
    """A conference none of those summoned attended is closed as a missed quorum only on this explicit word: the
    bare close stays refused before any attendance (decisions 0094, 0102)."""

    confirm_nobody = BooleanField(
        _l("I confirm that nobody attended the conference; the ballot closes and cannot be reopened.")
    )


# One message for a count left empty, mistyped ("1.5", "năm") or out of range: it says what is taken.
COUNT_MESSAGE = _l("Enter a whole number from %(min)s to %(max)s.", min=lazy_amount(0), max=lazy_amount(MAX_COUNT))


def _count(label: Any) -> WholeNumberField:
    """A count from the tally minutes, typed as people write it: "1.000" and "1 000" are a thousand."""
    return WholeNumberField(
        label,
        validators=[InputRequired(COUNT_MESSAGE), NumberRange(min=0, max=MAX_COUNT, message=COUNT_MESSAGE)],
        message=COUNT_MESSAGE,
    )


def paper_form(candidates: list[dict[str, Any]], **kwargs: Any) -> Form:
    class PaperForm(Form):
        issued = _count(_l("Ballots issued"))
        returned = _count(_l("Ballots returned"))
        valid = _count(_l("Valid ballots"))

    for index, _candidate in enumerate(candidates):
        for mark, label in MARK_LABELS.items():
            setattr(PaperForm, f"{candidate_field(index)}_{mark}", _count(label))
    return PaperForm(**kwargs)
