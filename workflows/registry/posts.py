"""The posts of a unit as a start page offers them: each with whether someone holds it now; the leadership posts a
cadre holds on a day."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.registry.models import CadrePosition, OrgUnit, Position


@dataclass(frozen=True)
class PostChoice:
    id: int
    title: str
    is_occupied: bool


def unit_posts(session: Session, unit_id: int) -> list[PostChoice]:
    """The posts of exactly this unit (not of the units below it), by title, in one query."""
    held = (
        select(CadrePosition.id)
        .where(CadrePosition.position_id == Position.id, CadrePosition.ended_on.is_(None))
        .exists()
    )
    rows = session.execute(
        select(Position.id, Position.title, held)
        .where(Position.unit_id == unit_id)
        .order_by(Position.title, Position.id)
    )
    return [PostChoice(post_id, title, bool(occupied)) for post_id, title, occupied in rows]


def position_labels(session: Session, position_ids: Collection[int]) -> dict[int, str]:
    """Each id's title with its unit ("Phó Chủ tịch UBND (UBND xã Tân Phong)", as `appointment.facts.position_label`
    writes it), for ids a form holds: ids no position has are left out."""
    if not position_ids:
        return {}
    rows = session.execute(
        select(Position.id, Position.title, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(Position.id.in_(sorted(position_ids)))
    )
    return {position_id: f"{title} ({unit})" for position_id, title, unit in rows}


def leadership_posts_held(session: Session, cadre_id: int, on: date) -> list[Any]:
    """(CadrePosition, Position, OrgUnit) rows of the leadership posts `cadre_id` holds on `on`, earliest started
    first: what a planning review counts against the cadre's titles and a rotation moves the cadre from."""
    return list(
        session.execute(
            select(CadrePosition, Position, OrgUnit)
            .join(Position, Position.id == CadrePosition.position_id)
            .join(OrgUnit, OrgUnit.id == Position.unit_id)
            .where(
                CadrePosition.cadre_id == cadre_id,
                Position.is_leadership.is_(True),
                CadrePosition.started_on <= on,
                (CadrePosition.ended_on.is_(None)) | (CadrePosition.ended_on > on),
            )
            .order_by(CadrePosition.started_on, CadrePosition.id)
        ).all()
    )
