"""Ballot pages: a summoned member votes; the secretary records attendance, closes or enters the paper counts; the
tally minutes print. Every route loads the box in the user's scope (404 otherwise), then checks the role (403)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from webapp.audit.reads import read_logged
from webapp.ballots.fonts import pdf_font
from webapp.ballots.forms import (
    MARK_LABELS,
    AttendanceForm,
    CloseForm,
    NobodyAttendedForm,
    candidate_field,
    paper_form,
    vote_form,
)
from webapp.ballots.wording import DENOMINATOR_WORDS, box_question, counting_basis, passed_heading, rule_summary
from webapp.extensions import db
from webapp.http import act, problem_text, process_engine, status_for, translated
from workflows import ballots
from workflows.access import can_view_instance
from workflows.errors import Invalid, NotFound, WorkflowError
from workflows.inspection.reads import ViewedObject
from workflows.models import BallotBox, BallotElector, BallotMode
from workflows.registry.models import User
from workflows.registry.records import local_today
from workflows.rules.ballots import BallotRules, CandidateCount, Mark, Outcome, is_own_ballot

bp = Blueprint("ballots", __name__, url_prefix="/ballots")

OUTCOME_LABELS = {
    Outcome.ELECTED: _l("Chosen"),
    Outcome.HEAD_DECIDES: _l("Exactly at the threshold or tied: the head decides"),
    Outcome.RUNOFF: _l("Nobody passed: the top candidates go on to the next step"),
    Outcome.NOT_ELECTED: _l("Nobody passed"),
    Outcome.OPINION: _l("An opinion for the dossier: it chooses nobody"),
    Outcome.QUORUM_FAILED: _l("Quorum not reached: the conference is not valid"),
}
DENOMINATOR_LABELS = {code: _l(words) for code, words in DENOMINATOR_WORDS.items()}
MODE_LABELS = {BallotMode.ONLINE: _l("Online"), BallotMode.PAPER: _l("Paper ballots")}


@bp.context_processor
def labels() -> dict[str, Any]:
    return {
        "outcome_labels": OUTCOME_LABELS,
        "denominator_labels": DENOMINATOR_LABELS,
        "mode_labels": MODE_LABELS,
        "mark_labels": MARK_LABELS,
        "box_question": box_question,
        "counting_basis": counting_basis,
        "passed_heading": passed_heading,
        "rule_summary": rule_summary,
    }


def _minutes(box: BallotBox) -> ballots.TallyMinutes:
    """The tally minutes as the page and the PDF print them: the question with the earlier result worded here."""
    return replace(ballots.tally_minutes(db.session, box, step_name(box)), question=box_question(box))


def step_name(box: BallotBox) -> str:
    """The name the procedure's model gives the box's step (its BPMN task's name), as the inbox shows it."""
    return process_engine().definition(db.session, box.instance.process_version_id).step_name(box.step_key)


def _load(box_id: int) -> BallotBox:
    try:
        return ballots.load_box(db.session, current_user, box_id)
    except NotFound:
        abort(404)


def _minutes_read(box: BallotBox, shown_as: str) -> AbstractContextManager[None]:
    """The minutes name the collective's members and how the vote went: reading them is logged against the
    procedure (decision 0143), as "ballot=<box>&format=<html|pdf>"."""
    return read_logged(
        ViewedObject.INSTANCE_MINUTES, box.instance_id, box.instance.unit_id, f"ballot={box.id}&format={shown_as}"
    )


def _problems(error: WorkflowError) -> list[str]:
    messages = [translated(error)]
    if isinstance(error, Invalid):
        messages += [problem_text(problem) for problem in error.problems]
    return messages


# -- voting -----------------------------------------------------------------------------------------------------


def _render_vote(
    box: BallotBox, elector: BallotElector, form: Any, *, errors: list[str], status: int, own: bool = False
) -> Any:
    fields = [(candidate, form[candidate_field(i)]) for i, candidate in enumerate(box.candidates)]
    result = box.tally if ballots.can_see_result(db.session, current_user, box) else None
    context = {
        "box": box,
        "step_name": step_name(box),
        "elector": elector,
        "form": form,
        "fields": fields,
        "errors": errors,
        "result": result,
        "rules": BallotRules.from_json(box.rules),
        "names": {c["key"]: c["name"] for c in box.candidates},
        "nominees": ballots.nominee_facts(db.session, box, local_today()),
        # The case page only for whom it opens (its own rule): a link that answers 404 tells nothing but teases.
        "may_open_case": can_view_instance(db.session, current_user, box.instance),
        "may_vote": (
            not own and box.is_open and box.mode == BallotMode.ONLINE and elector.is_present and not elector.has_voted
        ),
    }
    return render_template("ballots/vote.html", **context), status


@bp.route("/<int:box_id>/vote", methods=["GET", "POST"])
@login_required
def vote(box_id: int) -> Any:
    box = _load(box_id)
    elector = db.session.get(BallotElector, (box.id, current_user.id))
    if elector is None or not elector.is_summoned:
        abort(403)
    form = vote_form(box.candidates, box.is_signable)
    if ballots.votes_on_self(db.session, current_user, box):  # a box opened before the nominee was left out
        refused = [_("This ballot is about you: you do not vote in it.")]
        return _render_vote(box, elector, form, errors=refused, status=403, own=True)
    if request.method == "GET":
        return _render_vote(box, elector, form, errors=[], status=200)
    if not form.validate():
        return _render_vote(box, elector, form, errors=[_("Mark every candidate.")], status=422)
    if not form["confirm"].data:  # sent once and final: nothing is stored until the voter says they checked it
        form["confirm"].errors = [_("Tick the box to confirm that you checked your ballot.")]
        return _render_vote(box, elector, form, errors=[], status=422)
    contents = {c["key"]: form[candidate_field(i)].data for i, c in enumerate(box.candidates)}
    sign = bool(box.is_signable and form["sign"].data)
    try:
        act(lambda: ballots.cast_ballot(db.session, voter=current_user, box_id=box.id, contents=contents, sign=sign))
    except WorkflowError as error:
        db.session.expire_all()
        elector = db.session.get(BallotElector, (box.id, current_user.id))
        assert elector is not None
        return _render_vote(box, elector, form, errors=_problems(error), status=status_for(error))
    flash(_("Your ballot was received. What you marked is not stored with your name."), "success")
    return redirect(url_for("ballots.vote", box_id=box.id))


# -- the secretary's page ---------------------------------------------------------------------------------------


def _electors(box: BallotBox) -> list[tuple[BallotElector, User]]:
    return list(
        db.session.execute(
            select(BallotElector, User)
            .join(User, User.id == BallotElector.user_id)
            .where(BallotElector.box_id == box.id, BallotElector.is_summoned.is_(True))
            .order_by(User.full_name)
        ).tuples()
    )


def _attendance_form(box: BallotBox, electors: list[tuple[BallotElector, User]], **kwargs: Any) -> AttendanceForm:
    form = AttendanceForm(**kwargs)
    form.present.choices = [SelectChoice(user.id, user.full_name) for _elector, user in electors]
    if request.method == "GET":
        form.present.data = [elector.user_id for elector, _user in electors if elector.is_present]
    return form


def _not_voted(box: BallotBox, electors: list[tuple[BallotElector, User]]) -> int:
    """Members present who may still vote and have not: what closing now leaves out (the nominee never votes)."""
    subject = box.instance.subject_cadre_id
    return sum(
        1
        for elector, user in electors
        if elector.is_present and not elector.has_voted and not is_own_ballot(user.cadre_id, subject)
    )


def _render_manage(
    box: BallotBox,
    *,
    attendance: Any = None,
    paper: Any = None,
    close_form: CloseForm | None = None,
    nobody_form: NobodyAttendedForm | None = None,
    errors: list[str],
    status: int,
) -> Any:
    electors = _electors(box)
    context = {
        "box": box,
        "step_name": step_name(box),
        "rules": BallotRules.from_json(box.rules),
        "electors": electors,
        "voted": sum(1 for elector, _user in electors if elector.has_voted),
        "present": sum(1 for elector, _user in electors if elector.is_present),
        "not_voted": _not_voted(box, electors),
        "attendance": attendance or _attendance_form(box, electors),
        "close_form": close_form or CloseForm(formdata=None),
        "nobody_form": nobody_form or NobodyAttendedForm(formdata=None),
        "paper": paper or paper_form(box.candidates),
        "candidate_field": candidate_field,
        "marks": list(Mark),
        "errors": errors,
    }
    return render_template("ballots/manage.html", **context), status


def _load_managed(box_id: int) -> BallotBox:
    box = _load(box_id)
    if not ballots.can_manage_box(db.session, current_user, box):
        abort(403)
    return box


@bp.get("/<int:box_id>/manage")
@login_required
def manage(box_id: int) -> Any:
    box = _load_managed(box_id)
    return _render_manage(box, errors=[], status=200)


@bp.post("/<int:box_id>/attendance")
@login_required
def attendance(box_id: int) -> Any:
    box = _load_managed(box_id)
    form = _attendance_form(box, _electors(box))
    if not form.validate():
        return _render_manage(box, attendance=form, errors=[_("Choose members from the list.")], status=422)
    present = list(form.present.data or [])
    try:
        act(lambda: ballots.mark_attendance(db.session, actor=current_user, box_id=box.id, present_ids=present))
    except WorkflowError as error:
        db.session.expire_all()
        return _render_manage(box, attendance=form, errors=_problems(error), status=status_for(error))
    flash(_("Attendance recorded: %(count)d present.", count=len(present)), "success")
    return redirect(url_for("ballots.manage", box_id=box.id))


@bp.post("/<int:box_id>/close")
@login_required
def close(box_id: int) -> Any:
    box = _load_managed(box_id)
    form = CloseForm()
    if not form.validate():
        return _render_manage(box, errors=[_("The form expired; try again.")], status=400)
    if not form.confirm.data:  # closing cannot be undone: nothing happens until the secretary says so
        form.confirm.errors = [_("Tick the box to confirm closing the ballot.")]
        return _render_manage(box, close_form=form, errors=[], status=422)
    try:
        act(lambda: ballots.close_box(db.session, actor=current_user, box_id=box.id))
    except WorkflowError as error:
        db.session.expire_all()
        return _render_manage(box, errors=_problems(error), status=status_for(error))
    flash(_("The ballot is closed and counted."), "success")
    return redirect(url_for("ballots.minutes", box_id=box.id))


@bp.post("/<int:box_id>/nobody-attended")
@login_required
def nobody_attended(box_id: int) -> Any:
    """The conference nobody attended: closed as a missed quorum on the secretary's ticked confirmation (0102)."""
    box = _load_managed(box_id)
    form = NobodyAttendedForm()
    if not form.validate():
        return _render_manage(box, errors=[_("The form expired; try again.")], status=400)
    if not form.confirm_nobody.data:
        form.confirm_nobody.errors = [_("Tick the box to confirm that nobody attended.")]
        return _render_manage(box, nobody_form=form, errors=[], status=422)
    try:
        act(lambda: ballots.close_nobody_attended(db.session, actor=current_user, box_id=box.id, confirmed=True))
    except WorkflowError as error:
        db.session.expire_all()
        return _render_manage(box, errors=_problems(error), status=status_for(error))
    flash(_("Recorded that nobody attended: the ballot is closed, the quorum was not reached."), "success")
    return redirect(url_for("ballots.minutes", box_id=box.id))


@bp.post("/<int:box_id>/paper")
@login_required
def paper(box_id: int) -> Any:
    box = _load_managed(box_id)
    form = paper_form(box.candidates)
    if not form.validate():
        return _render_manage(box, paper=form, errors=[_("Enter every count.")], status=422)
    counts = {
        c["key"]: CandidateCount(*(form[f"{candidate_field(i)}_{mark}"].data for mark in Mark))
        for i, c in enumerate(box.candidates)
    }
    values = {"issued": form["issued"].data, "returned": form["returned"].data, "valid": form["valid"].data}
    try:
        act(lambda: ballots.enter_paper_tally(db.session, actor=current_user, box_id=box.id, counts=counts, **values))
    except WorkflowError as error:
        db.session.expire_all()
        return _render_manage(box, paper=form, errors=_problems(error), status=status_for(error))
    flash(_("The counts are recorded and the ballot is closed."), "success")
    return redirect(url_for("ballots.minutes", box_id=box.id))


# -- the tally minutes ------------------------------------------------------------------------------------------


@bp.get("/<int:box_id>/minutes")
@login_required
def minutes(box_id: int) -> Any:
    box = _load(box_id)
    if box.is_open:
        return render_template("ballots/not_counted.html", box=box), 409
    if not ballots.can_view_minutes(db.session, current_user, box):
        abort(403)
    with _minutes_read(box, "html"):
        return render_template(
            "ballots/minutes.html",
            minutes=_minutes(box),
            may_manage=ballots.can_manage_box(db.session, current_user, box),
            has_pdf=pdf_font() is not None,
        )


@bp.get("/<int:box_id>/minutes.pdf")
@login_required
def minutes_pdf(box_id: int) -> Any:
    """The same minutes as a PDF file; 404 when no Unicode font is installed (the printable page remains)."""
    box = _load(box_id)
    if box.is_open:
        return render_template("ballots/not_counted.html", box=box), 409
    if not ballots.can_view_minutes(db.session, current_user, box):
        abort(403)
    fonts = pdf_font()
    if fonts is None:
        abort(404)
    from webapp.ballots.pdf import minutes_pdf as build_minutes_pdf  # fpdf2 costs every command 0.3 s (0117)

    labels = {"outcome": OUTCOME_LABELS, "mode": MODE_LABELS}
    with _minutes_read(box, "pdf"):
        document = build_minutes_pdf(
            _minutes(box),
            fonts,
            labels,
            current_app.jinja_env.filters["localdatetime"],
        )
    response = make_response(document)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="bien-ban-kiem-phieu-{box.id}.pdf"'
    return response
