"""The appointment, rotation and planning-review procedures in the load benchmark (bench/load.py, issue #9).

Set-up (`prepare_procedures`, inside the demo organisation of `load_demo`): the province head `leader1` (the
competent authority of commune posts, lane "Cấp có thẩm quyền"), the head `head2` of ward X002, posts in commune
X001, cadres of X001 planned for them and graded last year, and wards QH001… under the province, each with its own
head and one post; then the instances are started with the service functions the web app's start pages call
(start_appointment, start_rotation, start_planning), as `personnel1`.

Which steps the load completes through `POST /api/v1/tasks/<id>/complete` (plain JSON, by the right person):

  appointment (internal source, the nominee planned for the post, graded HTTNV last year, so eligible):
      eligibility_policy (personnel1) → policy_decision (leader1) → step1_conference (personnel1);
      the chain stops at ballot_step2: a ballot step is done on the ballot pages (open the box, vote, close),
      which the API does not offer; the dossier later needs a file upload too.
  rotation (from X001 to a non-leadership post of X002, so no collective ballot; the cadre holds no leadership
  post, so the rotation counts as onto a higher post and the competent authority records the exception):
      plan, propose, eligibility (personnel1) → plan_approval, exception (leader1) → consult_sending (head1, the
      sending unit) → consult_receiving (head2) → meet_cadre, submission (personnel1) → decision (leader1) →
      handover (head1) → arrival (head2); the instance then waits for its end-of-rotation timer (36 months).
  planning review (the annual review of a ward for a term, nobody nominated, so no ballot):
      screening (personnel1) → confirm_removals (the ward's head) → review_frame (personnel1, the ward's post) →
      approve_frame (the ward's head) → nominate (personnel1, an empty list) → dossier (personnel1) →
      approval (leader1); the review is then completed (its completion effect notifies the ward).

The raw SpiffWorkflow figures of the same steps (`RAW_PROCEDURES`) start with the data the start services write and
complete each step with the data the app's hooks would leave (eligibility results, deadlines, the frame, …),
approximately: the same keys and sizes, computed here without a database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.appointment.hooks import POLICY_WORKING_DAYS, PROCESS_WORKING_DAYS, working_deadline
from workflows.appointment.service import CALENDAR_YEARS, start_appointment
from workflows.db import transaction
from workflows.engine.runtime import ProcessEngine
from workflows.planning.service import start_data, start_planning
from workflows.registry.models import OrgUnit, Position, RoleAssignment, User
from workflows.registry.records import (
    VIETNAM_TZ,
    add_planning_entry,
    create_cadre,
    local_today,
    record_evaluation,
)
from workflows.registry.tokens import create_token
from workflows.rotation.service import RotationRequest, start_rotation
from workflows.rules.appointment import DEFAULT_POLICY as APPOINTMENT_POLICY
from workflows.rules.planning import DEFAULT_POLICY as PLANNING_POLICY
from workflows.rules.retirement import add_months
from workflows.rules.rotation import DEFAULT_POLICY as ROTATION_POLICY
from workflows.rules.workdays import DEFAULT_CALENDAR
from workflows.states import Role

ROOT = Path(__file__).resolve().parent.parent
TODAY = local_today()
DAY = TODAY.isoformat()
ROTATION_ENDS = add_months(TODAY, ROTATION_POLICY.min_duration_months) - timedelta(days=1)
PLANNED_TERM = "2026-2031"  # the appointment nominees' planning
ROTATION_PLANNED_TERM = "2031-2036"  # the rotated cadres' planning (QĐ 377: 3 cadres per title and term)
# A planning review runs once at a time per unit and term: each ward is reviewed for these terms.
REVIEW_TERMS = ("2026-2031", "2031-2036", "2036-2041", "2041-2046", "2046-2051")
CADRES_PER_POST = 3

# Who does a step: a username, or None for the instance's own person (the planning review's ward head); the data
# (a mapping, or a function of the instance's context); the task key the answer should show next (None: the load
# stops there — the procedure ended, waits for a timer, or goes on at a step the API cannot do).
Step = tuple[str | None, Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]], str | None]

APPOINTMENT_STEPS: tuple[Step, ...] = (
    ("personnel1", {"dossier_received_on": DAY}, "policy_decision"),
    ("leader1", {"policy_decision": "approve"}, "step1_conference"),
    ("personnel1", {"held_on": DAY, "minutes_summary": "Thống nhất cơ cấu, tiêu chuẩn, quy trình giới thiệu"}, None),
)
ROTATION_PLAN = {
    "plan_reference": "KH-01/2026",
    "plan_count": 3,
    "plan_needs": "Đào tạo, rèn luyện cán bộ trong quy hoạch qua thực tiễn ở cơ sở",
    "plan_posts_places": "Công chức Văn phòng - Thống kê, Phường Bình Minh",
    "expected_placement": "Trở về đơn vị cũ hoặc bố trí chức vụ tương đương",
}
EXCEPTION_REASON = "Cán bộ trẻ trong quy hoạch, cần rèn luyện thực tiễn ở cơ sở"
ROTATION_DECISION = {"final_decision": "approve", "decision_number": "125-QĐ/TU", "effective_on": DAY}
ROTATION_STEPS: tuple[Step, ...] = (
    ("personnel1", ROTATION_PLAN, "plan_approval"),
    ("leader1", {"plan_decision": "approve"}, "propose"),
    ("personnel1", {"proposal_summary": "Đề xuất theo kế hoạch đã phê duyệt"}, "eligibility"),
    ("personnel1", {}, "exception"),
    ("leader1", {"exception_decision": "exception", "exception_reason": EXCEPTION_REASON}, "consult_sending"),
    ("head1", {"sending_opinion": "agree"}, "consult_receiving"),
    ("head2", {"receiving_opinion": "agree"}, "meet_cadre"),
    ("personnel1", {"met_on": DAY, "cadre_agrees": "agree", "cadre_opinion": "Sẵn sàng nhận nhiệm vụ"}, "submission"),
    ("personnel1", {"submission_summary": "Tờ trình số 12/TTr-BTC"}, "decision"),
    ("leader1", ROTATION_DECISION, "handover"),
    ("head1", {"handover_on": DAY, "handover_note": "Bàn giao hồ sơ, công việc đang làm"}, "arrival"),
    ("head2", {"arrived_on": DAY, "assigned_work": "Văn phòng - Thống kê"}, None),
)
PLANNING_APPROVAL = {"approval_decision": "approve", "decision_number": "20-QĐ/TU"}
PLANNING_STEPS: tuple[Step, ...] = (
    ("personnel1", {}, "confirm_removals"),
    (None, {"removals": []}, "review_frame"),
    ("personnel1", lambda context: {"frame_titles": [{"position_id": context["post"]}]}, "approve_frame"),
    (None, {"frame_decision": "approve"}, "nominate"),
    ("personnel1", {"nominations": []}, "dossier"),
    ("personnel1", {"submission_number": "15/TTr-BTC"}, "approval"),
    ("leader1", PLANNING_APPROVAL, None),
)
STEPS: dict[str, tuple[Step, ...]] = {
    "appointment": APPOINTMENT_STEPS,
    "rotation": ROTATION_STEPS,
    "planning": PLANNING_STEPS,
}
# The first task of each procedure (open after the start) and its process id.
FIRST_TASKS = {"appointment": "eligibility_policy", "rotation": "plan", "planning": "screening"}
PROCESS_IDS = {"appointment": "appointment", "rotation": "rotation", "planning": "planning_review"}
USERS = ("personnel1", "leader1", "head1", "head2")


def step_data(step: Step, context: Mapping[str, Any]) -> Mapping[str, Any]:
    data = step[1]
    return data(context) if callable(data) else data


# -- set-up ---------------------------------------------------------------------------------------------------------


def _unit(session: Session, code: str) -> OrgUnit:
    return session.scalars(select(OrgUnit).where(OrgUnit.code == code)).one()


def _head(session: Session, username: str, full_name: str, unit: OrgUnit) -> User:
    user = User(username=username, full_name=full_name, unit_id=unit.id)
    user.role_assignments.append(RoleAssignment(role=Role.HEAD, unit_id=unit.id))
    session.add(user)
    session.flush()
    return user


def _cadre(session: Session, code: str, name: str, unit: OrgUnit, number: int) -> Any:
    return create_cadre(
        session,
        None,
        {
            "code": code,
            "full_name": name,
            "unit_id": unit.id,
            "birth_date": f"{1984 + number % 8}-0{1 + number % 9}-1{number % 10}",
            "gender": "female" if number % 3 == 0 else "male",
        },
    )


def prepare_procedures(
    factory: Any, engine: ProcessEngine, *, appointments: int, rotations: int, plannings: int
) -> tuple[dict[str, str], dict[int, dict[str, Any]]]:
    """The people, posts and cadres the three procedures need, and their instances started. Returns the API tokens
    of the people who complete their steps and each instance's context (its own person, the ward's post)."""
    tokens: dict[str, str] = {}
    contexts: dict[int, dict[str, Any]] = {}
    last_year = str(TODAY.year - 1)
    wards: list[tuple[str, str, int]] = []  # (unit code, head username, post id)
    with factory() as session, transaction(session):
        t01, x001, x002 = _unit(session, "T01"), _unit(session, "X001"), _unit(session, "X002")
        people = [
            _head(session, "leader1", "Bí thư Tỉnh ủy (tải)", t01),
            _head(session, "head2", "Chủ tịch UBND phường Bình Minh (tải)", x002),
        ]
        posts = []
        for number in range(math.ceil(max(appointments, rotations) / CADRES_PER_POST)):
            post = Position(
                title=f"Phó Chủ tịch UBND xã (tải {number})",
                unit_id=x001.id,
                level="commune",
                is_leadership=True,
                title_code="commune_pc_vice_chair",
            )
            session.add(post)
            posts.append(post)
        rotation_post = Position(
            title="Công chức Văn phòng - Thống kê (tải)",
            unit_id=x002.id,
            level="commune",
            is_leadership=False,
            title_code="commune_civil_servant",
        )
        session.add(rotation_post)
        for number in range(math.ceil(plannings / len(REVIEW_TERMS))):
            ward = OrgUnit(
                code=f"QH{number:03d}", name=f"Phường Quy Hoạch {number} (tải)", unit_type="ward", parent=t01
            )
            session.add(ward)
            session.flush()
            ward.path = f"{t01.path}{t01.id}/"
            people.append(_head(session, f"headqh{number:03d}", f"Chủ tịch UBND phường QH{number:03d}", ward))
            post = Position(title="Phó Chủ tịch UBND phường", unit_id=ward.id, level="commune", is_leadership=True)
            session.add(post)
            session.flush()
            wards.append((ward.code, people[-1].username, post.id))
        session.flush()
        for user in [*people, *session.scalars(select(User).where(User.username.in_(["personnel1", "head1"])))]:
            tokens[user.username] = create_token(session, user, "load")
        nominees = []
        for number in range(appointments):
            cadre = _cadre(session, f"AP{number:05d}", f"Người được bổ nhiệm {number}", x001, number)
            post = posts[number // CADRES_PER_POST]
            add_planning_entry(session, None, cadre, position_id=post.id, term=PLANNED_TERM, added_on=TODAY)
            record_evaluation(session, None, cadre, period_kind="year", period=last_year, grade="HTTNV")
            nominees.append((cadre.code, post.id))
        rotated = []
        for number in range(rotations):
            cadre = _cadre(session, f"LC{number:05d}", f"Cán bộ luân chuyển {number}", x001, number)
            post = posts[number // CADRES_PER_POST]
            add_planning_entry(session, None, cadre, position_id=post.id, term=ROTATION_PLANNED_TERM, added_on=TODAY)
            rotated.append(cadre.code)
        x002_id, rotation_post_id = x002.id, rotation_post.id
    with factory() as session:
        personnel = session.scalars(select(User).where(User.username == "personnel1")).one()
        for start in range(0, appointments, 50):
            with transaction(session):
                for code, post_id in nominees[start : start + 50]:
                    start_appointment(
                        session, engine, actor=personnel, cadre_code=code, position_id=post_id, source="internal"
                    )
        for start in range(0, rotations, 50):
            with transaction(session):
                for code in rotated[start : start + 50]:
                    request = RotationRequest(
                        cadre_code=code,
                        to_unit_id=x002_id,
                        position_id=rotation_post_id,
                        starts_on=TODAY,
                        planned_end_on=ROTATION_ENDS,
                        purpose="training",
                    )
                    start_rotation(session, engine, actor=personnel, request=request)
        reviews = [(ward, term) for ward in wards for term in REVIEW_TERMS][:plannings]
        for start in range(0, len(reviews), 50):
            with transaction(session):
                for (code, head, post_id), term in reviews[start : start + 50]:
                    instance = start_planning(
                        session, engine, actor=personnel, unit_code=code, term=term, variant="annual"
                    )
                    contexts[instance.id] = {"owner": head, "post": post_id}
    return tokens, contexts


# -- raw engine -----------------------------------------------------------------------------------------------------


def _deadline(day: date) -> str:
    return datetime.combine(day, time(23, 59, 59), VIETNAM_TZ).isoformat()


def _results(rules: tuple[str, ...], failed: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Rule results the size of the hooks' (a sentence with the figures compared, the legal source)."""
    return [
        {
            "rule": rule,
            "passed": rule not in failed,
            "message": f"Điều kiện {rule}: đạt, tính đến ngày nhận hồ sơ {TODAY:%d/%m/%Y} (36 tháng, đủ tối thiểu)",
            "source": "QĐ 377-QĐ/TW Điều 34; NĐ 170/2025/NĐ-CP Điều 29",
        }
        for rule in rules
    ]


_CALENDAR = DEFAULT_CALENDAR.between(TODAY - timedelta(days=366), add_months(TODAY, 12 * CALENDAR_YEARS))
_NOMINEE = {"key": "AP00001", "name": "Người được bổ nhiệm 1"}
APPOINTMENT_START = {
    "appointment_key": "internal/AP00001/12/1",
    "source": "internal",
    "cadre_code": "AP00001",
    "cadre_name": _NOMINEE["name"],
    "cadre_unit_id": 4,
    "target_position_id": 12,
    "target_position_title": "Phó Chủ tịch UBND xã (tải 0) (Xã An Phú)",
    "target_unit_id": 4,
    "retirement_date": "2047-04-11",
    "nominees": [_NOMINEE],
    "candidate_names": [_NOMINEE],
    "ballot_boxes_used": [],
    "policy": APPOINTMENT_POLICY.to_mapping(),
    "work_calendar": _CALENDAR.to_mapping(),
    "requested_on": DAY,
    "deadline_policy": working_deadline(TODAY, POLICY_WORKING_DAYS, _CALENDAR),
}
APPOINTMENT_RULES = ("planning", "time_in_post", "age", "discipline", "no_concurrent_procedure", "annual_grade")
APPOINTMENT_HOOKED: tuple[Mapping[str, Any], ...] = (
    {
        **step_data(APPOINTMENT_STEPS[0], {}),
        "eligibility": _results(APPOINTMENT_RULES),
        "eligible": True,
        "eligibility_failed": [],
        "eligibility_checked_on": DAY,
    },
    {
        **step_data(APPOINTMENT_STEPS[1], {}),
        "policy_decided_on": DAY,
        "deadline_process": working_deadline(TODAY, PROCESS_WORKING_DAYS, _CALENDAR),
    },
    step_data(APPOINTMENT_STEPS[2], {}),
)
_ROTATED = {"key": "LC00001", "name": "Cán bộ luân chuyển 1"}
ROTATION_START = {
    "rotation_key": "LC00001/1",
    "cadre_code": "LC00001",
    "cadre_name": _ROTATED["name"],
    "cadre_unit_id": 4,
    "sending_unit_name": "Xã An Phú",
    "to_unit_id": 5,
    "to_unit_name": "Phường Bình Minh",
    "authority_unit_id": 1,
    "target_position_id": 60,
    "target_position_title": "Công chức Văn phòng - Thống kê (tải) (Phường Bình Minh)",
    "is_appointment": False,
    "starts_on": DAY,
    "planned_end_on": ROTATION_ENDS.isoformat(),
    "purpose": "training",
    "purpose_label": ROTATION_POLICY.purposes["training"],
    "purpose_note": "",
    "nominees": [_ROTATED],
    "candidate_names": [_ROTATED],
    "ballot_boxes_used": [],
    "policy": ROTATION_POLICY.to_mapping(),
}
ROTATION_RULES = (
    "planning",
    "service_left",
    "purpose",
    "units",
    "equivalent_post",
    "no_new_post",
    "duration",
    "commune_key_post_capability",
    "non_local",
)
_review_opens = datetime.combine(ROTATION_ENDS - timedelta(days=ROTATION_POLICY.review_lead_days), time(0), VIETNAM_TZ)
# What the hooks add to each rotation step's submitted values.
_ROTATION_ADDED: tuple[dict[str, Any], ...] = (
    {},
    {"plan_approved_on": DAY},
    {},
    {
        "eligibility": _results(ROTATION_RULES, ("equivalent_post",)),
        "eligible": False,
        "eligibility_failed": ["equivalent_post"],
        "eligibility_exceptable": True,
        "eligibility_checked_on": DAY,
    },
    {
        "eligibility_exceptions": [{"rules": ["equivalent_post"], "reason": EXCEPTION_REASON, "decided_on": DAY}],
        "higher_post_exception": EXCEPTION_REASON,
    },
    {"sending_consulted_on": DAY},
    {"receiving_consulted_on": DAY},
    {},
    {},
    {"rotation_record_id": 101, "review_opens_at": _review_opens.isoformat()},
    {},
    {"rotation_position_id": 202},
)
ROTATION_HOOKED = tuple(
    {**step_data(step, {}), **added} for step, added in zip(ROTATION_STEPS, _ROTATION_ADDED, strict=True)
)
PLANNING_START = start_data(
    "annual/QH001/2026-2031/1",
    "annual",
    "2026-2031",
    OrgUnit(id=40, code="QH001", name="Phường Quy Hoạch 1 (tải)"),
    TODAY,
    PLANNING_POLICY,
)
_STRUCTURE = [
    f"{name}: 0/0 người trong quy hoạch (chỉ tiêu tối thiểu {share}%)"
    for name, share in (("Nữ", 15), ("Dân tộc thiểu số", 10), ("Dưới 45 tuổi", 30), ("Đủ 2 nhiệm kỳ", 50))
]
PLANNING_HOOKED: tuple[Mapping[str, Any], ...] = (
    {"removals": [], "_screening": [], "screened_count": 0, "screened_on": DAY},
    {"removals": [], "removals_confirmed": [], "removals_kept": []},
    {
        "frame_titles": [{"position_id": 41}],
        "frame": [{"position_id": 41, "title": "Phó Chủ tịch UBND phường (Phường Quy Hoạch 1 (tải))"}],
        "structure_current": _STRUCTURE,
    },
    step_data(PLANNING_STEPS[3], {}),
    {
        "nominations": [],
        "nominees": [],
        "has_nominees": False,
        "has_committee_nominees": False,
        "structure": _STRUCTURE,
    },
    {**step_data(PLANNING_STEPS[5], {}), "dossier_checked_on": DAY},
    {**PLANNING_APPROVAL, "approved_on": DAY},
)


def _keys(procedure: str) -> tuple[str, ...]:
    """The task key of each step: the first task, then what each step's answer shows next."""
    steps = STEPS[procedure]
    return (FIRST_TASKS[procedure], *(str(step[2]) for step in steps[:-1]))


# (files, process id, data set at the start, (task key, data as the hooks leave it) per step, whether the last step
# ends the instance)
RawModel = tuple[tuple[Path, ...], str, dict[str, Any], tuple[tuple[str, Mapping[str, Any]], ...], bool]
RAW_PROCEDURES: dict[str, RawModel] = {
    procedure: (
        (ROOT / "bpmn" / f"{PROCESS_IDS[procedure]}.bpmn",),
        PROCESS_IDS[procedure],
        start,
        tuple(zip(_keys(procedure), hooked, strict=True)),
        ends,
    )
    for procedure, start, hooked, ends in (
        ("appointment", APPOINTMENT_START, APPOINTMENT_HOOKED, False),
        ("rotation", ROTATION_START, ROTATION_HOOKED, False),
        ("planning", PLANNING_START, PLANNING_HOOKED, True),
    )
}
