"""Handing open tasks to another person (decision 0078): the facts the rules of `workflows.rules.reassignment` decide
on, read from the database; the people a task may go to; a person's open tasks. The change itself is
`workflows.engine.operations.reassign_task`, which locks the task as a claim or a completion does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from workflows.access import ancestry, in_subtree, role_units, sees_task
from workflows.assignment import chain_of, unit_chain
from workflows.ballot_steps import procedure_for
from workflows.errors import Problem, too_long
from workflows.models import HumanTask, ProcessInstance
from workflows.registry.models import Cadre, OrgUnit, RoleAssignment, User
from workflows.rules.reassignment import Receiver, TaskFacts, can_reassign, receiver_refusal, transfer_refusal
from workflows.states import TaskStatus
from workflows.text import storable

REASON_LIMIT = 500
# The person picker lists at most this many people (a province's personnel body is far fewer).
MAX_RECEIVERS = 300


def is_ballot_step(process_id: str, task_key: str) -> bool:
    """A secret-ballot step of a procedure the application ships (`ballot_steps.procedure_for`)."""
    procedure = procedure_for(process_id)
    return procedure is not None and task_key in procedure.steps


def facts_of(
    session: Session,
    task: Any,
    *,
    process_id: str,
    subject_cadre_id: int | None,
    candidate_unit_chain: list[int] | None = None,
    unit_chain: list[int] | None = None,
) -> TaskFacts:
    """The rules' view of a task (a `HumanTask` row or the lock's `TaskSnapshot`) of a procedure; the chains when the
    caller read them with the task (the lock does), else read."""
    if candidate_unit_chain is None:
        candidate_unit_chain = ancestry(session, task.candidate_unit_id)
    if unit_chain is None:
        unit_chain = ancestry(session, task.unit_id)
    holder_cadre = None
    if task.candidate_role is None and task.assignee_id is not None and subject_cadre_id is not None:
        holder_cadre = session.scalar(select(User.cadre_id).where(User.id == task.assignee_id))
    return facts_read(task, process_id, subject_cadre_id, candidate_unit_chain, unit_chain, holder_cadre)


def facts_read(
    task: Any,
    process_id: str,
    subject_cadre_id: int | None,
    candidate_unit_chain: Sequence[int],
    unit_chain: Sequence[int],
    holder_cadre_id: int | None,
) -> TaskFacts:
    """`facts_of` on what was read already, the holder's cadre included: the subject's own step is the one the model
    gave a named person (no lane role) who is the procedure's own person."""
    subjects_own = (
        task.candidate_role is None
        and task.assignee_id is not None
        and subject_cadre_id is not None
        and holder_cadre_id == subject_cadre_id
    )
    return TaskFacts(
        status=task.status,
        assignee_id=task.assignee_id,
        candidate_role=task.candidate_role,
        candidate_unit_chain=tuple(candidate_unit_chain),
        unit_chain=tuple(unit_chain),
        subject_cadre_id=subject_cadre_id,
        is_ballot_step=is_ballot_step(process_id, task.task_key),
        is_subjects_own=subjects_own,
    )


def task_facts(session: Session, task: HumanTask) -> TaskFacts:
    subject = session.scalar(select(ProcessInstance.subject_cadre_id).where(ProcessInstance.id == task.instance_id))
    return facts_of(session, task, process_id=task.process_id, subject_cadre_id=subject)


def receiver_of(session: Session, user: User, unit_path: str | None = None) -> Receiver:
    if unit_path is None:
        unit_path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == user.unit_id))
    return Receiver(
        user_id=user.id,
        is_active=bool(user.is_active),
        cadre_id=user.cadre_id,
        role_units=tuple(role_units(user)),
        unit_chain=tuple(unit_chain(unit_path or "/", user.unit_id)),
    )


def may_reassign(session: Session, user: User, task: HumanTask) -> bool:
    """Whether the page offers "Giao lại" on this task to this person: they may, and the task may move."""
    facts = task_facts(session, task)
    return can_reassign(role_units(user), facts) and transfer_refusal(facts) is None


def clean_reason(raw: Any, problems: list[Problem]) -> str:
    reason = " ".join(storable(str(raw or "")).split())
    if not reason:
        problems.append(Problem("say why the task is handed on; it is recorded in the audit log", field="reason"))
    elif len(reason) > REASON_LIMIT:
        problems.append(too_long("reason", REASON_LIMIT))
    return reason


def eligible_receivers(session: Session, facts: TaskFacts, *, limit: int = MAX_RECEIVERS) -> list[User]:
    """The active people this task may go to (`receiver_refusal` says None for each), by name: those holding the
    lane's role over the unit where the step waits, or, for a step given to a named person, the people of its unit
    and the units below it."""
    if transfer_refusal(facts) is not None:
        return []
    return receivers_of_any(session, [facts], limit=limit)


def receivers_of_any(session: Session, tasks: Sequence[TaskFacts], *, limit: int = MAX_RECEIVERS) -> list[User]:
    """The active people at least one of the tasks (each one that may move) may go to, by name — in two statements
    however many tasks: the people, found for every task at once, then their roles (`selectinload`). The SQL finds
    each task's possible receivers as the rule says (the lane's role held over its candidate unit, or the step's unit
    and those below it); `receiver_refusal` then decides on each, in Python, as a single hand-on does."""
    home = aliased(OrgUnit)
    group_keys: set[tuple[str, tuple[int, ...]]] = set()
    roots: set[int] = set()
    for facts in tasks:
        if facts.candidate_role is not None:
            if facts.candidate_unit_chain:
                group_keys.add((facts.candidate_role, tuple(facts.candidate_unit_chain)))
        elif scope := (facts.unit_chain or facts.candidate_unit_chain):
            roots.add(scope[-1])
    found_by: list[ColumnElement[bool]] = [in_subtree(home, root) for root in sorted(roots)]
    if group_keys:
        holding = or_(
            *(
                and_(RoleAssignment.role == role, RoleAssignment.unit_id.in_(list(chain)))
                for role, chain in sorted(group_keys)
            )
        )
        found_by.append(User.id.in_(select(RoleAssignment.user_id).where(holding)))
    if not found_by:
        return []
    query = (
        select(User, home.path)
        .join(home, home.id == User.unit_id)
        .where(User.is_active, or_(*found_by))
        .options(selectinload(User.role_assignments))
        .order_by(User.full_name, User.username)
        .limit(limit * 2)  # room for the few the rules refuse (the holder, a procedure's own person)
    )
    found = []
    for user, path in session.execute(query).tuples():
        receiver = receiver_of(session, user, path)
        if any(receiver_refusal(facts, receiver) is None for facts in tasks):
            found.append(user)
        if len(found) >= limit:
            break
    return found


@dataclass(frozen=True)
class HeldTask:
    """An open task held by someone, as the account page lists it, with what the rules decide on (read with it)."""

    id: int
    name: str
    instance_id: int
    process_name: str
    subject_name: str | None
    subject_code: str | None
    unit_name: str | None
    due_dt: datetime | None
    opened_dt: datetime
    facts: TaskFacts


_candidate_unit = aliased(OrgUnit, name="candidate_unit")
_task_unit = aliased(OrgUnit, name="task_unit")
_holder = aliased(User, name="holder")


def open_tasks_of(session: Session, user_id: int, *, seen_by: User | None = None, limit: int = 200) -> list[HeldTask]:
    """The open tasks assigned to the person, oldest first (the account page lists them to hand them on), in one
    statement with each task's facts; with `seen_by`, only those that person may see (`access.sees_task`, the rule
    of `tasks.can_view`, on the facts read here: a task of a procedure outside their units is left out)."""
    rows = session.execute(
        select(
            HumanTask.id,
            HumanTask.name,
            HumanTask.instance_id,
            HumanTask.process_name,
            Cadre.full_name.label("subject_name"),
            Cadre.code.label("subject_code"),
            _task_unit.name.label("unit_name"),
            HumanTask.due_dt,
            HumanTask.opened_dt,
            HumanTask.status,
            HumanTask.assignee_id,
            HumanTask.closed_by_id,
            HumanTask.candidate_role,
            HumanTask.candidate_unit_id,
            HumanTask.unit_id,
            HumanTask.process_id,
            HumanTask.task_key,
            ProcessInstance.subject_cadre_id.label("instance_subject_id"),
            _candidate_unit.path.label("candidate_unit_path"),
            _task_unit.path.label("unit_path"),
            _holder.cadre_id.label("holder_cadre_id"),
        )
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .outerjoin(Cadre, Cadre.id == HumanTask.subject_cadre_id)
        .outerjoin(_task_unit, _task_unit.id == HumanTask.unit_id)
        .outerjoin(_candidate_unit, _candidate_unit.id == HumanTask.candidate_unit_id)
        .outerjoin(_holder, _holder.id == HumanTask.assignee_id)
        .where(HumanTask.assignee_id == user_id, HumanTask.status == TaskStatus.OPEN)
        .order_by(HumanTask.opened_dt, HumanTask.id)
        .limit(limit)
    ).all()
    seer = (seen_by.id, role_units(seen_by)) if seen_by is not None else None
    held = []
    for row in rows:
        candidate_chain = chain_of(row.candidate_unit_id, row.candidate_unit_path)
        chain = chain_of(row.unit_id, row.unit_path)
        if seer is not None and not sees_task(seer[0], seer[1], row, candidate_chain, chain):
            continue
        facts = facts_read(row, row.process_id, row.instance_subject_id, candidate_chain, chain, row.holder_cadre_id)
        held.append(
            HeldTask(
                id=row.id,
                name=row.name,
                instance_id=row.instance_id,
                process_name=row.process_name,
                subject_name=row.subject_name,
                subject_code=row.subject_code,
                unit_name=row.unit_name,
                due_dt=row.due_dt,
                opened_dt=row.opened_dt,
                facts=facts,
            )
        )
    return held


@dataclass(frozen=True)
class HandOnChoices:
    """What the account page offers for handing a person's tasks on: why a task can go to nobody at all (a
    secret-ballot step, the subject's own step) — said beside it instead of a hand-on every choice would refuse —,
    and the people at least one of the others may go to ("hand all to one person")."""

    unmovable: dict[int, str]
    receivers: list[User]


def hand_on_choices(session: Session, tasks: Sequence[HeldTask], *, limit: int = MAX_RECEIVERS) -> HandOnChoices:
    """On the facts `open_tasks_of` read with the tasks: two statements for the receivers, however many tasks."""
    unmovable = {task.id: why for task in tasks if (why := transfer_refusal(task.facts)) is not None}
    movable = [task.facts for task in tasks if task.id not in unmovable]
    return HandOnChoices(unmovable, receivers_of_any(session, movable, limit=limit) if movable else [])


__all__ = [
    "REASON_LIMIT",
    "HandOnChoices",
    "HeldTask",
    "clean_reason",
    "eligible_receivers",
    "facts_of",
    "facts_read",
    "hand_on_choices",
    "is_ballot_step",
    "may_reassign",
    "open_tasks_of",
    "receiver_of",
    "receivers_of_any",
    "task_facts",
]
