"""The facts the rotation rules check (`workflows.rules.rotation`), read from the registry. Read-only.

What counts as what:
- planned: the cadre's active planning entries (any term).
- current post: the most senior leadership position held on the rotation's start day (by the policy's ranks, then
  the earliest started); None when no leadership post is held.
- the post: `position_id` at the receiving unit; its holders are the other people holding it on the start day;
  it was "added for the rotation" when created after the plan's approval (`plan_approved_on`, from the process).
- annual grade: the latest `period_kind = "year"` evaluation result.
- hometown: `Cadre.hometown_unit_id` taken to today's commune through the 2025 mergers (`rules/communes.py`); the
  receiving commune is the commune the receiving unit lies in.
- From the process, not the registry: the purpose and its note, the recorded exceptions (higher post, added
  post) and any record of limited capability or low prestige.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.appointment.facts import position_label
from workflows.errors import NotFound
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    EvaluationResult,
    OrgUnit,
    PeriodKind,
    PlanningEntry,
    PlanningStatus,
    Position,
)
from workflows.registry.posts import leadership_posts_held
from workflows.registry.records import local_today
from workflows.reports import UnitIndex
from workflows.rules.appointment import PlannedTitle
from workflows.rules.rotation import DEFAULT_POLICY, RotationFacts, RotationPolicy

__all__ = ["current_post", "rotation_facts"]


def current_post(
    session: Session, cadre_id: int, on: date, policy: RotationPolicy = DEFAULT_POLICY
) -> tuple[Position, OrgUnit] | None:
    """The post a rotation moves the cadre from: the most senior leadership post held on `on` (by the policy's
    ranks, unranked counting as least senior), the longest held among equals; None when no leadership post is
    held. The eligibility check compares it with the post rotated to; the decision's summary names it."""
    held = leadership_posts_held(session, cadre_id, on)
    if not held:
        return None
    _held, position, unit = max(
        held, key=lambda row: (policy.rank_of(row[1].title_code) or -1, -row[0].started_on.toordinal())
    )
    return position, unit


def rotation_facts(
    session: Session,
    cadre_id: int,
    *,
    to_unit_id: int,
    starts_on: date,
    planned_end_on: date | None,
    purpose: str | None,
    position_id: int | None = None,
    purpose_note: str | None = None,
    plan_approved_on: date | None = None,
    higher_post_exception: str | None = None,
    new_post_exception: str | None = None,
    low_capability_reason: str | None = None,
    from_unit_id: int | None = None,
    today: date | None = None,
    policy: RotationPolicy = DEFAULT_POLICY,
) -> RotationFacts:
    """The facts of rotating `cadre_id` to `to_unit_id` (post `position_id`) from `starts_on`. `from_unit_id`
    defaults to the cadre's unit; `today` (Vietnam's, by default) decides which mergers have taken effect.
    NotFound when the cadre, a unit or the position does not exist."""
    day = today or local_today()
    cadre = session.get(Cadre, cadre_id)
    if cadre is None:
        raise NotFound("cadre not found")
    from_unit = session.get(OrgUnit, from_unit_id if from_unit_id is not None else cadre.unit_id)
    to_unit = session.get(OrgUnit, to_unit_id)
    if from_unit is None or to_unit is None:
        raise NotFound("unit not found")
    target: Position | None = None
    target_unit: OrgUnit | None = None
    holders: tuple[str, ...] = ()
    if position_id is not None:
        target = session.get(Position, position_id)
        if target is None:
            raise NotFound("position not found")
        target_unit = session.get(OrgUnit, target.unit_id)
        holders = tuple(
            session.scalars(
                select(Cadre.full_name)
                .join(CadrePosition, CadrePosition.cadre_id == Cadre.id)
                .where(
                    CadrePosition.position_id == target.id,
                    CadrePosition.cadre_id != cadre_id,
                    CadrePosition.started_on <= starts_on,
                    (CadrePosition.ended_on.is_(None)) | (CadrePosition.ended_on > starts_on),
                )
                .order_by(CadrePosition.started_on, CadrePosition.id)
            )
        )

    planned = tuple(
        PlannedTitle(pos.id, position_label(pos, unit), policy.rank_of(pos.title_code))
        for _, pos, unit in session.execute(
            select(PlanningEntry, Position, OrgUnit)
            .join(Position, Position.id == PlanningEntry.position_id)
            .join(OrgUnit, OrgUnit.id == Position.unit_id)
            .where(PlanningEntry.cadre_id == cadre_id, PlanningEntry.status == PlanningStatus.ACTIVE)
            .order_by(PlanningEntry.added_on, PlanningEntry.id)
        )
    )

    current = current_post(session, cadre_id, starts_on, policy)
    latest = session.execute(
        select(EvaluationResult.period, EvaluationResult.grade)
        .where(EvaluationResult.cadre_id == cadre_id, EvaluationResult.period_kind == PeriodKind.YEAR)
        .order_by(EvaluationResult.period.desc())
        .limit(1)
    ).first()

    units = UnitIndex(session)
    receiving_commune = units.commune_of(to_unit.id)
    return RotationFacts(
        cadre_name=cadre.full_name,
        birth_date=cadre.birth_date,
        gender=cadre.gender,
        planned=planned,
        from_unit_id=from_unit.id,
        from_unit_name=from_unit.name,
        to_unit_id=to_unit.id,
        to_unit_name=to_unit.name,
        starts_on=starts_on,
        planned_end_on=planned_end_on,
        purpose=purpose,
        purpose_note=purpose_note,
        to_unit_active=to_unit.is_active_on(starts_on),
        current_title=position_label(current[0], current[1]) if current else None,
        current_title_code=current[0].title_code if current else None,
        target_position_id=target.id if target else None,
        target_in_receiving_unit=target_unit is None
        or target_unit.id == to_unit.id
        or f"/{to_unit.id}/" in target_unit.path,
        target_title=position_label(target, target_unit) if target and target_unit else None,
        target_title_code=target.title_code if target else None,
        target_level=target.level if target else None,
        target_is_key_title=bool(target.is_key_title) if target else False,
        target_requires_non_local=bool(target.requires_non_local) if target else False,
        target_created_on=target.created_dt.date() if target and target.created_dt else None,
        target_holders=holders,
        plan_approved_on=plan_approved_on,
        higher_post_exception=higher_post_exception,
        new_post_exception=new_post_exception,
        latest_annual_grade=latest.grade if latest else None,
        latest_annual_period=latest.period if latest else None,
        low_capability_reason=low_capability_reason,
        hometown=cadre.hometown,
        hometown_commune_id=units.current_commune(cadre.hometown_unit_id, day),
        receiving_commune_id=receiving_commune,
        receiving_commune_name=units.name(receiving_commune) if receiving_commune is not None else None,
    )
