"""The quarterly and annual roll-up of monthly results for a unit, the proposed annual grade and the HTXSNV quota per
(unit, task group), on a hand-made unit whose answers are worked out below (NĐ 335/2025 Điều 20–21, §6.3–§6.4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from workflows import clock
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.engine.runtime import instance_data
from workflows.errors import Invalid, NotAllowed, NotFound
from workflows.evaluation.annual import start_annual_run
from workflows.evaluation.rollup import TaskGrouping, build_rollup, record_rollup
from workflows.models import AuditEvent, HumanTask, ProcessInstance
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    DisciplineRecord,
    EvaluationResult,
    OrgUnit,
    Position,
    User,
)
from workflows.registry.records import cadre_chain, record_evaluation
from workflows.rules.evaluation import HTTNV, HTXSNV, KHTNV, EvaluationPolicy, annual_due, grade_for
from workflows.states import TaskStatus
from workflows.timers import run_due_timers

YEAR = 2026
UNIT = "X001-VP"
# 10 December 2026 in Vietnam: every month of the year has begun, the annual run is due before the 15th.
DECEMBER = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
ALL_YEAR = [f"{YEAR}-{m:02d}" for m in range(1, 13)]

# code -> (monthly scores by month, title code of the current position or None, disciplined in the year)
# Task group "chung": 10 HTTNV (RG01–RG10) and 3 HTXSNV (RX01–RX03): allowed floor(20% × 10) = 2 → 1 over quota.
#   RG10 was on leave July–September: (6 × 80 + 3 × 86) / 9 = 82.00 (counting those months as 0 would give 61.50).
#   RX01 91, RX02 93, RX03 95 every month; RX01 is the lowest, so it is the one over quota.
#   RK01 scored 95 but was reprimanded in the year → KHTNV (NĐ 335 Điều 20 điểm c), not counted.
#   RN01 has no monthly result: no month worked, no grade, not in the quota.
# Task group "ke_toan" (its own quota, §6.4 "per group with similar tasks"): one HTTNV (RA01, 80) and one HTXSNV
#   (RA02, 92): allowed floor(20% × 1) = 0 → RA02 over quota.
_LEAVE = {m: (80.0 if m <= f"{YEAR}-06" else 86.0) for m in ALL_YEAR if not f"{YEAR}-07" <= m <= f"{YEAR}-09"}
DATASET: dict[str, tuple[dict[str, float], str | None, bool]] = {
    **{f"RG{i:02d}": (dict.fromkeys(ALL_YEAR, 80.0), None, False) for i in range(1, 10)},
    "RG10": (_LEAVE, None, False),
    "RX01": (dict.fromkeys(ALL_YEAR, 91.0), None, False),
    "RX02": (dict.fromkeys(ALL_YEAR, 93.0), None, False),
    "RX03": (dict.fromkeys(ALL_YEAR, 95.0), None, False),
    "RK01": (dict.fromkeys(ALL_YEAR, 95.0), None, True),
    "RN01": ({}, None, False),
    "RA01": (dict.fromkeys(ALL_YEAR, 80.0), "ke_toan", False),
    "RA02": (dict.fromkeys(ALL_YEAR, 92.0), "ke_toan", False),
}


def seed_unit(session: Session, unit_code: str = UNIT, parent_code: str = "X001") -> OrgUnit:
    """The unit above with its cadres, positions, discipline and monthly results (test data, written directly)."""
    parent = session.scalars(select(OrgUnit).where(OrgUnit.code == parent_code)).one()
    unit = OrgUnit(code=unit_code, name="Văn phòng (thử)", unit_type="department", parent_id=parent.id)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path}{parent.id}/"
    positions: dict[str, Position] = {}
    for code, (months, title_code, disciplined) in DATASET.items():
        cadre = Cadre(code=code, full_name=f"Cán bộ {code}", unit_id=unit.id)
        session.add(cadre)
        session.flush()
        if title_code:
            if title_code not in positions:
                positions[title_code] = Position(
                    title="Kế toán", unit_id=unit.id, level="commune", title_code=title_code
                )
                session.add(positions[title_code])
                session.flush()
            session.add(
                CadrePosition(cadre_id=cadre.id, position_id=positions[title_code].id, started_on=date(2020, 1, 1))
            )
        if disciplined:
            session.add(DisciplineRecord(cadre_id=cadre.id, level="khien_trach", decided_on=date(YEAR, 5, 4)))
        for month, score in months.items():
            session.add(
                EvaluationResult(
                    cadre_id=cadre.id,
                    period_kind="month",
                    period=month,
                    score=score,
                    grade=grade_for(score).grade,
                    unit_id=unit.id,
                )
            )
    session.flush()
    return unit


@pytest.fixture(autouse=True)
def _december() -> Iterator[None]:
    clock.set_now(DECEMBER)
    yield
    clock.set_now(None)


@pytest.fixture
def seeded(session_factory: sessionmaker[Session], demo_users: dict) -> dict[str, int]:
    with session_factory() as session, transaction(session):
        seed_unit(session)
    with session_factory() as session:
        return dict(session.execute(select(Cadre.code, Cadre.id)).tuples().all())


def _rollup(session: Session, username: str | None = "personnel1", **kwargs):
    actor = session.scalar(select(User).where(User.username == username)) if username else None
    return build_rollup(session, actor=actor, unit_code=kwargs.pop("unit_code", UNIT), year=YEAR, **kwargs)


def test_annual_score_averages_the_months_worked_and_months_without_a_result_are_not_worked(session, seeded):
    """NĐ 335 Điều 21 (§6.3): the year is the average of the months worked; leave is left out, not counted as 0."""
    rollup = _rollup(session)
    leave = rollup.cadre(seeded["RG10"])
    assert leave.months_worked == 9
    assert leave.annual == 82.0 and leave.proposed_grade == HTTNV
    assert leave.quarterly == {"2026-Q1": 80.0, "2026-Q2": 80.0, "2026-Q4": 86.0}
    none = rollup.cadre(seeded["RN01"])
    assert none.months_worked == 0 and none.annual is None and none.proposed_grade is None
    assert rollup.cadre(seeded["RX02"]).annual == 93.0


def test_discipline_in_the_year_makes_the_annual_grade_khtnv_whatever_the_score(session, seeded):
    """NĐ 335 Điều 20 điểm c: disciplined at reprimand or above in the year → KHTNV."""
    row = _rollup(session).cadre(seeded["RK01"])
    assert row.annual == 95.0
    assert row.proposed_grade == KHTNV and row.grade is not None and row.grade.overridden


def test_ten_httnv_and_three_htxsnv_leave_one_over_quota_ranked_by_score(session, seeded):
    """NĐ 335 Điều 20 (§6.4): HTXSNV ≤ 20% of HTTNV; 20% of 10 = 2 allowed, so the lowest of the 3 is over."""
    group = _rollup(session).quota().group(_unit_id(session), "chung")
    assert (group.httnv, group.htxsnv, group.allowed) == (10, 3, 2)
    assert group.ranking == (seeded["RX01"], seeded["RX02"], seeded["RX03"])
    assert group.over == (seeded["RX01"],)


def test_demoting_one_raises_the_denominator_and_clears_the_quota(session, seeded):
    """NĐ 335 Điều 20 (§6.4): the denominator is the HTTNV count, and a demotion adds to it."""
    rollup = _rollup(session)
    after = rollup.quota(grades={seeded["RX01"]: HTTNV}).group(_unit_id(session), "chung")
    assert (after.httnv, after.htxsnv, after.allowed) == (11, 2, 2)
    assert after.is_within
    excepted = rollup.quota(exceptions=[seeded["RX01"]]).group(_unit_id(session), "chung")
    assert excepted.is_within and excepted.excepted == (seeded["RX01"],) and excepted.httnv == 10


def test_the_quota_is_per_task_group_from_the_current_positions_title_code(session, seeded):
    """NĐ 335 Điều 20 (§6.4): per group with similar tasks; with no position the group is "chung"."""
    rollup = _rollup(session)
    assert rollup.cadre(seeded["RA02"]).task_group == "ke_toan"
    assert rollup.cadre(seeded["RG01"]).task_group == "chung"
    accounting = rollup.quota().group(_unit_id(session), "ke_toan")
    assert (accounting.httnv, accounting.htxsnv, accounting.allowed, accounting.over) == (1, 1, 0, (seeded["RA02"],))
    # Configured: accounting shares the general group's quota → 11 HTTNV, 4 HTXSNV, 2 allowed, 2 over.
    merged = _rollup(session, grouping=TaskGrouping({"ke_toan": "chung"})).quota()
    assert [g.task_group for g in merged.groups] == ["chung"]
    assert merged.groups[0].over == (seeded["RX01"], seeded["RA02"])


def test_a_cadres_position_that_ended_does_not_decide_the_group(session_factory, seeded):
    with session_factory() as session, transaction(session):
        row = session.scalars(select(CadrePosition).where(CadrePosition.cadre_id == seeded["RA02"])).one()
        row.ended_on = date(YEAR, 6, 30)
    with session_factory() as session:
        assert _rollup(session).cadre(seeded["RA02"]).task_group == "chung"


def test_the_parent_unit_includes_its_subtree_unless_told_not_to(session, seeded):
    assert seeded["RX01"] in {r.cadre_id for r in _rollup(session, unit_code="X001").cadres}
    alone = _rollup(session, unit_code="X001", include_subunits=False)
    assert seeded["RX01"] not in {r.cadre_id for r in alone.cadres}
    assert {r.code for r in alone.cadres} >= {"CB0001", "CB0004"}


@pytest.mark.parametrize(
    ("username", "unit_code", "year", "error"),
    [
        ("personnel1", UNIT, 2027, Invalid),  # the year has not begun
        ("personnel1", UNIT, "20x6", Invalid),
        ("personnel1", UNIT, 1999, Invalid),
        ("personnel1", "NOPE", YEAR, NotFound),
        ("officer1", UNIT, YEAR, NotAllowed),  # an officer does not oversee the unit
        ("head1", "X002", YEAR, NotAllowed),  # the head of X001 does not cover X002
    ],
)
def test_bad_requests_are_refused(session, seeded, username, unit_code, year, error):
    actor = session.scalar(select(User).where(User.username == username))
    with pytest.raises(error):
        build_rollup(session, actor=actor, unit_code=unit_code, year=year)


def _evaluation_events(session: Session, cadre_id: int) -> int | None:
    return session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.chain_key == cadre_chain(cadre_id), AuditEvent.event_type == "evaluation_recorded"
        )
    )


def test_record_rollup_writes_quarters_and_the_year_through_the_audited_path(session_factory, seeded):
    with session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        rollup = _rollup(session)
        written = record_rollup(session, actor, rollup, year_grades={seeded["RX01"]: HTTNV})
    graded = sum(1 for months, _t, _d in DATASET.values() if months)
    # 4 quarters each, except RG10 (no Q3 result); one year result per graded cadre, none for RN01.
    assert written.years == graded and written.quarters == 4 * graded - 1
    with session_factory() as session:
        year = dict(
            session.execute(
                select(Cadre.code, EvaluationResult.grade)
                .join(Cadre, Cadre.id == EvaluationResult.cadre_id)
                .where(EvaluationResult.period_kind == "year", EvaluationResult.period == "2026")
            )
            .tuples()
            .all()
        )
        assert year["RX01"] == HTTNV and year["RX02"] == HTXSNV and year["RK01"] == KHTNV and "RN01" not in year
        q4 = session.scalars(
            select(EvaluationResult).where(
                EvaluationResult.cadre_id == seeded["RG10"], EvaluationResult.period == "2026-Q4"
            )
        ).one()
        assert (q4.period_kind, q4.score, q4.grade) == ("quarter", 86.0, HTTNV)
        # Q1–Q4 and the year, each its own audited event in the cadre's chain.
        assert _evaluation_events(session, seeded["RX02"]) == 5
        assert verify_chains(session).ok
    # Writing again changes nothing and audits nothing more.
    with session_factory() as session, transaction(session):
        record_rollup(session, None, _rollup(session), year_grades={seeded["RX01"]: HTTNV})
    with session_factory() as session:
        assert _evaluation_events(session, seeded["RX02"]) == 5
        assert _evaluation_events(session, seeded["RX01"]) == 5


def test_a_quarter_is_graded_with_that_quarters_discipline_only(session_factory, seeded):
    """NĐ 335 Điều 20 điểm c applies to the period: RK01's reprimand in May makes Q2 KHTNV, not Q1."""
    with session_factory() as session, transaction(session):
        record_rollup(session, None, _rollup(session, username=None), with_year=False)
    with session_factory() as session:
        grades = dict(
            session.execute(
                select(EvaluationResult.period, EvaluationResult.grade).where(
                    EvaluationResult.cadre_id == seeded["RK01"], EvaluationResult.period_kind == "quarter"
                )
            )
            .tuples()
            .all()
        )
        assert grades == {"2026-Q1": HTXSNV, "2026-Q2": KHTNV, "2026-Q3": HTXSNV, "2026-Q4": HTXSNV}
        assert session.scalar(select(func.count()).where(EvaluationResult.period_kind == "year")) == 0


def _unit_id(session: Session) -> int:
    return session.scalars(select(OrgUnit.id).where(OrgUnit.code == UNIT)).one()


# ---------------------------------------------------------------------------------------------
# The annual grading run (bpmn/annual_grading.bpmn)
# ---------------------------------------------------------------------------------------------
def _start_run(driver, username: str = "personnel1") -> int:
    with driver.session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == username)).one()
        return start_annual_run(session, driver.engine, actor=actor, unit_code=UNIT, year=YEAR)


def _year_results(session_factory: sessionmaker[Session]) -> dict[str, str]:
    with session_factory() as session:
        return dict(
            session.execute(
                select(Cadre.code, EvaluationResult.grade)
                .join(Cadre, Cadre.id == EvaluationResult.cadre_id)
                .where(EvaluationResult.period_kind == "year")
            )
            .tuples()
            .all()
        )


def test_annual_run_closes_only_once_every_htxsnv_over_quota_is_resolved(driver, session_factory, seeded):
    """NĐ 335 Điều 20–21 (§6.3–§6.4): personnel prepares, the head confirms; over-quota HTXSNV must be demoted with
    a reason or excepted; the year results are written on completion."""
    instance_id = _start_run(driver)
    assert _start_run(driver) == instance_id  # one run per unit and year
    prepare = driver.task(instance_id, "prepare")
    assert prepare.candidate_role == "personnel"
    # A month recorded after the run started is picked up when the officer submits the preparation.
    with session_factory() as session, transaction(session):
        session.add(
            EvaluationResult(
                cadre_id=seeded["RN01"],
                period_kind="month",
                period="2026-12",
                score=75.0,
                grade=HTTNV,
                unit_id=_unit_id(session),
            )
        )
    driver.complete("personnel1", prepare.id, {"note": "Trình thủ trưởng"})
    confirm = driver.task(instance_id, "head_confirm")
    assert confirm.candidate_role == "head"

    with session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        data = driver.engine.load(driver.engine.definition(session, instance.process_version_id), instance)
        prepared = dict(data.last_task.data)
    assert prepared["over_quota"] == ["RX01", "RA02"]
    rn01 = next(row for row in prepared["cadres"] if row["code"] == "RN01")
    assert (rn01["months_worked"], rn01["proposed_grade"]) == (1, HTTNV)

    with pytest.raises(Invalid) as nothing:
        driver.complete("head1", confirm.id, {})
    assert "RX01, RA02" in str(nothing.value)
    demote = {"cadre_code": "RX01", "action": "demote", "reason": "Thấp điểm nhất trong nhóm"}
    with pytest.raises(Invalid) as one_left:
        driver.complete("head1", confirm.id, {"resolutions": [demote]})
    assert "RA02" in str(one_left.value) and "RX01" not in str(one_left.value)
    with pytest.raises(Invalid) as not_htxsnv:
        driver.complete(
            "head1", confirm.id, {"resolutions": [demote, {"cadre_code": "RG01", "action": "demote", "reason": "x"}]}
        )
    assert not_htxsnv.value.problems[0].field == "resolutions.1.cadre_code"
    with pytest.raises(Invalid):  # a resolution needs its reason (the form's schema)
        driver.complete("head1", confirm.id, {"resolutions": [{**demote, "reason": ""}]})
    assert _year_results(session_factory) == {}

    exception = {"cadre_code": "RA02", "action": "exception", "reason": "Văn bản số 12/QĐ-UBND cho phép vượt tỷ lệ"}
    finished = driver.complete("head1", confirm.id, {"resolutions": [demote, exception]})
    assert finished.status == "completed"
    year = _year_results(session_factory)
    assert year["RX01"] == HTTNV and year["RA02"] == HTXSNV and year["RX02"] == HTXSNV and year["RX03"] == HTXSNV
    assert year["RK01"] == KHTNV and year["RN01"] == HTTNV and len(year) == 17
    with session_factory() as session:
        rx01 = session.scalars(
            select(EvaluationResult).where(
                EvaluationResult.cadre_id == seeded["RX01"], EvaluationResult.period_kind == "year"
            )
        ).one()
        assert rx01.score == 91.0 and rx01.source_instance_id == instance_id
        assert verify_chains(session).ok


def test_demoting_the_lowest_is_enough_because_the_denominator_grows(driver, session_factory, seeded):
    """§6.4: 10 HTTNV + 3 HTXSNV → 1 over; after one demotion 11 HTTNV allow 2 HTXSNV (the accounting group is
    merged away here so only the general group counts)."""
    with session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        instance_id = start_annual_run(
            session, driver.engine, actor=actor, unit_code=UNIT, year=YEAR, grouping=TaskGrouping({"ke_toan": "chung"})
        )
    driver.complete("personnel1", driver.task(instance_id, "prepare").id, {})
    confirm = driver.task(instance_id, "head_confirm")
    # 11 HTTNV + 4 HTXSNV → 2 over (RX01, RA02); demoting both gives 13 HTTNV, 2 HTXSNV, 2 allowed.
    resolutions = [
        {"cadre_code": code, "action": "demote", "reason": "Vượt tỷ lệ, điểm thấp hơn"} for code in ("RX01", "RA02")
    ]
    driver.complete("head1", confirm.id, {"resolutions": resolutions})
    year = _year_results(session_factory)
    assert [code for code, grade in sorted(year.items()) if grade == HTXSNV] == ["RX02", "RX03"]


def test_only_personnel_start_an_annual_run(driver, seeded):
    with pytest.raises(NotAllowed):
        _start_run(driver, "head1")


def _instance_data(driver, session_factory: sessionmaker[Session], instance_id: int) -> dict:
    with session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        state = driver.engine.load(driver.engine.definition(session, instance.process_version_id), instance)
        return dict(state.last_task.data)


def _instance_events(session_factory: sessionmaker[Session], instance_id: int, event_type: str) -> list[dict]:
    with session_factory() as session:
        return [
            json.loads(payload)
            for payload in session.scalars(
                select(AuditEvent.payload)
                .where(AuditEvent.instance_id == instance_id, AuditEvent.event_type == event_type)
                .order_by(AuditEvent.id)
            )
        ]


def test_the_head_returns_the_preparation_to_personnel_with_a_comment_a_limited_number_of_times(
    driver, session_factory, seeded
):
    """The annual run's return path (bpmn/annual_grading.bpmn: head_outcome → count_return → prepare): a return
    needs its comment, is audited on the run's chain, reopens the personnel officer's preparation, and is limited
    by the policy's max_returns (2 by default) like the monthly returns; then the head confirms as usual."""
    instance_id = _start_run(driver)
    driver.complete("personnel1", driver.task(instance_id, "prepare").id, {"note": "Lần 1"})
    confirm = driver.task(instance_id, "head_confirm")

    with pytest.raises(Invalid) as no_comment:
        driver.complete("head1", confirm.id, {"decision": "return", "comment": "  "})
    assert [p.field for p in no_comment.value.problems] == ["comment"]
    assert driver.task(instance_id, "head_confirm").id == confirm.id  # nothing moved

    for round_number in (1, 2):
        driver.complete(
            "head1", driver.task(instance_id, "head_confirm").id, {"decision": "return", "comment": "Soát lại RG10"}
        )
        prepare = driver.task(instance_id, "prepare")
        assert prepare.candidate_role == "personnel"
        assert _instance_data(driver, session_factory, instance_id)["return_count"] == round_number
        driver.complete("personnel1", prepare.id, {"note": f"Đã soát lại, lần {round_number + 1}"})

    with pytest.raises(Invalid) as too_many:
        driver.complete("head1", driver.task(instance_id, "head_confirm").id, {"decision": "return", "comment": "x"})
    assert [p.field for p in too_many.value.problems] == ["decision"]
    assert _instance_data(driver, session_factory, instance_id)["return_count"] == 2

    changes = [e["changes"] for e in _instance_events(session_factory, instance_id, "data_changed")]
    returns = [c for c in changes if c.get("decision", {}).get("to") == "return"]
    assert returns and returns[0]["comment"]["to"] == "Soát lại RG10"

    reference = "Văn bản số 12/QĐ-UBND cho phép vượt tỷ lệ"
    resolutions = [
        {"cadre_code": "RX01", "action": "demote", "reason": "Thấp điểm nhất trong nhóm"},
        {"cadre_code": "RA02", "action": "exception", "reason": reference},
    ]
    finished = driver.complete(
        "head1", driver.task(instance_id, "head_confirm").id, {"decision": "confirm", "resolutions": resolutions}
    )
    assert finished.status == "completed"
    assert _year_results(session_factory)["RA02"] == HTXSNV
    with session_factory() as session:
        assert verify_chains(session).ok


def test_the_approved_exception_is_on_the_year_result_and_in_its_audit_event(driver, session_factory, seeded):
    """NĐ 335 Điều 20 k5 (§6.4): the approval under which an over-quota HTXSNV was kept is recorded on the result and
    in the cadre's chain, not only in the run's data; a demoted cadre carries none, and the chain says why."""
    instance_id = _start_run(driver)
    driver.complete("personnel1", driver.task(instance_id, "prepare").id, {})
    reference = "Văn bản số 12/QĐ-UBND cho phép vượt tỷ lệ"
    driver.complete(
        "head1",
        driver.task(instance_id, "head_confirm").id,
        {
            "resolutions": [
                {"cadre_code": "RX01", "action": "demote", "reason": "Thấp điểm nhất"},
                {"cadre_code": "RA02", "action": "exception", "reason": f"  {reference} "},
            ]
        },
    )
    with session_factory() as session:
        year = {
            row.cadre_id: row
            for row in session.scalars(select(EvaluationResult).where(EvaluationResult.period_kind == "year"))
        }
        assert year[seeded["RA02"]].quota_exception == reference
        assert year[seeded["RX01"]].quota_exception is None and year[seeded["RX01"]].grade == HTTNV
        payloads = [
            json.loads(p)
            for p in session.scalars(
                select(AuditEvent.payload).where(
                    AuditEvent.chain_key == cadre_chain(seeded["RA02"]),
                    AuditEvent.event_type == "evaluation_recorded",
                )
            )
        ]
        year_event = next(p for p in payloads if p["period_kind"] == "year")
        assert year_event["changes"]["quota_exception"] == {"from": None, "to": reference}
        demoted = [
            json.loads(p)
            for p in session.scalars(
                select(AuditEvent.payload).where(
                    AuditEvent.chain_key == cadre_chain(seeded["RX01"]),
                    AuditEvent.event_type == "evaluation_recorded",
                )
            )
        ]
        demoted_year = next(p for p in demoted if p["period_kind"] == "year")
        assert demoted_year["reason"] == "Hạ xuống HTTNV do vượt tỷ lệ HTXSNV: Thấp điểm nhất"
        assert all("reason" not in p for p in demoted if p["period_kind"] == "quarter")


def test_only_an_htxsnv_result_carries_a_quota_exception(session_factory, seeded):
    with session_factory() as session, pytest.raises(Invalid) as refused, transaction(session):
        cadre = session.get(Cadre, seeded["RG01"])
        record_evaluation(
            session, None, cadre, period_kind="year", period="2026", grade=HTTNV, score=80.0, quota_exception="VB 1"
        )
    assert refused.value.problems[0].field == "quota_exception"
    with session_factory() as session:
        assert session.scalar(select(func.count()).where(EvaluationResult.period_kind == "year")) == 0


def test_a_late_annual_run_is_escalated_never_graded_automatically(driver, session_factory, seeded):
    """NĐ 335 Điều 21 (§6.3): the year is graded before 15/12 (policy: due by the end of 14/12). Past it, a late
    preparation goes to the unit's head and a late confirmation to the level above; the steps stay open and nothing
    is written until the head confirms."""
    instance_id = _start_run(driver)
    prepare = driver.task(instance_id, "prepare")
    assert prepare.due_dt is not None
    run_due_timers(session_factory, driver.engine)  # 10 December: not due yet
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["prepare"]

    clock.set_now(datetime(2026, 12, 14, 18, 0, tzinfo=UTC))  # 01:00 on 15 December in Vietnam
    run_due_timers(session_factory, driver.engine)
    assert sorted(t.task_key for t in driver.open_tasks(instance_id)) == ["escalate_prepare", "prepare"]
    escalation = driver.task(instance_id, "escalate_prepare")
    assert escalation.candidate_role == "head"
    driver.complete("head1", escalation.id, {"prepare_instruction": "Trình ngay trong ngày 15/12"})

    driver.complete("personnel1", driver.task(instance_id, "prepare").id, {})
    # Already past the due day: the confirmation is late as soon as it opens, and goes up a level.
    assert sorted(t.task_key for t in driver.open_tasks(instance_id)) == ["escalate_confirm", "head_confirm"]
    with session_factory() as session:
        above = driver.task(instance_id, "escalate_confirm")
        unit = session.get(OrgUnit, above.candidate_unit_id)
        assert unit is not None and unit.code == "X001" and above.candidate_role == "head"
    assert _year_results(session_factory) == {}
    resolutions = [
        {"cadre_code": "RX01", "action": "demote", "reason": "Thấp điểm nhất"},
        {"cadre_code": "RA02", "action": "demote", "reason": "Vượt tỷ lệ"},
    ]
    finished = driver.complete("head1", driver.task(instance_id, "head_confirm").id, {"resolutions": resolutions})
    assert finished.status == "completed"  # the open escalation ends with the run
    assert _year_results(session_factory)["RA02"] == HTTNV
    with session_factory() as session:
        left = session.scalar(
            select(func.count(HumanTask.id)).where(
                HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN
            )
        )
        assert left == 0


def test_each_escalation_of_the_run_keeps_its_own_instruction(driver, session_factory, seeded):
    """Decision 0053: both escalations of the run had one form and one key (`instruction`), and the procedure's
    data — every branch's, as the instance page shows it — kept only the last. Each now has its own field: the
    confirmation's escalation opens empty and both instructions stay."""
    instance_id = _start_run(driver)
    clock.set_now(datetime(2026, 12, 14, 18, 0, tzinfo=UTC))  # 01:00 on 15 December in Vietnam: past the due day
    run_due_timers(session_factory, driver.engine)
    late_prepare = {"prepare_instruction": "Trình ngay trong ngày 15/12"}
    driver.complete("head1", driver.task(instance_id, "escalate_prepare").id, late_prepare)
    driver.complete("personnel1", driver.task(instance_id, "prepare").id, {})
    escalation = driver.task(instance_id, "escalate_confirm")
    assert driver.prefill("head1", escalation.id) == {}
    late_confirm = {"confirm_instruction": "Xác nhận trước ngày 20/12"}
    driver.complete("head1", escalation.id, late_confirm)
    with session_factory() as session:
        row = session.get(ProcessInstance, instance_id)
        assert row is not None
        workflow = driver.engine.load(driver.engine.definition(session, row.process_version_id), row)
        assert {**late_prepare, **late_confirm}.items() <= instance_data(workflow).items()


def test_the_annual_due_day_is_a_setting():
    """§6.3: bodies whose year ends later finish by 15/01 of the following year; only December or January."""
    assert annual_due(2026) == date(2026, 12, 14)
    later = EvaluationPolicy.from_mapping({"annual_due_month": 1, "annual_due_day": 15})
    assert annual_due(2026, later) == date(2027, 1, 15)
    with pytest.raises(Invalid) as refused:
        EvaluationPolicy.from_mapping({"annual_due_month": 6})
    assert [p.field for p in refused.value.problems] == ["annual_due_month"]
