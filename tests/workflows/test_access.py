"""`workflows.access.sees_task`: who may see a task, decided on facts already read (the completion's locked row)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from workflows.access import sees_task
from workflows.states import Role, TaskStatus

ME = 7
PROVINCE, DISTRICT, COMMUNE, OTHER_COMMUNE = 1, 2, 3, 4
COMMUNE_CHAIN = [PROVINCE, DISTRICT, COMMUNE]  # the commune and the units above it


@dataclass
class Task:
    status: str = TaskStatus.OPEN
    assignee_id: int | None = None
    closed_by_id: int | None = None
    candidate_role: str | None = None
    candidate_unit_id: int | None = None


@pytest.mark.parametrize(
    ("held", "task", "seen"),
    [
        ([], Task(assignee_id=ME), True),  # my own task
        ([], Task(status=TaskStatus.COMPLETED, assignee_id=99, closed_by_id=ME), True),  # I completed it
        ([], Task(assignee_id=99), False),  # a colleague's task
        ([(Role.SUPERVISOR, COMMUNE)], Task(candidate_role=Role.SUPERVISOR, candidate_unit_id=COMMUNE), True),
        # the group's role, held above the candidate unit, covers it
        ([(Role.SUPERVISOR, DISTRICT)], Task(candidate_role=Role.SUPERVISOR, candidate_unit_id=COMMUNE), True),
        # a group task I could have taken, once closed by someone else, is no longer mine to see …
        ([(Role.OFFICER, COMMUNE)], Task(candidate_role=Role.OFFICER, candidate_unit_id=COMMUNE), True),
        (
            [(Role.OFFICER, COMMUNE)],
            Task(status=TaskStatus.COMPLETED, candidate_role=Role.OFFICER, candidate_unit_id=COMMUNE, closed_by_id=9),
            False,
        ),
        # … but those who oversee the task's unit see it, open or closed, without being able to act on it
        ([(Role.AUDITOR, PROVINCE)], Task(status=TaskStatus.COMPLETED, assignee_id=99), True),
        ([(Role.PERSONNEL, DISTRICT)], Task(assignee_id=99), True),
        ([(Role.PERSONNEL, OTHER_COMMUNE)], Task(assignee_id=99), False),  # oversees another unit
        ([(Role.OFFICER, PROVINCE)], Task(assignee_id=99), False),  # an officer oversees nothing
    ],
)
def test_who_sees_a_task(held: list[tuple[str, int]], task: Task, seen: bool) -> None:
    candidate_chain = COMMUNE_CHAIN if task.candidate_unit_id == COMMUNE else []
    assert sees_task(ME, held, task, candidate_chain, COMMUNE_CHAIN) is seen


def test_a_task_without_a_unit_is_seen_only_by_those_it_names() -> None:
    task = Task(assignee_id=99)
    assert sees_task(ME, [(Role.ADMIN, PROVINCE)], task, [], []) is False
    assert sees_task(99, [], task, [], []) is True
