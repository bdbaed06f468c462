"""The ballot box of the step an appointment is at.

A ballot step is a user task of the secretary (personnel body) named in `steps.STEPS`. While it is open, the secretary
opens the step's box here (the electors and mode are theirs to choose; the question, candidates, rules and whether
slips may be signed come from the step and the procedure's data), runs the vote on the ballot pages
(workflows/ballots.py) and closes it. Completing the task is refused until the box is closed; the form hook then
copies the tally — never a ballot — into the task data.

One box per activation of a step: a box already opened for it (open, or closed and not yet taken into the data)
refuses a second one, so a result cannot be voted again until it suits. A missed quorum routes back to the step,
which then takes a new box.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.appointment import PROCESS_ID
from workflows.appointment.steps import STEPS, VotingUnit, result_line, tally_key
from workflows.ballots import Candidate, open_box
from workflows.engine.runtime import ProcessEngine
from workflows.errors import Conflict, Invalid, NotFound, Problem
from workflows.models import BallotBox, BallotMode, HumanTask, ProcessInstance
from workflows.registry.models import Cadre, User
from workflows.states import InstanceStatus, TaskStatus

USED_BOXES = "ballot_boxes_used"


@dataclass(frozen=True)
class OpenStep:
    instance: ProcessInstance
    task: HumanTask
    step: str
    data: Mapping[str, Any]


def open_ballot_task(session: Session, instance_id: int) -> HumanTask | None:
    """The open ballot task of an appointment, if it is at one (ballot steps never run in parallel)."""
    return session.scalar(
        select(HumanTask).where(
            HumanTask.instance_id == instance_id,
            HumanTask.status == TaskStatus.OPEN,
            HumanTask.task_key.in_(list(STEPS)),
        )
    )


def current_step(session: Session, engine: ProcessEngine, instance_id: int) -> OpenStep:
    instance = session.get(ProcessInstance, instance_id)
    if instance is None or instance.process_id != PROCESS_ID:
        raise NotFound(f"appointment {instance_id} does not exist")
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict("The procedure is no longer running.")
    task = open_ballot_task(session, instance.id)
    if task is None:
        raise Conflict("The procedure is not at a ballot step.")
    definition = engine.definition(session, instance.process_version_id)
    workflow = engine.load(definition, instance)
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    return OpenStep(instance, task, task.task_key, dict(spiff_task.data))


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


def _candidates(session: Session, step: str, data: Mapping[str, Any], more_codes: Sequence[str]) -> list[Candidate]:
    nominees = [Candidate(str(n["key"]), str(n["name"])) for n in data.get("nominees") or []]
    codes = [code.strip() for code in more_codes if code.strip()]
    if codes and not STEPS[step].accepts_more_candidates:
        raise Invalid(
            "The ballot cannot be opened.",
            [Problem("This step votes only on the nominees of the previous steps.", field="more_candidates")],
        )
    known = {c.key for c in nominees}
    problems = []
    for code in codes:
        cadre = session.scalar(select(Cadre).where(Cadre.code == code, Cadre.is_active))
        if cadre is None:
            problems.append(Problem("No active cadre has this code.", field=f"more_candidates:{code}"))
        elif cadre.code not in known:
            nominees.append(Candidate(cadre.code, cadre.full_name))
            known.add(cadre.code)
    if problems:
        raise Invalid("The ballot cannot be opened.", problems)
    return nominees


def _question(step: str, data: Mapping[str, Any]) -> str:
    config = STEPS[step]
    question = config.question.format(position=data.get("target_position_title") or "")
    shown = config.shows_result_of
    if shown:
        earlier = data.get(tally_key(shown))
        if earlier:
            names = {str(n["key"]): str(n["name"]) for n in data.get("candidate_names") or []}
            question += f". Kết quả hội nghị trước: {result_line(earlier, names)}"
    return question


def open_step_ballot(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User,
    instance_id: int,
    elector_ids: Iterable[int],
    members_count: int,
    mode: str = BallotMode.ONLINE,
    more_candidates: Sequence[str] = (),
) -> BallotBox:
    """Open the box of the ballot step the appointment is at. Refused (nothing written) when the procedure is not at
    a ballot step, when this step already has a box not yet taken into the data, or by `ballots.open_box`."""
    current = current_step(session, engine, instance_id)
    step = current.step
    if pending_box(session, current.instance.id, step, current.data) is not None:
        raise Conflict("A ballot for this step is already open or counted; complete the step with its result.")
    config = STEPS[step]
    unit_id = current.data.get("cadre_unit_id") if config.voting_unit == VotingUnit.CADRE else None
    return open_box(
        session,
        actor=actor,
        instance_id=current.instance.id,
        step_key=step,
        question=_question(step, current.data),
        candidates=_candidates(session, step, current.data, more_candidates),
        elector_ids=elector_ids,
        members_count=members_count,
        rules=config.rules,
        mode=mode,
        unit_id=unit_id,
        is_signable=config.is_signable,
    )
