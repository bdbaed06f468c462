"""What the menu on every page shows about the signed-in person, read in one statement (decision 0030).

The menu's numbers (open tasks, unclaimed group tasks, unread notifications) and whether anything can be started
were four statements on every HTML page; each cost more to send and read back than to run (issue #9 load).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from workflows.access import group_task_parameters
from workflows.ballots import BALLOTS_TO_CAST_COUNT
from workflows.inbox import OWN_COUNT, group_count_query_bound
from workflows.instances import ANY_VERSION_DEPLOYED, may_start_for_someone
from workflows.notifications import UNREAD_COUNT
from workflows.prepared import fetch_rows, server_prepared
from workflows.registry.models import User


@dataclass(frozen=True)
class MenuFacts:
    mine: int  # open tasks assigned to the person
    ballots: int  # open online ballots the person is summoned to, has not cast and may cast (none about themselves)
    group: int  # open tasks nobody has claimed that the person's roles make them a candidate for
    unread: int  # notifications not yet read
    can_start: bool  # "start a procedure" is offered: something is deployed and they may start for someone

    @property
    def counts(self) -> dict[str, int]:
        # A ballot waiting for the person is work in their inbox as a task is: "my tasks" counts both.
        return {"mine": self.mine + self.ballots, "group": self.group}


# One statement per shape — which counts the page does not have yet, whether "deployed" is asked, how many roles
# the person holds — with every value bound: built once and prepared on the server, where building and caching a
# new statement for every page cost the app about as much as the rest of the menu (issue #9 load).
_MENUS: dict[tuple[bool, bool, bool, bool, int], Select[Any]] = {}


def _menu_statement(
    count_mine: bool, count_ballots: bool, count_group: bool, ask_deployed: bool, roles: int
) -> Select[Any]:
    shape = (count_mine, count_ballots, count_group, ask_deployed, roles)
    statement = _MENUS.get(shape)
    if statement is None:
        columns: dict[str, Any] = {"unread": UNREAD_COUNT.scalar_subquery()}
        if count_ballots:
            columns["ballots"] = BALLOTS_TO_CAST_COUNT.scalar_subquery()
        if count_mine:
            columns["mine"] = OWN_COUNT.scalar_subquery()
        if count_group:
            columns["group"] = group_count_query_bound(roles).scalar_subquery()
        if ask_deployed:
            columns["deployed"] = ANY_VERSION_DEPLOYED
        statement = _MENUS[shape] = server_prepared(select(*(column.label(name) for name, column in columns.items())))
    return statement


def menu_facts(session: Session, user: User, known: dict[str, int] | None = None) -> MenuFacts:
    """The menu's facts; `known` holds counts the page already has ("mine", "ballots", "group"), not counted again."""
    known = known or {}
    may_start = may_start_for_someone(user)
    count_group = "group" not in known
    statement = _menu_statement(
        "mine" not in known, "ballots" not in known, count_group, may_start, len(user.role_assignments)
    )
    parameters = {"user_id": user.id, **(group_task_parameters(user) if count_group else {})}
    # By name: the columns the statement of this shape has, in its order (read by position from the driver).
    values = fetch_rows(session.connection(), statement, parameters).rows[0]
    row = dict(zip(statement.selected_columns.keys(), values, strict=True))
    return MenuFacts(
        mine=known["mine"] if "mine" in known else row["mine"] or 0,
        ballots=known["ballots"] if "ballots" in known else row["ballots"] or 0,
        group=known["group"] if "group" in known else row["group"] or 0,
        unread=row["unread"] or 0,
        can_start=may_start and bool(row["deployed"]),
    )
