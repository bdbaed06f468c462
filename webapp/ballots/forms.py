"""Forms of the ballot pages. The voting form has one field per candidate, so its class is built per box."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.form_base import Form
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
    return VoteForm(**kwargs)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AttendanceForm(Form):
    present = MultiCheckboxField(_l("Present"), coerce=int, validate_choice=True)


class CloseForm(Form):
    """Closing takes no input; the form carries the CSRF token."""


def _count(label: Any) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(_l("Enter a whole number, 0 or more.")),
            NumberRange(min=0, max=MAX_COUNT, message=_l("Enter a whole number, 0 or more.")),
        ],
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
