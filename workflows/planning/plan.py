"""The plan as a record: who is planned for which title of which unit in which term, every addition and removal
with the procedure that made it, the structure of the plan against its targets, and the rows of its export.

Read-only and scoped: a unit's plan is shown to whoever oversees the unit (`access.OVERSEEING_ROLES`); outside the
scope the unit is `NotFound`, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflows.access import OVERSEEING_ROLES, in_subtree, oversees_unit, role_units, units_under_roles
from workflows.errors import NotFound
from workflows.planning.facts import structure_members
from workflows.registry.models import Cadre, OrgUnit, PlanningEntry, PlanningStatus, Position, User
from workflows.registry.tabular import Column
from workflows.registry.units import in_tree_order
from workflows.rules.planning import (
    DEFAULT_POLICY,
    PlanningPolicy,
    StructureFigure,
    StructureMember,
    structure_figures,
)

__all__ = [
    "PLAN_COLUMNS",
    "STATUS_LABELS",
    "HistoryEvent",
    "PlanRow",
    "can_read_plans",
    "default_plan_unit",
    "history",
    "plan_records",
    "plan_rows",
    "plan_structure",
    "plan_terms",
    "plan_unit",
    "plan_units",
    "scope_structure",
]

STATUS_LABELS = {PlanningStatus.ACTIVE: "Trong quy hoạch", PlanningStatus.REMOVED: "Đã đưa ra khỏi quy hoạch"}

PLAN_COLUMNS = [
    Column("unit", "Đơn vị", "text"),
    Column("title", "Chức danh quy hoạch", "text"),
    Column("term", "Nhiệm kỳ", "text"),
    Column("code", "Mã cán bộ", "text"),
    Column("full_name", "Họ và tên", "text"),
    Column("status", "Trạng thái", "text"),
    Column("added_on", "Ngày đưa vào", "date"),
    Column("removed_on", "Ngày đưa ra", "date"),
    Column("reason", "Lý do đưa ra", "text"),
]


@dataclass(frozen=True)
class PlanRow:
    entry_id: int
    unit_code: str
    unit_name: str
    title: str
    term: str
    cadre_id: int
    cadre_code: str
    cadre_name: str
    status: str
    added_on: date
    source_instance_id: int | None
    removed_on: date | None
    reason: str | None
    removal_instance_id: int | None

    def to_record(self) -> dict[str, Any]:
        return {
            "unit": self.unit_name,
            "title": self.title,
            "term": self.term,
            "code": self.cadre_code,
            "full_name": self.cadre_name,
            "status": STATUS_LABELS.get(PlanningStatus(self.status), self.status),
            "added_on": self.added_on,
            "removed_on": self.removed_on,
            "reason": self.reason or "",
        }


@dataclass(frozen=True)
class HistoryEvent:
    """One addition to or removal from the plan, with the procedure that made it (None: entered on the record)."""

    on: date
    kind: str  # "added" | "removed"
    row: PlanRow
    instance_id: int | None
    reason: str | None


def can_read_plans(user: User) -> bool:
    """Whether the user oversees any unit, and so may read its plan (plan_units then lists them)."""
    return any(role in OVERSEEING_ROLES for role, _unit in role_units(user))


def plan_units(session: Session, user: User) -> list[tuple[OrgUnit, int]]:
    """The units whose plan the user may read, each with its depth, in tree order (`in_tree_order`): every unit in
    the subtrees of their overseeing roles — planning is done at each level, not only at the top of the scope — the
    merged or dissolved ones too, whose plans are history."""
    return in_tree_order(units_under_roles(session, user, OVERSEEING_ROLES, active_only=False))


def default_plan_unit(user: User, units: Sequence[OrgUnit]) -> OrgUnit | None:
    """The plan shown when no unit is asked for: the user's own unit when they oversee from it, else the first unit
    of `units` (tree order: the top of their scope)."""
    roots = {unit for role, unit in role_units(user) if role in OVERSEEING_ROLES}
    own = next((unit for unit in units if unit.id == user.unit_id and unit.id in roots), None)
    return own or (units[0] if units else None)


def plan_unit(session: Session, user: User, code: str) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code.strip()))
    if unit is None or not oversees_unit(session, user, unit.id, OVERSEEING_ROLES):
        raise NotFound(f"unit {code} does not exist")
    return unit


def plan_terms(session: Session) -> list[str]:
    return list(session.scalars(select(PlanningEntry.term).distinct().order_by(PlanningEntry.term.desc())))


def plan_rows(session: Session, unit_id: int, term: str | None = None, *, active_only: bool = False) -> list[PlanRow]:
    """The entries for titles of the unit or a unit below it, by unit, title, term, then when they were added."""
    query = (
        select(PlanningEntry, Position, OrgUnit, Cadre)
        .join(Position, Position.id == PlanningEntry.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .join(Cadre, Cadre.id == PlanningEntry.cadre_id)
        .where(in_subtree(OrgUnit, unit_id))
        .order_by(OrgUnit.path, OrgUnit.code, Position.title, Position.id, PlanningEntry.term, PlanningEntry.id)
    )
    if term:
        query = query.where(PlanningEntry.term == term)
    if active_only:
        query = query.where(PlanningEntry.status == PlanningStatus.ACTIVE)
    return [
        PlanRow(
            entry_id=entry.id,
            unit_code=unit.code,
            unit_name=unit.name,
            title=position.title,
            term=entry.term,
            cadre_id=cadre.id,
            cadre_code=cadre.code,
            cadre_name=cadre.full_name,
            status=entry.status,
            added_on=entry.added_on,
            source_instance_id=entry.source_instance_id,
            removed_on=entry.removed_on,
            reason=entry.reason,
            removal_instance_id=entry.removal_instance_id,
        )
        for entry, position, unit, cadre in session.execute(query)
    ]


def history(rows: Sequence[PlanRow]) -> list[HistoryEvent]:
    """Every addition and removal of the rows, newest first."""
    events = [HistoryEvent(row.added_on, "added", row, row.source_instance_id, None) for row in rows]
    events += [
        HistoryEvent(row.removed_on, "removed", row, row.removal_instance_id, row.reason)
        for row in rows
        if row.removed_on is not None
    ]
    return sorted(events, key=lambda e: (e.on, e.kind == "removed", e.row.entry_id), reverse=True)


def plan_structure(
    session: Session, rows: Sequence[PlanRow], on: date, policy: PlanningPolicy = DEFAULT_POLICY
) -> list[StructureFigure]:
    """The structure of the people on the plan (active entries), each person once."""
    ids = [row.cadre_id for row in rows if row.status == PlanningStatus.ACTIVE]
    return structure_figures(structure_members(session, ids), on=on, policy=policy)


def plan_records(rows: Sequence[PlanRow]) -> Iterator[dict[str, Any]]:
    """The export's rows (PLAN_COLUMNS)."""
    for row in rows:
        yield row.to_record()


def scope_structure(
    session: Session, roots: Sequence[int], on: date, policy: PlanningPolicy = DEFAULT_POLICY
) -> tuple[str | None, list[StructureFigure]]:
    """The dashboard's figures of the plan: the latest term with active entries for titles in the scope (the units
    `roots` and below), each planned person once, through the same rules as the list being built. Only the five
    columns the figures need are read, one row per planned person (at most 3 per title)."""
    if not roots:
        return None, []
    scope = or_(*(in_subtree(OrgUnit, root) for root in roots))
    active = (
        select(PlanningEntry.term)
        .join(Position, Position.id == PlanningEntry.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(PlanningEntry.status == PlanningStatus.ACTIVE, scope)
    )
    term = session.scalar(active.order_by(PlanningEntry.term.desc()).limit(1))
    if term is None:
        return None, []
    people = session.execute(
        select(
            Cadre.id,
            Cadre.birth_date,
            Cadre.gender,
            Cadre.ethnicity,
            Cadre.education_level,
            Cadre.is_science_technology,
        )
        .where(Cadre.id.in_(active.with_only_columns(PlanningEntry.cadre_id).where(PlanningEntry.term == term)))
        .order_by(Cadre.id)
    ).all()
    members = [
        StructureMember(i, born, gender, ethnicity, level, bool(st)) for i, born, gender, ethnicity, level, st in people
    ]
    return term, structure_figures(members, on=on, policy=policy)
