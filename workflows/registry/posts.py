"""The posts of a unit as a start page offers them: each with whether someone holds it now."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.registry.models import CadrePosition, Position


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
