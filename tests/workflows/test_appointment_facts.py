"""The appointment facts read from the registry: current post, equivalent earlier posts, planning, discipline, the
latest annual grade and the procedures running for the cadre — on hand-made rows and on the demo province."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflows.appointment import PROCESS_ID
from workflows.appointment.facts import candidate_facts
from workflows.errors import NotFound
from workflows.models import ProcessInstance, ProcessVersion
from workflows.registry.demo import load_demo_province
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    DisciplineRecord,
    EvaluationResult,
    OrgUnit,
    PlanningEntry,
    Position,
)
from workflows.rules.appointment import (
    RULE_CONCURRENT,
    RULE_PLANNING,
    RULES,
    AppointmentPolicy,
    DisciplineFact,
    PlannedTitle,
    RunningCase,
    check_eligibility,
    is_eligible,
)
from workflows.rules.retirement import retirement_date
from workflows.states import InstanceStatus

ON = date(2027, 3, 12)


@dataclass
class Org:
    commune: OrgUnit
    committee: OrgUnit
    department: OrgUnit
    chair: Position
    vice_chair: Position
    office_chief: Position
    department_head: Position
    civil_servant: Position
    unranked: Position


@pytest.fixture
def org(session: Session) -> Org:
    province = OrgUnit(code="T01", name="Tỉnh Sơn Hà", unit_type="province", path="/")
    session.add(province)
    session.flush()
    commune = OrgUnit(code="X001", name="Xã An Phú", unit_type="commune", parent=province, path=f"/{province.id}/")
    session.add(commune)
    session.flush()
    committee = OrgUnit(code="X001-UB", name="Ủy ban nhân dân xã An Phú", unit_type="peoples_committee",
                        parent=commune, path=f"{commune.path}{commune.id}/")  # fmt: skip
    department = OrgUnit(code="X001-KT", name="Phòng Kinh tế xã An Phú", unit_type="department",
                         parent=commune, path=f"{commune.path}{commune.id}/")  # fmt: skip
    session.add_all([committee, department])
    session.flush()

    def position(title: str, unit: OrgUnit, code: str | None, leadership: bool = True) -> Position:
        row = Position(title=title, unit_id=unit.id, level="commune", is_leadership=leadership, title_code=code)
        session.add(row)
        return row

    created = Org(
        commune=commune,
        committee=committee,
        department=department,
        chair=position("Chủ tịch UBND", committee, "commune_pc_chair"),
        vice_chair=position("Phó Chủ tịch UBND", committee, "commune_pc_vice_chair"),
        office_chief=position("Chánh Văn phòng", committee, "commune_office_chief"),
        department_head=position("Trưởng phòng", department, "commune_department_head"),
        civil_servant=position("Công chức Tài chính - Kế toán", department, "commune_civil_servant", False),
        unranked=position("Tổ trưởng tổ công tác", department, None),
    )
    session.flush()
    return created


@pytest.fixture
def cadre(session: Session, org: Org) -> Cadre:
    birth = date(1978, 4, 10)
    row = Cadre(code="CB0100", full_name="Trần Văn Bình", unit_id=org.commune.id, birth_date=birth, gender="male",
                retirement_date=retirement_date(birth, "male"))  # fmt: skip
    session.add(row)
    session.flush()
    return row


def hold(session: Session, cadre: Cadre, position: Position, started: date, ended: date | None = None) -> None:
    session.add(CadrePosition(cadre_id=cadre.id, position_id=position.id, started_on=started, ended_on=ended))
    session.flush()


def instance(session: Session, process_id: str, cadre: Cadre | None, status: str = InstanceStatus.RUNNING) -> int:
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id))
    if version is None:
        version = ProcessVersion(process_id=process_id, version=1, name=process_id, content_hash="0" * 64, files={})
        session.add(version)
        session.flush()
    row = ProcessInstance(process_version_id=version.id, process_id=process_id, state="{}", serializer_version="t",
                          status=status, subject_cadre_id=cadre.id if cadre else None)  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


def test_a_cadre_without_a_leadership_post_is_a_first_appointment(session: Session, org: Org, cadre: Cadre) -> None:
    hold(session, cadre, org.civil_servant, date(2015, 9, 1))
    facts = candidate_facts(session, cadre.id, org.department_head.id, on=ON)
    assert facts.first_appointment is True
    assert facts.current_post_started_on is None
    assert facts.current_rank is None
    assert facts.target_title == "Trưởng phòng (Phòng Kinh tế xã An Phú)"
    assert facts.target_rank == 14
    assert facts.birth_date == date(1978, 4, 10)
    assert facts.gender == "male"
    assert facts.retirement_date == date(2040, 5, 1)
    assert facts.planned == ()
    assert facts.disciplines == ()
    assert facts.latest_annual_grade is None
    assert not facts.appointment_in_progress
    assert not facts.planning_in_progress


def test_the_current_post_and_equivalent_earlier_posts(session: Session, org: Org, cadre: Cadre) -> None:
    hold(session, cadre, org.civil_servant, date(2012, 1, 1), date(2019, 12, 31))  # staff: never counted
    hold(session, cadre, org.office_chief, date(2020, 1, 1), date(2024, 12, 31))  # rank 14, like department head
    hold(session, cadre, org.unranked, date(2018, 1, 1), date(2019, 1, 1))  # unranked: not equivalent
    hold(session, cadre, org.department_head, date(2025, 1, 1))
    hold(session, cadre, org.vice_chair, date(2027, 6, 1))  # starts after the day of the check
    facts = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON)
    assert facts.first_appointment is False
    assert facts.current_post_started_on == date(2025, 1, 1)
    assert facts.current_title == "Trưởng phòng (Phòng Kinh tế xã An Phú)"
    assert facts.current_rank == 14
    assert facts.earlier_equivalent_months == 59  # 1/1/2020 → 31/12/2024
    assert facts.target_rank == 15


def test_the_most_senior_current_post_counts(session: Session, org: Org, cadre: Cadre) -> None:
    hold(session, cadre, org.department_head, date(2020, 1, 1))
    hold(session, cadre, org.vice_chair, date(2026, 1, 1))
    hold(session, cadre, org.unranked, date(2019, 1, 1))
    hold(session, cadre, org.chair, date(2010, 1, 1), ON)  # ended on the day: no longer held
    facts = candidate_facts(session, cadre.id, org.chair.id, on=ON)
    assert facts.current_title == "Phó Chủ tịch UBND (Ủy ban nhân dân xã An Phú)"
    assert facts.current_post_started_on == date(2026, 1, 1)
    assert facts.current_rank == 15
    assert facts.earlier_equivalent_months == 0  # the earlier chair post is more senior, not equivalent


def test_an_unranked_post_adds_up_only_with_itself(session: Session, org: Org, cadre: Cadre) -> None:
    hold(session, cadre, org.unranked, date(2020, 1, 1), date(2021, 1, 1))
    hold(session, cadre, org.unranked, date(2025, 1, 1))
    facts = candidate_facts(session, cadre.id, org.department_head.id, on=ON)
    assert facts.current_rank is None
    assert facts.earlier_equivalent_months == 12


def test_planning_discipline_and_the_latest_annual_grade(session: Session, org: Org, cadre: Cadre) -> None:
    session.add_all([
        PlanningEntry(cadre_id=cadre.id, position_id=org.vice_chair.id, term="2026-2031", added_on=date(2026, 1, 5)),
        PlanningEntry(cadre_id=cadre.id, position_id=org.chair.id, term="2026-2031", added_on=date(2026, 1, 5),
                      status="removed", removed_on=date(2026, 6, 1), reason="Không còn đủ tiêu chuẩn"),
        PlanningEntry(cadre_id=cadre.id, position_id=org.unranked.id, term="2026-2031", added_on=date(2026, 2, 1)),
        DisciplineRecord(cadre_id=cadre.id, level="canh_cao", decided_on=date(2024, 5, 2)),
        DisciplineRecord(cadre_id=cadre.id, level="khien_trach", decided_on=date(2019, 1, 3),
                         expires_on=date(2020, 1, 3)),
        EvaluationResult(cadre_id=cadre.id, period_kind="year", period="2025", grade="HTTNV", unit_id=org.commune.id),
        EvaluationResult(cadre_id=cadre.id, period_kind="year", period="2026", grade="HTNV", unit_id=org.commune.id),
        EvaluationResult(cadre_id=cadre.id, period_kind="month", period="2027-02", grade="HTXSNV",
                         unit_id=org.commune.id),
    ])  # fmt: skip
    session.flush()
    facts = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON)
    assert facts.planned == (
        PlannedTitle(org.vice_chair.id, "Phó Chủ tịch UBND (Ủy ban nhân dân xã An Phú)", 15),
        PlannedTitle(org.unranked.id, "Tổ trưởng tổ công tác (Phòng Kinh tế xã An Phú)", None),
    )
    assert facts.planned_position_ids == (org.vice_chair.id, org.unranked.id)
    assert facts.disciplines == (
        DisciplineFact("khien_trach", date(2019, 1, 3), date(2020, 1, 3)),
        DisciplineFact("canh_cao", date(2024, 5, 2), None),
    )
    assert (facts.latest_annual_grade, facts.latest_annual_period) == ("HTNV", "2026")


def test_other_cadres_rows_are_not_read(session: Session, org: Org, cadre: Cadre) -> None:
    other = Cadre(code="CB0200", full_name="Lê Thị Cúc", unit_id=org.commune.id, birth_date=date(1985, 1, 1),
                  gender="female")  # fmt: skip
    session.add(other)
    session.flush()
    hold(session, other, org.department_head, date(2020, 1, 1))
    session.add_all([
        PlanningEntry(cadre_id=other.id, position_id=org.vice_chair.id, term="2026-2031", added_on=date(2026, 1, 5)),
        DisciplineRecord(cadre_id=other.id, level="canh_cao", decided_on=date(2026, 5, 2)),
        EvaluationResult(cadre_id=other.id, period_kind="year", period="2026", grade="KHTNV", unit_id=org.commune.id),
    ])  # fmt: skip
    instance(session, PROCESS_ID, other)
    facts = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON)
    assert facts.first_appointment
    assert facts.planned == ()
    assert facts.disciplines == ()
    assert facts.latest_annual_grade is None
    assert not facts.appointment_in_progress


def test_running_procedures_of_the_cadre(session: Session, org: Org, cadre: Cadre) -> None:
    asking = instance(session, PROCESS_ID, cadre)
    instance(session, PROCESS_ID, cadre, status=InstanceStatus.COMPLETED)
    instance(session, PROCESS_ID, cadre, status=InstanceStatus.CANCELLED)
    instance(session, "monthly_evaluation", cadre)
    facts = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON, exclude_instance_id=asking)
    assert not facts.appointment_in_progress
    assert not facts.planning_in_progress
    assert facts.in_progress_cases == ()

    without_exclusion = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON)
    assert without_exclusion.appointment_in_progress
    assert without_exclusion.in_progress_cases == (RunningCase(asking, "appointment"),)

    other = instance(session, PROCESS_ID, cadre)
    review = instance(session, "planning_review", cadre)
    facts = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON, exclude_instance_id=asking)
    assert facts.appointment_in_progress
    assert facts.planning_in_progress
    assert facts.in_progress_cases == (RunningCase(other, "appointment"), RunningCase(review, "planning_review"))
    concurrent = next(
        r
        for r in check_eligibility(facts, dossier_received_on=ON, policy=AppointmentPolicy())
        if r.rule == RULE_CONCURRENT
    )
    assert not concurrent.passed
    assert f"hồ sơ số {review} (planning_review)" in concurrent.message


def test_a_running_procedure_is_named_by_its_versions_name_and_case_number(
    session: Session, org: Org, cadre: Cadre
) -> None:
    """The finding says "hồ sơ số 12 (Bổ nhiệm, bổ nhiệm lại)", as every page names a case, not "appointment#12"."""
    session.add(ProcessVersion(process_id=PROCESS_ID, version=1, name="Bổ nhiệm, bổ nhiệm lại", content_hash="0" * 64,
                               files={}))  # fmt: skip
    session.flush()
    other = instance(session, PROCESS_ID, cadre)
    facts = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON)
    assert facts.in_progress_cases == (RunningCase(other, "Bổ nhiệm, bổ nhiệm lại"),)
    concurrent = next(r for r in check_eligibility(facts, dossier_received_on=ON) if r.rule == RULE_CONCURRENT)
    assert f"hồ sơ số {other} (Bổ nhiệm, bổ nhiệm lại)" in concurrent.message
    assert "#" not in concurrent.message and PROCESS_ID not in concurrent.message


def test_unknown_cadre_or_position(session: Session, org: Org, cadre: Cadre) -> None:
    with pytest.raises(NotFound):
        candidate_facts(session, cadre.id + 1000, org.vice_chair.id, on=ON)
    with pytest.raises(NotFound):
        candidate_facts(session, cadre.id, org.unranked.id + 1000, on=ON)


def test_a_policy_with_other_title_ranks(session: Session, org: Org, cadre: Cadre) -> None:
    hold(session, cadre, org.department_head, date(2020, 1, 1))
    session.add(PlanningEntry(cadre_id=cadre.id, position_id=org.office_chief.id, term="2026-2031",
                              added_on=date(2026, 1, 5)))  # fmt: skip
    session.flush()
    policy = AppointmentPolicy.from_mapping({"title_ranks": {"commune_office_chief": 20, "commune_pc_vice_chair": 18}})
    facts = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON, policy=policy)
    assert facts.current_rank is None  # department heads are unranked in this policy
    assert facts.target_rank == 18
    planning = check_eligibility(facts, dossier_received_on=ON, policy=policy)[0]
    assert planning.rule == RULE_PLANNING
    assert planning.passed  # planned for a title ranked higher than the target
    default = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON)
    assert not check_eligibility(default, dossier_received_on=ON, policy=AppointmentPolicy())[0].passed


def test_an_eligible_candidate_end_to_end(session: Session, org: Org, cadre: Cadre) -> None:
    hold(session, cadre, org.department_head, date(2022, 1, 1))
    session.add_all([
        PlanningEntry(cadre_id=cadre.id, position_id=org.vice_chair.id, term="2026-2031", added_on=date(2026, 1, 5)),
        EvaluationResult(cadre_id=cadre.id, period_kind="year", period="2026", grade="HTTNV", unit_id=org.commune.id),
    ])  # fmt: skip
    session.flush()
    facts = candidate_facts(session, cadre.id, org.vice_chair.id, on=ON)
    results = check_eligibility(facts, dossier_received_on=ON, policy=AppointmentPolicy())
    assert [r.rule for r in results] == list(RULES)
    assert is_eligible(results), [r.message for r in results]
    messages = {r.rule: r.message for r in results}
    assert messages["time_in_post"].startswith("Đã giữ chức vụ Trưởng phòng (Phòng Kinh tế xã An Phú) 62 tháng")
    assert messages["age"].startswith("Còn 157 tháng đến tuổi nghỉ hưu")  # 62y − 48y11m


def test_the_demo_commune_vice_chair(session_factory: sessionmaker[Session]) -> None:
    """CB0003 of the demo holds Phó Chủ tịch UBND in X001; as a candidate for its chair the facts read the demo rows."""
    with session_factory() as s:
        load_demo_province(s, cadres=60, today=date(2026, 11, 22))
        s.commit()
        vice = s.scalar(select(Cadre).where(Cadre.code == "CB0003"))
        assert vice is not None
        chair = s.scalar(
            select(Position)
            .join(OrgUnit, OrgUnit.id == Position.unit_id)
            .where(OrgUnit.code == "X001-UB", Position.title == "Chủ tịch UBND")
        )
        assert chair is not None
        facts = candidate_facts(s, vice.id, chair.id, on=date(2026, 12, 1))
        assert not facts.first_appointment
        assert facts.current_title is not None and facts.current_title.startswith("Phó Chủ tịch UBND (")
        assert facts.current_rank == 15
        assert facts.target_rank == 16
        assert facts.retirement_date == vice.retirement_date
        entries = s.scalars(select(PlanningEntry.position_id).where(PlanningEntry.cadre_id == vice.id,
                                                                    PlanningEntry.status == "active")).all()  # fmt: skip
        assert set(facts.planned_position_ids) == set(entries)
        results = check_eligibility(facts, dossier_received_on=date(2026, 12, 1), policy=AppointmentPolicy())
        assert len(results) == len(RULES)
        assert all(r.message for r in results)
