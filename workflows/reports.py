"""Queries behind the targets dashboard: the facts each figure is computed from, in the viewer's scope.

The figures themselves are pure rules (workflows/rules/targets.py); this module only gathers their inputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflows.access import in_subtree, role_units
from workflows.models import HumanTask
from workflows.registry.models import Cadre, CadrePosition, EvaluationResult, OrgUnit, Position, User
from workflows.rules.targets import KEY_CADRE, LEADER, LEADER_PROVINCE_MANAGED, CadreFacts
from workflows.states import Role, TaskStatus

COMMUNE_TYPES = frozenset({"commune", "ward", "special_zone"})
DASHBOARD_ROLES = (Role.SUPERVISOR, Role.HEAD, Role.PERSONNEL, Role.AUDITOR, Role.ADMIN)


def dashboard_roots(user: User) -> list[int]:
    """The units whose subtrees this user may see figures for (leaders: their unit; province roles: all)."""
    return sorted({unit_id for role, unit_id in role_units(user) if role in DASHBOARD_ROLES})


def can_view_dashboard(user: User) -> bool:
    return bool(dashboard_roots(user))


class UnitIndex:
    """All org units once (a province has a few thousand): commune-of and name lookups without more queries."""

    def __init__(self, session: Session) -> None:
        self.units = {
            row.id: row for row in session.execute(select(OrgUnit.id, OrgUnit.name, OrgUnit.unit_type, OrgUnit.path))
        }

    def commune_of(self, unit_id: int | None) -> int | None:
        if unit_id is None or unit_id not in self.units:
            return None
        chain = [int(p) for p in self.units[unit_id].path.strip("/").split("/") if p] + [unit_id]
        for candidate in reversed(chain):
            if candidate in self.units and self.units[candidate].unit_type in COMMUNE_TYPES:
                return candidate
        return None

    def name(self, unit_id: int | None) -> str:
        return self.units[unit_id].name if unit_id in self.units else ""

    def in_roots(self, unit_id: int, roots: Iterable[int]) -> bool:
        chain = {int(p) for p in self.units[unit_id].path.strip("/").split("/") if p} | {unit_id}
        return any(root in chain for root in roots)


def cadre_facts(session: Session, roots: list[int], index: UnitIndex | None = None) -> list[CadreFacts]:
    index = index or UnitIndex(session)
    if not roots:
        return []
    scope = or_(*(in_subtree(OrgUnit, root) for root in roots))
    cadres = (
        session.execute(
            select(Cadre).join(OrgUnit, Cadre.unit_id == OrgUnit.id).where(Cadre.is_active.is_not(False), scope)
        )
        .scalars()
        .all()
    )
    titles: dict[int, set[str]] = defaultdict(set)
    for row in session.execute(
        select(
            CadrePosition.cadre_id,
            Position.title_code,
            Position.is_key_title,
            Position.is_leadership,
            Position.is_province_managed,
        )
        .join(Position, CadrePosition.position_id == Position.id)
        .where(CadrePosition.ended_on.is_(None))
    ):
        held = titles[row.cadre_id]
        if row.title_code:
            held.add(row.title_code)
        if row.is_key_title:
            held.add(KEY_CADRE)
        if row.is_leadership:
            held.add(LEADER)
        if row.is_province_managed:
            held.add(LEADER_PROVINCE_MANAGED)
    return [
        CadreFacts(
            cadre_id=c.id,
            code=c.code,
            full_name=c.full_name,
            unit_id=c.unit_id,
            unit_name=index.name(c.unit_id),
            commune_id=index.commune_of(c.unit_id),
            hometown_commune_id=index.commune_of(c.hometown_unit_id),
            birth_date=c.birth_date,
            gender=c.gender if c.gender in ("male", "female") else None,
            ethnicity=c.ethnicity,
            education_level=c.education_level,
            is_science_technology=bool(c.is_science_technology),
            political_theory=c.political_theory,
            titles=frozenset(titles.get(c.id, ())),
        )
        for c in cadres
    ]


def latest_month(session: Session) -> str | None:
    return session.scalar(
        select(EvaluationResult.period)
        .where(EvaluationResult.period_kind == "month")
        .order_by(EvaluationResult.period.desc())
    )


def month_grades(session: Session, month: str, roots: list[int], index: UnitIndex) -> list[tuple[int, str]]:
    """(commune id, grade) for one month's evaluations in scope."""
    rows = session.execute(
        select(EvaluationResult.unit_id, Cadre.unit_id, EvaluationResult.grade)
        .join(Cadre, EvaluationResult.cadre_id == Cadre.id)
        .where(EvaluationResult.period_kind == "month", EvaluationResult.period == month)
    )
    result = []
    for evaluated_unit, cadre_unit, grade in rows:
        unit = evaluated_unit or cadre_unit
        if unit in index.units and index.in_roots(unit, roots):
            commune = index.commune_of(unit)
            if commune is not None and grade:
                result.append((commune, grade))
    return result


def task_rows(session: Session, roots: list[int], index: UnitIndex, since: datetime) -> list[Any]:
    """(task id, unit, process, name, opened, closed, due, status) of tasks opened since `since`, in scope."""
    rows = session.execute(
        select(
            HumanTask.id,
            HumanTask.unit_id,
            HumanTask.process_id,
            HumanTask.name,
            HumanTask.opened_dt,
            HumanTask.closed_dt,
            HumanTask.due_dt,
            HumanTask.status,
        ).where(HumanTask.opened_dt >= since, HumanTask.status != TaskStatus.CANCELLED)
    ).all()
    return [row for row in rows if row.unit_id in index.units and index.in_roots(row.unit_id, roots)]


def today_of(moment: datetime) -> date:
    return moment.date()
