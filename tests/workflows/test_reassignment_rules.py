"""Who may hand a task on, which tasks may move and who may receive one (workflows/rules/reassignment.py), state by
state: pure functions of plain data."""

from __future__ import annotations

from dataclasses import replace

import pytest

from workflows.rules.reassignment import (
    ALREADY_HOLDS,
    BALLOT_STEP,
    INACTIVE,
    IS_SUBJECT,
    LACKS_ROLE,
    OUTSIDE_UNIT,
    SUBJECTS_OWN,
    TASK_CLOSED,
    Receiver,
    TaskFacts,
    can_reassign,
    can_receive,
    receiver_refusal,
    transfer_refusal,
)

PROVINCE, COMMUNE, OTHER_COMMUNE = 1, 7, 8
# A supervisor's group step waiting in the commune (7, under the province 1), held now by user 10.
GROUP_STEP = TaskFacts(
    status="open",
    assignee_id=10,
    candidate_role="supervisor",
    candidate_unit_chain=(PROVINCE, COMMUNE),
    unit_chain=(PROVINCE, COMMUNE),
    subject_cadre_id=500,
    is_ballot_step=False,
    is_subjects_own=False,
)
NAMED_STEP = replace(GROUP_STEP, candidate_role=None, candidate_unit_chain=())


def _person(
    user_id: int = 20, *, roles: tuple[tuple[str, int], ...] = (("supervisor", COMMUNE),), **kw: object
) -> Receiver:
    values: dict[str, object] = {"is_active": True, "cadre_id": None, "unit_chain": (PROVINCE, COMMUNE)} | kw
    return Receiver(user_id=user_id, role_units=roles, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("held", "allowed"),
    [
        ([("personnel", PROVINCE)], True),  # the provincial personnel body covers the commune
        ([("admin", PROVINCE)], True),
        ([("admin", COMMUNE)], True),
        ([("personnel", OTHER_COMMUNE)], False),  # another commune's
        ([("admin", OTHER_COMMUNE)], False),
        ([("supervisor", COMMUNE), ("head", COMMUNE)], False),  # the step's own people take it, they do not give it
        ([("auditor", PROVINCE)], False),  # inspectors change nothing
        ([], False),
    ],
)
def test_who_may_hand_a_step_on(held: list[tuple[str, int]], allowed: bool) -> None:
    assert can_reassign(held, GROUP_STEP) is allowed


def test_a_task_without_any_unit_cannot_be_handed_on_by_anyone() -> None:
    nowhere = replace(GROUP_STEP, candidate_unit_chain=(), unit_chain=())
    assert not can_reassign([("admin", PROVINCE)], nowhere)


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({}, None),
        ({"status": "completed"}, TASK_CLOSED),
        ({"status": "cancelled"}, TASK_CLOSED),
        ({"is_ballot_step": True}, BALLOT_STEP),
        ({"is_subjects_own": True}, SUBJECTS_OWN),
        ({"status": "completed", "is_ballot_step": True}, TASK_CLOSED),  # closed says it all
    ],
)
def test_which_tasks_may_move(changes: dict[str, object], refusal: str | None) -> None:
    assert transfer_refusal(replace(GROUP_STEP, **changes)) == refusal  # type: ignore[arg-type]


def test_a_ballot_step_is_refused_in_words_that_say_the_vote_is_the_members() -> None:
    assert "secret-ballot" in BALLOT_STEP and "members of the voting body" in BALLOT_STEP
    assert not can_receive(replace(GROUP_STEP, is_ballot_step=True), _person())


@pytest.mark.parametrize(
    ("task", "receiver", "refusal"),
    [
        (GROUP_STEP, _person(), None),
        (GROUP_STEP, _person(roles=(("supervisor", PROVINCE),)), None),  # a role above covers the commune
        (GROUP_STEP, _person(is_active=False), INACTIVE),
        (GROUP_STEP, _person(10), ALREADY_HOLDS),
        (GROUP_STEP, _person(cadre_id=500), IS_SUBJECT),  # not a step of one's own case
        (GROUP_STEP, _person(roles=(("head", COMMUNE),)), LACKS_ROLE),  # another role
        (GROUP_STEP, _person(roles=(("supervisor", OTHER_COMMUNE),)), LACKS_ROLE),  # the role elsewhere
        (GROUP_STEP, _person(roles=()), LACKS_ROLE),
        (replace(GROUP_STEP, assignee_id=None), _person(), None),  # a group step nobody took yet
        (NAMED_STEP, _person(roles=()), None),  # a named step: someone of its unit
        (NAMED_STEP, _person(roles=(), unit_chain=(PROVINCE, COMMUNE, 30)), None),  # or below it
        (NAMED_STEP, _person(roles=(), unit_chain=(PROVINCE, OTHER_COMMUNE)), OUTSIDE_UNIT),
        (NAMED_STEP, _person(roles=(), unit_chain=(PROVINCE,)), OUTSIDE_UNIT),  # the province is not the commune
    ],
)
def test_who_may_receive(task: TaskFacts, receiver: Receiver, refusal: str | None) -> None:
    assert receiver_refusal(task, receiver) == refusal
    assert can_receive(task, receiver) is (refusal is None)
