"""The facts the planning rules check (`workflows.rules.planning`), read from the registry. Read-only.

What counts as what:
- planned: active `PlanningEntry` rows of the term; a list being built adds its earlier nominations (not yet
  recorded) through `earlier`, so the 4th nominee for one title is refused before anything is written.
- held posts: the cadre's leadership positions (`Position.is_leadership`) held on `on` (started, not ended).
- appointment in progress: a running instance of process "appointment" whose subject is the cadre.
- review: the cadre's discipline records, latest `period_kind = "year"` evaluation result. Two facts the registry
  does not hold come from the review itself: the latest confidence vote (QĐ 96) per cadre, and which discipline
  records the collective found waived or time-barred after review (QĐ 377's second case), plus the conclusions
  that a cadre fails the political standard.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from workflows.access import in_subtree
from workflows.appointment import PROCESS_ID as APPOINTMENT_PROCESS_ID
from workflows.appointment.facts import position_label
from workflows.errors import NotFound
from workflows.models import ProcessInstance, ProcessVersion
from workflows.registry.models import (
    Cadre,
    DisciplineRecord,
    EvaluationResult,
    OrgUnit,
    PeriodKind,
    PlanningEntry,
    PlanningStatus,
    Position,
)
from workflows.registry.posts import leadership_posts_held
from workflows.registry.records import local_today
from workflows.rules.appointment import PlannedTitle, RunningCase
from workflows.rules.planning import (
    DEFAULT_POLICY,
    ConfidenceVote,
    HeldPost,
    NominationFacts,
    PlanningDiscipline,
    PlanningPolicy,
    ReviewFacts,
    StructureMember,
)
from workflows.states import InstanceStatus

__all__ = ["held_posts", "list_facts", "nomination_facts", "review_facts", "structure_member", "structure_members"]


def _position_rows(session: Session, ids: Iterable[int]) -> dict[int, tuple[Position, OrgUnit]]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Position, OrgUnit).join(OrgUnit, OrgUnit.id == Position.unit_id).where(Position.id.in_(wanted))
    ).all()
    return {pos.id: (pos, unit) for pos, unit in rows}


def held_posts(
    session: Session, cadre_id: int, on: date, policy: PlanningPolicy = DEFAULT_POLICY
) -> tuple[HeldPost, ...]:
    """The leadership posts `cadre_id` holds on `on`, earliest started first."""
    rows = leadership_posts_held(session, cadre_id, on)
    return tuple(
        HeldPost(pos.id, position_label(pos, unit), pos.level, policy.rank_of(pos.title_code)) for _, pos, unit in rows
    )


def _running(session: Session, cadre_id: int, process_id: str) -> list[RunningCase]:
    return list(
        RunningCase(*row)
        for row in session.execute(
            select(ProcessInstance.id, ProcessVersion.name)
            .join(ProcessVersion, ProcessInstance.process_version_id == ProcessVersion.id)
            .where(
                ProcessInstance.subject_cadre_id == cadre_id,
                ProcessInstance.status == InstanceStatus.RUNNING,
                ProcessInstance.process_id == process_id,
            )
            .order_by(ProcessInstance.id)
        )
    )


def nomination_facts(
    session: Session,
    cadre_id: int,
    position_id: int,
    term: str,
    *,
    on: date | None = None,
    earlier: Sequence[tuple[int, int]] = (),
    policy: PlanningPolicy = DEFAULT_POLICY,
    leaving: Collection[int] = (),
) -> NominationFacts:
    """The facts of nominating `cadre_id` for `position_id` in `term`, as of `on` (today in Vietnam by default).
    `earlier`: the (cadre id, position id) nominations that come before this one in the list being built.
    `leaving`: planning entry ids the same review takes off the plan (they no longer count).
    NotFound when the cadre or the position does not exist."""
    day = on or local_today()
    cadre = session.get(Cadre, cadre_id)
    if cadre is None:
        raise NotFound("cadre not found")
    positions = _position_rows(session, [position_id, *(p for _, p in earlier)])
    if position_id not in positions:
        raise NotFound("position not found")
    target, target_unit = positions[position_id]

    entries = session.execute(
        select(PlanningEntry.cadre_id, PlanningEntry.position_id, Cadre.full_name)
        .join(Cadre, Cadre.id == PlanningEntry.cadre_id)
        .where(PlanningEntry.term == term, PlanningEntry.status == PlanningStatus.ACTIVE)
        .where((PlanningEntry.position_id == position_id) | (PlanningEntry.cadre_id == cadre_id))
        .where(PlanningEntry.id.not_in(list(leaving)) if leaving else true())
        .order_by(PlanningEntry.added_on, PlanningEntry.id)
    ).all()
    pairs: list[tuple[int, int]] = [(c, p) for c, p, _ in entries]
    names = {c: n for c, _, n in entries}
    pending = [(c, p) for c, p in earlier if p == position_id or c == cadre_id]
    missing = {c for c, _ in pending} - names.keys()
    if missing:
        for other_id, other_name in session.execute(select(Cadre.id, Cadre.full_name).where(Cadre.id.in_(missing))):
            names[other_id] = other_name
    pairs.extend(pending)
    positions.update(_position_rows(session, {p for _, p in pairs} - positions.keys()))

    others: list[str] = []
    seen_others: set[int] = set()
    titles: dict[int, PlannedTitle] = {}
    for other_cadre, other_position in pairs:
        if other_position == position_id and other_cadre != cadre_id and other_cadre not in seen_others:
            seen_others.add(other_cadre)
            others.append(names.get(other_cadre, str(other_cadre)))
        if other_cadre == cadre_id and other_position != position_id and other_position in positions:
            pos, unit = positions[other_position]
            if pos.level == target.level:
                titles.setdefault(
                    pos.id, PlannedTitle(pos.id, position_label(pos, unit), policy.rank_of(pos.title_code))
                )

    running = _running(session, cadre_id, APPOINTMENT_PROCESS_ID)
    return NominationFacts(
        cadre_name=cadre.full_name,
        birth_date=cadre.birth_date,
        gender=cadre.gender,
        term=term,
        target_position_id=target.id,
        target_title=position_label(target, target_unit),
        target_level=target.level,
        target_rank=policy.rank_of(target.title_code),
        others_for_title=tuple(others),
        titles_at_level=tuple(titles.values()),
        already_planned=(cadre_id, position_id) in pairs,
        held_posts=held_posts(session, cadre_id, day, policy),
        appointment_in_progress=bool(running),
        in_progress_cases=tuple(running),
    )


def list_facts(
    session: Session,
    nominations: Sequence[tuple[int, int]],
    term: str,
    *,
    on: date | None = None,
    policy: PlanningPolicy = DEFAULT_POLICY,
    leaving: Collection[int] = (),
) -> list[NominationFacts]:
    """The facts of each (cadre id, position id) of a list, in order, each seeing the nominations before it
    (`leaving`: entries the same review takes off the plan)."""
    return [
        nomination_facts(
            session, cadre_id, position_id, term, on=on, earlier=nominations[:index], policy=policy, leaving=leaving
        )
        for index, (cadre_id, position_id) in enumerate(nominations)
    ]


def _screened_ids(term: str, unit_id: int) -> Any:
    return (
        select(PlanningEntry.cadre_id)
        .join(Position, Position.id == PlanningEntry.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(PlanningEntry.term == term, PlanningEntry.status == PlanningStatus.ACTIVE, in_subtree(OrgUnit, unit_id))
    )


def screened_cadres(session: Session, term: str, unit_id: int) -> list[Cadre]:
    """The cadres the annual screening of a unit looks at, as `review_facts` finds them (an active entry of the term
    for a title of the unit or below), by name."""
    query = select(Cadre).where(Cadre.id.in_(_screened_ids(term, unit_id))).order_by(Cadre.full_name, Cadre.id)
    return list(session.scalars(query))


def discipline_records(session: Session, cadre_ids: Collection[int]) -> list[DisciplineRecord]:
    """The discipline records of these cadres, oldest first: those the screening may find waived or time-barred."""
    if not cadre_ids:
        return []
    query = (
        select(DisciplineRecord)
        .where(DisciplineRecord.cadre_id.in_(sorted(cadre_ids)))
        .order_by(DisciplineRecord.decided_on, DisciplineRecord.id)
    )
    return list(session.scalars(query))


def review_facts(
    session: Session,
    term: str,
    *,
    unit_id: int | None = None,
    confidence: Mapping[int, ConfidenceVote] | None = None,
    waived_discipline_ids: Collection[int] = (),
    political_standard_failed: Collection[int] = (),
) -> list[ReviewFacts]:
    """Every cadre with an active planning entry of `term` (for a title of `unit_id` or a unit below it, when
    given), ordered by name. `confidence` maps a cadre id to their latest vote; `waived_discipline_ids` are the
    discipline records the collective found waived or time-barred; `political_standard_failed` cadre ids."""
    query = (
        select(PlanningEntry.id, PlanningEntry.cadre_id)
        .join(Position, Position.id == PlanningEntry.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(PlanningEntry.term == term, PlanningEntry.status == PlanningStatus.ACTIVE)
        .order_by(PlanningEntry.id)
    )
    if unit_id is not None:
        query = query.where(in_subtree(OrgUnit, unit_id))
    entries: dict[int, list[int]] = {}
    for entry_id, cadre_id in session.execute(query):
        entries.setdefault(cadre_id, []).append(entry_id)
    if not entries:
        return []
    cadres = session.scalars(select(Cadre).where(Cadre.id.in_(entries)).order_by(Cadre.full_name, Cadre.id)).all()
    disciplines: dict[int, list[PlanningDiscipline]] = {}
    waived = set(waived_discipline_ids)
    for record in session.scalars(
        select(DisciplineRecord)
        .where(DisciplineRecord.cadre_id.in_(entries))
        .order_by(DisciplineRecord.decided_on, DisciplineRecord.id)
    ):
        disciplines.setdefault(record.cadre_id, []).append(
            PlanningDiscipline(record.level, record.decided_on, record.expires_on, record.id in waived)
        )
    latest: dict[int, tuple[str, str]] = {}
    for cadre_id, period, grade in session.execute(
        select(EvaluationResult.cadre_id, EvaluationResult.period, EvaluationResult.grade)
        .where(EvaluationResult.cadre_id.in_(entries), EvaluationResult.period_kind == PeriodKind.YEAR)
        .order_by(EvaluationResult.period)
    ):
        latest[cadre_id] = (period, grade)  # ascending: the last one wins
    votes = confidence or {}
    failed = set(political_standard_failed)
    return [
        ReviewFacts(
            cadre_id=cadre.id,
            cadre_name=cadre.full_name,
            birth_date=cadre.birth_date,
            gender=cadre.gender,
            disciplines=tuple(disciplines.get(cadre.id, ())),
            latest_annual_grade=latest[cadre.id][1] if cadre.id in latest else None,
            latest_annual_period=latest[cadre.id][0] if cadre.id in latest else None,
            confidence=votes.get(cadre.id),
            political_standard_failed=cadre.id in failed,
            entry_ids=tuple(entries[cadre.id]),
        )
        for cadre in cadres
    ]


def structure_members(session: Session, cadre_ids: Iterable[int]) -> list[StructureMember]:
    """The structure facts of the people on a list, in the order of `cadre_ids`, each once."""
    wanted = list(dict.fromkeys(cadre_ids))
    if not wanted:
        return []
    rows = {c.id: c for c in session.scalars(select(Cadre).where(Cadre.id.in_(wanted)))}
    return [structure_member(rows[i]) for i in wanted if i in rows]


def structure_member(cadre: Cadre) -> StructureMember:
    return StructureMember(
        cadre.id, cadre.birth_date, cadre.gender, cadre.ethnicity, cadre.education_level,
        bool(cadre.is_science_technology),
    )  # fmt: skip
