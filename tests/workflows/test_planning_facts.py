"""The planning and rotation facts read from the registry (QĐ 377 planning chapter, QĐ 65; domain rules §2, §4) on
hand-made rows: counts per title and per cadre with a list being built, held posts, appointments in progress, the
review's screening inputs, structure members, and a rotation's post, holders and hometown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.appointment import PROCESS_ID as APPOINTMENT
from workflows.errors import NotFound
from workflows.models import ProcessInstance, ProcessVersion
from workflows.planning.facts import list_facts, nomination_facts, review_facts, structure_members
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    DisciplineRecord,
    EvaluationResult,
    OrgUnit,
    PlanningEntry,
    Position,
)
from workflows.rotation.facts import rotation_facts
from workflows.rules.appointment import RunningCase
from workflows.rules.planning import (
    RULE_APPOINTMENT_IN_PROGRESS,
    RULE_CADRES_PER_TITLE,
    RULE_HIGHER_TITLE,
    RULE_NOT_TWICE,
    RULE_TITLES_PER_CADRE,
    ConfidenceVote,
    check_nomination,
    screen_for_review,
)
from workflows.rules.rotation import RULE_NO_NEW_POST, RULE_NON_LOCAL, check_rotation
from workflows.states import InstanceStatus

ON = date(2026, 3, 10)
TERM = "2026-2031"


@dataclass
class Org:
    province: OrgUnit
    department: OrgUnit
    commune: OrgUnit
    other_commune: OrgUnit
    committee: OrgUnit
    chair: Position
    vice_chair: Position
    office_chief: Position
    inspection_chair: Position
    secretary: Position
    deputy_director: Position


@pytest.fixture
def org(session: Session) -> Org:
    province = OrgUnit(code="T01", name="Tỉnh Sơn Hà", unit_type="province", path="/")
    session.add(province)
    session.flush()
    below = f"/{province.id}/"
    department = OrgUnit(code="T01-SNV", name="Sở Nội vụ", unit_type="department", parent=province, path=below)
    commune = OrgUnit(code="X001", name="Xã An Phú", unit_type="commune", parent=province, path=below)
    other = OrgUnit(code="X002", name="Xã Bình Minh", unit_type="commune", parent=province, path=below)
    session.add_all([department, commune, other])
    session.flush()
    committee = OrgUnit(code="X001-UB", name="Ủy ban nhân dân xã An Phú", unit_type="peoples_committee",
                        parent=commune, path=f"{below}{commune.id}/")  # fmt: skip
    session.add(committee)
    session.flush()

    def position(title: str, unit: OrgUnit, code: str, level: str = "commune", **flags: bool) -> Position:
        row = Position(title=title, unit_id=unit.id, level=level, is_leadership=True, title_code=code, **flags)
        session.add(row)
        return row

    created = Org(
        province=province,
        department=department,
        commune=commune,
        other_commune=other,
        committee=committee,
        chair=position("Chủ tịch UBND", committee, "commune_pc_chair", is_key_title=True, requires_non_local=True),
        vice_chair=position("Phó Chủ tịch UBND", committee, "commune_pc_vice_chair"),
        office_chief=position("Chánh Văn phòng", committee, "commune_office_chief"),
        inspection_chair=position("Chủ nhiệm UBKT", commune, "commune_inspection_chair"),
        secretary=position("Bí thư Đảng ủy", commune, "commune_party_secretary"),
        deputy_director=position("Phó Giám đốc", department, "department_deputy_director", "province"),
    )
    session.flush()
    return created


def make_cadre(session: Session, org: Org, code: str, name: str, **values: object) -> Cadre:
    defaults: dict[str, object] = {"birth_date": date(1985, 5, 20), "gender": "female", "unit_id": org.commune.id}
    defaults.update(values)
    row = Cadre(code=code, full_name=name, **defaults)
    session.add(row)
    session.flush()
    return row


def plan(session: Session, cadre: Cadre, position: Position, term: str = TERM, status: str = "active") -> PlanningEntry:
    row = PlanningEntry(cadre_id=cadre.id, position_id=position.id, term=term, status=status, added_on=date(2026, 1, 5))
    session.add(row)
    session.flush()
    return row


def hold(session: Session, cadre: Cadre, position: Position, started: date, ended: date | None = None) -> None:
    session.add(CadrePosition(cadre_id=cadre.id, position_id=position.id, started_on=started, ended_on=ended))
    session.flush()


def start_instance(session: Session, process_id: str, cadre: Cadre, status: str = InstanceStatus.RUNNING) -> int:
    version = session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == process_id))
    if version is None:
        version = ProcessVersion(process_id=process_id, version=1, name=process_id, content_hash="0" * 64, files={})
        session.add(version)
        session.flush()
    row = ProcessInstance(process_version_id=version.id, process_id=process_id, state="{}", serializer_version="t",
                          status=status, subject_cadre_id=cadre.id)  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


def by_rule(results: list) -> dict:  # type: ignore[type-arg]
    return {r.rule: r for r in results}


def test_qd377_three_cadres_per_title_counts_the_plan_and_the_list_before(session: Session, org: Org) -> None:
    planned = [make_cadre(session, org, f"CB{i}", f"Cán bộ {i}") for i in range(2)]
    for cadre in planned:
        plan(session, cadre, org.chair)
    removed = make_cadre(session, org, "CBR", "Đã đưa ra")
    plan(session, removed, org.chair, status="removed")  # a removed entry does not count
    plan(session, make_cadre(session, org, "CBO", "Nhiệm kỳ khác"), org.chair, term="2021-2026")
    third, fourth = make_cadre(session, org, "CB3", "Cán bộ 3"), make_cadre(session, org, "CB4", "Cán bộ 4")

    facts = list_facts(session, [(third.id, org.chair.id), (fourth.id, org.chair.id)], TERM, on=ON)
    assert facts[0].others_for_title == ("Cán bộ 0", "Cán bộ 1")
    assert facts[1].others_for_title == ("Cán bộ 0", "Cán bộ 1", "Cán bộ 3")
    assert by_rule(check_nomination(facts[0], on=ON))[RULE_CADRES_PER_TITLE].passed
    refused = by_rule(check_nomination(facts[1], on=ON))[RULE_CADRES_PER_TITLE]
    assert not refused.passed and "đã có 3 người" in refused.message and "Cán bộ 3" in refused.message


def test_qd377_a_cadre_added_twice_to_one_title_is_seen_in_the_plan_and_in_the_list(session: Session, org: Org) -> None:
    cadre = make_cadre(session, org, "CB1", "Lê Thị Hoa")
    twice = list_facts(session, [(cadre.id, org.vice_chair.id), (cadre.id, org.vice_chair.id)], TERM, on=ON)
    assert [f.already_planned for f in twice] == [False, True]
    plan(session, cadre, org.vice_chair)
    facts = nomination_facts(session, cadre.id, org.vice_chair.id, TERM, on=ON)
    assert facts.already_planned and not by_rule(check_nomination(facts, on=ON))[RULE_NOT_TWICE].passed
    assert not nomination_facts(session, cadre.id, org.vice_chair.id, "2031-2036", on=ON).already_planned


def test_qd377_three_titles_per_cadre_at_one_level(session: Session, org: Org) -> None:
    cadre = make_cadre(session, org, "CB1", "Lê Thị Hoa")
    for position in (org.vice_chair, org.office_chief):
        plan(session, cadre, position)
    plan(session, cadre, org.deputy_director)  # another level: not counted
    facts = list_facts(session, [(cadre.id, org.inspection_chair.id), (cadre.id, org.chair.id)], TERM, on=ON)
    assert len(facts[0].titles_at_level) == 2
    assert by_rule(check_nomination(facts[0], on=ON))[RULE_TITLES_PER_CADRE].passed
    assert [t.position_id for t in facts[1].titles_at_level] == [
        org.vice_chair.id,
        org.office_chief.id,
        org.inspection_chair.id,
    ]
    assert not by_rule(check_nomination(facts[1], on=ON))[RULE_TITLES_PER_CADRE].passed


def test_qd377_held_posts_on_the_day_and_appointments_in_progress(session: Session, org: Org) -> None:
    cadre = make_cadre(session, org, "CB1", "Lê Thị Hoa")
    hold(session, cadre, org.vice_chair, date(2021, 6, 1))
    hold(session, cadre, org.office_chief, date(2015, 1, 1), ended=date(2021, 6, 1))  # ended: not held
    start_instance(session, APPOINTMENT, cadre, status=InstanceStatus.COMPLETED)
    facts = nomination_facts(session, cadre.id, org.vice_chair.id, TERM, on=ON)
    assert [p.position_id for p in facts.held_posts] == [org.vice_chair.id]
    assert not facts.appointment_in_progress
    assert "giữ chính chức danh" in by_rule(check_nomination(facts, on=ON))[RULE_HIGHER_TITLE].message
    assert by_rule(check_nomination(nomination_facts(session, cadre.id, org.chair.id, TERM, on=ON), on=ON))[
        RULE_HIGHER_TITLE
    ].passed

    running = start_instance(session, APPOINTMENT, cadre)
    start_instance(session, "planning_review", cadre)  # another process: not an appointment
    facts = nomination_facts(session, cadre.id, org.chair.id, TERM, on=ON)
    assert facts.appointment_in_progress and facts.in_progress_cases == (RunningCase(running, APPOINTMENT),)
    assert not by_rule(check_nomination(facts, on=ON))[RULE_APPOINTMENT_IN_PROGRESS].passed


def test_unknown_cadre_or_position_is_not_found(session: Session, org: Org) -> None:
    cadre = make_cadre(session, org, "CB1", "Lê Thị Hoa")
    with pytest.raises(NotFound):
        nomination_facts(session, cadre.id + 999, org.chair.id, TERM, on=ON)
    with pytest.raises(NotFound):
        nomination_facts(session, cadre.id, org.chair.id + 999, TERM, on=ON)


def test_qd377_review_facts_screen_the_units_plan(session: Session, org: Org) -> None:
    kept = make_cadre(session, org, "CB1", "An Kept")
    graded = make_cadre(session, org, "CB2", "Bình Graded")
    disciplined = make_cadre(session, org, "CB3", "Cường Disciplined")
    waived = make_cadre(session, org, "CB4", "Dung Waived")
    voted = make_cadre(session, org, "CB5", "Em Voted")
    provincial = make_cadre(session, org, "CB6", "Giang Province", unit_id=org.department.id)
    entries = {c.id: plan(session, c, org.vice_chair).id for c in (kept, graded, disciplined, waived, voted)}
    plan(session, provincial, org.deputy_director)  # outside the commune: not reviewed there
    for year, grade in (("2024", "KHTNV"), ("2025", "HTTNV")):
        session.add(EvaluationResult(cadre_id=kept.id, period_kind="year", period=year, grade=grade, unit_id=1))
    session.add(EvaluationResult(cadre_id=graded.id, period_kind="year", period="2025", grade="KHTNV", unit_id=1))
    session.add(DisciplineRecord(cadre_id=disciplined.id, level="canh_cao", decided_on=date(2025, 8, 1)))
    record = DisciplineRecord(cadre_id=waived.id, level="khien_trach", decided_on=date(2025, 8, 1))
    session.add(record)
    session.flush()

    facts = review_facts(session, TERM, unit_id=org.commune.id, waived_discipline_ids=[record.id],
                         confidence={voted.id: ConfidenceVote(11, 20)})  # fmt: skip
    assert [f.cadre_name for f in facts] == [
        "An Kept",
        "Bình Graded",
        "Cường Disciplined",
        "Dung Waived",
        "Em Voted",
    ]
    outcomes = {f.cadre_id: screen_for_review(f, on=ON) for f in facts}
    assert facts[0].latest_annual_grade == "HTTNV" and facts[0].latest_annual_period == "2025"
    assert [o.proposed_for_removal for o in outcomes.values()] == [False, True, True, False, True]
    assert outcomes[graded.id].reason == "Xếp loại chất lượng năm 2025: Không hoàn thành nhiệm vụ"
    assert outcomes[disciplined.id].reason == "Bị kỷ luật cảnh cáo ngày 01/08/2025"
    assert "11/20 phiếu tín nhiệm thấp" in outcomes[voted.id].reason
    assert outcomes[waived.id].entry_ids == (entries[waived.id],)
    assert [f.cadre_name for f in review_facts(session, TERM)][-1] == "Giang Province"
    assert review_facts(session, "2031-2036") == []


def test_structure_members_in_order_once(session: Session, org: Org) -> None:
    a = make_cadre(session, org, "CB1", "A", ethnicity="Tày", education_level="dai_hoc", is_science_technology=True)
    b = make_cadre(session, org, "CB2", "B", gender="male")
    members = structure_members(session, [b.id, a.id, b.id, a.id + 999])
    assert [m.cadre_id for m in members] == [b.id, a.id]
    assert members[1].ethnicity == "Tày" and members[1].is_science_technology and members[0].gender == "male"


# ---------------------------------------------------------------------------------------------
# Rotation
# ---------------------------------------------------------------------------------------------
def test_qd65_rotation_facts_of_a_provincial_officer_to_a_commune_chair(session: Session, org: Org) -> None:
    cadre = make_cadre(session, org, "CB1", "Nguyễn Văn An", gender="male", birth_date=date(1984, 2, 10),
                       unit_id=org.department.id, hometown_unit_id=org.other_commune.id)  # fmt: skip
    hold(session, cadre, org.deputy_director, date(2022, 1, 1))
    plan(session, cadre, org.secretary)
    session.add(EvaluationResult(cadre_id=cadre.id, period_kind="year", period="2025", grade="HTTNV", unit_id=1))
    session.flush()
    facts = rotation_facts(session, cadre.id, to_unit_id=org.committee.id, position_id=org.chair.id,
                           starts_on=date(2026, 7, 1), planned_end_on=date(2029, 6, 30), purpose="training",
                           today=ON)  # fmt: skip
    assert facts.from_unit_id == org.department.id and facts.current_title_code == "department_deputy_director"
    assert facts.receiving_commune_id == org.commune.id and facts.hometown_commune_id == org.other_commune.id
    assert facts.target_requires_non_local and facts.target_in_receiving_unit and facts.target_holders == ()
    results = check_rotation(facts)
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]


def test_qd65_a_local_cadre_and_an_occupied_chair_are_refused(session: Session, org: Org) -> None:
    # The hometown was recorded as a commune merged into An Phú in 2025: a local person today.
    old = OrgUnit(code="X009", name="Xã Cũ", unit_type="commune", parent=org.province, path=org.commune.path,
                  merged_into_id=org.commune.id, merged_on=date(2025, 7, 1))  # fmt: skip
    session.add(old)
    session.flush()
    cadre = make_cadre(session, org, "CB1", "Nguyễn Văn An", unit_id=org.department.id, hometown_unit_id=old.id)
    holder = make_cadre(session, org, "CB2", "Trần Văn Cũ")
    hold(session, holder, org.chair, date(2021, 6, 1))
    facts = rotation_facts(session, cadre.id, to_unit_id=org.committee.id, position_id=org.chair.id,
                           starts_on=date(2026, 7, 1), planned_end_on=date(2029, 6, 30), purpose="training",
                           today=ON)  # fmt: skip
    results = by_rule(check_rotation(facts))
    assert not results[RULE_NON_LOCAL].passed and "là người địa phương" in results[RULE_NON_LOCAL].message
    assert not results[RULE_NO_NEW_POST].passed and "Trần Văn Cũ" in results[RULE_NO_NEW_POST].message
    # A post of another unit is flagged; unknown rows are not found.
    elsewhere = rotation_facts(session, cadre.id, to_unit_id=org.other_commune.id, position_id=org.chair.id,
                               starts_on=date(2026, 7, 1), planned_end_on=None, purpose=None, today=ON)  # fmt: skip
    assert not elsewhere.target_in_receiving_unit
    with pytest.raises(NotFound):
        rotation_facts(session, cadre.id, to_unit_id=org.committee.id + 999, starts_on=ON, planned_end_on=None,
                       purpose=None)  # fmt: skip
