"""The planning review run by the real engine through the service and the task completions: the variants route
as the model says, the nomination rules refuse again at the approval when the registry changed, a nomination
below the collective's threshold leaves the list, a missed quorum holds the conference again, a refused review
writes nothing on the records. Refusals change nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.ballots import user
from tests.fixtures.deadlines import end_of_working_day
from tests.fixtures.inspection import assert_every_export_verifies
from tests.fixtures.planning import (
    CHAIR_PLANNED,
    FOURTH,
    NEW_SECRETARY,
    NEW_VICE,
    NEW_VICE_2,
    TERM,
    setup_planning,
)
from tests.fixtures.statements import statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import ballots, clock
from workflows.appointment.service import start_appointment
from workflows.audit import verify_chains
from workflows.ballot_steps import open_step_ballot
from workflows.db import transaction
from workflows.engine import runtime
from workflows.errors import Conflict, Invalid, NotAllowed
from workflows.inbox import InboxFilters, inbox_page
from workflows.models import ProcessInstance
from workflows.planning.ballots import PLANNING_BALLOTS
from workflows.planning.service import start_planning
from workflows.registry.models import Cadre, OrgUnit, PlanningEntry, PlanningStatus, Position
from workflows.registry.records import add_planning_entry, local_today
from workflows.rules.planning import PlanningPolicy
from workflows.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from workflows.states import InstanceStatus, Role


@pytest.fixture
def world(driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_planning(session_factory)


def _start(driver: WorkflowDriver, variant: str = "term", unit: str = "X001", by: str = "personnel1") -> int:
    with driver.session_factory() as s, transaction(s):
        return start_planning(s, driver.engine, actor=user(s, by), unit_code=unit, term=TERM, variant=variant).id


def _do(driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict[str, Any]) -> None:
    driver.complete(username, driver.task(instance_id, key).id, data)


def _ballot(driver: WorkflowDriver, instance_id: int, members: dict[str, int], marks: dict[str, str] | None = None,
            present: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Open the step's box for every member, `present` of them attend, each votes yes (or `marks` by candidate)."""
    ids = list(members.values())
    with driver.session_factory() as s, transaction(s):
        box = open_step_ballot(
            s, driver.engine, PLANNING_BALLOTS, actor=user(s, "personnel1"), instance_id=instance_id,
            elector_ids=ids, members_count=len(ids),
        )  # fmt: skip
        box_id, keys = box.id, [c["key"] for c in box.candidates]
    attending = ids[: present if present is not None else len(ids)]
    with driver.session_factory() as s, transaction(s):
        ballots.mark_attendance(s, actor=user(s, "personnel1"), box_id=box_id, present_ids=attending)
    for username, user_id in members.items():
        if user_id not in attending:
            continue
        with driver.session_factory() as s, transaction(s):
            contents = {key: (marks or {}).get(key, "yes") for key in keys}
            ballots.cast_ballot(s, voter=user(s, username), box_id=box_id, contents=contents)
    with driver.session_factory() as s, transaction(s):
        return ballots.close_box(s, actor=user(s, "personnel1"), box_id=box_id).to_json()


def _to_nominations(driver: WorkflowDriver, instance_id: int, world: dict[str, Any]) -> None:
    frame = [{"position_id": world[name]} for name in ("chair", "vice", "secretary", "department")]
    _do(driver, instance_id, "review_frame", "personnel1", {"frame_titles": frame})
    _do(driver, instance_id, "approve_frame", "head1", {"frame_decision": "approve"})


def _entries(session_factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with session_factory() as s:
        return list(s.execute(select(PlanningEntry.id, PlanningEntry.status).order_by(PlanningEntry.id)).all())


def _nominate(driver: WorkflowDriver, instance_id: int, world: dict[str, Any], rows: list[tuple[str, str]]) -> None:
    data = {"nominations": [{"cadre_code": code, "position_id": world[post]} for code, post in rows]}
    _do(driver, instance_id, "nominate", "personnel1", data)


def test_the_plan_of_a_new_term_starts_at_the_frame_and_a_returned_frame_comes_back(
    driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    instance_id = _start(driver, "term")
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["review_frame"]
    with pytest.raises(Invalid) as refused:
        _do(driver, instance_id, "review_frame", "personnel1",
            {"frame_titles": [{"position_id": world["vice"]}, {"position_id": world["vice"]}]})  # fmt: skip
    assert [p.field for p in refused.value.problems] == ["frame_titles.1.position_id"]
    _do(driver, instance_id, "review_frame", "personnel1", {"frame_titles": [{"position_id": world["vice"]}]})
    with pytest.raises(Invalid):
        _do(driver, instance_id, "approve_frame", "head1", {"frame_decision": "return"})
    _do(driver, instance_id, "approve_frame", "head1", {"frame_decision": "return", "frame_comment": "Thêm chức danh"})
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["review_frame"]


def test_a_refused_cell_is_reported_with_the_rows_rules_and_skips_only_its_own(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """A cell of the wrong type (the schema's), a title listed twice, an unknown cadre, a title already full (the
    hook's rules): every problem of the list at once, each on its cell; the row whose title was refused is checked
    by no rule that needs its title."""
    instance_id = _start(driver, "term")
    with pytest.raises(Invalid) as refused:
        _do(driver, instance_id, "review_frame", "personnel1", {"frame_titles": [
            {"position_id": "phó chủ tịch"}, {"position_id": world["vice"]}, {"position_id": world["vice"]},
        ]})  # fmt: skip
    assert sorted(p.field or "" for p in refused.value.problems) == [
        "frame_titles.0.position_id",
        "frame_titles.2.position_id",
    ]
    _to_nominations(driver, instance_id, world)
    before = _entries(session_factory)
    rows = [
        {"cadre_code": "KHONGCO", "position_id": world["vice"]},
        {"cadre_code": FOURTH, "position_id": world["chair"]},  # the chair's plan holds three already
        {"cadre_code": NEW_VICE, "position_id": "phó chủ tịch"},
    ]
    with pytest.raises(Invalid) as refused:
        _do(driver, instance_id, "nominate", "personnel1", {"nominations": rows})
    assert sorted(p.field or "" for p in refused.value.problems) == [
        "nominations.0.cadre_code",
        "nominations.1.cadre_code",
        "nominations.2.position_id",
    ]
    assert _entries(session_factory) == before
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["nominate"]


def test_a_step_for_the_provinces_personnel_board_reuses_the_unit_ancestry_the_lock_read(
    driver: WorkflowDriver, world: dict[str, Any], db_engine: Engine
) -> None:
    """The nomination after the frame's approval lies with the personnel board of the top unit: found from the
    ancestry the completion's locking read already holds, not by reading the unit again."""
    instance_id = _start(driver, "term")
    frame = [{"position_id": world[name]} for name in ("chair", "vice", "secretary", "department")]
    _do(driver, instance_id, "review_frame", "personnel1", {"frame_titles": frame})

    with statements_sent(db_engine) as sent:
        _do(driver, instance_id, "approve_frame", "head1", {"frame_decision": "approve"})

    (nominate,) = driver.open_tasks(instance_id)
    with driver.session_factory() as s:
        province = s.scalar(select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)))
    assert (nominate.task_key, nominate.candidate_role, nominate.candidate_unit_id) == (
        "nominate",
        Role.PERSONNEL,
        province,
    )
    unit_reads = [s for s in sent.statements if " ".join(s.split()).startswith("SELECT org_units.path FROM org_units")]
    assert not unit_reads, str(sent)


def test_starting_refuses_others_and_a_second_review(driver: WorkflowDriver, world: dict[str, Any]) -> None:
    with pytest.raises(NotAllowed):
        _start(driver, by="head1")  # a commune head is not the personnel body
    _start(driver)
    with pytest.raises(Conflict):
        _start(driver, "annual")


def test_approval_checks_the_rules_again_and_a_nomination_below_the_threshold_leaves(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    members = world["members"]
    instance_id = _start(driver)
    _to_nominations(driver, instance_id, world)
    _nominate(
        driver, instance_id, world, [(NEW_VICE, "vice"), (NEW_VICE_2, "department"), (NEW_SECRETARY, "secretary")]
    )
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["ballot_key_cadres"]

    # Only 4 of 7 attend: below 2/3, the key cadres conference is held again with a new box.
    assert _ballot(driver, instance_id, members, present=4)["outcome"] == "quorum_failed"
    _do(driver, instance_id, "ballot_key_cadres", "personnel1", {})
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["ballot_key_cadres"]
    # With its quorum, the key cadres' reference is an opinion: it chooses nobody (decision 0131).
    reference = _ballot(driver, instance_id, members)
    assert reference["outcome"] == "opinion" and reference["elected"] == []
    _do(driver, instance_id, "ballot_key_cadres", "personnel1", {})

    # The collective: 4 of 7 members say no to the department head nominee (3/7 yes, not more than half).
    second = f"{NEW_VICE_2}@{world['department']}"
    no_votes = dict.fromkeys(list(members)[:4], "no")
    ids = list(members.values())
    with driver.session_factory() as s, transaction(s):
        box = open_step_ballot(
            s, driver.engine, PLANNING_BALLOTS, actor=user(s, "personnel1"), instance_id=instance_id,
            elector_ids=ids, members_count=len(ids),
        )  # fmt: skip
        box_id, keys = box.id, [c["key"] for c in box.candidates]
    with driver.session_factory() as s, transaction(s):
        ballots.mark_attendance(s, actor=user(s, "personnel1"), box_id=box_id, present_ids=ids)
    for username in members:
        with driver.session_factory() as s, transaction(s):
            contents = {k: (no_votes.get(username, "yes") if k == second else "yes") for k in keys}
            ballots.cast_ballot(s, voter=user(s, username), box_id=box_id, contents=contents)
    with driver.session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box_id)
    _do(driver, instance_id, "ballot_leadership", "personnel1", {})
    _ballot(driver, instance_id, members)
    _do(driver, instance_id, "ballot_committee", "personnel1", {})
    _do(driver, instance_id, "dossier", "personnel1", {"submission_number": "7/TTr"})

    # Meanwhile an appointment of the first nominee has started: the approval refuses, nothing is written.
    with driver.session_factory() as s, transaction(s):
        start_appointment(
            s, driver.engine, actor=user(s, "personnel1"), cadre_code=NEW_VICE, position_id=world["chair"],
            source="internal",
        )  # fmt: skip
    before = _entries(session_factory)
    with pytest.raises(Invalid) as refused:
        _do(driver, instance_id, "approval", "leader1", {"approval_decision": "approve", "decision_number": "9/QĐ"})
    assert any("đang có quy trình bổ nhiệm" in p.message for p in refused.value.problems)
    assert _entries(session_factory) == before

    # Refused instead: the records are left as they were.
    with pytest.raises(Invalid):
        _do(driver, instance_id, "approval", "leader1", {"approval_decision": "reject"})
    _do(driver, instance_id, "approval", "leader1", {"approval_decision": "reject", "decision_reason": "Chưa đủ"})
    data_nominees = [n["key"] for n in instance_data(driver, instance_id)["nominees"]]
    assert second not in data_nominees and len(data_nominees) == 2
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
        planned = s.scalar(select(func.count(PlanningEntry.id)).where(PlanningEntry.status == PlanningStatus.ACTIVE))
        assert planned == len(CHAIR_PLANNED) + 2  # as before: nothing added, nothing removed
        assert s.scalar(select(Cadre.id).where(Cadre.code == NEW_VICE)) is not None
        assert verify_chains(s).ok
        assert_every_export_verifies(s)


def test_an_entry_for_the_post_a_cadre_holds_takes_none_of_the_3_titles_at_nomination_and_approval(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0113, the reviewer's case as the demo had it: CB0003 holds the vice-chair post and an entry for it
    stayed active (recorded before appointments ended such entries), beside two more commune titles. Nominated for
    the party secretary, the 3 titles per cadre count two — at the nomination and again when the approval writes."""
    with session_factory() as s, transaction(s):
        holder = s.scalars(select(Cadre).where(Cadre.code == "CB0003")).one()
        x001 = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X001")).one()
        front = Position(
            title="Chủ tịch Ủy ban MTTQ xã", unit_id=x001, level="commune", is_leadership=True,
            title_code="commune_front_chair",
        )  # fmt: skip
        s.add(front)
        s.flush()
        # The stale entry, written as the older code left it: the registry refuses a new one for a post held.
        s.add(PlanningEntry(cadre_id=holder.id, position_id=world["vice"], term=TERM, status="active",
                            added_on=local_today()))  # fmt: skip
        for position_id in (world["department"], front.id):
            add_planning_entry(s, None, holder, position_id=position_id, term=TERM)
        holder_id = holder.id
    members = world["members"]
    instance_id = _start(driver)
    _to_nominations(driver, instance_id, world)
    _nominate(driver, instance_id, world, [("CB0003", "secretary")])
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["ballot_key_cadres"]
    [nominee] = _task_data(driver, instance_id)["nominees"]
    [titles] = [line for line in nominee["checks"] if "chức danh cấp xã trong quy hoạch" in line]
    assert " có 2 chức danh cấp xã" in titles, titles
    assert "không tính chức danh đang giữ (Phó Chủ tịch UBND xã" in titles and "là 3/3" in titles
    for step in ("ballot_key_cadres", "ballot_leadership", "ballot_committee"):
        _ballot(driver, instance_id, members)
        _do(driver, instance_id, step, "personnel1", {})
    _do(driver, instance_id, "dossier", "personnel1", {"submission_number": "7/TTr"})
    _do(driver, instance_id, "approval", "leader1", {"approval_decision": "approve", "decision_number": "9/QĐ"})
    with session_factory() as s:
        planned = s.scalars(
            select(PlanningEntry.position_id).where(
                PlanningEntry.cadre_id == holder_id, PlanningEntry.status == PlanningStatus.ACTIVE
            )
        ).all()
        assert world["secretary"] in planned and len(planned) == 4
        assert verify_chains(s).ok


def test_each_ballot_step_has_its_own_note(driver: WorkflowDriver, world: dict[str, Any]) -> None:
    """Decision 0053: the three ballots shared one form and its `ballot_note`, so the collective's form opened with
    the key cadres' note and overwrote it. Each step's note is its own: a later step opens empty, a refusal points
    at the step's own field, and every note stays in the data."""
    members = world["members"]
    instance_id = _start(driver)
    _to_nominations(driver, instance_id, world)
    _nominate(driver, instance_id, world, [(NEW_VICE, "vice"), (NEW_SECRETARY, "secretary")])
    notes = {
        "ballot_key_cadres": "Hội nghị cán bộ chủ chốt ngày 02/11, 7/7 có mặt",
        "ballot_leadership": "Tập thể lãnh đạo họp ngày 05/11",
        "ballot_committee": "Cấp ủy họp ngày 09/11",
    }
    for step, note in notes.items():
        task = driver.task(instance_id, step)
        assert driver.prefill("personnel1", task.id) == {}
        with pytest.raises(Invalid) as refused:  # the box has not been held yet
            driver.complete("personnel1", task.id, {f"{step}_note": note})
        assert [p.field for p in refused.value.problems] == [f"{step}_note"]
        _ballot(driver, instance_id, members)
        driver.complete("personnel1", task.id, {f"{step}_note": note})
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["dossier"]
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        data = runtime.instance_data(
            driver.engine.load(driver.engine.definition(s, instance.process_version_id), instance)
        )
    assert {f"{step}_note": note for step, note in notes.items()}.items() <= data.items()
    assert "ballot_note" not in data


def instance_data(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        definition = driver.engine.definition(s, instance.process_version_id)
        return dict(driver.engine.load(definition, instance).data)


def test_a_term_typed_with_spaces_or_a_dash_of_another_kind_is_understood(driver: WorkflowDriver) -> None:
    """ "2026 - 2031" and "2026–2031" were refused as not written like 2026-2031."""
    with driver.session_factory() as s, transaction(s):
        instance = start_planning(
            s, driver.engine, actor=user(s, "personnel1"), unit_code="X001", term=" 2026 – 2031 ", variant="term"
        )
        business_key = s.get(ProcessInstance, instance.id).business_key  # type: ignore[union-attr]
    assert TERM in business_key


def _task_data(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    """The data the instance's tasks carry (what the steps worked out), as the pages read it."""
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        definition = driver.engine.definition(s, instance.process_version_id)
        return dict(runtime.instance_data(driver.engine.load(definition, instance)))


def test_an_entry_the_collective_adds_to_the_removals_leaves_the_plan_on_approval_with_its_reason(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0081: besides the screening's proposals, the collective takes another entry of the review's plan
    off it, with its reason; the approval writes it as it writes a proposal (the rows keep the same keys)."""
    instance_id = _start(driver, "annual")
    _do(driver, instance_id, "screening", "personnel1", {})
    with session_factory() as s:
        query = select(Cadre.code, PlanningEntry.id).join(Cadre, Cadre.id == PlanningEntry.cadre_id)
        entry_of = {code: entry_id for code, entry_id in s.execute(query)}
    proposals = [r["entry_id"] for r in _task_data(driver, instance_id)["removals"]]
    added = entry_of[CHAIR_PLANNED[0]]
    assert added not in proposals and len(proposals) == 2
    reason = "Không hoàn thành nhiệm vụ được giao"
    rows = [{"entry_id": e, "decision": "remove"} for e in proposals]
    _do(driver, instance_id, "confirm_removals", "head1",
        {"removals": [*rows, {"entry_id": added, "reason": reason, "decision": "remove"}]})  # fmt: skip
    confirmed = _task_data(driver, instance_id)["removals_confirmed"]
    assert [r["entry_id"] for r in confirmed] == [*proposals, added]
    assert {tuple(sorted(r)) for r in confirmed} == {
        ("cadre_code", "cadre_name", "decision", "entry_id", "keep_reason", "reason", "title")
    }
    _to_nominations(driver, instance_id, world)
    _nominate(driver, instance_id, world, [])
    _do(driver, instance_id, "dossier", "personnel1", {"submission_number": "7/TTr"})
    _do(driver, instance_id, "approval", "leader1", {"approval_decision": "approve", "decision_number": "9/QĐ"})
    with session_factory() as s:
        removed = {
            e.id: (e.reason, e.removal_instance_id)
            for e in s.scalars(select(PlanningEntry).where(PlanningEntry.status == PlanningStatus.REMOVED))
        }
        assert set(removed) == {*proposals, added}
        assert removed[added] == (reason, instance_id)
        assert verify_chains(s).ok


def test_a_reviews_committee_votes_on_its_own_levels_committee_titles(
    driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """A commune's review listed the Tỉnh ủy's secretary and deputies among the titles its committee votes on; a
    commune's committee votes on the commune's party titles, the province's on its own."""
    commune = _task_data(driver, _start(driver, "term", unit="X001"))["committee_title_codes"]
    assert commune == ["commune_party_secretary", "commune_deputy_party_secretary", "party_committee_member"]
    province = _task_data(driver, _start(driver, "term", unit="T01"))["committee_title_codes"]
    assert province == ["party_committee_member", "province_party_secretary", "province_deputy_party_secretary"]


# -- each step's deadline (decision 0120) -------------------------------------------------------------------------


def test_each_step_is_due_its_configured_working_days_on_the_calendar_the_review_started_with(
    driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    today = local_today()
    # A province's calendar with the next ten days off: the deadline moves past them.
    holidays = [(today + timedelta(days=n)).isoformat() for n in range(1, 11)]
    calendar = WorkCalendar.from_mapping({"holidays": holidays})
    policy = PlanningPolicy.from_mapping({"step_working_days": {"screening": 3}})
    with driver.session_factory() as s, transaction(s):
        instance_id = start_planning(
            s, driver.engine, actor=user(s, "personnel1"), unit_code="X001", term=TERM, variant="annual",
            policy=policy, calendar=calendar,
        ).id  # fmt: skip
    screening = driver.task(instance_id, "screening")
    assert (screening.due_dt, screening.assignment_problem) == (end_of_working_day(calendar, today, 3), None)
    assert screening.due_dt is not None and screening.due_dt > end_of_working_day(DEFAULT_CALENDAR, today, 3)
    clock.set_now(clock.now() + timedelta(days=2))
    opened_on = local_today()
    _do(driver, instance_id, "screening", "personnel1", {"screening_note": ""})
    # The next step counts from the day it opened, with the default duration.
    assert driver.task(instance_id, "confirm_removals").due_dt == end_of_working_day(calendar, opened_on, 10)


def test_an_overdue_planning_step_counts_as_overdue(driver: WorkflowDriver, world: dict[str, Any]) -> None:
    instance_id = _start(driver)
    task = driver.task(instance_id, "review_frame")
    assert task.due_dt == end_of_working_day(DEFAULT_CALENDAR, local_today(), 10)

    def overdue() -> set[int]:
        with driver.session_factory() as s:
            page = inbox_page(s, user(s, "personnel1"), InboxFilters(scope="group", due="overdue"))
            return {row.task_id for row in page.rows}

    assert overdue() == set()
    clock.set_now(task.due_dt + timedelta(minutes=1))
    assert overdue() == {task.id}
