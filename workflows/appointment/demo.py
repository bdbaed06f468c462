"""A past appointment for the demo: one procedure run from its start to the competent authority's decision, weeks
before the load, so that an inspector trying the demo finds a history to read — who proposed, who voted (never how),
the tallies of each conference, the eligibility at decision time, the version of the procedure — without first
driving an appointment through a dozen steps with several logins.

Nothing is written around the procedure: every step is taken through the same services the pages call (start, take,
complete, open the conference's box, attendance, one ballot per member, close), by the demo login whose role the step
asks for, with the clock set to the day and minute the step is taken. Its audit chain is therefore the one a real
appointment leaves, and `canbo audit verify` checks it like any other.

The story: the chief of the office of Xã An Phú's people's committee (`head4`; Lê Khánh Hồng with the default seed),
in the approved plan for the committee's vice-chair post, is appointed to it; the committee's other leaders
(`supervisor4`, `head5`, `head6`) vote at each conference, `personnel1` runs the steps, `auditor1`'s committee
clears the inspection, and the competent authority (`head1`, by the model's assignment) decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import ballots, clock
from workflows.appointment import PROCESS_ID, Source
from workflows.appointment.ballots import open_step_ballot
from workflows.appointment.hooks import DOSSIER_ITEMS
from workflows.appointment.service import start_appointment
from workflows.appointment.steps import STEPS, StepKind
from workflows.engine.operations import claim_task, complete_task
from workflows.engine.runtime import ProcessEngine
from workflows.errors import WorkflowError
from workflows.models import BallotBox, BallotElector, HumanTask, ProcessInstance
from workflows.registry.models import Cadre, OrgUnit, PlanningEntry, Position, User
from workflows.registry.records import VIETNAM_TZ
from workflows.rules.appointment import DEFAULT_POLICY, AppointmentPolicy
from workflows.rules.ballots import Mark
from workflows.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from workflows.states import InstanceStatus, TaskStatus
from workflows.tasks import can_act

# The leaders of the committee's offices whose cadres the demo province plans for its vice-chair post; the first
# one planned is appointed (`head4`, Lê Khánh Hồng, with the default seed).
NOMINEE_LOGINS = ("head4", "head5", "head6")
POST_UNIT_CODE = "X001-UB"
POST_TITLE = "Phó Chủ tịch UBND"
DECISION_NUMBER = "215/QĐ-UBND"
# The logins who take the steps, in the order they are asked: the first one the step's role allows takes it.
STEP_TAKERS = ("personnel1", "auditor1", "head1", "head7", "head8")
# How long before the load the procedure started, and the working days between two steps.
STARTED_DAYS_AGO = 60
DAYS_BETWEEN_STEPS = 2
# The one member who leaves the key cadres' opinion blank, so that the tallies are not all unanimous.
ABSTAINS_AT_OPINION = "head6"


@dataclass(frozen=True)
class PastAppointment:
    instance_id: int
    nominee: str
    post: str
    decided_on: date
    created: bool  # False: the demo already held it


class _Schedule:
    """When each action is taken: each step a few working days after the one before, taken into the inbox at the
    start of the day and completed later that morning; a conference in the afternoon, its votes a few minutes apart."""

    def __init__(self, first_day: date, calendar: WorkCalendar) -> None:
        self.calendar = calendar
        self._start(calendar.next_working_day(first_day))

    def _start(self, day: date) -> None:
        self.day = day
        self.at = datetime.combine(day, time(8, 5), tzinfo=VIETNAM_TZ)

    def next_day(self) -> None:
        self._start(self.calendar.add_working_days(self.day, DAYS_BETWEEN_STEPS))

    def afternoon(self) -> None:
        self.at = max(self.at, datetime.combine(self.day, time(14, 0), tzinfo=VIETNAM_TZ))

    def after(self, minutes: int) -> datetime:
        self.at += timedelta(minutes=minutes)
        return self.at


def _step_data(day: date, calendar: WorkCalendar, nominee: str) -> dict[str, dict[str, Any]]:
    """What `personnel1` and the authority enter at each step, as the forms ask it (forms/appointment_*.json)."""
    text = day.isoformat()
    recent = (day - timedelta(days=10)).isoformat()
    return {
        "eligibility_policy": {"dossier_received_on": text},
        "policy_decision": {"policy_decision": "approve"},
        "step1_conference": {
            "held_on": text,
            "minutes_summary": "Tập thể lãnh đạo thống nhất chủ trương, cơ cấu và nguồn nhân sự bổ nhiệm.",
        },
        "dossier_checklist": {
            "documents_received": list(DOSSIER_ITEMS),  # every paper the dossier lists
            "photo_taken_on": recent,
            "health_certificate_on": recent,
        },
        "clearance_political": {"political_result": "cleared"},
        "clearance_residence": {"residence_result": "cleared"},
        "clearance_inspection": {"inspection_result": "cleared"},
        "eligibility_final": {"final_dossier_received_on": text},
        "submission": {
            "submission_summary": f"Tờ trình đề nghị bổ nhiệm đồng chí {nominee} giữ chức Phó Chủ tịch UBND xã."
        },
        "decision": {
            "final_decision": "approve",
            "decision_number": DECISION_NUMBER,
            "effective_on": calendar.add_working_days(day, 3).isoformat(),
            "posts_held": "end",  # the office chief leaves the office for the committee (decision 0138)
        },
    }


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def _post(session: Session) -> Position | None:
    return session.scalar(
        select(Position)
        .join(OrgUnit, Position.unit_id == OrgUnit.id)
        .where(OrgUnit.code == POST_UNIT_CODE, Position.title == POST_TITLE)
    )


def _nominee(session: Session, post: Position) -> Cadre | None:
    """The cadre of the first of `NOMINEE_LOGINS` in the approved plan for the post; the one already appointed
    when an earlier load ran the demo appointment (their plan for the post then ended)."""
    for username in NOMINEE_LOGINS:
        cadre = session.scalar(select(Cadre).join(User, User.cadre_id == Cadre.id).where(User.username == username))
        if cadre is None:
            continue
        planned_or_appointed = session.scalar(
            select(PlanningEntry.id).where(PlanningEntry.cadre_id == cadre.id, PlanningEntry.position_id == post.id)
        )
        if planned_or_appointed is not None:
            return cadre
    return None


def _held(session: Session, nominee: Cadre) -> ProcessInstance | None:
    """The demo's past appointment when an earlier load made it (any appointment of the nominee: the demo starts no
    other)."""
    return session.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.process_id == PROCESS_ID, ProcessInstance.subject_cadre_id == nominee.id)
        .order_by(ProcessInstance.id)
    )


def _past(instance: ProcessInstance, nominee: Cadre, post: Position, *, created: bool) -> PastAppointment:
    """Decided on the day the procedure ended (Vietnam's date), whether this load or an earlier one ran it."""
    ended = (instance.ended_dt or instance.started_dt).replace(tzinfo=UTC).astimezone(VIETNAM_TZ)
    return PastAppointment(instance.id, nominee.full_name, post.title, ended.date(), created=created)


def run_past_appointment(
    session: Session,
    engine: ProcessEngine,
    *,
    today: date,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> PastAppointment | None:
    """The demo's past appointment, run now through the services with the clock set back; None when the demo
    province is not loaded (no nominee or post). A second load finds it and adds nothing. Any refusal of a step
    is raised (`WorkflowError`): the caller's transaction then writes nothing of it."""
    post = _post(session)
    nominee = _nominee(session, post) if post is not None else None
    if nominee is None or post is None:
        return None
    if (earlier := _held(session, nominee)) is not None:
        return _past(earlier, nominee, post, created=False)
    takers = [user for username in STEP_TAKERS if (user := _user(session, username)) is not None]
    personnel = next((user for user in takers if user.username == "personnel1"), None)
    if personnel is None:
        raise WorkflowError("the demo login personnel1 is missing: load the demo province first")
    schedule = _Schedule(today - timedelta(days=STARTED_DAYS_AGO), calendar)
    with clock.frozen(schedule.after(0)):
        instance = start_appointment(
            session,
            engine,
            actor=personnel,
            cadre_code=nominee.code,
            position_id=post.id,
            source=Source.INTERNAL,
            policy=policy,
            calendar=calendar,
        )
    instance_id = instance.id
    while (task := _open_task(session, instance_id)) is not None:
        schedule.next_day()
        _take_step(session, engine, task, _taker(session, task, takers), schedule, nominee)
    finished = session.get(ProcessInstance, instance_id)
    if finished is None or finished.status != InstanceStatus.COMPLETED:
        raise WorkflowError(f"the demo appointment #{instance_id} did not reach its decision")
    return _past(finished, nominee, post, created=True)


def _open_task(session: Session, instance_id: int) -> HumanTask | None:
    return session.scalar(
        select(HumanTask)
        .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
        .order_by(HumanTask.id)
    )


def _taker(session: Session, task: HumanTask, takers: Sequence[User]) -> User:
    for user in takers:
        if task.assignee_id == user.id or can_act(session, user, task):
            return user
    raise WorkflowError(f"no demo login may take the step {task.name!r} ({task.task_key})")


def _take_step(
    session: Session, engine: ProcessEngine, task: HumanTask, taker: User, schedule: _Schedule, nominee: Cadre
) -> None:
    task_id, key = task.id, task.task_key
    if task.assignee_id is None:
        with clock.frozen(schedule.after(0)):
            claim_task(session, actor=taker, task_id=task_id)
    if key in STEPS:
        _hold_conference(session, engine, taker, task.instance_id, key, schedule, nominee.code)
        data: dict[str, Any] = {}
    else:
        known = _step_data(schedule.day, schedule.calendar, nominee.full_name).get(key)
        if known is None:
            raise WorkflowError(f"the demo appointment does not know the step {task.name!r} ({key})")
        data = known
    with clock.frozen(schedule.after(25 if key in STEPS else 95)):
        complete_task(session, engine, actor=taker, task_id=task_id, data=data)
        # What the completion added for the flush (the result's notices) takes its time from the clock at the flush.
        session.flush()


def _hold_conference(
    session: Session,
    engine: ProcessEngine,
    secretary: User,
    instance_id: int,
    step: str,
    schedule: _Schedule,
    nominee_code: str,
) -> None:
    """The step's box opened for the unit's kept body, everyone summoned present, each member who may vote marks the
    nominee yes (one leaves the key cadres' opinion blank) and every other name on the slip blank; then closed."""
    schedule.afternoon()
    with clock.frozen(schedule.after(0)):
        box = open_step_ballot(session, engine, actor=secretary, instance_id=instance_id)
    box_id = box.id
    summoned = list(
        session.scalars(select(BallotElector.user_id).where(BallotElector.box_id == box_id, BallotElector.is_summoned))
    )
    with clock.frozen(schedule.after(10)):
        ballots.mark_attendance(session, actor=secretary, box_id=box_id, present_ids=summoned)
    keys = [str(candidate["key"]) for candidate in box.candidates]
    opinion = STEPS[step].kind == StepKind.OPINION
    for voter in _voters(session, box, summoned):
        mark = Mark.ABSTAIN if opinion and voter.username == ABSTAINS_AT_OPINION else Mark.YES
        contents = {key: (mark if key == nominee_code else Mark.ABSTAIN).value for key in keys}
        with clock.frozen(schedule.after(3)):
            ballots.cast_ballot(session, voter=voter, box_id=box_id, contents=contents)
    with clock.frozen(schedule.after(12)):
        ballots.close_box(session, actor=secretary, box_id=box_id)


def _voters(session: Session, box: BallotBox, summoned: Sequence[int]) -> list[User]:
    """The summoned who may cast a ballot (`ballots.votes_on_self`: never the person the procedure is about)."""
    users = session.scalars(select(User).where(User.id.in_(summoned)).order_by(User.id))
    return [user for user in users if not ballots.votes_on_self(session, user, box)]
