"""The facts the appointment eligibility rules check, read from the registry (`workflows.rules.appointment`).

Read-only: nothing here writes. What counts as what:
- current post: the cadre's leadership positions (`Position.is_leadership`) held on `on` (started, not ended); the
  most senior of them by rank (then the earliest started) is the current post. None held → a first appointment,
  which the time-in-post rule exempts.
- earlier equivalent posts: ended leadership positions with the current post's rank (or, unranked, its title
  code), whose months are added to the current post's (time in equivalent posts can be added up, §3.2).
- planning: the cadre's active planning entries (any term).
- discipline: every discipline record (the rules decide which still count).
- annual grade: the latest `period_kind = "year"` evaluation result.
- appointment in progress: a running instance of process "appointment" whose subject is the cadre, other than
  `exclude_instance_id` (the instance asking).
- planning in progress: a running instance of a planning process ("planning_review") whose subject is the cadre.
  A review that runs for a whole unit and names cadres only in its data is not seen here.
- planned for a post (`planned_for_post`, the nomination slip's pool, decision 0121): every cadre with an active
  entry for the post (any term), whether active and whether holding the post today, with the units
  `rules.appointment.is_local_source` reads.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.appointment import PROCESS_ID
from workflows.assignment import path_ancestors
from workflows.errors import NotFound
from workflows.models import ProcessInstance, ProcessVersion
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    DisciplineRecord,
    EvaluationResult,
    OrgUnit,
    PeriodKind,
    PlanningEntry,
    PlanningStatus,
    Position,
)
from workflows.registry.records import local_today
from workflows.rules.appointment import (
    DEFAULT_POLICY,
    AppointmentPolicy,
    CandidateFacts,
    DisciplineFact,
    PlannedCadre,
    PlannedTitle,
    ReappointmentFacts,
    RunningCase,
    months_between,
)
from workflows.rules.communes import UnitNode
from workflows.states import InstanceStatus

PLANNING_PROCESS_IDS: tuple[str, ...] = ("planning_review",)

__all__ = ["PLANNING_PROCESS_IDS", "candidate_facts", "planned_for_post", "position_label", "reappointment_facts"]


def position_label(position: Position, unit: OrgUnit) -> str:
    """ "Phó Chủ tịch UBND (Ủy ban nhân dân xã Tân Phong)": a title is only readable with its unit."""
    return f"{position.title} ({unit.name})"


def candidate_facts(
    session: Session,
    cadre_id: int,
    target_position_id: int,
    *,
    exclude_instance_id: int | None = None,
    on: date | None = None,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    planning_process_ids: Collection[str] = PLANNING_PROCESS_IDS,
) -> CandidateFacts:
    """The facts of `cadre_id` for an appointment to `target_position_id` as of `on` (today in Vietnam by default).
    NotFound when either does not exist."""
    day = on or local_today()
    cadre = session.get(Cadre, cadre_id)
    if cadre is None:
        raise NotFound("cadre not found")
    target_row = session.execute(
        select(Position, OrgUnit).join(OrgUnit, OrgUnit.id == Position.unit_id).where(Position.id == target_position_id)
    ).first()
    if target_row is None:
        raise NotFound("position not found")
    target, target_unit = target_row

    held = session.execute(
        select(CadrePosition, Position, OrgUnit)
        .join(Position, Position.id == CadrePosition.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(CadrePosition.cadre_id == cadre_id, Position.is_leadership.is_(True))
        .order_by(CadrePosition.started_on, CadrePosition.id)
    ).all()
    current = [
        (cp, pos, unit) for cp, pos, unit in held if cp.started_on <= day and (cp.ended_on is None or cp.ended_on > day)
    ]
    current_post = None
    if current:
        # The most senior post (unranked counts as least senior), the longest held among equals.
        current_post = max(
            current, key=lambda row: (policy.rank_of(row[1].title_code) or -1, -row[0].started_on.toordinal())
        )
    current_rank = policy.rank_of(current_post[1].title_code) if current_post else None
    earlier_months = 0
    if current_post is not None:
        cp_now, pos_now, _ = current_post

        def equivalent(pos: Position) -> bool:
            if current_rank is not None:
                return policy.rank_of(pos.title_code) == current_rank
            return pos.id == pos_now.id or (pos.title_code is not None and pos.title_code == pos_now.title_code)

        for cp, pos, _unit in held:
            ended = cp.ended_on
            if ended is not None and ended <= cp_now.started_on and cp.id != cp_now.id and equivalent(pos):
                earlier_months += max(0, months_between(cp.started_on, ended))

    planned_rows = session.execute(
        select(PlanningEntry, Position, OrgUnit)
        .join(Position, Position.id == PlanningEntry.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(PlanningEntry.cadre_id == cadre_id, PlanningEntry.status == PlanningStatus.ACTIVE)
        .order_by(PlanningEntry.added_on, PlanningEntry.id)
    ).all()
    planned = tuple(
        PlannedTitle(pos.id, position_label(pos, unit), policy.rank_of(pos.title_code)) for _, pos, unit in planned_rows
    )

    disciplines = tuple(
        DisciplineFact(r.level, r.decided_on, r.expires_on)
        for r in session.scalars(
            select(DisciplineRecord)
            .where(DisciplineRecord.cadre_id == cadre_id)
            .order_by(DisciplineRecord.decided_on, DisciplineRecord.id)
        )
    )

    latest = session.execute(
        select(EvaluationResult.period, EvaluationResult.grade)
        .where(EvaluationResult.cadre_id == cadre_id, EvaluationResult.period_kind == PeriodKind.YEAR)
        .order_by(EvaluationResult.period.desc())
        .limit(1)
    ).first()

    running = session.execute(
        select(ProcessInstance.id, ProcessInstance.process_id, ProcessVersion.name)
        .join(ProcessVersion, ProcessInstance.process_version_id == ProcessVersion.id)
        .where(
            ProcessInstance.subject_cadre_id == cadre_id,
            ProcessInstance.status == InstanceStatus.RUNNING,
            ProcessInstance.process_id.in_([PROCESS_ID, *planning_process_ids]),
        )
        .order_by(ProcessInstance.id)
    ).all()
    others = [(i, p, name) for i, p, name in running if i != exclude_instance_id]
    appointment_running = any(p == PROCESS_ID for _, p, _name in others)
    planning_running = any(p in planning_process_ids for _, p, _name in others)

    return CandidateFacts(
        birth_date=cadre.birth_date,
        gender=cadre.gender,
        retirement_date=cadre.retirement_date,
        current_post_started_on=current_post[0].started_on if current_post else None,
        first_appointment=current_post is None,
        planned=planned,
        target_position_id=target.id,
        target_title=position_label(target, target_unit),
        target_rank=policy.rank_of(target.title_code),
        disciplines=disciplines,
        appointment_in_progress=appointment_running,
        planning_in_progress=planning_running,
        latest_annual_grade=latest.grade if latest else None,
        latest_annual_period=latest.period if latest else None,
        current_rank=current_rank,
        current_title=position_label(current_post[1], current_post[2]) if current_post else None,
        earlier_equivalent_months=earlier_months,
        in_progress_cases=tuple(RunningCase(i, name) for i, _p, name in others),
    )


def reappointment_facts(
    session: Session,
    held_id: int,
    *,
    health_certificate_on: date | None,
    head_proposes: bool | None,
    exclude_instance_id: int | None = None,
    on: date | None = None,
    policy: AppointmentPolicy = DEFAULT_POLICY,
) -> ReappointmentFacts:
    """The facts of renewing the term `held_id` (a CadrePosition): the candidate's facts for the same post, the
    term, and the annual grades of the cadre (the rules keep those of the term's years). NotFound when the term
    does not exist or has no end."""
    held = session.get(CadrePosition, held_id)
    if held is None or held.term_ends_on is None:
        raise NotFound("term not found")
    candidate = candidate_facts(
        session, held.cadre_id, held.position_id, exclude_instance_id=exclude_instance_id, on=on, policy=policy
    )
    grades = session.execute(
        select(EvaluationResult.period, EvaluationResult.grade)
        .where(EvaluationResult.cadre_id == held.cadre_id, EvaluationResult.period_kind == PeriodKind.YEAR)
        .order_by(EvaluationResult.period)
    ).all()
    return ReappointmentFacts(
        candidate=candidate,
        term_started_on=held.started_on,
        term_ends_on=held.term_ends_on,
        term_grades=tuple((str(period), str(grade)) for period, grade in grades if grade),
        health_certificate_on=health_certificate_on,
        head_proposes=head_proposes,
    )


def planned_for_post(
    session: Session, position_id: int, on: date | None = None
) -> tuple[list[PlannedCadre], dict[int, UnitNode]]:
    """The cadres the approved plan names for the post (active entries, oldest first, each cadre once) and the units
    — theirs, the post's and every unit above them — that decide who is the local source; in three statements."""
    on = on or local_today()
    holds = (
        select(CadrePosition.id)
        .where(
            CadrePosition.cadre_id == Cadre.id,
            CadrePosition.position_id == position_id,
            CadrePosition.started_on <= on,
            (CadrePosition.ended_on.is_(None)) | (CadrePosition.ended_on > on),
        )
        .exists()
    )
    rows = session.execute(
        select(Cadre.code, Cadre.full_name, Cadre.unit_id, Cadre.is_active, holds)
        .join(PlanningEntry, PlanningEntry.cadre_id == Cadre.id)
        .where(PlanningEntry.position_id == position_id, PlanningEntry.status == PlanningStatus.ACTIVE)
        .order_by(PlanningEntry.added_on, PlanningEntry.id)
    ).all()
    planned: list[PlannedCadre] = []
    for code, name, unit_id, is_active, holds_post in rows:  # a cadre planned in two terms is named once
        if all(cadre.code != code for cadre in planned):
            planned.append(PlannedCadre(code, name, unit_id, bool(is_active), bool(holds_post)))
    post_unit = session.scalar(select(Position.unit_id).where(Position.id == position_id))
    wanted = {cadre.unit_id for cadre in planned if cadre.unit_id is not None} | {post_unit}
    paths = session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(wanted - {None}))).all()
    ids = {row.id for row in paths} | {a for row in paths for a in path_ancestors(row.path)}
    units = session.execute(select(OrgUnit.id, OrgUnit.unit_type, OrgUnit.path).where(OrgUnit.id.in_(ids))).all()
    return planned, {row.id: UnitNode(row.id, row.unit_type, tuple(path_ancestors(row.path))) for row in units}
