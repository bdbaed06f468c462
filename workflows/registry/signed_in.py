"""The person behind a request — their user row and their roles — read in one statement and built without the
ORM's row processing.

Every API call (its bearer token) and every signed-in page (its session) starts with this read. Through a Session
query with a joined eager load it cost the app 0.25–0.3 ms, most of it SQLAlchemy turning one or two rows into a
User and its RoleAssignments; read as plain tuples (`workflows.prepared.fetch_rows`) and made into objects the way
`make_transient_to_detached` documents — as if a query had just loaded them — it costs about half (issue #9,
decision 0037). The objects are ordinary persistent objects of the session: nothing is marked changed, the roles
collection is loaded, and anything not selected is loaded on first access as for any expired attribute.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from workflows.prepared import fetch_rows, server_prepared
from workflows.registry.models import RoleAssignment, User

# Every column the two classes map, in the order the statement selects them, and the attribute each one fills.
_USER_ATTRIBUTES = User.__mapper__.column_attrs
_ROLE_ATTRIBUTES = RoleAssignment.__mapper__.column_attrs
_USER_KEYS = tuple(prop.key for prop in _USER_ATTRIBUTES)
_ROLE_KEYS = tuple(prop.key for prop in _ROLE_ATTRIBUTES)
_ROLE_ID_AT = _ROLE_KEYS.index("id")


def select_with_user(*leading: Any) -> Select[Any]:
    """SELECT `leading`, then the user's columns and one role's columns per row (NULLs for a user without roles);
    the caller adds its FROM (joined to `users`) and WHERE. `user_from_rows(session, rows, len(leading))` reads it."""
    columns = [prop.columns[0] for prop in (*_USER_ATTRIBUTES, *_ROLE_ATTRIBUTES)]
    return select(*leading, *columns)


def join_roles(statement: Select[Any]) -> Select[Any]:
    """The user's roles joined to a statement whose FROM already has `users`."""
    return statement.outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)


def user_from_rows(session: Session, rows: Sequence[Sequence[Any]], start: int) -> User:
    """The user of the rows of a `select_with_user` statement (at least one), persistent in `session` with its
    roles loaded. A user the session already holds is returned as it is, as a query would return it."""
    user_width = len(_USER_KEYS)
    first = rows[0]
    user_values = first[start : start + user_width]
    held = session.identity_map.get(identity_key(User, user_values[0]))
    if held is not None:
        return held
    roles = []
    for row in rows:
        role_values = row[start + user_width :]
        if role_values[_ROLE_ID_AT] is None:
            continue  # the outer join's row for a user without roles
        role = session.identity_map.get(identity_key(RoleAssignment, role_values[_ROLE_ID_AT]))
        if role is None:
            role = RoleAssignment(**dict(zip(_ROLE_KEYS, role_values, strict=True)))
            make_transient_to_detached(role)
        roles.append(role)
    user = User(**dict(zip(_USER_KEYS, user_values, strict=True)))
    make_transient_to_detached(user)
    set_committed_value(user, "role_assignments", roles)
    for role in roles:
        set_committed_value(role, "user", user)
    session.add(user)  # the roles follow by the relationship's cascade
    return user


_USER_BY_ID = server_prepared(join_roles(select_with_user().select_from(User).where(User.id == bindparam("user_id"))))


def user_with_roles(session: Session, user_id: int) -> User | None:
    """The user with this id and their roles (a signed-in page's session names its user by id), or None."""
    rows = fetch_rows(session.connection(), _USER_BY_ID, {"user_id": user_id}).rows
    return user_from_rows(session, rows, start=0) if rows else None
