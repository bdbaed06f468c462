"""What the menu on every page shows about the signed-in person, read in one statement (decision 0030).

The menu's numbers (open tasks, unclaimed group tasks, unread notifications) and whether anything can be started
were four statements on every HTML page; each cost more to send and read back than to run (issue #9 load).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.inbox import OWN_COUNT, group_count_query
from workflows.instances import ANY_VERSION_DEPLOYED, may_start_for_someone
from workflows.notifications import unread_count_query
from workflows.registry.models import User


@dataclass(frozen=True)
class MenuFacts:
    mine: int  # open tasks assigned to the person
    group: int  # open tasks nobody has claimed that the person's roles make them a candidate for
    unread: int  # notifications not yet read
    can_start: bool  # "start a procedure" is offered: something is deployed and they may start for someone

    @property
    def counts(self) -> dict[str, int]:
        return {"mine": self.mine, "group": self.group}


def menu_facts(session: Session, user: User, known: dict[str, int] | None = None) -> MenuFacts:
    """The menu's facts; `known` holds task counts the page already has ("mine", "group"), not counted again."""
    known = known or {}
    may_start = may_start_for_someone(user)
    columns: dict[str, Any] = {"unread": unread_count_query(user.id).scalar_subquery()}
    if "mine" not in known:
        columns["mine"] = OWN_COUNT.scalar_subquery()
    if "group" not in known:
        columns["group"] = group_count_query(user).scalar_subquery()
    if may_start:
        columns["deployed"] = ANY_VERSION_DEPLOYED
    menu = select(*(column.label(name) for name, column in columns.items()))
    row = session.execute(menu, {"user_id": user.id} if "mine" in columns else {}).one()._mapping
    return MenuFacts(
        mine=known["mine"] if "mine" in known else row["mine"] or 0,
        group=known["group"] if "group" in known else row["group"] or 0,
        unread=row["unread"] or 0,
        can_start=may_start and bool(row["deployed"]),
    )
