"""Handing open tasks to another person (decision 0078): the facts the rules of `workflows.rules.reassignment` decide
on, read from the database; the people a task may go to; a person's open tasks. The change itself is
`workflows.engine.operations.reassign_task`, which locks the task as a claim or a completion does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from workflows.access import ancestry, in_subtree, role_units
from workflows.assignment import unit_chain
from workflows.ballot_steps import procedure_for
from workflows.errors import Problem
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
    subjects_own = False
    if task.candidate_role is None and task.assignee_id is not None and subject_cadre_id is not None:
        holder_cadre = session.scalar(select(User.cadre_id).where(User.id == task.assignee_id))
        subjects_own = holder_cadre == subject_cadre_id
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
        problems.append(Problem("the reason is too long (at most 500 characters)", field="reason"))
    return reason


def eligible_receivers(session: Session, facts: TaskFacts, *, limit: int = MAX_RECEIVERS) -> list[User]:
    """The active people this task may go to (`receiver_refusal` says None for each), by name: those holding the
    lane's role over the unit where the step waits, or, for a step given to a named person, the people of its unit
    and the units below it."""
    if transfer_refusal(facts) is not None:
        return []
    home = aliased(OrgUnit)
    query = select(User, home.path).join(home, home.id == User.unit_id).where(User.is_active)
    if facts.candidate_role is not None:
        if not facts.candidate_unit_chain:
            return []
        holders = select(RoleAssignment.user_id).where(
            RoleAssignment.role == facts.candidate_role,
            RoleAssignment.unit_id.in_(list(facts.candidate_unit_chain)),
        )
        query = query.where(User.id.in_(holders))
    else:
        scope = facts.unit_chain or facts.candidate_unit_chain
        if not scope:
            return []
        query = query.where(in_subtree(home, scope[-1]))
    found = []
    for user, path in session.execute(query.order_by(User.full_name, User.username).limit(limit * 2)).tuples():
        if receiver_refusal(facts, receiver_of(session, user, path)) is None:
            found.append(user)
        if len(found) >= limit:
            break
    return found


@dataclass(frozen=True)
class HeldTask:
    """An open task held by someone, as the account page lists it."""

    id: int
    name: str
    instance_id: int
    process_name: str
    subject_name: str | None
    subject_code: str | None
    unit_name: str | None
    due_dt: datetime | None
    opened_dt: datetime


def open_tasks_of(session: Session, user_id: int, *, limit: int = 200) -> list[HeldTask]:
    """The open tasks assigned to the person, oldest first (the account page lists them to hand them on)."""
    unit = aliased(OrgUnit)
    rows = session.execute(
        select(
            HumanTask.id,
            HumanTask.name,
            HumanTask.instance_id,
            HumanTask.process_name,
            Cadre.full_name,
            Cadre.code,
            unit.name,
            HumanTask.due_dt,
            HumanTask.opened_dt,
        )
        .outerjoin(Cadre, Cadre.id == HumanTask.subject_cadre_id)
        .outerjoin(unit, unit.id == HumanTask.unit_id)
        .where(HumanTask.assignee_id == user_id, HumanTask.status == TaskStatus.OPEN)
        .order_by(HumanTask.opened_dt, HumanTask.id)
        .limit(limit)
    ).tuples()
    return [HeldTask(*row) for row in rows]


@dataclass(frozen=True)
class HandOnChoices:
    """What the account page offers for handing a person's tasks on, each task's facts read once: why a task can go
    to nobody at all (a secret-ballot step, the subject's own step) — said beside it instead of a hand-on every
    choice would refuse —, and the people at least one of the others may go to ("hand all to one person")."""

    unmovable: dict[int, str]
    receivers: list[User]


def hand_on_choices(session: Session, task_ids: Iterable[int], *, limit: int = MAX_RECEIVERS) -> HandOnChoices:
    unmovable: dict[int, str] = {}
    seen: dict[int, User] = {}
    for task in session.scalars(select(HumanTask).where(HumanTask.id.in_(list(task_ids)))):
        facts = task_facts(session, task)
        why = transfer_refusal(facts)
        if why is not None:
            unmovable[task.id] = why
            continue
        for user in eligible_receivers(session, facts, limit=limit):
            seen.setdefault(user.id, user)
    receivers = sorted(seen.values(), key=lambda user: (user.full_name, user.username))[:limit]
    return HandOnChoices(unmovable, receivers)


__all__ = [
    "REASON_LIMIT",
    "HandOnChoices",
    "HeldTask",
    "clean_reason",
    "eligible_receivers",
    "facts_of",
    "hand_on_choices",
    "is_ballot_step",
    "may_reassign",
    "open_tasks_of",
    "receiver_of",
    "task_facts",
]
