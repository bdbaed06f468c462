"""Nobody reviews, approves or decides their own case (decision 0133): the step a role takes is never the subject's.

`supervisor1` is a direct manager of Xã An Phú (with `head1`, who holds that role there too) and also a cadre
(CB0003) whose own procedures run in that unit.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.assignment import (
    ONLY_THE_SUBJECT,
    OWN_CASE,
    Assignment,
    AssignmentContext,
    LaneRule,
    can_act_on_task,
    leader_above,
    resolve_assignment,
    roles_named,
)
from workflows.db import transaction
from workflows.engine import operations
from workflows.errors import NotAllowed
from workflows.inbox import InboxFilters, inbox_page
from workflows.navigation import menu_facts
from workflows.registry.models import RoleAssignment, User
from workflows.states import InstanceStatus, Role

REQUEST = {"subject_line": "Xin cấp kinh phí công tác", "amount": 50_000_000}


def _own_request(driver: WorkflowDriver) -> int:
    """supervisor1's own request, filed by him: its approval is the step a direct manager takes."""
    instance_id = driver.start("sample_approval", as_user="personnel1", subject="CB0003")
    driver.complete("supervisor1", driver.task(instance_id, "submit_request").id, REQUEST)
    return instance_id


def _he_alone_manages(driver: WorkflowDriver, demo_users: dict) -> None:
    """The demo's head1 also holds the direct manager's role in Xã An Phú; without it, supervisor1 alone does."""
    with driver.session_factory() as s, transaction(s):
        held = s.scalars(
            select(RoleAssignment).where(
                RoleAssignment.user_id == demo_users["head1"].id, RoleAssignment.role == Role.SUPERVISOR
            )
        ).one()
        s.delete(held)


def _group_inbox_ids(driver: WorkflowDriver, username: str) -> set[int]:
    with driver.session_factory() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        page = inbox_page(s, user, InboxFilters(scope="group", per_page=100))
        return {row.task_id for row in page.rows}


def _group_count(driver: WorkflowDriver, username: str) -> int:
    with driver.session_factory() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        return menu_facts(s, user).group


def test_the_only_manager_s_own_request_goes_to_the_unit_s_head(driver: WorkflowDriver, demo_users: dict) -> None:
    _he_alone_manages(driver, demo_users)
    instance_id = _own_request(driver)
    review = driver.task(instance_id, "review_request")
    assert review.lane == "Lãnh đạo trực tiếp"
    assert (review.candidate_role, review.candidate_unit_id) == (Role.HEAD, demo_users["supervisor1"].unit_id)
    assert review.assignment_problem is None
    assert review.id not in _group_inbox_ids(driver, "supervisor1")
    assert review.id in _group_inbox_ids(driver, "head1")

    with pytest.raises(NotAllowed):
        driver.complete("supervisor1", review.id, {"decision": "approve", "comment": "Tự duyệt"})
    instance = driver.complete("head1", review.id, {"decision": "approve", "comment": "Đồng ý"})
    assert instance.status == InstanceStatus.COMPLETED


def test_with_another_manager_the_step_stays_with_the_role_but_not_for_him(
    driver: WorkflowDriver, demo_users: dict
) -> None:
    before = _group_count(driver, "supervisor1")
    instance_id = _own_request(driver)
    review = driver.task(instance_id, "review_request")
    assert review.candidate_role == Role.SUPERVISOR

    assert review.id not in _group_inbox_ids(driver, "supervisor1")
    assert _group_count(driver, "supervisor1") == before
    assert review.id in _group_inbox_ids(driver, "head1")  # who holds the direct manager's role there too
    with driver.session_factory() as s:
        supervisor = s.get(User, demo_users["supervisor1"].id)
        assert supervisor is not None
        with pytest.raises(NotAllowed) as refused, transaction(s):
            operations.claim_task(s, actor=supervisor, task_id=review.id)
        assert refused.value.message == OWN_CASE
    assert driver.task(instance_id, "review_request").assignee_id is None

    driver.complete("head1", review.id, {"decision": "approve", "comment": "Đồng ý"})
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED


def test_a_step_he_took_before_is_still_not_his_to_complete(driver: WorkflowDriver, demo_users: dict) -> None:
    """A claim recorded before this rule (or by any other path) does not let the subject act on his own case."""
    instance_id = _own_request(driver)
    review = driver.task(instance_id, "review_request")
    with driver.session_factory() as s, transaction(s):
        task = s.get(type(review), review.id)
        assert task is not None
        task.candidate_role, task.assignee_id = Role.SUPERVISOR, demo_users["supervisor1"].id
    with pytest.raises(NotAllowed):
        driver.complete("supervisor1", review.id, {"decision": "approve", "comment": "Tự duyệt"})
    assert driver.instance(instance_id).status == InstanceStatus.RUNNING


class _Task:
    def __init__(self, role: str | None, assignee_id: int | None = None, unit_id: int | None = 7) -> None:
        self.candidate_role, self.assignee_id, self.candidate_unit_id = role, assignee_id, unit_id


@pytest.mark.parametrize(
    ("task", "user_cadre", "subject", "allowed"),
    [
        (_Task(Role.SUPERVISOR), 3, 3, False),  # a group step of his own case
        (_Task(Role.SUPERVISOR, assignee_id=1), 3, 3, False),  # taken by him: still his own case
        (_Task(Role.SUPERVISOR), 3, 4, True),  # someone else's case
        (_Task(Role.SUPERVISOR), None, 3, True),  # a person without a cadre record
        (_Task(None, assignee_id=1, unit_id=None), 3, 3, True),  # the subject's own step ("Cán bộ")
    ],
)
def test_can_act_on_task_refuses_the_subject_only_on_role_steps(
    task: _Task, user_cadre: int | None, subject: int, allowed: bool
) -> None:
    held = [(Role.SUPERVISOR, 7)]
    assert can_act_on_task(1, held, task, [1, 7], user_cadre_id=user_cadre, subject_cadre_id=subject) is allowed


def test_who_leads_each_role() -> None:
    assert leader_above(Role.SUPERVISOR, [1, 7]) == (Role.HEAD, 7)
    assert leader_above(Role.HEAD, [1, 7]) == (Role.HEAD, 1)
    assert leader_above(Role.HEAD, [1]) is None  # the province's head has nobody above in the tree
    assert leader_above(Role.PERSONNEL, [1, 7]) is None


class _Context:
    """What `resolve_assignment` reads, with the holders given: {(role, unit): (subject holds, others hold)}."""

    subject_cadre_id = 3
    unit_id = 7

    def __init__(self, holders: dict[tuple[str, int], tuple[bool, bool]]) -> None:
        self.holders = holders

    def only_the_subject_holds(self, role: str, unit_id: int) -> bool:
        subject_holds, others_hold = self.holders.get((role, unit_id), (False, True))
        return subject_holds and not others_hold

    def unit_chain_of(self, unit_id: int) -> list[int]:
        return {7: [1, 7], 1: [1]}[unit_id]


def _resolve(holders: dict[tuple[str, int], tuple[bool, bool]], lane: str) -> Assignment:
    rules = {"Lãnh đạo trực tiếp": LaneRule(Role.SUPERVISOR), "Ban Tổ chức": LaneRule(Role.PERSONNEL)}
    context: Any = _Context(holders)
    return resolve_assignment(context, lane, {}, rules)


def test_a_step_climbs_past_every_level_only_the_subject_holds() -> None:
    only_him = (True, False)
    climbed = _resolve({(Role.SUPERVISOR, 7): only_him, (Role.HEAD, 7): only_him}, "Lãnh đạo trực tiếp")
    assert (climbed.candidate_role, climbed.candidate_unit_id, climbed.problem) == (Role.HEAD, 1, None)


def test_a_role_nobody_leads_is_flagged_when_only_the_subject_holds_it() -> None:
    flagged = _resolve({(Role.PERSONNEL, 7): (True, False)}, "Ban Tổ chức")
    assert (flagged.candidate_role, flagged.candidate_unit_id) == (Role.PERSONNEL, 7)
    assert flagged.problem == ONLY_THE_SUBJECT


def test_roles_named_reads_the_aggregate_of_role_rows() -> None:
    assert roles_named("officer,supervisor") == {Role.OFFICER, Role.SUPERVISOR}
    assert roles_named(None) == frozenset()  # no account, or one without a role
    assert roles_named("") == frozenset()


def test_a_role_the_subject_holds_nowhere_asks_the_database_nothing() -> None:
    """Most cadres hold only the officer's role: a step for a manager opening in their case costs no statement
    (the completion read their roles with its lock). The session here would fail at any query."""
    instance = SimpleNamespace(subject_cadre_id=3, unit_id=7)
    context = AssignmentContext(
        cast(Session, None), instance, subject_user_id=5, unit_ancestors=[1], subject_roles=frozenset({Role.OFFICER})
    )
    assert context.only_the_subject_holds(Role.SUPERVISOR, 7) is False
    assert context.only_the_subject_holds(Role.HEAD, 1) is False
