"""Handing an open task to another person (decision 0078): who may do it, which tasks may move, who may receive one.

Pure functions of plain data: nothing reads the database or the clock. Sources:
- The personnel body (Ban Tổ chức) runs the personnel procedures and the administrators operate the system in their
  units: they, over the task's unit, hand a step on when its holder cannot act (left, on leave, deactivated —
  decision 0074). Which body acts at each step is the model's lane (domain rules §2); the rule below keeps the
  receiver inside that lane: the role the step's lane requires, held over the unit where the step waits.
- A secret-ballot step is the conference's own (NĐ 170/2025/NĐ-CP Điều 33; domain rules §3.4, §7): the vote belongs
  to the members of the voting body and the box to those who summoned them, so no one hands it to another person.
- A step of the person the procedure is about (their self-assessment, their statement) is theirs alone (NĐ 335/2025
  on the monthly evaluation: the cadre assesses themself); nor does anyone take a step of a procedure about
  themself (the conflict of interest `rules.ballots.is_own_ballot` keeps out of the ballots).

Messages are English msgids, translated at display time (decision 0008).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workflows.assignment import holds_role_over
from workflows.errors import N_
from workflows.states import Role, TaskStatus

__all__ = [
    "REASSIGNING_ROLES",
    "Receiver",
    "TaskFacts",
    "can_reassign",
    "can_receive",
    "receiver_refusal",
    "transfer_refusal",
]

# Who hands a step on: the personnel body and the administrators, over the task's unit (a role covers its subtree).
REASSIGNING_ROLES = (Role.PERSONNEL, Role.ADMIN)

TASK_CLOSED = N_("this task is already closed (completed or cancelled); only an open task can be handed on")
BALLOT_STEP = N_(
    "this is a secret-ballot step: the vote belongs to the members of the voting body, so it cannot be handed to "
    "another person"
)
SUBJECTS_OWN = N_(
    "this step belongs to the person the procedure is about (their own assessment or statement); it cannot be "
    "handed to another person"
)
INACTIVE = N_("this account is deactivated; choose an active person")
ALREADY_HOLDS = N_("the task is already with this person")
IS_SUBJECT = N_("the person the procedure is about cannot take a step of it")
LACKS_ROLE = N_("this person does not hold the role this step requires in the unit where it waits")
OUTSIDE_UNIT = N_("this person works outside the unit of this step")


@dataclass(frozen=True)
class TaskFacts:
    """What the rules need of a task: its state and holder, the lane's role and where it waits, and what it is."""

    status: str
    assignee_id: int | None
    candidate_role: str | None
    # The candidate unit and those above it; the task's unit and those above it (where its overseers hold roles).
    candidate_unit_chain: Sequence[int]
    unit_chain: Sequence[int]
    subject_cadre_id: int | None
    is_ballot_step: bool
    # The step the model gave the procedure's own person (lane "Cán bộ"): the assignee is the subject's account.
    is_subjects_own: bool


@dataclass(frozen=True)
class Receiver:
    """The person a task would go to: their account, their cadre record, their roles and their unit's ancestry."""

    user_id: int
    is_active: bool
    cadre_id: int | None
    role_units: tuple[tuple[str, int], ...]
    unit_chain: Sequence[int]  # their own unit and those above it


def _scope(task: TaskFacts) -> Sequence[int]:
    return task.unit_chain or task.candidate_unit_chain


def can_reassign(actor_role_units: Iterable[tuple[str, int]], task: TaskFacts) -> bool:
    """May this person hand the task on at all: personnel or administrator over the task's unit."""
    held = list(actor_role_units)
    scope = list(_scope(task))
    return bool(scope) and any(holds_role_over(held, role, scope) for role in REASSIGNING_ROLES)


def transfer_refusal(task: TaskFacts) -> str | None:
    """Why this task cannot move to anyone (whoever asks), or None."""
    if task.status != TaskStatus.OPEN:
        return TASK_CLOSED
    if task.is_ballot_step:
        return BALLOT_STEP
    if task.is_subjects_own:
        return SUBJECTS_OWN
    return None


def receiver_refusal(task: TaskFacts, receiver: Receiver) -> str | None:
    """Why this person cannot receive this task, or None. A step of a group (the lane names a role) goes to someone
    holding that role over the unit where it waits — the people who could have taken it from the group; a step the
    model gave a named person goes to someone of its unit or below."""
    if not receiver.is_active:
        return INACTIVE
    if task.assignee_id == receiver.user_id:
        return ALREADY_HOLDS
    if receiver.cadre_id is not None and receiver.cadre_id == task.subject_cadre_id:
        return IS_SUBJECT
    if task.candidate_role is not None:
        if not task.candidate_unit_chain or not holds_role_over(
            receiver.role_units, task.candidate_role, list(task.candidate_unit_chain)
        ):
            return LACKS_ROLE
        return None
    unit = _scope(task)
    if not unit or unit[-1] not in receiver.unit_chain:
        return OUTSIDE_UNIT
    return None


def can_receive(task: TaskFacts, receiver: Receiver) -> bool:
    return transfer_refusal(task) is None and receiver_refusal(task, receiver) is None
