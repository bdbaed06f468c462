"""The structure of the plan as it stands while the list of nominations is built (issue #7): the four figures of
the kept entries of the unit's plan plus the rows being entered, against the policy's targets, for the task page's
panel; and each candidate's part in them, for the panel's script. Only informative: the hook `nominations`
computes the figures again on submit and those are the ones recorded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import in_subtree
from workflows.planning.facts import structure_member
from workflows.planning.hooks import _leaving, plan_cadre_ids
from workflows.registry.models import Cadre, OrgUnit
from workflows.rules.planning import PlanningPolicy, StructureFigure, structure_figures, structure_flags

__all__ = ["CODES_AT_MOST", "LiveStructure", "cadre_flags", "live_structure", "review_policy"]

# As many codes as the nominations table holds rows (forms/planning_nominations.json maxItems).
CODES_AT_MOST = 300

Flags = dict[str, bool | None]


@dataclass(frozen=True)
class LiveStructure:
    figures: list[StructureFigure]
    plan: dict[str, Flags]  # the kept plan's people by cadre code: the base the script adds the rows to
    targets: dict[str, dict[str, Any] | None]  # per figure: kind, low, high and the text the page prints


def review_policy(data: Mapping[str, Any]) -> PlanningPolicy:
    return PlanningPolicy.from_mapping(data.get("policy") or {})


def _flags(cadres: Iterable[Cadre], on: date, policy: PlanningPolicy) -> dict[str, Flags]:
    return {c.code: structure_flags(structure_member(c), on=on, policy=policy) for c in cadres}


def cadre_flags(
    session: Session, unit_id: int, codes: Sequence[str], *, on: date, policy: PlanningPolicy
) -> dict[str, Flags]:
    """Each active cadre of `unit_id` or a unit below it among `codes`: their part in each figure (None: not
    recorded). Other codes are left out."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))[:CODES_AT_MOST]
    if not wanted:
        return {}
    cadres = session.scalars(
        select(Cadre)
        .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
        .where(Cadre.code.in_(wanted), Cadre.is_active, in_subtree(OrgUnit, unit_id))
    )
    return _flags(cadres, on, policy)


def live_structure(session: Session, data: Mapping[str, Any], codes: Sequence[str], *, on: date) -> LiveStructure:
    """The figures of the review's plan (`data`: the review's process data) with the cadres of `codes` added, as
    the hook counts them on submit: the kept entries first, then every active cadre a row names."""
    policy = review_policy(data)
    kept = plan_cadre_ids(session, int(data["unit_id"]), str(data["term"]), _leaving(data))
    wanted = [c.strip() for c in codes if c.strip()][:CODES_AT_MOST]
    found = session.scalars(select(Cadre).where((Cadre.id.in_(kept)) | (Cadre.code.in_(wanted)))).all()
    by_id = {c.id: c for c in found}
    by_code = {c.code: c for c in found if c.is_active}
    ordered = [by_id[i] for i in kept if i in by_id] + [by_code[c] for c in wanted if c in by_code]
    figures = structure_figures([structure_member(c) for c in ordered], on=on, policy=policy)
    targets: dict[str, dict[str, Any] | None] = {}
    for figure in figures:
        target = figure.target
        targets[figure.key] = (
            None
            if target is None
            else {"kind": str(target.kind), "low": target.low, "high": target.high, "text": target.target_text}
        )
    return LiveStructure(figures, _flags((by_id[i] for i in kept if i in by_id), on, policy), targets)
