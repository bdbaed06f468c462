"""What an inspector reads: every event of an instance with who, role, when and before → after; the rule versions;
ballot tallies without ballots; a cadre's procedures in time order."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.fixtures.appointment import ALL_DOCUMENTS, NOMINEE, recent, run_ballot, setup_appointment, today_text
from tests.fixtures.appointment import start as start_appointment
from tests.fixtures.inspection import EVERY_EVENT, T0, build_story
from tests.fixtures.statements import statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.db import transaction
from workflows.errors import NotFound
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.inspection.history import eligibility_snapshots, load_cadre_history, load_instance_history
from workflows.inspection.notes import add_note
from workflows.instances import TimelineEntry
from workflows.models import AuditEvent, ProcessInstance
from workflows.registry import records
from workflows.registry.models import Cadre, User
from workflows.rules.evaluation import DEFAULT_POLICY


def _user(driver: WorkflowDriver, s: Session, name: str) -> User:
    return s.scalars(select(User).where(User.username == name)).one()


def test_every_event_type_appears_with_actor_time_and_diff(driver: WorkflowDriver) -> None:
    story = build_story(driver)
    with driver.session_factory() as s:
        history = load_instance_history(s, driver.engine, _user(driver, s, "auditor1"), story["eventful"])
        kinds = {item.event.event_type for item in history.entries}
        assert kinds == EVERY_EVENT
        assert [item.event.seq for item in history.entries] == list(range(1, len(history.entries) + 1))
        for item in history.entries:
            assert item.event.actor_name and item.event.occurred_dt is not None
        by_kind = {item.event.event_type: item for item in history.entries}
        assert by_kind["task_claimed"].event.actor_name == "supervisor1"
        assert by_kind["task_claimed"].role == "supervisor"
        assert by_kind["inspection_note"].role == "auditor"
        assert by_kind["instance_cancelled"].event.actor_name == "admin"
        submitted = next(
            item for item in history.entries if item.event.event_type == "data_changed" and item.entry.changes
        )
        change = {c.key: c for c in submitted.entry.changes}["subject_line"]
        assert (change.before, change.after) == (None, "Xin nghỉ")
        assert submitted.is_decision and not by_kind["task_opened"].is_decision
        assert history.model.version >= 1 and len(history.model.content_hash) == 64
        (tally,) = history.tallies
        assert (tally.present, tally.voted) == (3, 2)
        assert {row["key"]: row["yes"] for row in tally.tally["candidates"]} == {"a": 2, "b": 0}
        assert history.chain_intact

        completed = load_instance_history(s, driver.engine, _user(driver, s, "auditor1"), story["completed"])
        assert "instance_completed" in {item.event.event_type for item in completed.entries}


def test_the_notes_are_listed_with_author_time_and_text_newest_last(driver: WorkflowDriver) -> None:
    """The story's note, then two more an hour apart: all three, in the order they were added, each with who wrote
    it (their name), when and what. A procedure no one noted has none."""
    story = build_story(driver)
    written = [T0 + timedelta(days=6), T0 + timedelta(days=6, hours=1)]
    for when, text in zip(written, ("Cần bổ sung biên bản.", "Đã bổ sung, đủ hồ sơ."), strict=True):
        clock.set_now(when)
        with driver.session_factory() as s, transaction(s):
            add_note(s, _user(driver, s, "auditor1"), story["eventful"], f"  {text}\n")
    with driver.session_factory() as s:
        history = load_instance_history(s, driver.engine, _user(driver, s, "auditor1"), story["eventful"])
        notes = history.notes
        assert [note.text for note in notes] == [
            "Đã xem hồ sơ, chưa thấy sai sót.",
            "Cần bổ sung biên bản.",
            "Đã bổ sung, đủ hồ sơ.",
        ]
        assert {note.author_name for note in notes} == {"Vũ Đức Tuấn"}
        assert [note.written_dt for note in notes[1:]] == [when.replace(tzinfo=None) for when in written]
        note_events = [item.event.seq for item in history.entries if item.event.event_type == "inspection_note"]
        assert [note.seq for note in notes] == note_events
        completed = load_instance_history(s, driver.engine, _user(driver, s, "auditor1"), story["completed"])
        assert completed.notes == []


def test_an_instance_outside_the_inspector_s_scope_is_not_found(driver: WorkflowDriver) -> None:
    story = build_story(driver)
    # officer3 works in X002 and took no part: the procedure about CB0001 does not exist for them.
    with driver.session_factory() as s, pytest.raises(NotFound):
        load_instance_history(s, driver.engine, _user(driver, s, "officer3"), story["eventful"])


def test_a_cadre_timeline_runs_across_three_procedures(driver: WorkflowDriver) -> None:
    """A sample procedure, an appointment and a monthly evaluation about CB0002, with the record's own events
    (planning, last year's grade), in time order."""
    factory = driver.session_factory
    clock.set_now(T0)
    sample = driver.start("sample_approval", as_user="officer2", subject=NOMINEE)
    clock.set_now(T0 + timedelta(days=1))
    setup = setup_appointment(factory)
    clock.set_now(T0 + timedelta(days=2))
    appointment = start_appointment(factory, driver.engine, setup["post_id"])
    clock.set_now(T0 + timedelta(days=18))
    with factory() as s, transaction(s):
        plan = plan_month(s, actor=None, month="2026-11", unit_code="X001")
        open_for_cadres(s, driver.engine, actor=None, plan=plan, cadres=plan.to_open, policy=DEFAULT_POLICY)
    with factory() as s:
        evaluation = s.scalars(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"2026-11/{NOMINEE}")
        ).one()
        cadre_id = s.scalars(select(Cadre.id).where(Cadre.code == NOMINEE)).one()
        history = load_cadre_history(s, _user(driver, s, "auditor1"), cadre_id)
        started = [(item.procedure_kind, item.instance.id) for item in history.items if item.kind == "started"]
        assert started == [("other", sample), ("appointment", appointment), ("evaluation", evaluation)]
        record = [item.event_type for item in history.items if item.kind == "record"]
        assert {"planning_entry_added", "evaluation_recorded"} <= set(record)
        times = [item.when for item in history.items]
        assert times == sorted(times)
        # The record's planning entry (day 1) sits between the sample (day 0) and the appointment (day 2).
        kinds = [item.event_type or item.procedure_kind for item in history.items]
        assert kinds.index("other") < kinds.index("planning_entry_added") < kinds.index("appointment")
        with pytest.raises(NotFound):
            load_cadre_history(s, _user(driver, s, "auditor1"), 10**6)


def test_eligibility_is_shown_as_it_was_decided(driver: WorkflowDriver) -> None:
    """The results recorded when the eligibility step was completed, even after the cadre's record changed."""
    factory = driver.session_factory
    setup = setup_appointment(factory)
    instance_id = start_appointment(factory, driver.engine, setup["post_id"], "CB0001")  # not planned, no grade
    driver.complete(
        "personnel1", driver.task(instance_id, "eligibility_policy").id, {"dossier_received_on": today_text()}
    )
    with factory() as s, transaction(s):  # later, the record changes: the decision's results must not
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        records.record_evaluation(s, None, cadre, period_kind="year", period="2025", grade="HTXSNV")
    with factory() as s:
        history = load_instance_history(s, driver.engine, _user(driver, s, "auditor1"), instance_id)
        (snapshot,) = history.eligibility
        assert snapshot.eligible is False and snapshot.actor_name
        failed = {r["rule"] for r in snapshot.results if not r["passed"]}
        assert {"planning", "annual_grade"} <= failed
        assert all(r["message"] and r["source"] for r in snapshot.results)


def _checked(seq: int, **changes: Any) -> TimelineEntry:
    """A data change of the chain: each key's value before → after, as the events record them."""
    event = AuditEvent(
        seq=seq, event_type="data_changed", actor_name="personnel1", occurred_dt=T0 + timedelta(days=seq)
    )
    diff = {key: {"from": None, "to": value} for key, value in changes.items()}
    return TimelineEntry(event=event, payload={"changes": diff}, actor_full_name="Đỗ Thị Hoa")


PASSED = [
    {"rule": "age", "passed": True, "message": "Đủ tuổi"},
    {"rule": "term", "passed": True, "message": "Còn 40 tháng"},
]
RECHECKED = [PASSED[0], {"rule": "term", "passed": True, "message": "Còn 39 tháng"}]
FAILED = [PASSED[0], {"rule": "term", "passed": False, "message": "Không đủ thời gian công tác"}]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param(
            # The demo's appointment: re-checked before the final vote, still eligible — the diff has no `eligible`.
            [
                _checked(1, eligibility=PASSED, eligible=True, eligibility_checked_on="2026-10-12"),
                _checked(2, dossier_checked_on="2026-11-02"),
                _checked(3, eligibility=RECHECKED, eligibility_checked_on="2026-11-09"),
            ],
            [(True, "2026-10-12", PASSED), (True, "2026-11-09", RECHECKED)],
            id="a re-check that keeps the verdict",
        ),
        pytest.param(
            # Checked again on the same day with other results: the day is carried too.
            [
                _checked(1, eligibility=FAILED, eligible=False, eligibility_checked_on="2026-10-12"),
                _checked(2, eligibility=PASSED, eligible=True),
                _checked(3, eligibility=RECHECKED),
            ],
            [(False, "2026-10-12", FAILED), (True, "2026-10-12", PASSED), (True, "2026-10-12", RECHECKED)],
            id="verdicts that change and the same day",
        ),
        pytest.param(
            # Checked again another day, the results unchanged: the check is shown with the results that stood.
            [
                _checked(1, eligibility=FAILED, eligible=False, eligibility_checked_on="2026-10-12"),
                _checked(2, eligibility_checked_on="2026-11-09"),
            ],
            [(False, "2026-10-12", FAILED), (False, "2026-11-09", FAILED)],
            id="another day, the same results",
        ),
        pytest.param(
            # No verdict in the chain at all: the one the results imply.
            [_checked(1, eligibility=PASSED), _checked(2, eligibility=FAILED)],
            [(True, None, PASSED), (False, None, FAILED)],
            id="a verdict never recorded",
        ),
    ],
)
def test_every_eligibility_check_states_its_verdict(
    entries: list[TimelineEntry], expected: list[tuple[bool, str | None, list[dict[str, Any]]]]
) -> None:
    """A data change records only what changed: a verdict (or a day) a re-check left as it was is the one before."""
    snapshots = eligibility_snapshots(entries)
    assert [(s.eligible, s.checked_on, s.results) for s in snapshots] == expected
    assert all(s.actor_name == "Đỗ Thị Hoa" for s in snapshots)


def test_the_rule_files_are_hashed_from_the_stored_version_and_read_once_per_version(driver: WorkflowDriver) -> None:
    """The history names each decision table with the SHA-256 of the file as deployed. Versions never change, so
    the version's files (up to 120 KB of XML) are read for its first history shown, not for every one."""
    factory = driver.session_factory
    with factory() as s, transaction(s):
        plan = plan_month(s, actor=None, month="2026-11", unit_code="X001")
        open_for_cadres(s, driver.engine, actor=None, plan=plan, cadres=plan.to_open[:2], policy=DEFAULT_POLICY)
    with factory() as s:
        first, second = s.scalars(
            select(ProcessInstance).where(ProcessInstance.process_id == "monthly_evaluation")
        ).all()
        stored = first.process_version.files["evaluation_grade.dmn"]
        s.expunge_all()
        bind = s.get_bind()
        with statements_sent(bind) as sent:
            history = load_instance_history(s, driver.engine, _user(driver, s, "auditor1"), first.id)
        assert [(rule.name, rule.sha256) for rule in history.model.rule_files] == [
            ("evaluation_grade.dmn", hashlib.sha256(stored.encode()).hexdigest())
        ]
        assert any("process_versions.files" in statement for statement in sent.statements)
        s.expunge_all()  # a new request: nothing of the first one is still loaded
        with statements_sent(bind) as sent:
            again = load_instance_history(s, driver.engine, _user(driver, s, "auditor1"), second.id)
        assert again.model == history.model
        assert not any("process_versions.files" in statement for statement in sent.statements), str(sent)


def test_parallel_clearances_show_each_person_s_own_changes_in_the_role_they_acted_in(driver: WorkflowDriver) -> None:
    """The appointment's clearances run in parallel (bpmn/appointment.bpmn): personnel1 gives three opinions, then
    auditor1 the inspection committee's, which fires the join. Each completion's changes are its own — the auditor's
    are the inspection's two fields, not personnel1's entries merged at the join — and the role column is the role
    the person acted in: the auditor's completion as inspector; the step it opened (a personnel officer's) is not
    the auditor's role."""
    factory = driver.session_factory
    world = setup_appointment(factory)
    members = world["members"]
    instance_id = start_appointment(factory, driver.engine, world["post_id"])

    def complete(key: str, username: str, data: dict[str, Any] | None = None) -> int:
        task_id = driver.task(instance_id, key).id
        driver.complete(username, task_id, data or {})
        return task_id

    complete("eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    complete("policy_decision", "leader1", {"policy_decision": "approve"})
    complete("step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "Thống nhất"})
    for step in ("ballot_step2", "ballot_step3", "ballot_step4"):
        run_ballot(factory, driver.engine, instance_id, members, {name: {NOMINEE: "yes"} for name in members})
        complete(step, "personnel1")
    dossier = {"documents_received": ALL_DOCUMENTS, "photo_taken_on": recent(), "health_certificate_on": recent()}
    steps = {
        complete("dossier_checklist", "personnel1", dossier): "dossier_checklist",
        complete("clearance_political", "personnel1", {"political_result": "cleared"}): "clearance_political",
        complete("clearance_residence", "personnel1", {"residence_result": "cleared"}): "clearance_residence",
    }
    inspection = {"inspection_result": "cleared", "inspection_note": "Không có đơn thư, tố cáo"}
    steps[complete("clearance_inspection", "auditor1", inspection)] = "clearance_inspection"
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["eligibility_final"]

    with factory() as s:
        history = load_instance_history(s, driver.engine, _user(driver, s, "auditor1"), instance_id)
    changed = {
        steps[item.event.human_task_id]: (item.event.actor_name, item.role, {c.key for c in item.entry.changes})
        for item in history.entries
        if item.event.event_type == "data_changed" and item.event.human_task_id in steps
    }
    assert changed == {
        "dossier_checklist": ("personnel1", "personnel", {*dossier, "dossier_checked_on"}),
        "clearance_political": ("personnel1", "personnel", {"political_result"}),
        "clearance_residence": ("personnel1", "personnel", {"residence_result"}),
        "clearance_inspection": ("auditor1", "auditor", set(inspection)),
    }
    by_auditor = [(item.event.event_type, item.role) for item in history.entries if item.event.actor_name == "auditor1"]
    assert by_auditor == [("task_completed", "auditor"), ("data_changed", "auditor"), ("task_opened", None)]
    assert history.chain_intact
