"""Ballot steps of any procedure: the secret ballot of a BPMN user task, run in a box of `workflows.ballots`.

Decision 0016 describes the mechanism (the appointment was its first user): a ballot step is a secretary's user task
whose id names a step of the procedure's table; the secretary opens the step's box by its own action (electors,
members of the collective, online or paper are theirs to choose; the question, candidates, rules and whether slips
may be signed come from the procedure), runs the vote on the ballot pages and closes it; completing the task is
refused until the box is closed, and the form hook copies the tally — never a ballot — into the task data.

A procedure describes itself with a `BallotProcedure`; this module holds what every procedure does the same way:
finding the open ballot task, the one box per activation of a step, opening it, and the closed box a hook reads.
`procedure_for(process_id)` finds the procedures the application ships (decision 0019: the planning review reuses
the appointment's mechanism instead of a second one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import oversees_unit
from workflows.ballots import MANAGING_ROLES, Candidate, open_box
from workflows.engine.runtime import ProcessEngine
from workflows.errors import Amount, Conflict, Invalid, NotFound, Problem
from workflows.models import BallotBox, BallotMode, HumanTask, ProcessInstance, ProcessVersion
from workflows.registry.models import User
from workflows.registry.voting_bodies import VotingBody, voting_body
from workflows.rules.ballots import BallotRules, is_own_ballot, outsiders
from workflows.states import BodyKind, InstanceStatus, TaskStatus

__all__ = [
    "SHARED_NOTE_KEY",
    "USED_BOXES",
    "BallotProcedure",
    "OpenStep",
    "StepBody",
    "StepConfig",
    "TaskBallot",
    "body_electors",
    "boxes_of_step",
    "closed_box",
    "current_step",
    "open_ballot_task",
    "open_step_ballot",
    "pending_box",
    "procedure_for",
    "step_body",
    "step_candidates",
    "step_note_key",
    "task_ballot",
]

# The ids of the boxes already taken into the data (one box per activation of a step).
USED_BOXES = "ballot_boxes_used"


class StepConfig(Protocol):
    """What this module needs of a procedure's step; the procedures' own step tables carry more."""

    @property
    def rules(self) -> BallotRules: ...

    @property
    def is_signable(self) -> bool: ...

    # The conference summons people beyond the collective (expanded leadership, key cadres).
    @property
    def wider_conference(self) -> bool: ...

    # The voting unit's body the step summons (decision 0122), or None.
    @property
    def body(self) -> BodyKind | None: ...


@dataclass(frozen=True)
class BallotProcedure:
    process_id: str
    steps: Mapping[str, StepConfig]
    # (step, task data) -> the question on the slip
    question: Callable[[str, Mapping[str, Any]], str]
    # (session, step, task data, cadre codes the secretary adds) -> the candidates; Invalid when refused
    candidates: Callable[[Session, str, Mapping[str, Any], Sequence[str]], list[Candidate]]
    # (step, task data) -> the unit whose members vote; None: the procedure's own unit
    voting_unit: Callable[[str, Mapping[str, Any]], int | None]
    # step -> the field of the secretary's note on the step's form, where a refusal to complete the step points
    note_key: Callable[[str], str]


@dataclass(frozen=True)
class OpenStep:
    instance: ProcessInstance
    task: HumanTask
    step: str
    data: Mapping[str, Any]


# The secretary's note of every ballot step's form before decision 0053 (the rotation's one step still writes it).
SHARED_NOTE_KEY = "ballot_note"


def step_note_key(step: str) -> str:
    """The secretary's note of a ballot step, under the step's own key (decision 0053): a procedure with several
    ballot steps gives each its form, so a later step neither opens with an earlier step's note nor overwrites it."""
    return f"{step}_note"


@cache
def _procedures() -> dict[str, BallotProcedure]:
    from workflows.appointment.ballots import APPOINTMENT_BALLOTS
    from workflows.planning.ballots import PLANNING_BALLOTS
    from workflows.rotation.ballots import ROTATION_BALLOTS

    return {p.process_id: p for p in (APPOINTMENT_BALLOTS, PLANNING_BALLOTS, ROTATION_BALLOTS)}


def procedure_for(process_id: str) -> BallotProcedure | None:
    """The ballot steps of a shipped procedure, or None when it holds no ballots."""
    return _procedures().get(process_id)


def open_ballot_task(session: Session, instance_id: int, steps: Iterable[str]) -> HumanTask | None:
    """The open ballot task of an instance, if it is at one (ballot steps never run in parallel)."""
    return session.scalar(
        select(HumanTask).where(
            HumanTask.instance_id == instance_id,
            HumanTask.status == TaskStatus.OPEN,
            HumanTask.task_key.in_(list(steps)),
        )
    )


def current_step(session: Session, engine: ProcessEngine, procedure: BallotProcedure, instance_id: int) -> OpenStep:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.process_id != procedure.process_id:
        raise NotFound(f"{procedure.process_id} {instance_id} does not exist")
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict("The procedure is no longer running.")
    task = open_ballot_task(session, instance.id, procedure.steps)
    if task is None:
        raise Conflict("The procedure is not at a ballot step.")
    definition = engine.definition(session, instance.process_version_id)
    workflow = engine.load(definition, instance)
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    return OpenStep(instance, task, task.task_key, dict(spiff_task.data))


def step_candidates(session: Session, procedure: BallotProcedure, current: OpenStep) -> list[Candidate]:
    """Whom the step's box would name if opened now, before any code the secretary adds: for the page that opens it
    (the appointment's step 2 draws its pool from the plan, decision 0121). Reads only."""
    return procedure.candidates(session, current.step, current.data, ())


def boxes_of_step(session: Session, instance_id: int, step: str) -> list[BallotBox]:
    return list(
        session.scalars(
            select(BallotBox)
            .where(BallotBox.instance_id == instance_id, BallotBox.step_key == step)
            .order_by(BallotBox.id)
        )
    )


def pending_box(session: Session, instance_id: int, step: str, data: Mapping[str, Any]) -> BallotBox | None:
    """The box of this activation of the step: the newest not yet taken into the data."""
    used = set(data.get(USED_BOXES) or [])
    pending = [box for box in boxes_of_step(session, instance_id, step) if box.id not in used]
    return pending[-1] if pending else None


@dataclass(frozen=True)
class TaskBallot:
    """The ballot of an open ballot task, for the page of the task: None until its box is opened."""

    box_id: int | None


def task_ballot(session: Session, user: User, task: HumanTask, data: Mapping[str, Any]) -> TaskBallot | None:
    """For one who may run the ballot of this open ballot task (personnel or the head over the procedure's unit, as
    `open_box` requires): the box of this activation of the step, if opened. None for anyone else, or any other
    task."""
    procedure = procedure_for(task.process_id)
    if procedure is None or task.status != TaskStatus.OPEN or task.task_key not in procedure.steps:
        return None
    unit_id = session.scalar(select(ProcessInstance.unit_id).where(ProcessInstance.id == task.instance_id))
    if not oversees_unit(session, user, unit_id, MANAGING_ROLES):
        return None
    box = pending_box(session, task.instance_id, task.task_key, data)
    return TaskBallot(box.id if box is not None else None)


@dataclass(frozen=True)
class StepBody:
    """The body a ballot step summons in its voting unit: `body` None when the step names none (`kind` None) or the
    unit has not configured it (decision 0122)."""

    unit_id: int | None
    kind: BodyKind | None
    body: VotingBody | None


def step_body(session: Session, procedure: BallotProcedure, current: OpenStep) -> StepBody:
    voting_unit = procedure.voting_unit(current.step, current.data)
    unit_id = voting_unit if voting_unit is not None else current.instance.unit_id
    kind = procedure.steps[current.step].body
    return StepBody(unit_id, kind, voting_body(session, unit_id, kind))


def body_electors(body: VotingBody, subject_cadre_id: int | None) -> list[int]:
    """Whom a body's ballot summons: every active member but the person the procedure is about (who never votes)."""
    return [m.user_id for m in body.members if not is_own_ballot(m.cadre_id, subject_cadre_id)]


def open_step_ballot(
    session: Session,
    engine: ProcessEngine,
    procedure: BallotProcedure,
    *,
    actor: User,
    instance_id: int,
    elector_ids: Iterable[int] | None = None,
    members_count: int | None = None,
    mode: str = BallotMode.ONLINE,
    more_candidates: Sequence[str] = (),
) -> BallotBox:
    """Open the box of the ballot step the instance is at. Refused (nothing written) when the procedure is not at a
    ballot step, when this step already has a box not yet taken into the data, or by `ballots.open_box`.

    When the step names a body its voting unit has configured (decision 0122), the body decides: every active member
    but the nominee is summoned and the body's size is the members count. `elector_ids` may then be left out; any
    given must be the body's members, and a `members_count` given must be its size — an outsider is added to the
    body by the unit's personnel officer, on the unit's audited page, not at the conference."""
    current = current_step(session, engine, procedure, instance_id)
    step = current.step
    if pending_box(session, current.instance.id, step, current.data) is not None:
        raise Conflict("A ballot for this step is already open or counted; complete the step with its result.")
    config = procedure.steps[step]
    found = step_body(session, procedure, current)
    body = found.body
    if body is not None:
        problems = [
            Problem("Not a member of the voting body of this step.", field=f"elector:{user_id}")
            for user_id in outsiders(body.member_ids, elector_ids or ())
        ]
        if members_count is not None and members_count != body.size:
            problems.append(
                Problem(
                    "The voting body has %(members)s members.",
                    field="members_count",
                    message_args={"members": Amount(body.size)},
                )
            )
        if problems:
            raise Invalid("The ballot cannot be opened.", problems)
        elector_ids = body_electors(body, current.instance.subject_cadre_id)
        members_count = body.size
    return open_box(
        session,
        actor=actor,
        instance_id=current.instance.id,
        step_key=step,
        question=procedure.question(step, current.data),
        candidates=procedure.candidates(session, step, current.data, more_candidates),
        elector_ids=elector_ids or (),
        members_count=members_count if members_count is not None else 0,
        rules=config.rules,
        mode=mode,
        unit_id=procedure.voting_unit(step, current.data),
        is_signable=config.is_signable,
        wider_conference=config.wider_conference,
        body_kind=body.kind if body is not None else None,
    )


def closed_box(
    session: Session, procedure: BallotProcedure, instance_id: int, data: Mapping[str, Any]
) -> tuple[str, BallotBox]:
    """For a ballot step's hook: the step and its closed box; `Invalid` at the step's note field until the box has
    been opened, voted and closed."""
    task = open_ballot_task(session, instance_id, procedure.steps)
    if task is None:  # a model bug: the hook is named by a ballot step's form only
        raise LookupError(f"instance {instance_id} is not at a ballot step")
    box = pending_box(session, instance_id, task.task_key, data)
    if box is None:
        raise Invalid(
            "the ballot of this step has not been held",
            [
                Problem(
                    "Open the ballot box of this step, hold the vote and close it first.",
                    field=_note_field(session, procedure, task),
                )
            ],
        )
    if box.is_open or box.tally is None:
        raise Invalid(
            "the ballot of this step is still open",
            [
                Problem(
                    "Close the ballot box (or enter the paper counts) first.",
                    field=_note_field(session, procedure, task),
                )
            ],
        )
    return task.task_key, box


def _note_field(session: Session, procedure: BallotProcedure, task: HumanTask) -> str:
    """The note field of the form the task shows, where a refusal points: the step's own key, or the shared
    `ballot_note` on the form of a version deployed before decision 0053 (an instance keeps its version's forms,
    while hooks are code: they name the current key)."""
    field = procedure.note_key(task.task_key)
    if field == SHARED_NOTE_KEY or not task.form_filename:
        return field
    forms = session.scalar(
        select(ProcessVersion.forms)
        .join(ProcessInstance, ProcessInstance.process_version_id == ProcessVersion.id)
        .where(ProcessInstance.id == task.instance_id)
    )
    text = (forms or {}).get(task.form_filename)
    fields = (json.loads(text).get("properties") or {}) if text else {}
    return SHARED_NOTE_KEY if field not in fields and SHARED_NOTE_KEY in fields else field
